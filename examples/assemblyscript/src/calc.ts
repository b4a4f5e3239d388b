// The code under test: plain AssemblyScript, nothing test-specific.

export function add(a: i32, b: i32): i32 {
  return a + b;
}

export function clamp(value: i32, low: i32, high: i32): i32 {
  return value < low ? low : value > high ? high : value;
}

export function fibonacci(count: i32): i32[] {
  const out = new Array<i32>();
  let a = 0, b = 1;
  for (let i = 0; i < count; i++) {
    out.push(a);
    const next = a + b;
    a = b;
    b = next;
  }
  return out;
}

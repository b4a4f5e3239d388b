// String helpers under test. `slugify` has a real bug: it does not collapse a run of
// separators into one dash, which tests/text.ts catches.

export function slugify(title: string): string {
  let out = "";
  for (let i = 0; i < title.length; i++) {
    const c = title.charAt(i).toLowerCase();
    if ((c >= "a" && c <= "z") || (c >= "0" && c <= "9")) out += c;
    else if (out.length > 0) out += "-";
  }
  while (out.endsWith("-")) out = out.slice(0, out.length - 1);
  return out;
}

export function reverse(text: string): string {
  let out = "";
  for (let i = text.length - 1; i >= 0; i--) out += text.charAt(i);
  return out;
}

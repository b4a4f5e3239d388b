import { test, check, checkEqual, run } from "wasitest";
import { add, clamp, fibonacci } from "../src/calc";

test("adds", () => {
  checkEqual(add(2, 2), 4);
  checkEqual(add(-1, 1), 0);
});

test("clamps", () => {
  checkEqual(clamp(5, 0, 3), 3);
  checkEqual(clamp(-5, 0, 3), 0);
  check(clamp(2, 0, 3) == 2);
});

test("fibonacci", () => {
  checkEqual<i32[]>(fibonacci(7), [0, 1, 1, 2, 3, 5, 8]);
});

test("greets", () => {
  // the suite grants GREETING and nothing else of the host's environment
  check(process.env.has("GREETING"), "GREETING is granted");
  if (process.env.has("GREETING")) checkEqual(process.env.get("GREETING"), "hello");
  check(!process.env.has("HOME"), "the host's HOME is hidden");
});

run();

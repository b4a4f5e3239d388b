// The helper's protocol and messages, case by case (tests/builders/test_asc.py runs each).
import { test, check, checkEqual, fail, skip, run } from "wasitest";
import { check as verify } from "wasitest";
import * as w from "wasitest";

function double(x: i32): i32 { return x * 2; }

test("passes", () => {
  check(double(2) == 4);
  checkEqual(double(3), 6);
  checkEqual("ab", "ab");
  checkEqual<i32[]>([1, 2], [1, 2]);
  checkEqual<f64>(0.5, 0.5);
});

test("checks_go_on", () => {
  check(double(1) == 3);
  checkEqual(double(2), 5, "doubles");
  check(true);
});

test("strings_are_quoted", () => {
  checkEqual("h\u00e9\n\"x\"", "he");
});

test("arrays_and_null", () => {
  checkEqual<string[]>(["a", "b"], ["a", "c"]);
  const nothing: string | null = null;
  checkEqual<string | null>(nothing, "x");
  checkEqual<string | null>(nothing, null);
});

test("renamed_and_namespaced", () => {
  verify(double(0) == 1);
  w.checkEqual(double(1),
               3);
  w.check(false, "through the namespace");
});

test("fail_ends_the_case", () => {
  check(false);
  fail("the widget is broken");
  check(false, "not reached");
});

test("skips", () => {
  skip("not on this platform");
  check(false, "not reached");
});

test("fails_then_skips", () => {
  check(false);
  skip("too late");
});

test("check_returns_whether_it_held", () => {
  if (!check(double(2) == 5)) return;
  fail("not reached");
});

test("aborts", () => {
  const empty = new Array<i32>();
  check(empty[3] == 0);  // out of range: AssemblyScript aborts (exit 255), no check line
});

run();

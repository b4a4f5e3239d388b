import { test, check, checkEqual, skip, run } from "wasitest";
import { reverse, slugify } from "../src/text";

test("reverses", () => {
  checkEqual(reverse("wasm"), "msaw");
  checkEqual(reverse(""), "");
});

test("slugifies", () => {
  checkEqual(slugify("Hello World"), "hello-world");
  // fails on purpose: slugify keeps one dash per separator ("hello--world")
  checkEqual(slugify("Hello, World"), "hello-world");
});

test("local_time", () => {
  if (!process.env.has("TZ")) {
    skip("TZ is not granted to this suite");
  }
  check(process.env.get("TZ").length > 0);
});

run();

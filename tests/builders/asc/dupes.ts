import { test, run } from "wasitest";
test("twice", () => {});
test("twice", () => {});
run();

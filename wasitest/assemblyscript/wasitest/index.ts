/**
 * wasitest's AssemblyScript test helper: the C list protocol of docs/c-protocol.md.
 *
 *   import { test, check, checkEqual, fail, skip, run } from "wasitest";
 *
 *   test("adds", () => { checkEqual(1 + 1, 2); });
 *   test("not here", () => { skip("needs a clock"); });
 *   run();   // last: reads argv, runs the one case asked for, exits
 *
 * `prog --list` prints the case names, one a line, and exits 0. `prog NAME` runs that case:
 * exit 0 when it passed; 1 when a check failed (each failure is a `FILE:LINE: check failed:
 * EXPR` line on stderr); 77 with `SKIP: reason` on stderr when it skipped; 2 for a name that
 * is not a case, or a bad command line.
 *
 * AssemblyScript has no exceptions, so a case cannot be left from inside a helper except by
 * ending the instance: `fail` and `skip` do exactly that (wasitest runs each case in a fresh
 * instance anyway). `check` and `checkEqual` record a failure and let the case go on.
 *
 * FILE:LINE and EXPR come from wasitest's compiler transform (`transform.mjs`), which adds
 * them as the trailing `where` and `expr` arguments of every `check`, `checkEqual` and
 * `fail` call imported from "wasitest"; nobody writes those two arguments by hand.
 */

const EXIT_PASS = 0;
const EXIT_FAIL = 1;
const EXIT_USAGE = 2;
const EXIT_SKIP = 77;

const names: string[] = [];
const bodies: Array<() => void> = [];
let failures = 0;

/** Registers a case. Cases are listed and looked up in registration order. */
export function test(name: string, body: () => void): void {
  names.push(name);
  bodies.push(body);
}

/** Records a failure when `condition` is falsy, and goes on. Returns whether it held. */
export function check<T>(condition: T, message: string = "", where: string = "", expr: string = ""): bool {
  if (condition) return true;
  report(where, "check failed: " + (expr.length ? expr : "condition") + suffix(message));
  return false;
}

/**
 * Records a failure unless `actual` equals `expected`, and goes on. Strings compare by
 * content, arrays element by element, other objects with their `==`.
 */
export function checkEqual<T>(
  actual: T,
  expected: T,
  message: string = "",
  where: string = "",
  expr: string = ""
): bool {
  if (equal<T>(actual, expected)) return true;
  const what = expr.length ? expr : "values are equal";
  report(where, "check failed: " + what + " (" + show<T>(actual) + " != " + show<T>(expected) + ")" + suffix(message));
  return false;
}

/** Fails the case with a message and ends it at once. */
export function fail(message: string = "", where: string = ""): void {
  report(where, "failed: " + message);
  process.exit(EXIT_FAIL);
}

/** Marks the case skipped and ends it at once; a case that already failed stays failed. */
export function skip(reason: string = ""): void {
  process.stderr.write("SKIP: " + reason + "\n");
  process.exit(failures > 0 ? EXIT_FAIL : EXIT_SKIP);
}

/** The entry point: call it last, after every `test`. It never returns. */
export function run(): void {
  const argv = process.argv;
  const program = argv.length > 0 ? argv[0] : "prog";
  const problem = badName();
  if (problem.length) usage(program, problem);
  if (argv.length != 2) usage(program, "expected one argument");
  const arg = argv[1];
  if (arg == "--list") {
    let listing = "";
    for (let i = 0; i < names.length; i++) listing += names[i] + "\n";
    process.stdout.write(listing);
    process.exit(EXIT_PASS);
  }
  if (arg.startsWith("-")) usage(program, "unknown option " + arg);
  const index = names.indexOf(arg);
  if (index < 0) {
    process.stderr.write(program + ": no test case named '" + arg + "' (`" + program + " --list` lists them)\n");
    process.exit(EXIT_USAGE);
  }
  bodies[index]();
  process.exit(failures > 0 ? EXIT_FAIL : EXIT_PASS);
}

function usage(program: string, problem: string): void {
  process.stderr.write(program + ": " + problem + "\nusage: " + program + " --list | " + program + " NAME\n");
  process.exit(EXIT_USAGE);
}

/** A case name the protocol cannot carry (one name a line, no leading '-'), or a duplicate. */
function badName(): string {
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    if (name.length == 0 || name.startsWith("-") || name.includes("\n") || name.includes("\r")) {
      return "invalid test case name " + quote(name) + " (non-empty, one line, not starting with '-')";
    }
    if (names.indexOf(name) != i) return "two test cases are named " + quote(name);
  }
  return "";
}

function report(where: string, text: string): void {
  failures++;
  process.stderr.write((where.length ? where + ": " : "") + text + "\n");
}

function suffix(message: string): string {
  return message.length ? ": " + message : "";
}

function equal<T>(a: T, b: T): bool {
  if (isReference<T>()) {
    if (isNullable<T>()) {
      if (changetype<usize>(a) == 0 || changetype<usize>(b) == 0) {
        return changetype<usize>(a) == changetype<usize>(b);
      }
    }
    if (isString<T>()) return changetype<string>(a) == changetype<string>(b);
    if (isArrayLike<T>()) {
      // @ts-ignore: an array-like has length and an index operator
      const n = a.length;
      // @ts-ignore
      if (n != b.length) return false;
      for (let i = 0; i < n; i++) {
        // @ts-ignore
        if (!equal(unchecked(a[i]), unchecked(b[i]))) return false;
      }
      return true;
    }
  }
  return a == b;
}

function show<T>(value: T): string {
  if (isBoolean<T>()) return value ? "true" : "false";
  if (isInteger<T>() || isFloat<T>()) {
    // @ts-ignore: numbers have toString
    return value.toString();
  }
  if (isReference<T>()) {
    if (changetype<usize>(value) == 0) return "null";
    if (isString<T>()) return quote(changetype<string>(value));
    if (isArrayLike<T>()) {
      let out = "[";
      // @ts-ignore: an array-like has length and an index operator
      for (let i = 0; i < value.length; i++) {
        // @ts-ignore
        out += (i ? ", " : "") + show(unchecked(value[i]));
      }
      return out + "]";
    }
    return "<" + nameof<T>() + ">";
  }
  return "<" + nameof<T>() + ">";
}

/** Double-quoted, with control characters, quotes and non-ASCII escaped, as the C helper does. */
function quote(text: string): string {
  let out = "\"";
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c == 0x22 || c == 0x5c) out += "\\" + String.fromCharCode(c);
    else if (c == 0x0a) out += "\\n";
    else if (c == 0x09) out += "\\t";
    else if (c == 0x0d) out += "\\r";
    else if (c < 0x20 || c == 0x7f) out += "\\x" + hex(c, 2);
    else if (c > 0x7f) out += "\\u" + hex(c, 4);
    else out += String.fromCharCode(c);
  }
  return out + "\"";
}

function hex(value: i32, width: i32): string {
  return value.toString(16).padStart(width, "0");
}

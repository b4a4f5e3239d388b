"""Where a failed or skipped case failed: each harness's reading of its binary's own words
(`FILE:LINE: check failed`, an AssemblyScript abort, Go's `x_test.go:12:` and panic frames,
a Rust panic), and the runner carrying the place into the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasitest.model import Artifact, Case, Cell, Execution, Job, Outcome, SubVerdict, TrapKind, Verdict
from wasitest.plugins.harnesses.clist import CListHarness, failure_location
from wasitest.plugins.harnesses.gotest import GoTestHarness, source_prefix
from wasitest.plugins.harnesses.libtest import LibtestHarness
from wasitest.runner.verdicts import result_from_verdict, results_from

C_ARTIFACT = Artifact("unit", "files", Path("files.wasm"), "clist", "0" * 64)


def _exec(code: int | None = 1, stderr: str = "", stdout: str = "", trap: TrapKind | None = None) -> Execution:
    return Execution(exit_code=code, trap=trap, stdout=stdout.encode(), stderr=stderr.encode())


@pytest.mark.parametrize(
    ("stderr", "place"),
    [
        ("tests/files.c:55: check failed: fd == -1\ntests/files.c:60: check failed: x\n", ("tests/files.c", 55)),
        ("note\nsrc/a b.c:7: failed: the widget is broken\n", ("src/a b.c", 7)),
        ("tests/text.ts:14: check failed: slugify(\"a  b\") == \"a-b\"\n", ("tests/text.ts", 14)),
        ("abort: Index out of range in tests/calc.ts(12:5)\n", ("tests/calc.ts", 12)),
        ("abort: Index out of range in ~lib/array.ts(106:42)\n", ("", 0)),  # the standard library: no place of ours
        ("segfault somewhere\n", ("", 0)),
    ],
)
def test_clist_finds_the_first_failed_check_or_an_abort(stderr: str, place: tuple[str, int]) -> None:
    assert failure_location(_exec(1, stderr)) == place
    verdict = CListHarness().verdict(Case(C_ARTIFACT, "c", ("files", "c")), _exec(1 if place[0] else 255, stderr))
    assert verdict.outcome is Outcome.FAILED and (verdict.file, verdict.line) == place


def test_clist_locates_only_failures() -> None:
    harness, case = CListHarness(), Case(C_ARTIFACT, "c", ("files", "c"))
    stderr = "tests/files.c:55: check failed: x\n"
    trapped = _exec(None, stderr, trap=TrapKind.UNREACHABLE)
    for execution in (_exec(0, stderr), _exec(77, "SKIP: later\n" + stderr), trapped):
        verdict = harness.verdict(case, execution)
        assert verdict.outcome is not Outcome.FAILED and (verdict.file, verdict.line) == ("", 0)


RUST = Artifact("rust", "textkit", Path("t.wasm"), "libtest", "0" * 64)
RUST_OLD = (
    "\nrunning 1 test\ntest tests::counts_letters ... ",
    "thread 'main' panicked at 'assertion failed: `(left == right)`\n  left: `12`,\n right: `10`', src/lib.rs:70:9\n",
)
RUST_NEW = (
    "\nrunning 1 test\ntest tests::counts_letters ... ",
    "\nthread 'main' panicked at crates/text/src/lib.rs:70:9:\nassertion `left == right` failed\n",
)


@pytest.mark.parametrize(
    ("output", "place"), [(RUST_OLD, ("src/lib.rs", 70)), (RUST_NEW, ("crates/text/src/lib.rs", 70))]
)
def test_a_rust_panic_locates_the_failure(output: tuple[str, str], place: tuple[str, int]) -> None:
    stdout, stderr = output
    case = Case(RUST, "tests::counts_letters", ("textkit", "tests::counts_letters"))
    verdict = LibtestHarness().verdict(case, _exec(None, stderr, stdout, trap=TrapKind.UNREACHABLE))
    assert verdict.outcome is Outcome.FAILED and (verdict.file, verdict.line) == place
    overflow = LibtestHarness().verdict(case, _exec(None, "", stdout, trap=TrapKind.STACK_OVERFLOW))
    assert overflow.outcome is Outcome.TRAPPED and overflow.file == ""  # no panic, no place


def _go(tmp_path: Path, standard: bool = False) -> Case:
    module = tmp_path / "mod"
    (module / "strutil").mkdir(parents=True)
    (module / "go.mod").write_text("module example.com/gotest\n")
    import_path = "strings" if standard else "example.com/gotest/strutil"
    extra = {"import_path": import_path, "standard": standard, "dir": str(module / "strutil")}
    artifact = Artifact("unit", "strutil", Path("t.wasm"), "gotest", "0" * 64, extra=extra)
    prefix = source_prefix(artifact)
    return Case(artifact, "TestWords", ("strutil.test",), meta={} if prefix is None else {"source_prefix": prefix})


GO_SUBTESTS = """=== RUN   TestWords
=== RUN   TestWords/one
=== RUN   TestWords/tabs
    strutil_test.go:42: Words("a\\tb") = ["a\\tb"], want ["a" "b"]
=== RUN   TestWords/skipped
    strutil_test.go:47: not here
--- FAIL: TestWords (0.00s)
    --- PASS: TestWords/one (0.00s)
    --- FAIL: TestWords/tabs (0.00s)
    --- SKIP: TestWords/skipped (0.00s)
FAIL
"""
GO_PANIC = """panic: boom [recovered]

goroutine 6 [running]:
testing.tRunner.func1.2({0x2eabf0, 0x32c090})
\ttesting/testing.go:2125 +0x20
example.com/gotest/strutil.TestWords(0x506248)
\texample.com/gotest/strutil/strutil_test.go:30 +0x2
"""


def test_go_places_are_paths_from_the_module_root(tmp_path: Path) -> None:
    case = _go(tmp_path)
    assert case.meta == {"source_prefix": "strutil"}
    verdict = GoTestHarness().verdict(case, _exec(1, stdout=GO_SUBTESTS))
    assert verdict.outcome is Outcome.FAILED
    assert (verdict.file, verdict.line) == ("strutil/strutil_test.go", 42)  # the failed subtest's line
    subs = {s.name: s for s in verdict.subcases}
    assert (subs["TestWords/tabs"].file, subs["TestWords/tabs"].line) == ("strutil/strutil_test.go", 42)
    assert (subs["TestWords/skipped"].file, subs["TestWords/skipped"].line) == ("strutil/strutil_test.go", 47)
    assert subs["TestWords/one"].file == ""
    out = "=== RUN   TestWords\n    strutil_test.go:12: first\n"
    panicked = GoTestHarness().verdict(case, _exec(2, GO_PANIC, out))
    assert (panicked.file, panicked.line) == ("strutil/strutil_test.go", 30)  # the -trimpath frame, not the log line


def test_go_places_without_a_module_and_in_the_standard_library(tmp_path: Path) -> None:
    std = _go(tmp_path, standard=True)
    assert std.meta == {"source_prefix": "strings"}
    out = "=== RUN   TestWords\n    strings_test.go:9: nope\n--- FAIL: TestWords (0.00s)\nFAIL\n"
    assert GoTestHarness().verdict(std, _exec(1, stdout=out)).file == "strings/strings_test.go"
    artifact = Artifact("u", "p", Path("t.wasm"), "gotest", "0", extra={"import_path": "example.com/x/p"})
    bare = Case(artifact, "TestWords", ("p.test",))
    assert source_prefix(bare.artifact) is None  # no folder here: the import path stands in
    assert GoTestHarness().verdict(bare, _exec(1, stdout=out)).file == "example.com/x/p/strings_test.go"


def test_the_runner_carries_places_into_results() -> None:
    case = Case(C_ARTIFACT, "c", ("files", "c"))
    verdict = Verdict(
        Outcome.FAILED, "m", (SubVerdict("c/sub", Outcome.FAILED, "s", 0.0, "a_test.go", 3),), file="tests/f.c", line=5
    )
    main, sub = results_from(Job(case, Cell("node")), _exec(1), verdict)
    assert (main.file, main.line, sub.file, sub.line) == ("tests/f.c", 5, "a_test.go", 3)
    assert main.to_json()["file"] == "tests/f.c" and main.to_json()["line"] == 5
    (xfailed, _) = results_from(Job(case, Cell("node"), expected_failure=True), _exec(1), verdict)
    assert xfailed.outcome is Outcome.XFAILED and (xfailed.file, xfailed.line) == ("tests/f.c", 5)
    (batched, _) = result_from_verdict(Job(case, Cell("node")), verdict, 0.1)
    assert (batched.file, batched.line) == ("tests/f.c", 5)

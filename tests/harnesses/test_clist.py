"""The `clist` and `exitcode` harnesses on real modules: C built with `wasitest.h` by zig cc,
run in Wasmtime (wasmtime-py) through a small `execute` written here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import wasmtime

from wasitest.model import Artifact, Case, Cell, Execution, Invocation, Job, Outcome, TrapKind
from wasitest.plugins.harnesses import clist, exitcode
from wasitest.plugins.harnesses.clist import CListHarness
from wasitest.plugins.harnesses.exitcode import ExitCodeHarness
from wasitest.protocols import Harness
from wasitest.runner.verdicts import runner_verdict

INCLUDE = Path(__file__).resolve().parents[2] / "wasitest" / "include"

SUITE = r"""
#include "wasitest.h"
static int add(int a, int b) { return a + b; }
TEST(adds) { CHECK(add(1, 1) == 2); CHECK_EQ_INT(add(2, 2), 4); CHECK_EQ_STR("ab", "ab"); }
TEST(adds_wrongly) {
    CHECK(add(1, 1) == 3);
    CHECK_EQ_INT(add(2, 2), 5);
    CHECK_EQ_STR("h\xc3\xa9", "he");
    REQUIRE(add(0, 0) == 1);
    CHECK(!"not reached: REQUIRE returned");
}
TEST(fails_with_message) { FAIL("the widget is broken"); }
TEST(skipped) { SKIP("not on this platform"); }
TEST(traps) { __builtin_trap(); }
TEST(fails_then_skips) { CHECK(0); SKIP("too late"); }
"""
CASES = ["adds", "adds_wrongly", "fails_with_message", "skipped", "traps", "fails_then_skips"]

EXIT_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
int main(void) {
    const char *code = getenv("CODE");
    fprintf(stderr, "SKIP: no widgets\nlast words\n");
    if (code && code[0] == 't') __builtin_trap();
    return code ? atoi(code) : 0;
}
"""


def compile_c(workdir: Path, name: str, source: str, cxx: bool = False, cc: list[str] | None = None) -> Path:
    src = workdir / f"{name}.{'cpp' if cxx else 'c'}"
    src.write_text(source)
    out = workdir / f"{name}.wasm"
    if cc is None:
        cc = [sys.executable, "-m", "ziglang", "c++" if cxx else "cc", "--target=wasm32-wasi"]
    flags = ["-fno-exceptions"] if cxx else ["-std=c99"]
    cmd = [*cc, "-O2", "-Wall", "-Wextra", "-Werror", *flags, "-I", str(INCLUDE), "-o", out.name, src.name]
    subprocess.run(cmd, cwd=workdir, check=True)
    return out


class WasmtimeExecute:
    """Runs an invocation in a fresh Wasmtime instance; compiled modules are cached."""

    def __init__(self) -> None:
        self.engine = wasmtime.Engine()
        self.modules: dict[Path, wasmtime.Module] = {}

    def __call__(self, inv: Invocation) -> Execution:
        module = self.modules.get(inv.module) or wasmtime.Module.from_file(self.engine, str(inv.module))
        self.modules[inv.module] = module
        with tempfile.TemporaryDirectory() as tmp:
            out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
            config = wasmtime.WasiConfig()
            config.argv = list(inv.argv)
            config.env = [list(pair) for pair in inv.env]
            config.stdout_file = str(out)
            config.stderr_file = str(err)
            for host, guest in inv.preopens:
                config.preopen_dir(str(host), guest)
            store = wasmtime.Store(self.engine)
            store.set_wasi(config)
            linker = wasmtime.Linker(self.engine)
            linker.define_wasi()
            code: int | None = 0
            trap: TrapKind | None = None
            message = ""
            try:
                linker.instantiate(store, module).exports(store)["_start"](store)  # type: ignore[operator]
            except wasmtime.ExitTrap as exc:
                code = exc.code
            except wasmtime.Trap as exc:
                code = None
                trap = TrapKind.UNREACHABLE if exc.trap_code == wasmtime.TrapCode.UNREACHABLE else TrapKind.OTHER
                message = exc.message.strip().splitlines()[-1].strip()
            finally:
                store.close()
            return Execution(
                exit_code=code, trap=trap, trap_message=message, stdout=out.read_bytes(), stderr=err.read_bytes()
            )


@pytest.fixture(scope="session")
def execute() -> WasmtimeExecute:
    return WasmtimeExecute()


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    path = compile_c(tmp_path_factory.mktemp("clist"), "suite", SUITE)
    return Artifact(suite="unit", name="suite", path=path, harness="clist", sha256="")


@pytest.fixture(scope="session")
def cases(suite: Artifact, execute: WasmtimeExecute) -> dict[str, Case]:
    return {case.name: case for case in CListHarness().discover(suite, execute)}


def line_of(text: str, source: str = SUITE) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


def test_harnesses_register_as_plugins() -> None:
    registered: list[Harness] = []
    clist.wasitest_register_harnesses(register=registered.append)
    exitcode.wasitest_register_harnesses(register=registered.append)
    assert [h.name for h in registered] == ["clist", "exitcode"]
    assert all(isinstance(h, Harness) for h in registered)


def test_list_prints_cases_in_source_order(suite: Artifact, execute: WasmtimeExecute) -> None:
    listing = execute(Invocation(module=suite.path, argv=("suite", "--list")))
    assert listing.exit_code == 0
    assert listing.stdout.decode().splitlines() == CASES
    cases = CListHarness().discover(suite, execute)
    assert [(c.name, c.argv, c.id) for c in cases] == [(n, ("suite", n), f"unit/suite::{n}") for n in CASES]


def run(name: str, cases: dict[str, Case], execute: WasmtimeExecute) -> tuple[Execution, Outcome, str]:
    execution = execute(Invocation(module=cases[name].artifact.path, argv=cases[name].argv))
    verdict = CListHarness().verdict(cases[name], execution)
    return execution, verdict.outcome, verdict.message


def test_passing_case(cases: dict[str, Case], execute: WasmtimeExecute) -> None:
    execution, outcome, message = run("adds", cases, execute)
    assert (execution.exit_code, outcome, message, execution.stderr) == (0, Outcome.PASSED, "", b"")


def test_failing_checks_name_file_line_and_values(cases: dict[str, Case], execute: WasmtimeExecute) -> None:
    execution, outcome, message = run("adds_wrongly", cases, execute)
    assert execution.exit_code == 1
    assert outcome is Outcome.FAILED
    str_line = line_of('CHECK_EQ_STR("h')
    assert message.splitlines() == [
        f"suite.c:{line_of('add(1, 1) == 3')}: check failed: add(1, 1) == 3",
        f"suite.c:{line_of('add(2, 2), 5')}: check failed: add(2, 2) == 5 (4 != 5)",
        f"suite.c:{str_line}: check failed: " + r'"h\xc3\xa9" == "he" ("h\xc3\xa9" != "he")',
        f"suite.c:{line_of('REQUIRE')}: check failed: add(0, 0) == 1",
    ]


def test_fail_macro_and_failure_wins_over_skip(cases: dict[str, Case], execute: WasmtimeExecute) -> None:
    _, outcome, message = run("fails_with_message", cases, execute)
    assert (outcome, message) == (Outcome.FAILED, f"suite.c:{line_of('FAIL(')}: failed: the widget is broken")
    execution, outcome, _ = run("fails_then_skips", cases, execute)
    assert (execution.exit_code, outcome) == (1, Outcome.FAILED)


def test_skipped_case(cases: dict[str, Case], execute: WasmtimeExecute) -> None:
    execution, outcome, message = run("skipped", cases, execute)
    assert (execution.exit_code, outcome, message) == (77, Outcome.SKIPPED, "not on this platform")


def test_trapping_case(cases: dict[str, Case], execute: WasmtimeExecute) -> None:
    execution, outcome, message = run("traps", cases, execute)
    assert execution.trap is TrapKind.UNREACHABLE
    assert outcome is Outcome.TRAPPED
    assert message.startswith("unreachable: ") and "unreachable" in message[len("unreachable: ") :]


def test_unknown_case_exits_2(suite: Artifact, execute: WasmtimeExecute) -> None:
    execution = execute(Invocation(module=suite.path, argv=("suite", "nope")))
    assert execution.exit_code == 2
    assert b"unknown case 'nope'" in execution.stderr
    case = Case(artifact=suite, name="nope", argv=("suite", "nope"))
    verdict = CListHarness().verdict(case, execution)
    assert verdict.outcome is Outcome.FAILED and "unknown case 'nope'" in verdict.message


def test_no_arguments_runs_everything_until_a_trap(suite: Artifact, execute: WasmtimeExecute) -> None:
    execution = execute(Invocation(module=suite.path, argv=("suite",)))
    assert execution.trap is TrapKind.UNREACHABLE  # `traps` ends the instance
    assert execution.stdout.decode().splitlines() == [
        "PASS adds",
        "FAIL adds_wrongly",
        "FAIL fails_with_message",
        "SKIP skipped",
    ]


def test_discovery_failure_is_one_line(suite: Artifact) -> None:
    def broken(inv: Invocation) -> Execution:
        return Execution(exit_code=1, stderr=b"some noise\nbad flag --list\n")

    with pytest.raises(RuntimeError, match=r"^`suite --list` exited with 1: bad flag --list$"):
        CListHarness().discover(suite, broken)

    def trapping(inv: Invocation) -> Execution:
        return Execution(trap=TrapKind.STACK_OVERFLOW, trap_message="call stack\nexhausted")

    with pytest.raises(RuntimeError, match=r"^`suite --list` trapped \(stack_overflow: call stack exhausted\)$"):
        CListHarness().discover(suite, trapping)


def test_header_compiles_as_cxx(tmp_path: Path, execute: WasmtimeExecute) -> None:
    path = compile_c(tmp_path, "suite", SUITE, cxx=True)
    artifact = Artifact(suite="unit", name="suite", path=path, harness="clist", sha256="")
    cases = {c.name: c for c in CListHarness().discover(artifact, execute)}
    assert list(cases) == CASES
    assert run("adds", cases, execute)[1] is Outcome.PASSED
    _, outcome, message = run("adds_wrongly", cases, execute)
    assert outcome is Outcome.FAILED and message.startswith("suite.cpp:")


@pytest.mark.skipif(
    shutil.which("clang-14") is None or not Path("/usr/lib/wasm32-wasi/libc.a").exists(),
    reason="Debian clang-14 with wasi-libc is not installed",
)
def test_header_with_debian_clang(tmp_path: Path, execute: WasmtimeExecute) -> None:
    path = compile_c(tmp_path, "suite", SUITE, cc=["clang-14", "--target=wasm32-wasi"])
    artifact = Artifact(suite="unit", name="suite", path=path, harness="clist", sha256="")
    assert [c.name for c in CListHarness().discover(artifact, execute)] == CASES


@pytest.fixture(scope="session")
def exit_program(tmp_path_factory: pytest.TempPathFactory) -> Artifact:
    path = compile_c(tmp_path_factory.mktemp("exitcode"), "prog", EXIT_PROGRAM)
    return Artifact(suite="unit", name="prog", path=path, harness="exitcode", sha256="")


@pytest.mark.parametrize(
    ("code", "outcome", "message"),
    [
        ("0", Outcome.PASSED, ""),
        ("77", Outcome.SKIPPED, "no widgets"),
        ("3", Outcome.FAILED, "SKIP: no widgets\nlast words"),
        ("trap", Outcome.TRAPPED, "unreachable: wasm trap: wasm `unreachable` instruction executed"),
    ],
)
def test_exitcode_harness(
    exit_program: Artifact, execute: WasmtimeExecute, code: str, outcome: Outcome, message: str
) -> None:
    harness = ExitCodeHarness()
    [case] = harness.discover(exit_program, execute)
    assert (case.name, case.argv, case.id) == ("prog", ("prog",), "unit/prog::prog")
    execution = execute(Invocation(module=case.artifact.path, argv=case.argv, env=(("CODE", code),)))
    verdict = harness.verdict(case, execution)
    assert (verdict.outcome, verdict.message) == (outcome, message)


@pytest.mark.parametrize(
    ("execution", "outcome", "message"),
    [
        (Execution(exit_code=1), Outcome.FAILED, "exit code 1"),
        (Execution(exit_code=1, stdout=b"out\n"), Outcome.FAILED, "out"),
        (Execution(trap=TrapKind.TIMEOUT), Outcome.TIMEOUT, "exceeded the 60 s time limit"),
        (Execution(error="bad module"), Outcome.ERROR, "bad module"),
        (Execution(unsupported="no preopens"), Outcome.UNSUPPORTED, "no preopens"),
        (Execution(crash="worker died"), Outcome.CRASHED, "worker died"),
        (Execution(), Outcome.ERROR, "the runtime reported neither an exit code nor a trap"),
    ],
)
def test_verdict_edge_cases(execution: Execution, outcome: Outcome, message: str) -> None:
    """As the runner reads a job: its own verdict first (unsupported, crashed, error,
    timeout: the `Harness` contract), else the harness's."""
    case = Case(
        artifact=Artifact(suite="s", name="a", path=Path("a.wasm"), harness="clist", sha256=""),
        name="c",
        argv=("a", "c"),
    )
    for harness in (CListHarness(), ExitCodeHarness()):
        verdict = runner_verdict(Job(case, Cell("wasmtime")), execution, 60.0) or harness.verdict(case, execution)
        assert (verdict.outcome, verdict.message) == (outcome, message)


def test_many_failed_checks_are_capped() -> None:
    stderr = "".join(f"t.c:{n}: check failed: x\n" for n in range(1, 9)).encode()
    message = clist.failure_message(Execution(exit_code=1, stderr=stderr))
    assert message.splitlines()[-1] == "... and 3 more" and len(message.splitlines()) == 6

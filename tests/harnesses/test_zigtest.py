"""The zigtest harness: protocol round trips, and `zig/sample.zig` built and run for real.

The real run builds the sample with the `ziglang` package (a few seconds once Zig's cache
is warm, longer the first time) and runs every case in its own fresh wasmtime instance.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

import wasitest.plugins.harnesses.zigtest as zt
from wasitest.model import Artifact, Case, Cell, Execution, Invocation, Job, Outcome, TrapKind
from wasitest.plugins.harnesses.zigtest import (
    ClientTag,
    Message,
    ServerTag,
    Status,
    ZigTestHarness,
    case_names,
    decode_messages,
    decode_test_metadata,
    decode_test_results,
    encode_message,
    encode_query_metadata,
    encode_run_test,
    encode_test_metadata,
    encode_test_results,
    requested_index,
)
from wasitest.protocols import Harness
from wasitest.runner.verdicts import runner_verdict

SAMPLE = Path(__file__).parent / "zig" / "sample.zig"


# --- the protocol, without Zig ---------------------------------------------------------


def test_message_framing_round_trip() -> None:
    stream = encode_message(ServerTag.ZIG_VERSION, b"0.17.1") + encode_message(ServerTag.TEST_STARTED)
    assert stream[:8] == b"\x00\x00\x00\x00\x06\x00\x00\x00"
    assert decode_messages(stream) == [Message(0, b"0.17.1"), Message(5, b"")]


def test_truncated_trailing_message_is_dropped() -> None:
    stream = encode_message(ServerTag.TEST_STARTED) + encode_message(ServerTag.TEST_RESULTS, b"x" * 12)
    assert decode_messages(stream[:-1]) == [Message(ServerTag.TEST_STARTED)]
    assert decode_messages(stream[:3]) == []


def test_requests() -> None:
    assert decode_messages(encode_query_metadata()) == [
        Message(ClientTag.QUERY_TEST_METADATA),
        Message(ClientTag.EXIT),
    ]
    stdin = encode_run_test(7)
    assert stdin == b"\x05\x00\x00\x00\x04\x00\x00\x00\x07\x00\x00\x00" + b"\x00" * 8
    assert requested_index(stdin) == 7
    assert requested_index(encode_query_metadata()) is None


def test_metadata_round_trip() -> None:
    metadata = zt.TestMetadata(("a.test.x", "a.decltest.f", "a.test_0"), (None, "oops", None))
    assert decode_test_metadata(encode_test_metadata(metadata)) == metadata
    empty = zt.TestMetadata((), ())
    assert decode_test_metadata(encode_test_metadata(empty)) == empty


@pytest.mark.parametrize(
    "results",
    [
        zt.TestResults(0, Status.PASS),
        zt.TestResults(3, Status.FAIL),
        zt.TestResults(4, Status.SKIP, fuzz=True),
        zt.TestResults(2**32 - 1, Status.PASS, log_err_count=2**30 - 1, leak_count=2**31 - 1),
    ],
)
def test_results_round_trip(results: zt.TestResults) -> None:
    assert decode_test_results(encode_test_results(results)) == results


def test_results_bit_layout() -> None:
    # As a Zig 0.17 test that leaked one allocation (and so logged one error) sent it.
    body = bytes.fromhex("040000000800000002000000")
    assert decode_test_results(body) == zt.TestResults(4, Status.PASS, log_err_count=1, leak_count=1)


def test_case_names() -> None:
    names = ["s.test.a", "s.Inner.test.b", "sub.o.test.a"]
    assert case_names(names, "s") == ["test.a", "Inner.test.b", "sub.o.test.a"]
    assert case_names(["m.test.a", "m.test_0"], "renamed") == ["test.a", "test_0"]
    assert case_names(["x.test.a", "y.test.a"], "z") == ["x.test.a", "y.test.a"]
    assert case_names(["s.test.a", "test.a"], "s") == ["s.test.a", "test.a"]


def _fake_verdict(stdout: bytes, **kw: Any) -> tuple[Outcome, str]:
    """As the runner reads a job: its own verdict first (the `Harness` contract), else the harness's."""
    artifact = Artifact(suite="s", name="t", path=Path("t.wasm"), harness="zigtest", sha256="")
    case = Case(artifact, "test.x", ("t.wasm", "--listen=-"), encode_run_test(1))
    execution = Execution(stdout=stdout, **kw)
    verdict = runner_verdict(Job(case, Cell("wasmtime")), execution, 60.0) or ZigTestHarness().verdict(case, execution)
    return verdict.outcome, verdict.message


def test_verdict_edge_cases() -> None:
    started = encode_message(ServerTag.ZIG_VERSION, b"0.17.1") + encode_message(ServerTag.TEST_STARTED)
    wrong = started + encode_message(ServerTag.TEST_RESULTS, encode_test_results(zt.TestResults(2, Status.PASS)))
    assert _fake_verdict(wrong, exit_code=0)[0] is Outcome.ERROR
    assert _fake_verdict(b"", exit_code=1, stderr=b"unsupported message: 8\n") == (
        Outcome.ERROR,
        "the test runner did not start the test (exit code 1)\nunsupported message: 8",
    )
    assert _fake_verdict(started, exit_code=3)[0] is Outcome.FAILED
    assert _fake_verdict(b"", error="bad module") == (Outcome.ERROR, "bad module")


# --- the real thing --------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample_wasm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("ziglang")
    out = tmp_path_factory.mktemp("zig")
    wasm = out / "sample.wasm"
    cmd = [
        sys.executable,
        "-m",
        "ziglang",
        "test",
        "-target",
        "wasm32-wasi",
        "--test-no-exec",
        f"-femit-bin={wasm}",
        str(SAMPLE),
    ]
    proc = subprocess.run(cmd, cwd=out, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    return wasm


class WasmtimeExecute:
    """Runs an invocation on wasmtime-py: the module compiled once, a new store and instance
    for every call, stdio through temporary files. Counts the instances it makes."""

    def __init__(self) -> None:
        self.wasmtime = pytest.importorskip("wasmtime")
        self.engine = self.wasmtime.Engine()
        self.modules: dict[Path, Any] = {}
        self.instances = 0

    def __call__(self, invocation: Invocation) -> Execution:
        wt = self.wasmtime
        module = self.modules.get(invocation.module)
        if module is None:
            module = self.modules[invocation.module] = wt.Module.from_file(self.engine, str(invocation.module))
        with tempfile.TemporaryDirectory(prefix="zigtest-") as tmp:
            stdin, stdout, stderr = (Path(tmp) / n for n in ("stdin", "stdout", "stderr"))
            stdin.write_bytes(invocation.stdin)
            wasi = wt.WasiConfig()
            wasi.argv = list(invocation.argv)
            wasi.stdin_file = str(stdin)
            wasi.stdout_file = str(stdout)
            wasi.stderr_file = str(stderr)
            store = wt.Store(self.engine)
            store.set_wasi(wasi)
            linker = wt.Linker(self.engine)
            linker.define_wasi()
            exit_code: int | None = None
            trap: TrapKind | None = None
            message = ""
            try:
                instance = linker.instantiate(store, module)
                self.instances += 1
                instance.exports(store)["_start"](store)
                exit_code = 0
            except wt.ExitTrap as exc:
                exit_code = exc.code
            except wt.Trap as exc:
                trap = TrapKind.UNREACHABLE if "unreachable" in exc.message else TrapKind.OTHER
                message = exc.message
            finally:
                store.close()
            return Execution(
                exit_code=exit_code,
                trap=trap,
                trap_message=message,
                stdout=stdout.read_bytes(),
                stderr=stderr.read_bytes(),
            )


@pytest.fixture(scope="session")
def execute() -> WasmtimeExecute:
    return WasmtimeExecute()


@pytest.fixture(scope="session")
def cases(sample_wasm: Path, execute: WasmtimeExecute) -> list[Case]:
    artifact = Artifact(suite="zig", name="sample", path=sample_wasm, harness="zigtest", sha256="")
    return list(ZigTestHarness().discover(artifact, execute))


EXPECTED = {
    "test.adds": (Outcome.PASSED, ""),
    "test.adds wrongly": (Outcome.FAILED, "expected 3, found 2"),
    "test.skipped": (Outcome.SKIPPED, ""),
    "test.panics": (
        Outcome.TRAPPED,
        "panic: boom\ntrapped (unreachable): wasm trap: wasm `unreachable` instruction executed",
    ),
    "test.leaks": (Outcome.FAILED, "memory leaked (1 allocation)"),
    "test.prints": (Outcome.PASSED, ""),
    "test.logs an error": (Outcome.FAILED, "logged 1 error\n[default] (err): something went wrong"),
    "decltest.add": (Outcome.PASSED, ""),
    "test_0": (Outcome.PASSED, ""),
    "test_1": (Outcome.PASSED, ""),
    "Inner.test.nested": (Outcome.PASSED, ""),
}


def test_harness_protocol() -> None:
    assert isinstance(ZigTestHarness(), Harness)
    assert ZigTestHarness.name == "zigtest"


def test_discovery_finds_every_test(cases: list[Case]) -> None:
    assert [c.name for c in cases] == list(EXPECTED)
    assert [requested_index(c.stdin) for c in cases] == list(range(len(EXPECTED)))
    assert {c.argv for c in cases} == {("sample.wasm", "--listen=-")}
    assert cases[0].id == "zig/sample::test.adds"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_case_alone(name: str, cases: list[Case], execute: WasmtimeExecute) -> None:
    case = next(c for c in cases if c.name == name)
    before = execute.instances
    execution = execute(Invocation(module=case.artifact.path, argv=case.argv, stdin=case.stdin))
    assert execute.instances == before + 1
    # exactly one test ran: one test_started, and a result for this case's index unless it trapped
    messages = decode_messages(execution.stdout)
    assert [m.tag for m in messages].count(ServerTag.TEST_STARTED) == 1
    verdict = ZigTestHarness().verdict(case, execution)
    assert (verdict.outcome, verdict.message) == EXPECTED[name]
    if name == "test.prints":
        assert execution.stderr == b"hello from zig\n"


def test_whole_module_run_agrees(sample_wasm: Path, execute: WasmtimeExecute) -> None:
    """Without `--listen=-` the runner runs everything and stops at the first panic."""
    execution = execute(Invocation(module=sample_wasm, argv=("sample.wasm",)))
    assert execution.trap is TrapKind.UNREACHABLE
    assert b"4/11 sample.test.panics...panic: boom" in execution.stderr


def test_registers_as_a_plugin() -> None:
    import pluggy

    from wasitest import hookspec

    pm = pluggy.PluginManager("wasitest")
    pm.add_hookspecs(hookspec)
    pm.register(zt)
    found: list[Harness] = []
    pm.hook.wasitest_register_harnesses(register=found.append)
    assert [type(h) for h in found] == [ZigTestHarness]


def test_without_stdin_the_runner_panics(cases: list[Case], execute: WasmtimeExecute) -> None:
    """A runtime that gives the module no stdin: the runner panics before any test starts."""
    case = cases[0]
    execution = execute(Invocation(module=case.artifact.path, argv=case.argv))
    verdict = ZigTestHarness().verdict(case, execution)
    assert verdict.outcome is Outcome.TRAPPED
    assert verdict.message.startswith("before the test started: panic: internal test runner failure: EndOfStream")

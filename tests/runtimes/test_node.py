"""The Node.js `node:wasi` adapter against the real Node, and the `wasmbin` reader it uses.

The probe module (`probes/probe.c`, one mode per argv[1]) is built once per test session
with Zig's C compiler.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from wasitest import wasmbin
from wasitest.model import Capability, Execution, Invocation, TrapKind
from wasitest.plugins.runtimes.kit.js import JS_TRAPS, JsSession
from wasitest.plugins.runtimes.node import NodeRuntime

PROBES = Path(__file__).with_name("probes")
MIB = 1024 * 1024

NODE = NodeRuntime()


def _open(cache_dir: Path) -> JsSession:
    info = NODE.info()
    if not info.available:
        pytest.skip(info.reason)
    return NODE.open_session(cache_dir)


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("ziglang")
    out = tmp_path_factory.mktemp("probes") / "probe.wasm"
    cmd = [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        "--target=wasm32-wasi",
        "-O2",
        "-s",
        "-o",
        str(out),
        str(PROBES / "probe.c"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsSession]:
    opened = _open(tmp_path_factory.mktemp("node-cache"))
    yield opened
    opened.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[JsSession]:
    """A session of the test's own, for tests that look at the runner process."""
    opened = _open(tmp_path / "cache")
    yield opened
    opened.close()


Run = Callable[..., Execution]


@pytest.fixture
def run(session: JsSession, probe: Path) -> Run:
    """run("mode", "arg", ..., env=..., stdin=...) runs the probe in the shared session."""

    def go(*args: str, **fields: Any) -> Execution:
        fields.setdefault("timeout_s", 20.0)
        return session.run(Invocation(module=probe, argv=("probe", *args), **fields))

    return go


# ------------------------------------------------------------------------------ the runtime


def test_info_reports_node_and_capabilities() -> None:
    info = NodeRuntime().info()
    if not info.available:
        pytest.skip(info.reason)
    assert info.name == "node"
    assert info.version.startswith("node ") and info.version[5:].split(".")[0].isdigit()
    assert info.capabilities == {Capability.PREOPEN, Capability.STDIN, Capability.TIMEOUT, Capability.MEMORY_LIMIT,
                                 Capability.ENV_ISOLATION, Capability.FS_CONTAINMENT}


def test_info_without_node_says_why(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    info = NodeRuntime().info()
    assert not info.available
    assert "not on PATH" in info.reason
    assert "Node.js" in info.install_hint


def test_info_with_broken_node(tmp_path: Path) -> None:
    fake = tmp_path / "node"
    fake.write_text("#!/bin/sh\necho 'Error: no wasi here' >&2\nexit 1\n")
    fake.chmod(0o755)
    info = NodeRuntime(node=str(fake)).info()
    assert not info.available
    assert "no wasi here" in info.reason


def test_registers_through_the_hook() -> None:
    from wasitest.plugins.runtimes import node

    seen: list[Any] = []
    node.wasitest_register_runtimes(register=seen.append)
    assert [runtime.name for runtime in seen] == ["node"]


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("unreachable", TrapKind.UNREACHABLE),
        ("memory access out of bounds", TrapKind.MEMORY_OUT_OF_BOUNDS),
        ("Maximum call stack size exceeded", TrapKind.STACK_OVERFLOW),
        ("WebAssembly.Instance(): Out of memory: Cannot allocate Wasm memory for new instance", TrapKind.MEMORY_LIMIT),
        ("divide by zero", TrapKind.OTHER),
    ],
)
def test_trap_messages(message: str, kind: TrapKind) -> None:
    assert JS_TRAPS.kind(message) is kind


# ----------------------------------------------------------------------- running the probe


def test_argv_is_passed_exactly(run: Run) -> None:
    args = ("args", "two words", "", "ünïcödé", "a=b", "--flag", "*")
    result = run(*args)
    assert result.exit_code == 0, result
    assert result.stdout.decode().split("\n")[:-1] == ["probe", *args]


def test_env_is_exactly_the_invocation_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, probe: Path) -> None:
    monkeypatch.setenv("WASITEST_HOST_SECRET", "leaked")
    session = _open(tmp_path)  # a runner started with the secret in its environment
    try:
        env = (("B", "1"), ("10", "ten"), ("A", "x=y"), ("EMPTY", ""), ("U", "ü"))
        result = session.run(Invocation(module=probe, argv=("probe", "env"), env=env))
        assert result.exit_code == 0, result
        assert result.stdout.decode().split("\n")[:-1] == [f"{k}={v}" for k, v in env]
        empty = session.run(Invocation(module=probe, argv=("probe", "env")))
        assert empty.stdout == b""
    finally:
        session.close()


@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_codes(run: Run, code: int) -> None:
    result = run("exit", str(code))
    assert (result.exit_code, result.trap, result.error) == (code, None, "")


def test_exit_codes_outside_a_byte_are_kept_as_wasi_u32(run: Run) -> None:
    assert run("exit", "256").exit_code == 256
    assert run("exit", "-1").exit_code == 0xFFFFFFFF


def test_stdout_and_stderr_are_captured(run: Run) -> None:
    result = run("write", "5", output_cap=10)
    assert (result.stdout, result.stderr) == (b"ooooo", b"eeeee")
    assert not result.stdout_truncated and not result.stderr_truncated


def test_output_is_capped(run: Run) -> None:
    result = run("write", "100000", output_cap=10)
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == (b"o" * 10, b"e" * 10)
    assert result.stdout_truncated and result.stderr_truncated


def test_stdin_is_read(run: Run) -> None:
    data = bytes(range(256)) * 100
    assert run("cat", stdin=data).stdout == data


def test_no_stdin_reads_as_empty(run: Run) -> None:
    result = run("cat")
    assert (result.exit_code, result.stdout) == (0, b"")


def test_files_written_in_a_preopen_appear_on_the_host(run: Run, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "in.txt").write_text("from the host")
    result = run("touch", "/tmp/out.txt", "from the guest", preopens=((scratch, "/tmp"),))
    assert result.exit_code == 0, result
    assert (scratch / "out.txt").read_text() == "from the guest"
    read = run("read", "/tmp/in.txt", preopens=((scratch, "/tmp"),))
    assert read.stdout == b"from the host"


def test_nothing_outside_the_preopens_is_visible(run: Run, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("no")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert run("read", "/tmp/../secret", preopens=((scratch, "/tmp"),)).exit_code == 2
    assert run("read", str(tmp_path / "secret")).exit_code == 2


def test_a_planted_link_out_of_a_preopen_makes_the_job_unsupported(run: Run, tmp_path: Path) -> None:
    """node:wasi follows a link in a preopened directory anywhere on the host (Node says
    node:wasi is not a sandbox), so the adapter refuses a job whose data holds one; a link
    that only points down is fine."""
    (tmp_path / "outside.txt").write_text("outside")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "inside.txt").write_text("inside")
    (scratch / "down").symlink_to("inside.txt")
    assert run("read", "/tmp/down", preopens=((scratch, "/tmp"),)).stdout == b"inside"
    (scratch / "link").symlink_to(tmp_path)
    result = run("read", "/tmp/link/outside.txt", preopens=((scratch, "/tmp"),))
    assert result.stdout == b"" and "link" in result.unsupported


def test_timeout_ends_an_infinite_loop(run: Run) -> None:
    started = time.perf_counter()
    result = run("loop", timeout_s=0.5)
    elapsed = time.perf_counter() - started
    assert result.trap is TrapKind.TIMEOUT and result.exit_code is None, result
    assert 0.5 <= result.duration_s < 1.5
    assert elapsed < 3
    assert run("exit", "7").exit_code == 7  # the next job gets a new Worker


def test_timeout_ends_a_guest_blocked_in_a_host_call(fresh: JsSession, probe: Path) -> None:
    """A Worker asleep inside poll_oneoff cannot be terminated: the runner says so and the
    session kills it, so the job still ends close to its timeout."""
    fresh.run(Invocation(module=probe, argv=("probe", "exit", "0")))
    first = fresh.pid
    started = time.perf_counter()
    result = fresh.run(Invocation(module=probe, argv=("probe", "sleep", "60"), timeout_s=0.5))
    assert result.trap is TrapKind.TIMEOUT, result
    assert time.perf_counter() - started < 3
    assert fresh.run(Invocation(module=probe, argv=("probe", "exit", "8"))).exit_code == 8
    assert fresh.pid != first


def test_memory_bomb_hits_the_limit(run: Run) -> None:
    result = run("membomb", memory_limit=64 * MIB)
    assert result.exit_code == 42, result  # malloc returned NULL
    assert 10 < int(result.stdout) < 64  # MiB blocks malloc handed out before it gave up


def test_initial_memory_over_the_limit_is_a_memory_limit_trap(run: Run) -> None:
    result = run("exit", "0", memory_limit=1 * MIB)  # the probe starts with 257 pages
    assert result.trap is TrapKind.MEMORY_LIMIT, result
    assert "over the limit" in result.trap_message


@pytest.mark.parametrize(
    ("mode", "kind"),
    [
        ("trap", TrapKind.UNREACHABLE),
        ("recurse", TrapKind.STACK_OVERFLOW),
        ("oob", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ],
)
def test_traps(run: Run, mode: str, kind: TrapKind) -> None:
    result = run(mode)
    assert (result.trap, result.exit_code, result.error) == (kind, None, ""), result
    assert result.trap_message


def test_truncated_module_is_an_error(session: JsSession, probe: Path, tmp_path: Path) -> None:
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
def test_modules_node_cannot_run_are_errors(session: JsSession, tmp_path: Path, content: bytes, words: str) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(content)
    result = session.run(Invocation(module=module, argv=("m",)))
    assert words in result.error


def test_runner_level_errors_do_not_kill_it(fresh: JsSession, probe: Path, tmp_path: Path) -> None:
    wasmtime = pytest.importorskip("wasmtime")
    odd = tmp_path / "odd.wasm"
    # exports _start but imports something node:wasi does not provide
    odd.write_bytes(
        wasmtime.wat2wasm('(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))')
    )
    result = fresh.run(Invocation(module=odd, argv=("odd",)))
    assert "cannot instantiate" in result.error and "env" in result.error
    pid = fresh.pid
    missing = fresh.run(Invocation(module=probe, argv=("probe", "read", "/x"), preopens=((tmp_path / "no", "/x"),)))
    assert "WASI" in missing.error
    assert fresh.run(Invocation(module=probe, argv=("probe", "exit", "4"))).exit_code == 4
    assert fresh.pid == pid


def test_a_runner_is_replaced_after_its_share_of_jobs(fresh: JsSession, probe: Path) -> None:
    """V8 gets slower and bigger after tens of thousands of instances: a runner serves
    `retire_after_jobs` jobs, then the next job starts a new one."""
    fresh.retire_after_jobs = 3
    pids = []
    for code in range(7):
        assert fresh.run(Invocation(module=probe, argv=("probe", "exit", str(code)))).exit_code == code
        pids.append(fresh.pid)
    # the runner that served jobs 0-2 was let go after the third: the pid seen after it is None
    assert pids[:2] == [pids[0]] * 2 and pids[2] is None
    assert pids[3] is not None and pids[3] != pids[0] and pids[3:5] == [pids[3]] * 2 and pids[5] is None
    assert pids[6] not in (None, pids[0], pids[3])


def test_many_jobs_share_one_runner(fresh: JsSession, probe: Path) -> None:
    fresh.run(Invocation(module=probe, argv=("probe", "exit", "0")))  # start-up and compile
    pid = fresh.pid
    started = time.perf_counter()
    for i in range(200):
        result = fresh.run(Invocation(module=probe, argv=("probe", "exit", str(i % 4))))
        assert result.exit_code == i % 4
    per_job = (time.perf_counter() - started) / 200
    assert fresh.pid == pid
    print(f"node: {per_job * 1000:.2f} ms per job")
    assert per_job < 0.05


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_descriptors_do_not_leak(fresh: JsSession, probe: Path, tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    pre = ((tmp_path, "/a"), (tmp_path, "/b"))
    fresh.run(Invocation(module=probe, argv=("probe", "exit", "0")))
    before = len(os.listdir(f"/proc/{fresh.pid}/fd"))
    for mode in ("leak-fd", "close-stdout", "trap"):
        for _ in range(50):
            fresh.run(Invocation(module=probe, argv=("probe", mode, "/a/f"), preopens=pre))
    assert len(os.listdir(f"/proc/{fresh.pid}/fd")) <= before + 5


def test_the_capped_module_is_written_once(fresh: JsSession, probe: Path) -> None:
    for _ in range(3):
        fresh.run(Invocation(module=probe, argv=("probe", "exit", "0")))
    fresh.run(Invocation(module=probe, argv=("probe", "exit", "0"), memory_limit=64 * MIB))
    assert len(list((fresh.cache_dir / "node").glob("*.wasm"))) == 2


def test_a_dead_runner_is_restarted(fresh: JsSession, probe: Path) -> None:
    fresh.run(Invocation(module=probe, argv=("probe", "exit", "0")))
    first = fresh.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    time.sleep(0.2)
    assert fresh.run(Invocation(module=probe, argv=("probe", "exit", "5"))).exit_code == 5
    assert fresh.pid not in (None, first)


def test_a_runner_dying_mid_job_costs_that_job(fresh: JsSession, probe: Path) -> None:
    fresh.run(Invocation(module=probe, argv=("probe", "exit", "0")))
    pid = fresh.pid
    assert pid is not None
    results: list[Execution] = []
    job = threading.Thread(
        target=lambda: results.append(fresh.run(Invocation(module=probe, argv=("probe", "loop"), timeout_s=30)))
    )
    job.start()
    time.sleep(0.5)
    os.kill(pid, signal.SIGKILL)
    job.join(10)
    assert results and "runner exited" in results[0].error and "signal 9" in results[0].error
    assert fresh.run(Invocation(module=probe, argv=("probe", "exit", "6"))).exit_code == 6


# -------------------------------------------------------------------------------- wasmbin


def _engine(**features: bool) -> Any:
    wasmtime = pytest.importorskip("wasmtime")
    config = wasmtime.Config()
    for name, value in features.items():
        setattr(config, name, value)
    return wasmtime.Engine(config)


def _limits(module: Any) -> list[tuple[int, int | None]]:
    """(min, max) of each memory a wasmtime Module imports or exports."""
    import wasmtime

    types = [item.type for item in [*module.imports, *module.exports]]
    return [(t.limits.min, t.limits.max) for t in types if isinstance(t, wasmtime.MemoryType)]


def _wat(text: str) -> bytes:
    wasmtime = pytest.importorskip("wasmtime")
    data: bytes = wasmtime.wat2wasm(text)
    return data


def test_inspect_the_probe(probe: Path) -> None:
    info = wasmbin.inspect(probe.read_bytes())
    assert info.kind == "module" and info.exports_start
    assert info.memories == (wasmbin.Memory(min_pages=257, max_pages=None),)


def test_cap_memory_on_the_probe_is_valid(probe: Path) -> None:
    import wasmtime

    engine = _engine()
    capped = wasmbin.cap_memory(probe.read_bytes(), 64 * MIB)
    assert _limits(wasmtime.Module(engine, capped)) == [(257, 1024)]
    assert wasmbin.cap_memory(capped, 64 * MIB) == capped


@pytest.mark.parametrize(
    ("wat", "cap_pages", "expected"),
    [
        ('(memory (export "m") 1)', 10, [(1, 10)]),
        ('(memory (export "m") 1 5)', 10, [(1, 5)]),
        ('(memory (export "m") 0 65536)', 2000, [(0, 2000)]),  # LEB shrinks: 3 bytes -> 2
        ('(memory (export "m") 0)', 65536, [(0, 65536)]),
        ('(import "env" "memory" (memory 2))', 300, [(2, 300)]),
        (
            '(import "a" "f" (func)) (import "a" "t" (table 1 funcref)) (import "a" "g" (global i32))'
            ' (import "env" "memory" (memory 2 1000))',
            300,
            [(2, 300)],
        ),
    ],
)
def test_cap_memory_variants(wat: str, cap_pages: int, expected: list[tuple[int, int]]) -> None:
    import wasmtime

    data = _wat(f"(module {wat})")
    capped = wasmbin.cap_memory(data, cap_pages * wasmbin.PAGE_SIZE)
    assert _limits(wasmtime.Module(_engine(), capped)) == expected


def test_cap_memory_multi_shared_and_64() -> None:
    import wasmtime

    data = _wat(
        '(module (import "env" "memory" (memory 1 100 shared)) (memory (export "m2") i64 3) (memory (export "m3") 1))'
    )
    capped = wasmbin.cap_memory(data, 16 * wasmbin.PAGE_SIZE)
    engine = _engine(wasm_multi_memory=True, wasm_memory64=True, wasm_threads=True)
    assert _limits(wasmtime.Module(engine, capped)) == [(1, 16), (3, 16), (1, 16)]
    info = wasmbin.inspect(capped)
    assert [(m.imported, m.shared, m.is_64) for m in info.memories] == [
        (True, True, False),
        (False, False, True),
        (False, False, False),
    ]


def test_cap_memory_grows_sections_across_a_leb_boundary() -> None:
    """60 memories without a maximum: adding a 2-byte maximum to each pushes the memory
    section's size past what one LEB byte holds (127), so the section header grows too."""
    import wasmtime

    data = _wat("(module " + " ".join(f'(memory (export "m{i}") 1)' for i in range(60)) + ")")
    capped = wasmbin.cap_memory(data, 200 * wasmbin.PAGE_SIZE)
    assert len(capped) > len(data)
    module = wasmtime.Module(_engine(wasm_multi_memory=True), capped)
    assert _limits(module) == [(1, 200)] * 60


def test_memory_growth_stops_at_the_cap() -> None:
    import wasmtime

    data = _wat(
        '(module (memory (export "memory") 1)'
        ' (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))'
    )
    engine = _engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, wasmbin.cap_memory(data, 4 * wasmbin.PAGE_SIZE)), [])
    grow: Any = instance.exports(store)["grow"]
    assert grow(store, 3) == 1
    assert grow(store, 1) == -1


def test_initial_memory_over_the_cap() -> None:
    data = _wat("(module (memory 10))")
    with pytest.raises(wasmbin.MemoryTooLarge, match="over the limit"):
        wasmbin.cap_memory(data, 5 * wasmbin.PAGE_SIZE)
    assert wasmbin.cap_memory(data, 10 * wasmbin.PAGE_SIZE)


def test_a_module_without_memory_is_unchanged() -> None:
    data = _wat('(module (func (export "_start")))')
    assert wasmbin.cap_memory(data, MIB) == data
    assert wasmbin.inspect(data) == wasmbin.ModuleInfo("module", True, ())


def test_start_must_be_a_function() -> None:
    data = _wat('(module (global (export "_start") i32 (i32.const 0)))')
    assert not wasmbin.inspect(data).exports_start


def test_component_is_recognised() -> None:
    data = b"\0asm\x0d\x00\x01\x00"
    assert wasmbin.inspect(data).is_component
    with pytest.raises(ValueError, match="component"):
        wasmbin.cap_memory(data, MIB)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "truncated"),
        (b"\0as", "truncated"),
        (b"\0asm\x01\x00\x00", "truncated"),
        (b"\x7fELF\x02\x01\x01\x00", "not a WebAssembly binary"),
        (b"\0asm\x02\x00\x00\x00", "unknown WebAssembly version"),
        (b"\0asm\x01\x00\x00\x00\x05\x03\x01\x00", "truncated"),  # memory section cut short
        (b"\0asm\x01\x00\x00\x00\x05\x80\x80\x80\x80\x80\x01", "LEB128 too long"),
        (b"\0asm\x01\x00\x00\x00\x05\x04\x01\x00\x01\x02", "memory section ends"),
        (b"\0asm\x01\x00\x00\x00\x05\x03\x01\x10\x01", "unknown memory limits flags"),
    ],
)
def test_malformed_modules(data: bytes, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        wasmbin.inspect(data)
    with pytest.raises(ValueError, match=words):
        wasmbin.cap_memory(data, MIB)


def test_truncated_probe_is_malformed(probe: Path) -> None:
    data = probe.read_bytes()
    for cut in (9, 20, 100, len(data) // 2, len(data) - 1):
        with pytest.raises(ValueError, match="truncated"):
            wasmbin.inspect(data[:cut])

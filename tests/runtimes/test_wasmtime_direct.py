"""Embedded Wasmtime runs a core module's `_start` through wasmtime-py's C API bindings
(`wasmtime_direct.PreparedModule`), and through the public API when it cannot: both paths
must end every kind of job the same way (exit codes, traps and their messages, output,
memory limits, a module that is not a command, an import nobody provides)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from wasitest.model import Execution, Invocation
from wasitest.plugins.runtimes.wasmtime import WasmtimeSession
from wasitest.plugins.runtimes.wasmtime_direct import PreparedModule, PublicModule

wasmtime = pytest.importorskip("wasmtime")

PROBES = Path(__file__).with_name("probes")
#: a module that is not a WASI command (no `_start`), and one whose import nobody provides
NO_START = '(module (func (export "main")))'
UNKNOWN_IMPORT = '(module (import "env" "missing" (func)) (func (export "_start") (call 0)))'
#: a module whose start function traps while it is instantiated
TRAPS_AT_START = '(module (func $s unreachable) (start $s) (func (export "_start")))'
#: a module whose memory is larger than the job's limit from the start (2 GiB)
TOO_BIG = '(module (memory 32768) (func (export "_start")))'


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("modules")
    found = {"probe": zig_cc(PROBES / "probe.c", folder / "probe.wasm")}
    for name, text in {
        "no_start": NO_START, "unknown_import": UNKNOWN_IMPORT, "traps_at_start": TRAPS_AT_START, "too_big": TOO_BIG,
    }.items():  # fmt: skip
        found[name] = folder / f"{name}.wasm"
        found[name].write_bytes(wasmtime.wat2wasm(text))
    return found


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[tuple[WasmtimeSession, WasmtimeSession]]:
    direct = WasmtimeSession(tmp_path / "cache")
    public = WasmtimeSession(tmp_path / "cache")
    public.direct = None  # as on a wasmtime-py without the bindings
    yield direct, public
    direct.close()
    public.close()


#: (module, argv, what ends the job: an exit code, a trap kind, or the start of the error)
CASES = [
    ("probe", ("p", "args", "x y"), 0),
    ("probe", ("p", "exit", "3"), 3),
    ("probe", ("p", "write", "70000"), 0),
    ("probe", ("p", "trap"), "unreachable"),
    ("probe", ("p", "recurse"), "stack_overflow"),
    ("probe", ("p", "oob"), "memory_out_of_bounds"),
    ("probe", ("p", "loop"), "timeout"),
    ("probe", ("p", "membomb"), 42),
    ("no_start", ("n",), "no_start.wasm has no _start export"),
    ("unknown_import", ("u",), "cannot instantiate unknown_import.wasm: unknown import"),
    ("traps_at_start", ("t",), "unreachable"),
    ("too_big", ("b",), "memory_limit"),
]


def _outcome(execution: Execution) -> Execution:
    return replace(execution, duration_s=0.0)


@pytest.mark.parametrize(("module", "argv", "ends"), CASES, ids=[" ".join((m, *a[1:])) for m, a, _ in CASES])
def test_the_direct_path_ends_every_job_as_the_public_one(
    sessions: tuple[WasmtimeSession, WasmtimeSession], modules: dict[str, Path], module: str, argv: tuple[str, ...],
    ends: int | str,
) -> None:  # fmt: skip
    direct, public = sessions
    invocation = Invocation(
        module=modules[module], argv=argv, timeout_s=0.5, memory_limit=64 * 1024 * 1024, output_cap=4096
    )
    by_direct, by_public = direct.run(invocation), public.run(invocation)
    assert _outcome(by_direct) == _outcome(by_public)
    if isinstance(ends, int):
        assert (by_direct.exit_code, by_direct.trap, by_direct.error) == (ends, None, ""), by_direct
    elif " " in ends:
        assert by_direct.error.startswith(ends), by_direct
    else:
        assert by_direct.trap is not None and by_direct.trap.value == ends and by_direct.trap_message, by_direct
    if argv[1:] == ("args", "x y"):
        assert by_direct.stdout == b"p\nargs\nx y\n"
    if argv[1:2] == ("write",):
        assert by_direct.stdout == b"o" * 4096 and by_direct.stdout_truncated


def test_each_path_is_the_one_taken(
    sessions: tuple[WasmtimeSession, WasmtimeSession], modules: dict[str, Path]
) -> None:
    direct, public = sessions
    invocation = Invocation(module=modules["probe"], argv=("p", "exit", "7"))
    assert direct.run(invocation).exit_code == 7 == public.run(invocation).exit_code
    assert isinstance(direct.modules.get(modules["probe"]), PreparedModule)
    assert isinstance(public.modules.get(modules["probe"]), PublicModule)
    # a module the direct path cannot prepare takes the public one, and fails there with Wasmtime's words
    assert isinstance(direct.modules.get(modules["unknown_import"]), PublicModule)
    failed = direct.run(Invocation(module=modules["unknown_import"], argv=("u",)))
    assert failed.error.startswith("cannot instantiate unknown_import.wasm:") and "env::missing" in failed.error

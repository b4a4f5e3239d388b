"""Modules are prepared once per content, not per path (`kit.modules.ModuleCache`): a suite
of byte-identical modules at different paths (wasi-testsuite style, one module per case)
costs one compilation per worker, counted on embedded Wasmtime's own counters and on the
memory-capped copies the helper runtimes run; a module rebuilt at the same path is
prepared again, and a refusal names the file it was read from.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from wasitest.model import Execution, Invocation
from wasitest.plugins.runtimes.kit.modules import memory_capped
from wasitest.plugins.runtimes.wasmtime import WasmtimeSession

PROBES = Path(__file__).with_name("probes")
#: a custom section (id 0, 2 bytes: a 1-byte name "x"): appended, it changes a module's
#: bytes but not what it does
CUSTOM_SECTION = b"\x00\x02\x01x"


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "probe.c", tmp_path_factory.mktemp("modules") / "probe.wasm")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[WasmtimeSession]:
    session = WasmtimeSession(tmp_path / "cache")  # an empty disk cache: every new content compiles
    yield session
    session.close()


def _copies(probe: Path, folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"t{i}.wasm" for i in range(count)]
    for path in paths:
        shutil.copyfile(probe, path)
    return paths


def _args(session: WasmtimeSession, module: Path) -> Execution:
    return session.run(Invocation(module=module, argv=(module.stem, "args"), timeout_s=30))


def test_identical_modules_at_different_paths_are_compiled_once(
    session: WasmtimeSession, probe: Path, tmp_path: Path
) -> None:
    paths = _copies(probe, tmp_path / "suite", 5)
    results = [_args(session, path) for path in paths]
    assert [r.stdout for r in results] == [f"{p.stem}\nargs\n".encode() for p in paths]
    assert (session.compiled, session.cache_hits, session.modules.prepares) == (1, 0, 1)


def test_a_module_rebuilt_in_place_is_prepared_again(session: WasmtimeSession, probe: Path, tmp_path: Path) -> None:
    path, twin = _copies(probe, tmp_path / "suite", 2)
    _args(session, path)
    path.write_bytes(probe.read_bytes() + CUSTOM_SECTION)  # new content, same path
    assert _args(session, path).exit_code == 0
    assert (session.compiled, session.modules.prepares) == (2, 2)
    os.utime(twin, ns=(1, 1))  # a new stamp, the same content: hashed again, not compiled
    assert _args(session, twin).exit_code == 0
    assert (session.compiled, session.modules.prepares) == (2, 2)


def test_a_second_session_deserialises_what_the_first_compiled(probe: Path, tmp_path: Path) -> None:
    paths = _copies(probe, tmp_path / "suite", 3)
    for expected in ((1, 0), (0, 1)):
        session = WasmtimeSession(tmp_path / "cache")
        try:
            assert all(_args(session, path).exit_code == 0 for path in paths)
            assert (session.compiled, session.cache_hits) == expected
        finally:
            session.close()


def test_a_cell_that_only_sets_the_stack_loads_what_the_plain_cell_compiled(probe: Path, tmp_path: Path) -> None:
    """`max_wasm_stack` changes no compiled code: discovery's plain session compiles, a
    Go cell's 8 MiB one deserialises; an opt level is other code, compiled on its own."""
    for options, expected in (({}, (1, 0)), ({"max_wasm_stack": "8388608"}, (0, 1)), ({"opt_level": "none"}, (1, 0))):
        session = WasmtimeSession(tmp_path / "cache", options)
        try:
            assert _args(session, probe).stdout == b"probe\nargs\n"
            assert (session.compiled, session.cache_hits) == expected, options
        finally:
            session.close()


def test_a_compiled_module_is_found_by_its_recorded_digest_without_reading_it(probe: Path, tmp_path: Path) -> None:
    """A build records each artifact's sha256; a worker finds the module compiled before
    by it and reads the file's header only. The stand-in below is the probe's header and
    then nothing (a module of no functions): run under the probe's digest, it is the
    probe; under none, it is read, compiled and refused (it has no `_start`)."""
    digest = hashlib.sha256(probe.read_bytes()).hexdigest()
    stand_in = tmp_path / "stand_in.wasm"
    stand_in.write_bytes(probe.read_bytes()[:8])
    for sha256, module, expected in ((digest, probe, 1), (digest, stand_in, 0), ("", stand_in, 1)):
        session = WasmtimeSession(tmp_path / "cache")
        try:
            invocation = Invocation(module=module, argv=("probe", "args"), timeout_s=30, module_sha256=sha256)
            done = session.run(invocation)
            assert session.compiled == expected
            assert done.stdout == b"probe\nargs\n" if sha256 else done.error, done
        finally:
            session.close()


def test_memory_capped_copies_are_made_once_per_content(probe: Path, tmp_path: Path) -> None:
    cache = memory_capped(tmp_path / "capped")
    first, second = _copies(probe, tmp_path / "suite", 2)
    made = cache.get(first, 64 * 1024 * 1024)
    assert isinstance(made, Path) and made.is_file()
    assert cache.get(second, 64 * 1024 * 1024) == made
    assert cache.prepares == 1
    assert cache.get(second, 128 * 1024 * 1024) != made  # another limit is another copy
    assert cache.prepares == 2


def test_a_refused_module_is_named_by_its_own_path(session: WasmtimeSession, tmp_path: Path) -> None:
    """Two byte-identical files that are no module: each job's error names its own file."""
    folder = tmp_path / "bad"
    folder.mkdir()
    for name in ("one.wasm", "two.wasm"):
        (folder / name).write_bytes(b"\x00asm\x01\x00\x00\x00\xff")
    one = _args(session, folder / "one.wasm").error
    two = _args(session, folder / "two.wasm").error
    assert "one.wasm" in one and "two.wasm" in two and "one.wasm" not in two


def test_a_recorded_digest_stands_for_the_file(session: WasmtimeSession, probe: Path, tmp_path: Path) -> None:
    """With the digest the build recorded (`Invocation.module_sha256`), the cache keys by it
    and does not read the file: here a file whose bytes differ is taken for the content the
    digest names. A value that is no sha256 is ignored: the file is read and hashed."""
    first, second = _copies(probe, tmp_path / "suite", 2)
    second.write_bytes(probe.read_bytes() + CUSTOM_SECTION)
    recorded = hashlib.sha256(probe.read_bytes()).hexdigest()
    for path in (first, second):
        invocation = Invocation(module=path, argv=(path.stem, "args"), module_sha256=recorded)
        assert session.run(invocation).exit_code == 0
    assert session.modules.prepares == 1  # the second file's own bytes were never hashed
    bogus = Invocation(module=second, argv=("t", "args"), module_sha256="not-a-digest")
    assert session.run(bogus).exit_code == 0
    assert session.modules.prepares == 2  # read and hashed: new content

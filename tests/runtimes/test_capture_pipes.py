"""Output capture through a session's named pipes (`kit.output.OutputCapture`): a flood is
capped while it is captured (the writer never blocks on a full pipe, nothing grows), output
above a pipe's buffer arrives whole and in order, and each job gets only its own bytes.

The pipes are written two ways: by this process, opening the paths `begin` hands out as a
runtime does (so the tests can write more than any guest prints in a second), and by the
runtime probe (`probes/probe.c`) on embedded Wasmtime, whose stdout and stderr are those
paths. Embedded Wasmtime also gives a job with no stdin no file at all: the guest must still
read an empty stdin, never the worker's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from wasitest.model import Execution, Invocation
from wasitest.plugins.runtimes.kit.output import CHUNK, OutputCapture
from wasitest.plugins.runtimes.wasmtime import WasmtimeSession

PROBES = Path(__file__).with_name("probes")
MIB = 1024 * 1024

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="the pipes are POSIX named pipes")


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[OutputCapture]:
    capture = OutputCapture(tmp_path / "io")
    yield capture
    capture.close()


def _write(path: Path, data: bytes, block: int = CHUNK) -> None:
    """Write `data` to `path` as a runtime does: open, write in blocks, close."""
    with open(path, "wb", buffering=0) as pipe:
        for at in range(0, len(data), block):
            pipe.write(data[at : at + block])


def _in_thread(target: Callable[[], None], limit_s: float = 60.0) -> None:
    """Run a writer beside the capture; it must finish (a full, undrained pipe would block it)."""
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    assert not thread.is_alive(), "the writer blocked: nothing drained the pipe"


def test_a_flood_is_capped_while_it_is_captured(capture: OutputCapture, tmp_path: Path) -> None:
    """64 MiB into a 1000-byte cap: the writer finishes (the pipe was drained as it wrote),
    the first 1000 bytes are kept exactly, and nothing was written to disk."""
    _, out, err = capture.begin(b"", 1000)
    block = bytes(range(256)) * (CHUNK // 256)

    def flood() -> None:
        with open(out, "wb", buffering=0) as pipe:
            for _ in range(64 * MIB // len(block)):
                pipe.write(block)

    _in_thread(flood)
    _write(err, b"short")
    stdout, out_cut, stderr, err_cut = capture.end()
    assert (stdout, out_cut) == (block[:1000], True)
    assert (stderr, err_cut) == (b"short", False)
    on_disk = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    assert on_disk == 0


def test_output_above_a_pipe_buffer_arrives_whole_and_in_order(capture: OutputCapture) -> None:
    """Several pipe buffers' worth of numbered lines, on both streams at once, under the cap."""
    _, out, err = capture.begin(b"", 8 * MIB)
    lines = b"".join(b"line %07d\n" % i for i in range(300_000))  # about 4.8 MiB
    writers = [threading.Thread(target=_write, args=(path, lines, 4096), daemon=True) for path in (out, err)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
    assert not any(writer.is_alive() for writer in writers)
    stdout, out_cut, stderr, err_cut = capture.end()
    assert (stdout == lines, out_cut) == (True, False)
    assert (stderr == lines, err_cut) == (True, False)


def test_bytes_written_between_jobs_reach_no_job(capture: OutputCapture) -> None:
    """A writer that outlives its job (a helper killed late, say) writes after `end`: the
    next job must not get those bytes as its own."""
    _, out, _ = capture.begin(b"", 1000)
    _write(out, b"first job\n")
    assert capture.end()[0] == b"first job\n"
    _write(out, b"late bytes\n")
    _, out, _ = capture.begin(b"", 1000)
    _write(out, b"second job\n")
    assert capture.end()[:2] == (b"second job\n", False)


def test_a_writer_that_never_stops_cannot_keep_a_job_from_ending_or_starting(capture: OutputCapture) -> None:
    """A process still flooding the pipe after its job (a runtime that outlived it): `end`
    and the next `begin` return all the same, and a job keeps no more than its cap."""
    _, out, _ = capture.begin(b"", 1000)
    flood = (
        "import os, sys\nfd = os.open(sys.argv[1], os.O_WRONLY)\nos.write(fd, b'x' * 65536)\n"
        "print('writing', flush=True)\nwhile True: os.write(fd, b'x' * 65536)"
    )
    writer = subprocess.Popen([sys.executable, "-c", flood, str(out)], stdout=subprocess.PIPE)
    assert writer.stdout is not None and writer.stdout.readline() == b"writing\n"
    ended: list[tuple[bytes, bool, bytes, bool]] = []

    def end_then_begin() -> None:
        ended.append(capture.end())
        capture.begin(b"", 1000)

    try:
        _in_thread(end_then_begin)
        assert ended[0][:2] == (b"x" * 1000, True)
    finally:
        writer.kill()
        writer.communicate()
    assert len(capture.end()[0]) <= 1000


def test_stdin_is_given_as_a_file_only_when_there_is_some(capture: OutputCapture) -> None:
    stdin, _, _ = capture.begin(b"hello", 10)
    assert stdin.read_bytes() == b"hello"
    capture.end()
    stdin, _, _ = capture.begin(b"", 10)
    assert stdin.read_bytes() == b""
    capture.end()


# ---------------------------------------------------------------- through embedded Wasmtime


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "probe.c", tmp_path_factory.mktemp("capture") / "probe.wasm")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[WasmtimeSession]:
    session = WasmtimeSession(tmp_path / "cache")
    yield session
    session.close()


def _run(session: WasmtimeSession, probe: Path, *args: str, stdin: bytes = b"", cap: int = MIB) -> Execution:
    return session.run(Invocation(module=probe, argv=("probe", *args), stdin=stdin, output_cap=cap, timeout_s=30))


def test_a_guest_flood_is_capped_and_the_next_job_gets_only_its_own(session: WasmtimeSession, probe: Path) -> None:
    flood = _run(session, probe, "write", str(3 * MIB), cap=4096)
    assert flood.exit_code == 0
    assert (flood.stdout, flood.stdout_truncated) == (b"o" * 4096, True)
    assert (flood.stderr, flood.stderr_truncated) == (b"e" * 4096, True)
    after = _run(session, probe, "args")
    assert (after.stdout, after.stderr) == (b"probe\nargs\n", b"")


def test_a_guest_with_no_stdin_reads_an_empty_one(session: WasmtimeSession, probe: Path) -> None:
    """No stdin file is opened for an empty stdin: the guest reads end-of-file at once
    (not the worker's stdin, here a pipe holding bytes), and a later job's stdin is its own."""
    read_end, write_end = os.pipe()
    os.write(write_end, b"the worker's own stdin\n")
    saved = os.dup(0)
    os.dup2(read_end, 0)
    try:
        empty = _run(session, probe, "cat")
        given = _run(session, probe, "cat", stdin=b"given\n")
        empty_again = _run(session, probe, "cat")
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    assert (empty.exit_code, empty.stdout) == (0, b"")
    assert given.stdout == b"given\n"
    assert empty_again.stdout == b""

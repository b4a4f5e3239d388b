"""Runtimes that live in another process, one process per job (the Wasmtime CLI, WAMR).

`run_process` runs one command to its end or its deadline. Its output is read while the
process runs into `CappedStream`s: the first `cap` bytes of each stream are kept, the rest
is counted and dropped, except a short tail of stderr, where runtimes print their own error
after whatever the guest wrote. The process gets its own session, so the kill at the
deadline (SIGKILL to the process group) also ends anything it started; the process is not
reaped until that kill is done, so its group id cannot have been reused.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest.plugins.runtimes.kit.output import CappedStream

#: how much of the end of stderr is kept besides the first `cap` bytes: runtimes print their
#: own error message there, after the guest's output
TAIL_BYTES = 64 * 1024
#: how long to wait for output pipes to close once the process is gone
_DRAIN_S = 5.0


@dataclass(frozen=True)
class ProcessResult:
    """How a per-job process ended and what it wrote."""

    #: the exit status, or None when a signal ended it
    returncode: int | None
    #: the signal that ended it, if one did
    signal: int | None
    #: wasitest killed it at the deadline
    timed_out: bool
    stdout: bytes
    stderr: bytes
    stdout_truncated: bool
    stderr_truncated: bool
    #: the last `TAIL_BYTES` bytes of stderr, complete even when `stderr` was cut
    stderr_tail: bytes
    #: how many bytes were written to stderr in all
    stderr_total: int
    duration_s: float

    def fields(self) -> dict[str, Any]:
        """The `Execution` fields every reading of a process's end starts from."""
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "stdout_truncated": self.stdout_truncated,
            "stderr_truncated": self.stderr_truncated,
            "duration_s": self.duration_s,
        }


def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    stdin: bytes = b"",
    timeout_s: float,
    output_cap: int,
    cwd: Path | None = None,
) -> ProcessResult:
    """Run `argv` to its end or to `timeout_s`, whichever comes first.

    `env` is the process's whole environment (nothing of the caller's is added). `stdin` is
    given as a regular file (as embedded Wasmtime and Node get it); no stdin reads as
    /dev/null. Raises `OSError` when the program cannot be started.
    """
    with tempfile.TemporaryFile() as stdin_file:
        if stdin:
            stdin_file.write(stdin)
            stdin_file.seek(0)
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=stdin_file if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
            preexec_fn=die_with_parent(),
        )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = CappedStream(output_cap), CappedStream(output_cap, TAIL_BYTES)
    readers = [
        threading.Thread(target=capture.drain, args=(stream,), daemon=True, name="wasitest-capture")
        for capture, stream in ((out, proc.stdout), (err, proc.stderr))
    ]
    for reader in readers:
        reader.start()
    killer = _Killer(proc.pid)
    timer = threading.Timer(max(0.0, timeout_s), killer.kill)
    timer.daemon = True
    timer.start()
    try:
        _wait_unreaped(proc.pid)
        duration = time.perf_counter() - started
    finally:
        timer.cancel()
        killer.finish()
        timer.join()
        kill_group(proc.pid)  # whatever the process left behind in its session
        proc.wait()
    for reader in readers:
        reader.join(_DRAIN_S)
    code = proc.returncode
    sig = -code if code < 0 else None
    return ProcessResult(
        returncode=code if code >= 0 else None,
        signal=sig,
        timed_out=killer.killed and sig == signal.SIGKILL,
        stdout=bytes(out.head),
        stderr=bytes(err.head),
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        stderr_tail=bytes(err.tail),
        stderr_total=err.total,
        duration_s=duration,
    )


def die_with_parent() -> Callable[[], None] | None:
    """On Linux, a function for the child to run before exec so that the kernel kills it when
    the process that started it dies: a worker killed mid-job (Ctrl-C, the pool's own
    timeout) must not leave a runtime spinning on its own. Only a call into libc, resolved
    beforehand, runs in the child."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = _libc_prctl()
    if prctl is None:
        return None

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return arm


_PR_SET_PDEATHSIG = 1


@functools.cache
def _libc_prctl() -> Callable[..., int] | None:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        prctl: Callable[..., int] = libc.prctl
    except (OSError, AttributeError):
        return None
    return prctl


def _wait_unreaped(pid: int) -> None:
    """Wait for `pid` to end without reaping it (WNOWAIT): until it is reaped its process
    group id cannot be reused, so killing the group stays safe."""
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _Killer:
    """Kills a process group at the deadline, unless the job finished first."""

    def __init__(self, pgid: int) -> None:
        self.pgid = pgid
        self.killed = False
        self._done = False
        self._lock = threading.Lock()

    def kill(self) -> None:
        with self._lock:
            if self._done:
                return
            self.killed = True
            kill_group(self.pgid)

    def finish(self) -> None:
        with self._lock:
            self._done = True


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def runtime_error_at_end(stderr_tail: bytes, markers: Sequence[bytes]) -> int:
    """Where the runtime's own error message starts in `stderr_tail`, or -1.

    Runtimes print it after everything the guest wrote, which need not end in a newline, so
    this is the last occurrence of any of `markers`.
    """
    return max((stderr_tail.rfind(marker) for marker in markers), default=-1)


def split_runtime_error(result: ProcessResult, start: int) -> tuple[bytes, bool, str]:
    """Split stderr where the runtime's own message starts (`start`, an index into
    `stderr_tail`): the guest's part (capped as before), whether that part was cut at the
    cap, and the runtime's message."""
    absolute = result.stderr_total - len(result.stderr_tail) + start
    message = result.stderr_tail[start:].decode("utf-8", "replace").strip()
    return result.stderr[:absolute], absolute > len(result.stderr), message


def log_tail(log: Path, limit: int) -> str:
    """The end of a helper process's log, as `: TEXT` to append to a message, or ''."""
    try:
        text = log.read_bytes()[-limit:].decode("utf-8", "replace").strip()
    except OSError:
        return ""
    return f": {text}" if text else ""

"""Running runtimes that live in other processes: one process per job, or a helper process
that serves jobs one at a time; either is killed, with everything it started, when a job
runs out of time.

`run_process` runs one command per job (the Wasmtime CLI, WAMR). Its output is read while
the process runs into bounded buffers: the first `cap` bytes of each stream are kept, the
rest is counted and dropped, except a short tail of stderr, where runtimes print their own
error after whatever the guest wrote. The process gets its own session, so the kill at the
deadline (SIGKILL to the process group) also ends anything it started; the process is not
reaped until that kill is done, so its group id cannot have been reused.

`JobServer` is a Python helper process (`python -m MODULE`) fed jobs as pickles over its
stdin/stdout; `serve` is its loop. A job that overruns its time costs the helper: it is
killed and started again for the next job. In-process runtimes that cannot stop a spinning
guest themselves (pywasm, Wasmer's SDK) run this way.

`capped_module` writes the copy of a module whose memories' maximum is lowered to the job's
memory limit (`wasmbin.cap_memory`), for runtimes that have no memory limit of their own.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from wasitest import wasmbin
from wasitest.model import Execution, TrapKind

#: how much of the end of stderr is kept besides the first `cap` bytes: runtimes print their
#: own error message there, after the guest's output
TAIL_BYTES = 64 * 1024
#: how long to wait for output pipes to close once the process is gone
_DRAIN_S = 5.0
_CHUNK = 64 * 1024


class _Capture:
    """One output stream read into a bounded buffer while the process runs."""

    def __init__(self, cap: int, tail: int) -> None:
        self.cap = cap
        self.tail_size = tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        if self.tail_size:
            self.tail += chunk[-self.tail_size :]
            del self.tail[: max(0, len(self.tail) - self.tail_size)]

    def drain(self, stream: IO[bytes]) -> None:
        with stream:
            while chunk := stream.read1(_CHUNK):  # type: ignore[attr-defined]
                self.feed(chunk)

    @property
    def truncated(self) -> bool:
        return self.total > self.cap


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
    out, err = _Capture(output_cap, 0), _Capture(output_cap, TAIL_BYTES)
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
        _kill_group(proc.pid)  # whatever the process left behind in its session
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


def _kill_group(pgid: int) -> None:
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
            _kill_group(self.pgid)

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


# --------------------------------------------------------------------------- memory caps


def capped_module(cache_dir: Path, module: Path, limit: int) -> Path | Execution:
    """The copy of `module` whose memories cannot grow past `limit` bytes, written once per
    module content and limit under `cache_dir`; or the execution that ends the job (the
    module is malformed, not a command, or starts with more memory than the limit)."""
    data = module.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:32]
    target = cache_dir / f"{digest}-{limit}.wasm"
    if target.exists():
        return target
    try:
        info = wasmbin.inspect(data)
        if info.is_component:
            return Execution(error=f"{module.name} is a component; this runtime runs core modules only")
        if not info.exports_start:
            return Execution(error=f"{module.name} has no _start export (not a WASI command)")
        capped = wasmbin.cap_memory(data, limit)
    except wasmbin.MemoryTooLarge as exc:
        return Execution(trap=TrapKind.MEMORY_LIMIT, trap_message=str(exc))
    except ValueError as exc:
        return Execution(error=f"cannot load {module.name}: {exc}")
    write_atomically(target, capped)
    return target


def write_atomically(target: Path, data: bytes) -> None:
    """Write through a temporary name, so another worker never reads half a file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}-{threading.get_ident()}")
    tmp.write_bytes(data)
    tmp.replace(target)


# ---------------------------------------------------------------------------- job servers


class ServerGone(Exception):
    """The helper process died or stopped answering outside of a timeout."""


class JobServer:
    """A `python -m MODULE` helper that runs jobs one at a time (see `serve`)."""

    def __init__(self, module: str, log: Path, startup_timeout_s: float = 60.0) -> None:
        self.module = module
        self.log = log
        self.startup_timeout_s = startup_timeout_s
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self) -> subprocess.Popen[bytes]:
        env = dict(os.environ)
        # the helper imports wasitest and the runtime from wherever this process found them
        env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self._proc = proc
        return proc

    def ask(self, job: Mapping[str, Any], timeout_s: float) -> dict[str, Any] | None:
        """Send a job and wait up to `timeout_s` for its answer; None when it took longer
        (the helper was killed). Raises `ServerGone` when the helper died on its own."""
        proc = self._proc if self._proc is not None and self._proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            _send(proc.stdin, dict(job))
        except OSError:
            raise ServerGone(self._death(proc)) from None
        ready = threading.Event()
        answer: list[Any] = []

        def read() -> None:
            try:
                answer.append(_receive(proc.stdout))  # type: ignore[arg-type]
            except (OSError, EOFError, pickle.UnpicklingError) as exc:
                answer.append(exc)
            ready.set()

        threading.Thread(target=read, daemon=True, name="wasitest-jobserver").start()
        if not ready.wait(max(0.0, timeout_s)):
            self.kill()
            ready.wait(_DRAIN_S)
            return None
        got = answer[0]
        if isinstance(got, BaseException):
            raise ServerGone(self._death(proc))
        if not isinstance(got, dict):
            self.kill()
            raise ServerGone(f"the {self.module} helper answered {type(got).__name__}, not a dict")
        return got

    def _death(self, proc: subprocess.Popen[bytes]) -> str:
        try:
            code = proc.wait(timeout=_DRAIN_S)
        except subprocess.TimeoutExpired:
            self.kill()
            return f"the {self.module} helper stopped answering; killed it"
        self._proc = None
        status = f"killed by {signal_name(-code)}" if code < 0 else f"exit code {code}"
        return f"the {self.module} helper died ({status}){self.log_tail()}"

    def log_tail(self, limit: int = 1500) -> str:
        try:
            text = self.log.read_bytes()[-limit:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f": {text}" if text else ""

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _kill_group(proc.pid)
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass

    def close(self) -> None:
        """Ask the helper to stop (EOF on its stdin), then make sure it has."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


def _send(stream: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = _read_exactly(stream, 8)
    return pickle.loads(_read_exactly(stream, int.from_bytes(header, "little")))


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        data += chunk
    return bytes(data)


def serve(handle: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    """The helper's loop: read a job from stdin, answer on stdout, until stdin closes.

    The protocol's descriptors are moved out of the way first and 0 and 1 become /dev/null,
    so nothing a runtime or a guest does with the standard descriptors reaches the protocol.
    They are put back after every job, in case a guest closed or replaced them.
    """
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDWR)

    def reset_stdio() -> None:
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)

    reset_stdio()
    arm = die_with_parent()
    if arm is not None:
        arm()
        if os.getppid() == 1:  # the parent died before the line above
            return
    while True:
        try:
            job = _receive(requests)
        except EOFError:
            return
        answer = handle(job)
        reset_stdio()
        _send(answers, answer)

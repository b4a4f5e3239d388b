"""The helper-process protocol: runtimes that serve jobs from a process of their own.

Two kinds of helper speak it: Python helpers (`python -m MODULE`, fed pickles by
`JobServer`, answering from `serve`), for in-process runtimes that cannot stop a spinning
guest themselves (pywasm, Wasmer's SDK), and the JS runner (`js_runner.mjs`, JSON lines),
for runtimes inside a JavaScript engine. Both answer each job with one message in the same
words: a `status` from `STATUSES`, and the fields of an `Execution` under the same names.

  status        fields
  exit          exit_code
  trap          trap_message, and `trap` (a `TrapKind` value) when the helper knows the
                kind; otherwise the session's `TrapTable` reads it from the message
  timeout       trap_message (how the runtime stopped the guest)
  error         error (the module could not be run at all)
  unsupported   unsupported (the job must not run here)
  crash         crash (the runtime itself died)

and, with any status: duration_s; stdout, stderr, stdout_truncated, stderr_truncated when
the helper captured the output itself; `retire` when the helper asks to be replaced before
the next job. `execution_from_answer` reads one.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from wasitest.model import Execution, Invocation, TrapKind
from wasitest.plugins.runtimes.kit.modules import memory_capped
from wasitest.plugins.runtimes.kit.process import die_with_parent, kill_group, log_tail, signal_name
from wasitest.plugins.runtimes.kit.traps import TrapTable
from wasitest.runner.job_files import private_tmp

STATUSES = ("exit", "trap", "timeout", "error", "unsupported", "crash")
OUTPUT_FIELDS = ("stdout", "stderr", "stdout_truncated", "stderr_truncated")
#: how long to wait for a helper's pipes once it is gone
_DRAIN_S = 5.0


def execution_from_answer(answer: Mapping[str, Any], traps: TrapTable, **captured: Any) -> Execution:
    """Read one answer. `captured` holds what the session captured itself (the output,
    a duration measured from outside), used where the answer has no value of its own."""
    fields: dict[str, Any] = {key: captured[key] for key in (*OUTPUT_FIELDS, "duration_s") if key in captured}
    for key in OUTPUT_FIELDS:
        if key in answer:
            fields[key] = answer[key]
    if answer.get("duration_s") is not None:
        fields["duration_s"] = float(answer["duration_s"])
    status = answer.get("status")
    message = str(answer.get("trap_message", ""))
    if status == "exit":
        # WASI's exit code is a u32; some runtimes hand proc_exit's argument back signed
        return Execution(exit_code=int(answer["exit_code"]) & 0xFFFFFFFF, **fields)
    if status == "trap":
        kind = TrapKind(answer["trap"]) if answer.get("trap") else traps.kind(message)
        return Execution(trap=kind, trap_message=message, **fields)
    if status == "timeout":
        return Execution(trap=TrapKind.TIMEOUT, trap_message=message, **fields)
    if status == "error" and answer.get("error"):
        return Execution(error=str(answer["error"]), **fields)
    if status == "unsupported" and answer.get("unsupported"):
        return Execution(unsupported=str(answer["unsupported"]), **fields)
    if status == "crash" and answer.get("crash"):
        return Execution(crash=str(answer["crash"]), **fields)
    return Execution(error=f"unexpected answer from the runtime's helper process: {dict(answer)}", **fields)


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

    def log_tail(self) -> str:
        return log_tail(self.log, 1500)

    def kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        kill_group(proc.pid)
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


class HelperSession:
    """A session whose runtime runs in a Python helper process, one job at a time.

    A subclass names its `helper` module and its `traps`, builds the job message
    (`job`), and may refuse an invocation up front (`refuse`) or collect output it had the
    helper write to files (`collect`). A helper that has not answered by the job's deadline
    (`deadline`) is killed with everything it started, and the job ends with
    `killed_message`; a helper that asks to `retire` is replaced before the next job.
    """

    helper: str
    traps: TrapTable = TrapTable(())
    killed_message = "the runtime did not stop at its time limit; killed it"

    def __init__(self, cache_dir: Path, name: str) -> None:
        self.cache_dir = cache_dir / name
        self.jobs_dir = private_tmp(cache_dir)
        self.modules = memory_capped(self.cache_dir)
        self.server = JobServer(self.helper, self.jobs_dir / f"{name}-helper.log")

    @property
    def pid(self) -> int | None:
        """The helper's process id, None when none is running."""
        return self.server.pid

    def refuse(self, invocation: Invocation) -> str:
        """Why this invocation must not run here ("" to run it)."""
        return ""

    def job(self, invocation: Invocation, module: Path) -> dict[str, Any]:
        """The message the helper gets for one job; `module` is the memory-capped copy."""
        raise NotImplementedError

    def deadline(self, invocation: Invocation) -> float:
        """How long to wait for the answer before killing the helper."""
        return invocation.backstop_s

    def collect(self, invocation: Invocation) -> dict[str, Any]:
        """Output fields the session captured itself, read after the helper answered."""
        return {}

    def run(self, invocation: Invocation) -> Execution:
        reason = self.refuse(invocation)
        if reason:
            return Execution(unsupported=reason)
        started = time.perf_counter()
        prepared = self.modules.get(invocation.module, invocation.memory_limit, invocation.module_sha256)
        if isinstance(prepared, Execution):
            return prepared
        answer: dict[str, Any] | None
        try:
            answer = self.server.ask(self.job(invocation, prepared), self.deadline(invocation))
        except ServerGone as exc:
            answer = {"status": "crash", "crash": str(exc)}
        finally:
            captured = self.collect(invocation)
        captured.setdefault("duration_s", time.perf_counter() - started)
        if answer is None:
            return Execution(trap=TrapKind.TIMEOUT, trap_message=self.killed_message, **captured)
        if answer.get("retire"):
            self.server.kill()  # what a timed-out guest left running dies with the helper
        return execution_from_answer(answer, self.traps, **captured)

    def close(self) -> None:
        self.server.close()
        self.server.log.unlink(missing_ok=True)  # read only when the helper dies, into that job's error


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

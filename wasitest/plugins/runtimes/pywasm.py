"""pywasm, the pure-Python WebAssembly interpreter, with its WASI preview 1.

An independent implementation, and about a hundred times slower than Wasmtime. A thread
running Python bytecode cannot be stopped from outside, so the interpreter runs in a helper
process (`python -m wasitest.plugins.runtimes.pywasm`, one per session) that takes jobs
one at a time and is killed, with its whole process group, when a job runs out of time;
the next job starts a new helper. Every job gets a new `Runtime`, module instance and WASI
context.

Limits: time as above; memory through a copy of the module whose memories' maximum is
lowered to the job's limit (`wasmbin.cap_memory`), which pywasm's `memory.grow` honours.
pywasm also refuses on its own to grow a memory past 1024 pages (64 MiB): under a larger
limit it is the stricter of the two.

How the adapter drives pywasm's WASI, and what it does not change:
- argv, and the environment exactly as given, in order (pywasm would sort it by name);
- preopens in the order given (pywasm would sort them by guest path);
- stdin from memory, stdout and stderr into files that stop growing at the output cap
  (pywasm's `pipe` hook on descriptors 0-2), never the helper's own descriptors;
- traps are Python exceptions (mostly a bare `AssertionError`): the kind is read from where
  the interpreter raised it (the instruction it was executing), the call stack is 1024
  frames deep at most;
- not a sandbox: paths are checked with a string prefix test and opened with `dir_fd`, so
  `../SIBLING` escapes into a sibling directory whose name starts with the preopened one's,
  and symlinks are followed anywhere on the host.
"""

from __future__ import annotations

import importlib
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from wasitest.model import Capability, Execution, Invocation, RuntimeInfo, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.capture import private_tmp, read_capped
from wasitest.plugins.runtimes.subprocess_run import JobServer, ServerGone, capped_module, serve
from wasitest.protocols import Runtime

NAME = "pywasm"
INSTALL_HINT = "pip install 'wasitest[pywasm]'"
CAPABILITIES = frozenset(
    {Capability.PREOPEN, Capability.STDIN, Capability.TIMEOUT, Capability.MEMORY_LIMIT, Capability.ENV_ISOLATION}
)
HELPER = __name__ if __name__ != "__main__" else "wasitest.plugins.runtimes.pywasm"


def _pywasm() -> Any:
    """The pywasm package, imported only when used (it has no type hints)."""
    return importlib.import_module("pywasm")


def pywasm_version() -> tuple[str, str]:
    """pywasm's version, or ("", why it cannot be used here)."""
    try:
        pywasm = _pywasm()
    except ImportError as exc:
        return "", f"the pywasm package is not importable: {exc}"
    if not hasattr(pywasm, "wasi"):
        return "", "pywasm's WASI is only available on Linux and macOS"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pywasm"), ""
    except PackageNotFoundError:
        return str(getattr(pywasm, "version", "unknown")), ""


class PywasmSession:
    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir / "pywasm"
        jobs_dir = private_tmp(cache_dir)
        #: stdio files, reused job after job
        self.stdio = Path(tempfile.mkdtemp(prefix="pywasm-", dir=jobs_dir))
        self.server = JobServer(HELPER, jobs_dir / "pywasm-helper.log")
        self._prepared: dict[tuple[str, int, int, int], Path | Execution] = {}

    @property
    def pid(self) -> int | None:
        """The helper's process id, None when none is running."""
        return self.server.pid

    def _prepare(self, module: Path, limit: int) -> Path | Execution:
        stat = module.stat()
        key = (str(module), stat.st_mtime_ns, stat.st_size, limit)
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = capped_module(self.cache_dir, module, limit)
        return found

    def run(self, invocation: Invocation) -> Execution:
        started = time.perf_counter()
        try:
            prepared = self._prepare(invocation.module, invocation.memory_limit)
        except OSError as exc:
            return Execution(error=f"cannot read {invocation.module}: {exc}")
        if isinstance(prepared, Execution):
            return prepared
        stdout, stderr = self.stdio / "stdout", self.stdio / "stderr"
        job = {
            "module": str(prepared),
            "argv": list(invocation.argv),
            "env": [list(pair) for pair in invocation.env],
            "preopens": [[guest, str(host)] for host, guest in invocation.preopens],
            "stdin": invocation.stdin,
            "stdout": str(stdout),
            "stderr": str(stderr),
            "cap": invocation.output_cap,
        }
        try:
            try:
                answer = self.server.ask(job, invocation.timeout_s)
            except ServerGone as exc:
                answer = {"status": "crash", "message": str(exc)}
            out, out_cut = read_capped(stdout, invocation.output_cap)
            err, err_cut = read_capped(stderr, invocation.output_cap)
        finally:
            for path in (stdout, stderr):
                path.unlink(missing_ok=True)
        fields: dict[str, Any] = {
            "stdout": out,
            "stderr": err,
            "stdout_truncated": out_cut,
            "stderr_truncated": err_cut,
        }
        if answer is None:
            return Execution(
                trap=TrapKind.TIMEOUT,
                trap_message="the interpreter was killed at the time limit",
                duration_s=time.perf_counter() - started,
                **fields,
            )
        fields["duration_s"] = float(answer.get("duration", time.perf_counter() - started))
        return execution_from(answer, fields)

    def close(self) -> None:
        self.server.close()
        shutil.rmtree(self.stdio, ignore_errors=True)


def execution_from(answer: dict[str, Any], fields: dict[str, Any]) -> Execution:
    status = answer.get("status")
    message = str(answer.get("message", ""))
    if status == "exit":
        return Execution(exit_code=int(answer["code"]) & 0xFFFFFFFF, **fields)
    if status == "trap":
        return Execution(trap=TrapKind(answer["kind"]), trap_message=message, **fields)
    if status == "crash":
        return Execution(crash=message, **fields)
    return Execution(error=message or f"unexpected answer from the pywasm helper: {answer}", **fields)


class PywasmRuntime:
    name = NAME

    def __init__(self) -> None:
        self._info: RuntimeInfo | None = None

    def info(self) -> RuntimeInfo:
        if self._info is None:
            version, reason = pywasm_version()
            self._info = RuntimeInfo(
                self.name,
                not reason,
                version=f"pywasm {version}" if version else "",
                reason=reason,
                install_hint=INSTALL_HINT,
                capabilities=CAPABILITIES if not reason else frozenset(),
            )
        return self._info

    def open_session(self, cache_dir: Path) -> PywasmSession:
        info = self.info()
        if not info.available:
            from wasitest.errors import RuntimeUnavailable

            raise RuntimeUnavailable(f"{self.name} is not available: {info.reason}", INSTALL_HINT)
        return PywasmSession(cache_dir)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(PywasmRuntime())


# ------------------------------------------------------------- the helper process's side


class CappedSink:
    """A guest's stdout or stderr: a file that keeps the first `cap + 1` bytes (one more than
    is reported, so the reader can tell the output was cut) and drops the rest."""

    def __init__(self, path: str, cap: int) -> None:
        self.handle = open(path, "wb", buffering=0)  # closed by close()
        self.room = cap + 1

    def write(self, data: bytes | bytearray) -> int:
        if self.room > 0:
            kept = bytes(data[: self.room])
            self.handle.write(kept)
            self.room -= len(kept)
        return len(data)

    def seek(self, *_args: Any) -> int:
        return 0

    def close(self) -> None:
        self.handle.close()


def classify(exc: BaseException) -> tuple[TrapKind, str]:
    """The trap kind and a message for an exception the interpreter raised while running."""
    pywasm = _pywasm()
    frame_name, line, instr = "", "", None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename.endswith(os.path.join("pywasm", "core.py")):
            frame_name = code.co_name
            if code.co_name == "evaluate":
                instr = tb.tb_frame.f_locals.get("instr")
            import linecache

            line = linecache.getline(code.co_filename, tb.tb_lineno).strip()
        tb = tb.tb_next
    opcode = getattr(instr, "opcode", None)
    name = pywasm.opcode.name.get(opcode, "") if opcode is not None else ""
    if frame_name == "evaluate_call" and "len(self.stack.frame)" in line:
        return TrapKind.STACK_OVERFLOW, "call stack exhausted (pywasm allows 1024 frames)"
    if frame_name in ("evaluate_mem_load", "evaluate_mem_save"):
        return TrapKind.MEMORY_OUT_OF_BOUNDS, f"out of bounds memory access ({name or frame_name})"
    if isinstance(exc, AssertionError) and name in ("memory.fill", "memory.copy", "memory.init"):
        return TrapKind.MEMORY_OUT_OF_BOUNDS, f"out of bounds memory access ({name})"
    if opcode == pywasm.opcode.unreachable:
        return TrapKind.UNREACHABLE, "unreachable instruction executed"
    detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    where = f" in {name}" if name else (f" at {line}" if line else "")
    return TrapKind.OTHER, f"{detail}{where}"


def _ordered_preopens(wasi: Any, guests: list[str]) -> None:
    """Give the preopened directories descriptors 3, 4, ... in the order the job lists them
    (pywasm opens them sorted by guest path)."""
    by_name = {entry.wasm_name: entry for entry in wasi.fd[3:]}
    order = [by_name[os.path.normpath(guest)] for guest in dict.fromkeys(guests) if os.path.normpath(guest) in by_name]
    for number, entry in enumerate(order, start=3):
        entry.wasm_fd = number
    wasi.fd[3:] = order


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one job in this (helper) process."""
    pywasm = _pywasm()
    started = time.perf_counter()
    try:
        data = Path(job["module"]).read_bytes()
        desc = pywasm.core.ModuleDesc.from_reader(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pywasm's parser raises anything on bad input
        return {"status": "error", "message": f"pywasm cannot load the module: {type(exc).__name__}: {exc}"}
    sinks = [CappedSink(job["stdout"], job["cap"]), CappedSink(job["stderr"], job["cap"])]
    try:
        try:
            preopens = {guest: host for guest, host in job["preopens"]}
            wasi = pywasm.wasi.Preview1(list(job["argv"]), preopens, {})
        except OSError as exc:
            return {"status": "error", "message": f"cannot preopen a directory: {exc}"}
        wasi.envs = [f"{key}={value}" for key, value in job["env"]]
        _ordered_preopens(wasi, [guest for guest, _ in job["preopens"]])
        wasi.fd[0].pipe = io.BytesIO(job["stdin"])
        wasi.fd[1].pipe, wasi.fd[2].pipe = sinks
        runtime = pywasm.core.Runtime()
        wasi.bind(runtime)
        try:
            instance = runtime.instance(desc)
        except KeyError as exc:
            return {"status": "error", "message": f"cannot instantiate: unknown import {exc}"}
        except Exception as exc:  # noqa: BLE001 - a start function's trap, or a bad module
            kind, message = classify(exc)
            return (
                {"status": "error", "message": f"cannot instantiate: {message}"}
                if kind is TrapKind.OTHER
                else {"status": "trap", "kind": kind.value, "message": message}
            )
        if not any(export.name == "_start" for export in instance.exps):
            return {"status": "error", "message": "the module has no _start export (not a WASI command)"}
        try:
            code = wasi.main(runtime, instance)
        except Exception as exc:  # noqa: BLE001 - traps are plain exceptions in pywasm
            kind, message = classify(exc)
            return {"status": "trap", "kind": kind.value, "message": message, "duration": time.perf_counter() - started}
        return {"status": "exit", "code": int(code), "duration": time.perf_counter() - started}
    finally:
        for sink in sinks:
            sink.close()


if __name__ == "__main__":
    serve(run_job)

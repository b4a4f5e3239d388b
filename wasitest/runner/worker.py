"""The code that runs inside each worker process.

A worker builds its own plugin registry, opens a runtime session the first time a job
needs that runtime and keeps it for the rest of the run, so compiled modules, linkers and
helper processes are reused across jobs. Every job still gets a fresh instance and a fresh
scratch directory, removed when the job ends.
"""

from __future__ import annotations

import os
import shutil
import signal
import traceback
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from wasitest.matrix.cells import open_session
from wasitest.model import Cell, Execution, Invocation
from wasitest.protocols import RuntimeSession

#: the guest paths a job's scratch directory is preopened at
SCRATCH_GUEST_PATHS = (".", "/tmp")


@dataclass(frozen=True)
class WorkItem:
    """One invocation for one runtime; `scratch` asks for a fresh preopened directory."""

    index: int
    cell: Cell
    invocation: Invocation
    scratch: bool = True
    #: (host path, path inside the scratch dir) copied in before the job runs
    copy_in: tuple[tuple[str, str], ...] = ()
    #: (path inside the scratch dir, guest path) preopened besides "." and "/tmp"
    scratch_preopens: tuple[tuple[str, str], ...] = ()
    #: False: no "." and "/tmp", only `scratch_preopens` (the case's `default_preopens`)
    default_preopens: bool = True


def worker_main(conn: Connection, cache_dir: str, scratch_root: str) -> None:
    """Serve batches of `WorkItem`s until told to stop (a `None` batch) or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    from wasitest.plugin import load_registry

    registry = load_registry()
    sessions: dict[str, RuntimeSession] = {}
    cache = Path(cache_dir)
    try:
        while True:
            try:
                batch = conn.recv()
            except EOFError:
                return
            if batch is None:
                return
            for item in batch:
                conn.send((item.index, _run_one(item, registry, sessions, cache, Path(scratch_root))))
    finally:
        for session in sessions.values():
            try:
                session.close()
            except Exception:  # noqa: BLE001 - closing must not hide the real outcome
                pass


def _run_one(
    item: WorkItem, registry: Any, sessions: dict[str, RuntimeSession], cache: Path, scratch_root: Path
) -> Execution:
    # one scratch dir per worker, emptied after every job that left something in it: a new
    # folder per job costs more than most jobs (mkdir and rmdir of a folder, on this disk)
    scratch = scratch_root / f"worker-{os.getpid()}"
    invocation = item.invocation
    try:
        session = sessions.get(item.cell.id)
        if session is None:
            session = open_session(registry, item.cell, cache)
            sessions[item.cell.id] = session
        if item.scratch:
            scratch.mkdir(parents=True, exist_ok=True)
            _copy_in(item.copy_in, scratch)
            extra = tuple((_inside(scratch, relative), guest) for relative, guest in item.scratch_preopens)
            default = SCRATCH_GUEST_PATHS if item.default_preopens else ()
            preopens = tuple((scratch, guest) for guest in default) + extra + invocation.preopens
            invocation = replace(invocation, preopens=preopens)
        return session.run(invocation)
    except Exception as exc:  # noqa: BLE001 - an adapter bug costs one job, reported as an error
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return Execution(error=f"runtime adapter {item.cell.runtime!r} failed: {detail}")
    finally:
        if item.scratch:
            _empty(scratch)


def _empty(scratch: Path) -> None:
    """Leave the scratch dir empty for the next job (cheap when the job left nothing)."""
    try:
        with os.scandir(scratch) as entries:
            if next(entries, None) is None:
                return
    except FileNotFoundError:
        return
    shutil.rmtree(scratch, ignore_errors=True)
    if scratch.exists():  # something the job made cannot be removed: never reuse it
        scratch.rename(scratch.with_name(f"{scratch.name}-stale-{os.urandom(4).hex()}"))


def _inside(scratch: Path, relative: str) -> Path:
    """A folder of the scratch dir (made if missing); never a path that leaves it."""
    target = (scratch / relative).resolve()
    if scratch.resolve() not in (target, *target.parents):
        raise ValueError(f"{relative!r} escapes the scratch directory")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _copy_in(entries: tuple[tuple[str, str], ...], scratch: Path) -> None:
    """Copy test data into the scratch dir; symlinks are copied as links, never followed
    out of the data folder, so a planted link grants nothing the spec did not."""
    for source, relative in entries:
        target = (scratch / relative).resolve()
        if scratch.resolve() not in (target, *target.parents):
            raise ValueError(f"copy_in target {relative!r} escapes the scratch directory")
        src = Path(source)
        if src.is_dir():
            shutil.copytree(src, target, symlinks=True, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target, follow_symlinks=False)

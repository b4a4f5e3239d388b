"""One job, and the one way to run it: the pool's workers, the pytest plugin's inline
executor, the `wasi_run` fixture and discovery all call `run_job`.

A job is a `WorkItem`: one invocation in one cell, with what its scratch directory gets
(test data copied in, folders of it preopened). `run_job` takes the cell's session from a
`Sessions` (opened on the cell's first job, kept for its next ones, so compiled modules,
linkers and helper processes are reused), fills the scratch dir, adds its preopens, runs
the invocation in a fresh instance (the adapter captures the output and enforces the
limits; the runner itself watches the scratch dir's size, `wasitest.runner.disk`), turns
an adapter's exception into the job's `error`, and empties the scratch dir for the next job.
"""

from __future__ import annotations

import functools
import os
import shutil
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from wasitest.model import Capability, Cell, Execution, Invocation, TrapKind
from wasitest.plugin import Registry
from wasitest.protocols import RuntimeSession
from wasitest.runner.cells import open_session
from wasitest.runner.dir_events import DirEvents
from wasitest.runner.disk import disk_usage, process_watch
from wasitest.runner.job_files import release_private_tmp

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

    def needs(self) -> frozenset[Capability]:
        """The capabilities a runtime must have to run this job safely, counting the
        preopens of the scratch dir that `run_job` adds to the invocation's own."""
        needed = self.invocation.needs()
        if self.scratch and (self.default_preopens or self.scratch_preopens):
            needed |= {Capability.PREOPEN, Capability.FS_CONTAINMENT}
        return needed


class Sessions:
    """The open runtime sessions of this process, by cell id: each opened on its cell's
    first job and closed together at the end.

    `reopen_after_failure` closes and forgets a session whose adapter raised, so the
    cell's next job gets a fresh one: `wasi_run` asks for it, since a test may go on
    after an adapter failure. The pool's workers keep the session: an adapter that raised
    on one job usually runs the next, and reopening costs the cell's compiled modules and
    helper processes.
    """

    def __init__(
        self,
        opener: Callable[[Cell], RuntimeSession],
        *,
        reopen_after_failure: bool = False,
        cache_dir: Path | None = None,
    ) -> None:
        self._opener = opener
        self._reopen = reopen_after_failure
        self._open: dict[str, RuntimeSession] = {}
        #: the cache the sessions keep this process's job files in (released on `close`)
        self._cache_dir = cache_dir
        #: scratch dirs found empty when their last job ended: the next job need not make
        #: them (a `mkdir` costs more than a trivial job's own system calls). Kept here, not
        #: for the process: a later run's sessions make their scratch dirs afresh.
        self.empty_scratch: set[Path] = set()
        #: answers whether an empty scratch dir is still empty after a job, without a listing
        self.dir_events = DirEvents()
        #: a pool worker's sessions: a `killable` job may end this process at its limits
        #: (the pool reads its verdict from the exit code). Elsewhere (the run's own
        #: process, pytest's) such a job runs as any other.
        self.may_end_process = False

    @classmethod
    def of(cls, registry: Registry, cache_dir: Path, *, reopen_after_failure: bool = False) -> Sessions:
        """Sessions of the registry's runtimes (as the cell's host runs them), caching in `cache_dir`."""
        return cls(
            lambda cell: open_session(registry, cell, cache_dir),
            reopen_after_failure=reopen_after_failure,
            cache_dir=cache_dir,
        )

    def get(self, cell: Cell) -> RuntimeSession:
        session = self._open.get(cell.id)
        if session is None:
            session = self._opener(cell)
            self._open[cell.id] = session
        return session

    def failed(self, cell: Cell) -> None:
        """The cell's adapter raised while running a job."""
        if self._reopen:
            session = self._open.pop(cell.id, None)
            if session is not None:
                _close(session)

    def close(self) -> None:
        for session in self._open.values():
            _close(session)
        self._open.clear()
        self.dir_events.close()
        if self._cache_dir is not None:
            release_private_tmp(self._cache_dir)


def _close(session: RuntimeSession) -> None:
    try:
        session.close()
    except Exception:  # noqa: BLE001 - closing one must not hide the real outcome, nor keep others open
        pass


def process_scratch(scratch_root: Path, pid: int | None = None) -> Path:
    """This process's scratch dir under `scratch_root` (or process `pid`'s). One per
    process, emptied after every job that left something in it: a new folder per job costs
    more than most jobs (mkdir and rmdir of a folder, on this disk)."""
    return scratch_root / f"worker-{os.getpid() if pid is None else pid}"


def run_job(
    item: WorkItem,
    sessions: Sessions,
    scratch: Path,
    *,
    keep_scratch: bool = False,
    raise_adapter_errors: bool = False,
) -> Execution:
    """Run one job in this process and return what the runtime reported.

    The scratch dir `scratch` is made, gets the item's test data and is preopened (at "."
    and "/tmp", and the item's `scratch_preopens`) before the invocation's own preopens.
    It is emptied afterwards unless `keep_scratch` (`wasi_run` shows it to the test).
    An exception of the adapter (or of the copy-in) becomes the job's `error`: it costs
    this job, not the run. Discovery passes `raise_adapter_errors`, so that the failure
    is reported as the artifact's whose cases could not be listed.
    """
    invocation = item.invocation
    if invocation.killable and not sessions.may_end_process:
        invocation = replace(invocation, killable=False)
    # a scratch dir nothing is copied into and nothing preopens is one the guest never sees
    uses_scratch = item.scratch and bool(item.default_preopens or item.scratch_preopens or item.copy_in)
    watch = process_watch() if uses_scratch else None
    try:
        session = sessions.get(item.cell)
        if uses_scratch:
            if scratch not in sessions.empty_scratch:  # else it is there, and empty: no mkdir
                scratch.mkdir(parents=True, exist_ok=True)
            _copy_in(item.copy_in, scratch)
            preopens = _scratch_preopens(scratch) if item.default_preopens else ()
            if item.scratch_preopens:
                preopens += tuple((_inside(scratch, relative), guest) for relative, guest in item.scratch_preopens)
            invocation = invocation.with_preopens(preopens + invocation.preopens)
        if watch is not None:
            base = disk_usage(scratch) if item.copy_in else 0
            watch.arm(scratch, invocation.disk_limit, base, getattr(session, "interrupt", None))
        execution = session.run(invocation)
    except Exception as exc:
        if raise_adapter_errors:
            raise
        sessions.failed(item.cell)
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        execution = Execution(error=f"runtime adapter {item.cell.runtime!r} failed: {detail}")
    finally:
        # still empty by the watch's word (then it is remembered empty and watched already),
        # or listed: left something (emptied), nothing (remembered and watched), or gone
        still = uses_scratch and sessions.dir_events.still_empty(scratch)
        left = uses_scratch and not still and _holds_anything(scratch)
        peak = watch.disarm(look_again=bool(left)) if watch is not None else None
        if left is False:
            if uses_scratch and not still:
                sessions.empty_scratch.add(scratch)
                sessions.dir_events.watch(scratch)
        else:
            sessions.empty_scratch.discard(scratch)
            if left and not keep_scratch:
                _empty(scratch)
    return execution if peak is None else past_disk_limit(execution, invocation.disk_limit, peak)


@functools.lru_cache(maxsize=8)
def _scratch_preopens(scratch: Path) -> tuple[tuple[Path, str], ...]:
    """The scratch dir at each of `SCRATCH_GUEST_PATHS`: one tuple a worker, not one a job."""
    return tuple((scratch, guest) for guest in SCRATCH_GUEST_PATHS)


def past_disk_limit(execution: Execution, limit: int, peak: int) -> Execution:
    """The execution of a job that wrote more than `limit` into its scratch dir: trapped
    with `disk_limit`, whatever it printed or returned (it read emptied files after)."""
    return replace(
        execution,
        exit_code=None,
        error="",
        crash="",  # its runtime's process, killed by the watch
        trap=TrapKind.DISK_LIMIT,
        trap_message=(
            f"wrote past the {_mib(limit)} disk limit into its scratch dir ({_mib(peak)} seen at once): "
            "wasitest emptied its files (raise `disk` for the suite, or WASITEST_DISK, if the test needs more)"
        ),
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size % (1024 * 1024) else f"{size // (1024 * 1024)} MiB"


def _holds_anything(scratch: Path) -> bool | None:
    """Whether the job left something in its scratch dir (one `getdents` when it did not);
    None when the dir is gone."""
    try:
        with os.scandir(scratch) as entries:
            return next(entries, None) is not None
    except FileNotFoundError:
        return None


def _empty(scratch: Path) -> None:
    """Leave the scratch dir empty for the next job."""
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

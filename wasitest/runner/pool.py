"""A pool of worker processes that survives its workers.

Jobs go to workers in batches (fewer round trips than one message a job), and a worker
gets its next batch while it still has one to work on, so it never idles for a round trip
to the parent between two batches. A batch starts small and grows while a worker's jobs
are quick, up to about `BATCH_S` of work, and shrinks again near the end of the run, so
that every worker finishes at about the same time. A worker answers in order, a few jobs
at a time (see `worker.py`), and keeps the job it is running in shared memory (`Progress`), so
when a worker dies the job that killed it is known: that job is recorded as crashed, the
others it held unanswered go back in the queue, and a new worker takes the dead one's
place. A worker whose job runs past its timeout plus a grace period is killed the same
way, so a runtime that fails to enforce a timeout still costs only its one job. A worker
may also end itself, to stop a `killable` job past its limits (see `Invocation.killable`):
its exit code gives that job's verdict, and its scratch folder is removed.

The items are pulled from the iterable as workers need them, never all at once: a run of
200,000 jobs holds a few dozen `WorkItem`s, not 200,000. Workers can be started before the
items exist (`start`), so that their start-up overlaps the build and discovery.
"""

from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasitest.model import (
    TIMEOUT_GRACE_S,
    WORKER_EXIT_DISK_LIMIT,
    WORKER_EXIT_TIME_LIMIT,
    Execution,
    Invocation,
    TrapKind,
)
from wasitest.runner.job import WorkItem, process_scratch
from wasitest.runner.job_files import release_private_tmp
from wasitest.runner.worker import Progress, worker_main

if TYPE_CHECKING:
    from wasitest.config import Settings


@dataclass
class _Worker:
    process: BaseProcess
    conn: multiprocessing.connection.Connection
    progress: Progress
    #: the items sent and not yet answered, in the order the worker runs them
    pending: collections.deque[WorkItem] = field(default_factory=collections.deque)
    #: the worker's last answer, or when it was sent work while idle: what a worker between
    #: jobs (starting up, say) is timed from
    since: float = 0.0
    #: the cells this worker process has answered a job of: its session for them is open
    opened: set[str] = field(default_factory=set)
    #: how long its jobs take, on average lately (seconds; 0 before its first answer)
    job_s: float = 0.0


#: the work a batch holds once a worker's jobs are known to be quick: a batch's round trip
#: (a message each way, a wake-up of each process) costs more than a trivial job, so quick
#: jobs go in batches of up to `MAX_BATCH` (a few milliseconds of answers' delay at most)
BATCH_S = 0.02
MAX_BATCH = 128
#: a worker whose jobs take longer than this gets no second batch ahead of time
PREFETCH_BELOW_S = 0.1
#: the least work a batch holds near the end of a run (see `batch_size`)
TAIL_BATCH_S = 0.004
#: the weight of a job's duration in a worker's running average
DURATION_WEIGHT = 0.1

#: what a worker's first job of a cell may take beyond its time limit and grace: opening the
#: session (starting an emulated Node takes tens of seconds on a loaded machine, and the
#: worker's own start comes first); adapters still stop the job itself at its limit
SESSION_START_S = 120.0


def can_fork() -> bool:
    """Whether this process can fork a worker safely: on Linux (macOS's system libraries
    are not fork-safe), and while it runs one thread, native ones included (a lock another
    thread held at the fork stays held in the child forever)."""
    if sys.platform != "linux":
        return False
    try:
        return len(os.listdir("/proc/self/task")) == 1
    except OSError:
        return False


def _ended(exit_code: int | None, invocation: Invocation, duration: float) -> Execution:
    """The job a worker process was running when it ended: stopped at its time or disk
    limit when the worker ended itself for a `killable` job (its exit code says which),
    else a crash."""
    if invocation.killable and exit_code == WORKER_EXIT_TIME_LIMIT:
        return Execution(
            trap=TrapKind.TIMEOUT,
            trap_message=f"ran past its {invocation.timeout_s:g} s time limit: wasitest ended its worker",
            duration_s=duration,
        )
    if invocation.killable and exit_code == WORKER_EXIT_DISK_LIMIT:
        return Execution(
            trap=TrapKind.DISK_LIMIT,
            trap_message="wrote past its disk limit into its scratch dir: wasitest ended its worker",
            duration_s=duration,
        )
    return Execution(crash=f"worker process died (exit code {exit_code}) while running this job", duration_s=duration)


class WorkerPool:
    """Runs `WorkItem`s on `size` worker processes; yields `(item, Execution)` as they end."""

    def __init__(
        self,
        size: int,
        cache_dir: Path,
        scratch_root: Path,
        batch_size: int = 8,
        max_batch: int = MAX_BATCH,
        linger: bool = False,
    ) -> None:
        self.size = max(1, size)
        self.cache_dir = cache_dir
        self.scratch_root = scratch_root
        #: a worker's first batches, before its jobs are timed; `max_batch` bounds the later ones
        self.batch_size = max(1, batch_size)
        self.max_batch = max(self.batch_size, max_batch)
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        #: `linger`: when `run` has had every answer, its workers are told to stop and left
        #: to wind down (close their sessions, exit) while the owner goes on, writing its
        #: reports; `close` waits for them. Without it, `run` waits for them itself.
        self.linger = linger
        #: workers told to stop and not waited for yet
        self._stopping: list[_Worker] = []
        self._queue: collections.deque[WorkItem] = collections.deque()
        self.crashes = 0
        #: workers started so far (names their `Progress` files)
        self._started = 0
        #: every worker process this pool started, for their scratch folders (`worker-PID`)
        self._pids: list[int] = []

    @classmethod
    def of(cls, settings: Settings, size: int | None = None, *, linger: bool = False) -> WorkerPool:
        """A pool caching and working in the project's work folder, of `size` workers
        (default: the settings' `jobs`, else one a CPU)."""
        workers = size or settings.jobs or os.cpu_count() or 1
        return cls(workers, settings.work_dir / "cache", settings.work_dir / "scratch", linger=linger)

    def submit(self, item: WorkItem) -> None:
        """Queue one more item while `run` is being iterated (a retry, say); it goes before
        the items not yet pulled from `run`'s iterable."""
        self._queue.append(item)

    def start(self, count: int | None = None, *, fork: bool = False) -> None:
        """Start workers now, up to `count` (default: the pool's size): a worker takes
        about as long to start as a cached project's plan, so a run starts them first.

        `fork`: fork them from this process, when that is safe (`can_fork`), rather than
        start each in a fresh interpreter that imports wasitest again. A forked worker is
        ready in milliseconds, and leaves the cores to the caller's own start meanwhile.
        Only for a caller that has opened nothing a child must not share yet: workers
        that replace dead ones later in a run are always started fresh."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        context = self._ctx if not (fork and can_fork()) else multiprocessing.get_context("fork")
        while len(self._workers) < min(self.size, self.size if count is None else count):
            self._workers.append(self._start_worker(context))

    def _start_worker(self, context: Any = None) -> _Worker:
        context = context or self._ctx
        parent, child = context.Pipe()
        self._started += 1
        progress = Progress(self.scratch_root / f".progress-{os.getpid()}-{self._started}", create=True)
        # a forked worker is handed the parent's ends of the pipes (its own and the earlier
        # workers'), to close; a fresh interpreter inherits none
        inherited = [parent, *(w.conn for w in self._workers)] if context.get_start_method() == "fork" else []
        process = context.Process(
            target=worker_main,
            args=(child, str(self.cache_dir), str(self.scratch_root), str(progress.path), inherited),
            daemon=True,
        )
        process.start()
        child.close()
        if process.pid is not None:
            self._pids.append(process.pid)
        return _Worker(process, parent, progress)

    def call(self, item: WorkItem) -> Execution:
        """Run one item on a worker and keep the workers for what comes next: discovery
        lists a batch suite's cases on the workers, on the engine its batches run on, so
        that a cold run compiles each of its modules once."""
        answers = list(self.run([item], total=1, keep=True))
        return answers[-1][1]

    def run(
        self,
        items: Iterable[WorkItem],
        total: int | None = None,
        stop: Callable[[], bool] = lambda: False,
        *,
        keep: bool = False,
    ) -> Iterator[tuple[WorkItem, Execution]]:
        """Run every item (pulled from `items` as workers need them) and every item
        `submit`ted meanwhile. `total` (default: `len(items)`) sizes the batches and the
        number of workers; without either, the pool uses its size and full batches.
        `keep`: the workers stay for another `run` (else they are told to stop)."""
        queue = self._queue
        source = iter(items)
        if total is None:
            total = len(items) if isinstance(items, Sized) else self.size * self.batch_size * 4
        total += len(queue)
        first = max(1, min(self.batch_size, total // (self.size * 4) or 1))
        self.start(max(total, 1))
        exhausted = False
        taken = 0

        def batch_size(worker: _Worker) -> int:
            """`first` until the worker's jobs are timed; then about `BATCH_S` of them. Near
            the end of a run with several workers, no more than a quarter of what is left
            per worker (the run's tail stays even), but never less than `TAIL_BATCH_S` of
            work: a smaller batch ends before the round trip that brings the next one."""
            if not worker.job_s:
                return first
            size = min(self.max_batch, int(BATCH_S / worker.job_s))
            if self.size > 1:
                size = min(size, max(int(TAIL_BATCH_S / worker.job_s), (total - taken) // (self.size * 4)))
            return max(1, size)

        def take(count: int) -> list[WorkItem]:
            nonlocal exhausted, taken
            batch: list[WorkItem] = []
            while len(batch) < count and queue:
                batch.append(queue.popleft())
            while len(batch) < count and not exhausted:
                item = next(source, None)
                if item is None:
                    exhausted = True
                else:
                    batch.append(item)
            taken += len(batch)
            return batch

        def refill() -> None:
            for worker in self._workers:
                # two batches in flight: the next is there when the current one ends; but
                # a worker of slow jobs gets its next one when it is free, so that it goes to
                # whichever worker is free first (a slow job's round trip costs it little),
                # and so does a worker whose jobs are not timed yet: a run's first items are
                # its longest when it has a history, and two of them must not queue on one
                size = batch_size(worker)
                ahead = size if 0 < worker.job_s < PREFETCH_BELOW_S else 0
                if len(worker.pending) <= ahead and (queue or not exhausted):
                    batch = take(size)
                    if batch:
                        if not worker.pending:
                            worker.since = time.monotonic()
                        worker.pending.extend(batch)
                        worker.conn.send(batch)

        try:
            while True:
                if stop():
                    queue.clear()
                    exhausted = True
                refill()
                busy = [w for w in self._workers if w.pending]
                if not busy:
                    if queue or not exhausted:
                        continue
                    break
                waitables: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
                ready = multiprocessing.connection.wait(waitables, timeout=0.5)
                answered = [done for worker in busy for done in self._collect(worker, ready, queue)]
                if answered and not stop():
                    refill()  # the next batches go before the answers are worked through
                yield from answered
        except BaseException:  # Ctrl-C, or the consumer stopped: end running jobs now
            self.close(now=True)
            raise
        if keep:
            return
        if self.linger:
            self._tell_stop()
        else:
            self.close()

    def _tell_stop(self) -> None:
        """Ask every worker to stop once it is idle, without waiting for it."""
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        self._stopping += self._workers
        self._workers = []

    def _collect(
        self, worker: _Worker, ready: list[Any], queue: collections.deque[WorkItem]
    ) -> Iterator[tuple[WorkItem, Execution]]:
        if worker.conn in ready:
            try:
                while worker.pending and worker.conn.poll():
                    for index, execution in worker.conn.recv():
                        item = worker.pending.popleft()
                        assert item.index == index, "a worker answers its items in order"
                        worker.opened.add(item.cell.id)
                        took = max(execution.duration_s, 1e-5)
                        worker.job_s += (DURATION_WEIGHT if worker.job_s else 1.0) * (took - worker.job_s)
                        yield item, execution
                    worker.since = time.monotonic()
                return
            except (EOFError, OSError):
                pass  # the worker died mid-message: handled as a crash below
        if not worker.pending:
            return
        current, since = worker.pending[0], worker.since
        running = worker.progress.current()
        if running is not None:
            current = next((item for item in worker.pending if item.index == running[0]), current)
            since = running[1]
        allowed = current.invocation.timeout_s + TIMEOUT_GRACE_S
        if current.cell.id not in worker.opened:
            allowed += SESSION_START_S
        duration = time.monotonic() - since
        if worker.process.sentinel in ready or not worker.process.is_alive():
            worker.process.join(1)
            execution = _ended(worker.process.exitcode, current.invocation, duration)
            if execution.trap is not None:  # it ended itself: its job's files are no one's
                shutil.rmtree(process_scratch(self.scratch_root, worker.process.pid), ignore_errors=True)
        elif duration > allowed:
            execution = Execution(
                trap=TrapKind.TIMEOUT,
                duration_s=duration,
                trap_message=f"the runtime ignored the {current.invocation.timeout_s:g} s timeout: wasitest killed it",
            )
        else:
            return
        # the others it held go again: those after it, and those it ran but had not answered
        queue.extendleft(reversed([item for item in worker.pending if item is not current]))
        worker.pending.clear()
        self._replace(worker)
        self.crashes += 1
        yield current, execution

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        worker.progress.close(remove=True)
        if worker.process.pid is not None:  # its sessions never closed: their pipes and logs
            release_private_tmp(self.cache_dir, worker.process.pid)
        fresh = self._start_worker()
        worker.process, worker.conn, worker.progress = fresh.process, fresh.conn, fresh.progress
        worker.opened.clear()

    def close(self, now: bool = False) -> None:
        """Stop the workers: politely when the queue ran dry, at once when interrupted
        (`now`), so a running job never outlives the run; wait for those already told to
        stop (they hold no job)."""
        if now:
            for worker in self._workers:
                try:
                    worker.process.kill()
                except (OSError, ValueError):
                    pass
            self._stopping += self._workers
            self._workers = []
        else:
            self._tell_stop()
        deadline = time.monotonic() + 5
        for worker in self._stopping:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)
            worker.conn.close()
            worker.progress.close(remove=True)
            if worker.process.pid is not None:  # a killed worker's sessions never closed
                release_private_tmp(self.cache_dir, worker.process.pid)
        self._stopping.clear()
        self._remove_empty_scratch()

    def _remove_empty_scratch(self) -> None:
        """The scratch folder each worker made (`worker-PID`, see `job.process_scratch`) is
        emptied after each job; once its worker is gone it is removed, if empty."""
        for pid in self._pids:
            try:
                process_scratch(self.scratch_root, pid).rmdir()
            except OSError:
                pass  # never made, or not empty: left for a look
        self._pids.clear()

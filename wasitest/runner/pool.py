"""A pool of worker processes that survives its workers.

Jobs go to workers in small batches (fewer round trips than one message a job). Each
worker answers job by job, in order, so when a worker dies the first unanswered job of its
batch is the one that killed it: that job is recorded as crashed, the rest of the batch
goes back in the queue, and a new worker takes the dead one's place. A worker that stays
silent past a job's timeout plus a grace period is killed the same way, so a runtime that
fails to enforce a timeout still costs only its one job.
"""

from __future__ import annotations

import collections
import multiprocessing
import multiprocessing.connection
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from wasitest.model import TIMEOUT_GRACE_S, Execution, TrapKind
from wasitest.runner.job import WorkItem
from wasitest.runner.worker import worker_main


@dataclass
class _Worker:
    process: BaseProcess
    conn: multiprocessing.connection.Connection
    pending: collections.deque[WorkItem] = field(default_factory=collections.deque)
    since: float = 0.0


class WorkerPool:
    """Runs `WorkItem`s on `size` worker processes; yields `(index, Execution)` as they end."""

    def __init__(self, size: int, cache_dir: Path, scratch_root: Path, batch_size: int = 8) -> None:
        self.size = max(1, size)
        self.cache_dir = cache_dir
        self.scratch_root = scratch_root
        self.batch_size = max(1, batch_size)
        self._ctx = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []
        self._queue: collections.deque[WorkItem] = collections.deque()
        self.crashes = 0
        #: every worker process this pool started, for their scratch folders (`worker-PID`)
        self._pids: list[int] = []

    def submit(self, item: WorkItem) -> None:
        """Queue one more item while `run` is being iterated (a retry, say)."""
        self._queue.append(item)

    def _start_worker(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=worker_main, args=(child, str(self.cache_dir), str(self.scratch_root)), daemon=True
        )
        process.start()
        child.close()
        if process.pid is not None:
            self._pids.append(process.pid)
        return _Worker(process, parent)

    def run(
        self, items: Iterable[WorkItem], stop: Callable[[], bool] = lambda: False
    ) -> Iterator[tuple[int, Execution]]:
        queue = self._queue
        queue.extend(items)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        total = len(queue)
        per_worker = max(1, min(self.batch_size, total // (self.size * 4) or 1))
        while len(self._workers) < min(self.size, max(total, 1)):
            self._workers.append(self._start_worker())
        try:
            while queue or any(w.pending for w in self._workers):
                if stop():
                    queue.clear()
                for worker in self._workers:
                    if not worker.pending and queue:
                        batch = [queue.popleft() for _ in range(min(per_worker, len(queue)))]
                        worker.pending.extend(batch)
                        worker.since = time.monotonic()
                        worker.conn.send(batch)
                busy = [w for w in self._workers if w.pending]
                if not busy:
                    break
                waitables: list[Any] = [w.conn for w in busy] + [w.process.sentinel for w in busy]
                ready = multiprocessing.connection.wait(waitables, timeout=0.5)
                for worker in busy:
                    yield from self._collect(worker, ready, queue)
        except BaseException:  # Ctrl-C, or the consumer stopped: end running jobs now
            self.close(now=True)
            raise
        self.close()

    def _collect(
        self, worker: _Worker, ready: list[Any], queue: collections.deque[WorkItem]
    ) -> Iterator[tuple[int, Execution]]:
        if worker.conn in ready:
            try:
                while worker.pending and worker.conn.poll():
                    index, execution = worker.conn.recv()
                    worker.pending.popleft()
                    worker.since = time.monotonic()
                    yield index, execution
                return
            except (EOFError, OSError):
                pass  # the worker died mid-message: handled as a crash below
        if not worker.pending:
            return
        current = worker.pending[0]
        overdue = time.monotonic() - worker.since > current.invocation.timeout_s + TIMEOUT_GRACE_S
        duration = time.monotonic() - worker.since
        if worker.process.sentinel in ready or not worker.process.is_alive():
            worker.process.join(1)
            execution = Execution(
                crash=f"worker process died (exit code {worker.process.exitcode}) while running this job",
                duration_s=duration,
            )
        elif overdue:
            execution = Execution(
                trap=TrapKind.TIMEOUT,
                duration_s=duration,
                trap_message=f"the runtime ignored the {current.invocation.timeout_s:g} s timeout: wasitest killed it",
            )
        else:
            return
        worker.pending.popleft()
        queue.extendleft(reversed(worker.pending))
        worker.pending.clear()
        self._replace(worker)
        self.crashes += 1
        yield current.index, execution

    def _replace(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        fresh = self._start_worker()
        worker.process, worker.conn = fresh.process, fresh.conn

    def close(self, now: bool = False) -> None:
        """Stop the workers: politely when the queue ran dry, at once when interrupted
        (`now`), so a running job never outlives the run."""
        for worker in self._workers:
            try:
                if now:
                    worker.process.kill()
                else:
                    worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 5
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(1)
            worker.conn.close()
        self._workers.clear()
        self._remove_empty_scratch()

    def _remove_empty_scratch(self) -> None:
        """The scratch folder each worker made (`worker-PID`, see `job.process_scratch`) is
        emptied after each job; once its worker is gone it is removed, if empty."""
        for pid in self._pids:
            try:
                (self.scratch_root / f"worker-{pid}").rmdir()
            except OSError:
                pass  # never made, or not empty: left for a look
        self._pids.clear()

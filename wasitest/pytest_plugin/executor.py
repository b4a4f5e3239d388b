"""How the collected items get their jobs run: by the core, never by the plugin itself.

Two strategies, one per kind of pytest process:

- `PoolExecutor` (a plain pytest run): the first wasm item to run hands the jobs of *every*
  wasm item of the session, in the order pytest will run them, to the core's `execute`
  (the worker pool, as `wasitest run` uses it) and reads its stream of results as far as
  that item needs; later items find their result already there or read on. The pool runs
  ahead of the reporting, so no item pays a process start and all CPUs work. `-x` still
  stops: pytest stops asking, the stream is closed at session end, and at most the jobs
  the workers already held are wasted.
- `InlineExecutor` (a pytest-xdist worker): xdist's workers already are the parallel
  processes, and which items a worker gets is decided on the fly by the controller, so a
  worker runs each of its items' jobs itself, through the core's `run_here` (the steps
  `execute` takes for one job, and `run_job` as a pool worker calls it), with the runtime
  sessions kept open for the worker's life.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Protocol

from wasitest.model import Job, Result
from wasitest.plugin import Registry
from wasitest.runner.execute import execute, run_here
from wasitest.runner.job import Sessions, process_scratch
from wasitest.runplan import RunPlan


class Executor(Protocol):
    def results(self, job: Job) -> list[Result] | None:
        """The job's result, then its subcases' results; None when this executor does not hold it."""
        ...

    def close(self) -> None: ...


class PoolExecutor:
    """Streams the given jobs through the core's worker pool, in their order."""

    def __init__(self, plan: RunPlan, registry: Registry, jobs: Sequence[Job]) -> None:
        # no history: jobs go in pytest's order (not longest-first), so the item pytest
        # reports next is the one the pool started first, and `-x` wastes little
        self._plan = replace(plan, jobs=list(jobs), history={})
        self._registry = registry
        self._wanted = {job.id for job in jobs}
        self._stream: Iterator[Result] | None = None
        self._exhausted = False
        #: the job whose results are still coming (its subcases follow it in the stream)
        self._open: tuple[str, list[Result]] | None = None
        self._complete: dict[str, list[Result]] = {}

    def results(self, job: Job) -> list[Result] | None:
        if job.id not in self._wanted:
            return None
        while job.id not in self._complete and not self._exhausted:
            self._pull()
        return self._complete.pop(job.id, None)

    def _pull(self) -> None:
        if self._stream is None:
            self._stream = execute(self._plan, self._registry)
        try:
            result = next(self._stream)
        except StopIteration:
            self._exhausted = True
            self._close_open()
            return
        if result.job_id in self._wanted and result.job_id not in self._complete:
            # a job's first result is its own; any that follow before the next job's are
            # its subcases, so a job is complete when the next one starts (or the stream ends)
            self._close_open()
            self._open = (result.job_id, [result])
        elif self._open is not None:
            self._open[1].append(result)

    def _close_open(self) -> None:
        if self._open is not None:
            job_id, results = self._open
            self._complete[job_id] = results
            self._open = None

    def close(self) -> None:
        """Stop the pool: closing the stream closes `execute`'s pool, whatever it still held."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        self._exhausted = True


class InlineExecutor:
    """Runs one job at a time in this process (the core's `run_here`: expectation skips,
    capability checks, the job as a pool worker runs it, its retries). Batch isolation
    does not apply: each job runs alone, which batching only speeds up."""

    def __init__(self, plan: RunPlan, registry: Registry) -> None:
        self._plan = plan
        self._registry = registry
        work_dir = plan.settings.work_dir
        self._sessions = Sessions.of(registry, work_dir / "cache")
        self._scratch = process_scratch(work_dir / "scratch")

    def results(self, job: Job) -> list[Result]:
        return run_here(self._plan, self._registry, job, self._sessions, self._scratch)

    def close(self) -> None:
        self._sessions.close()

"""The code that runs inside each worker process.

A worker builds its own plugin registry and serves batches of jobs, each run by `run_job`:
a runtime session is opened the first time a job needs that cell and kept for the rest of
the run, so compiled modules, linkers and helper processes are reused across jobs. Every
job still gets a fresh instance and an empty scratch directory.

Answers go back a few at a time (see `worker_main`): one message, and one wake-up of the
parent, a job costs more than a trivial job itself. What the parent must know at once,
which job is running and since when, is in a small file both processes map into memory
(`Progress`), written without a system call: the parent reads it to time a job out, and to
blame the right job when the worker dies.
"""

from __future__ import annotations

import gc
import mmap
import os
import signal
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path

from wasitest.model import Execution
from wasitest.plugin import load_registry
from wasitest.runner.disk import process_watch
from wasitest.runner.job import Sessions, process_scratch, run_job

#: answers of quick jobs wait for others, up to this long: the parent's progress bar and
#: streamed reports lag quick jobs by about this (a batch's last answer never waits)
ANSWER_DELAY_S = 0.05
#: a job this long is not a quick one: its answer goes at once, and so do those waiting
#: (the answers of a batch's quick jobs wait at most for one slow job)
QUICK_JOB_S = 0.005


class Progress:
    """The job a worker is running, in a small file both processes map into memory: its
    index, when it started (`time.monotonic`, one clock for every process), and whether
    it is running. A file and its path, rather than a `multiprocessing` shared array:
    nothing but a path is pickled, so it works in any process that imports wasitest
    (pytest's in-process runs re-import `multiprocessing` under the shared array's class).

    The worker writes the index and the start before it sets `running`, and clears
    `running` when the job ends, so a reader that sees `running` sees that job's start.
    """

    INDEX, STARTED, RUNNING = range(3)
    SIZE = 3 * 8

    def __init__(self, path: Path, *, create: bool = False) -> None:
        self.path = path
        fd = os.open(path, os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0), 0o600)
        try:
            if create:
                os.ftruncate(fd, self.SIZE)
            self._map = mmap.mmap(fd, self.SIZE)
        finally:
            os.close(fd)
        self._values = memoryview(self._map).cast("d")

    def begin(self, index: int) -> float:
        """Mark job `index` running; returns its start."""
        started = time.monotonic()
        self._values[self.INDEX] = index
        self._values[self.STARTED] = started
        self._values[self.RUNNING] = 1.0
        return started

    def end(self) -> None:
        self._values[self.RUNNING] = 0.0

    def current(self) -> tuple[int, float] | None:
        """(index, start) of the running job; None between jobs."""
        if not self._values[self.RUNNING]:
            return None
        return int(self._values[self.INDEX]), float(self._values[self.STARTED])

    def close(self, *, remove: bool = False) -> None:
        self._values.release()
        self._map.close()
        if remove:
            self.path.unlink(missing_ok=True)


#: the collector's thresholds in a worker: CPython's defaults (to 3.12), set again because
#: a forked worker has its parent's, which `cli.console_main` raised. A job may leave
#: cyclic garbage that holds a guest's memory (a runtime written in Python keeps its
#: instances in cycles): it must not wait for hundreds of thousands of allocations.
JOB_GC_THRESHOLD = (700, 10, 10)


def worker_main(
    conn: Connection, cache_dir: str, scratch_root: str, progress_path: str, inherited: Sequence[Connection] = ()
) -> None:
    """Serve batches of `WorkItem`s until told to stop (a `None` batch) or the pipe closes;
    answer each batch's jobs in order, as lists of `(index, Execution)`. `inherited` are the
    parent's ends of the pool's pipes, which a forked worker holds too: it closes them, or
    a worker whose parent died would wait on its pipe forever instead of reading its end."""
    for connection in inherited:
        connection.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    sessions = Sessions.of(load_registry(), Path(cache_dir))
    sessions.may_end_process = True  # the pool replaces a worker that ends itself
    # what the worker holds now (its imports, the plugins, a forked worker's copy of its
    # parent) lives as long as it does: out of the collector's sight, so the full
    # collections its jobs trigger do not walk it again (and do not write to the pages
    # a forked worker still shares with its parent)
    gc.freeze()
    gc.set_threshold(*JOB_GC_THRESHOLD)  # a forked worker has its parent's
    scratch = process_scratch(Path(scratch_root))
    process_watch().owns_children = True  # a worker's children are its runtimes' processes
    progress = Progress(Path(progress_path))
    try:
        while True:
            try:
                batch = conn.recv()
            except EOFError:
                return
            if batch is None:
                return
            answers: list[tuple[int, Execution]] = []
            oldest = 0.0
            for number, item in enumerate(batch, 1):
                started = progress.begin(item.index)
                execution = run_job(item, sessions, scratch)
                progress.end()
                ended = time.monotonic()
                if not answers:
                    oldest = ended
                answers.append((item.index, execution))
                if number == len(batch) or ended - started >= QUICK_JOB_S or ended - oldest >= ANSWER_DELAY_S:
                    conn.send(answers)
                    answers = []
    finally:
        sessions.close()

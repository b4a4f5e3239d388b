"""The code that runs inside each worker process.

A worker builds its own plugin registry and serves batches of jobs, each run by `run_job`:
a runtime session is opened the first time a job needs that cell and kept for the rest of
the run, so compiled modules, linkers and helper processes are reused across jobs. Every
job still gets a fresh instance and an empty scratch directory.
"""

from __future__ import annotations

import signal
from multiprocessing.connection import Connection
from pathlib import Path

from wasitest.plugin import load_registry
from wasitest.runner.disk import process_watch
from wasitest.runner.job import Sessions, process_scratch, run_job


def worker_main(conn: Connection, cache_dir: str, scratch_root: str) -> None:
    """Serve batches of `WorkItem`s until told to stop (a `None` batch) or the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides what Ctrl-C means
    sessions = Sessions.of(load_registry(), Path(cache_dir))
    scratch = process_scratch(Path(scratch_root))
    process_watch().owns_children = True  # a worker's children are its runtimes' processes
    try:
        while True:
            try:
                batch = conn.recv()
            except EOFError:
                return
            if batch is None:
                return
            for item in batch:
                conn.send((item.index, run_job(item, sessions, scratch)))
    finally:
        sessions.close()

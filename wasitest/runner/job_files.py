"""The folder a process keeps its runtime sessions' files in (pipes, runner logs):
`CACHE/jobs/PID`, one per process so that no two share a pipe. A process's sessions
remove theirs when they close; the pool removes a worker's when it killed the worker
(whose sessions never closed), so that run after run nothing piles up."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def private_tmp(cache_dir: Path) -> Path:
    """This process's folder for job files, under the run's cache (made if need be)."""
    folder = cache_dir / "jobs" / str(os.getpid())
    for attempt in range(3):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            break
        except FileNotFoundError:  # another process removed an empty `jobs` in between
            if attempt == 2:
                raise
    return folder


def release_private_tmp(cache_dir: Path, pid: int | None = None) -> None:
    """Remove the folder of process `pid` (default: this one), and `jobs` if no other
    process has one there. This process's own is removed only if its sessions left it
    empty; another's (a killed worker's) whatever it holds."""
    folder = cache_dir / "jobs" / str(os.getpid() if pid is None else pid)
    if pid is not None:
        shutil.rmtree(folder, ignore_errors=True)
    for empty in (folder, folder.parent):
        try:
            empty.rmdir()
        except OSError:
            return  # not there, or not empty: left for a look

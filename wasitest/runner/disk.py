"""The disk limit of a job's scratch directory, enforced by the runner for every runtime.

Why the runner and not the runtimes: no runtime here can cap what a module writes through
its preopens (Wasmtime, Node's `node:wasi`, WAMR and the others write straight to the host
folder), and a size-limited mount (tmpfs, a loop device) needs root on the user's CI. What
every runtime does share is the folder: `run_job` makes it, so one watch covers them all,
embedded, helper process or emulated CPU alike.

How: each process running jobs has one `DiskWatch`, a daemon thread that sleeps until a
job is armed, then measures the job's scratch dir every `interval` (longer when the tree
is big, so measuring never takes more than about a fifth of a core). Past the limit it
stops the job and empties every file it finds:

- *Stopping*: the session's `interrupt()` where it has one (embedded Wasmtime bumps its
  engine's epoch past the deadline: the guest traps at once), and in a pool worker, whose
  only children are runtime processes, SIGKILL to every child (the node runner, a Wasmtime
  CLI, a helper): the session reports the dead process, the next job starts a new one.
- *Emptying* (truncation) frees the blocks even while the module keeps a file open, and a
  write past the end then makes a sparse file that costs only what is written after it. It
  goes on until the job ends, so where nothing can stop the job (a session without
  `interrupt` run in the pytest process, whose other children are not wasitest's to kill)
  the disk still holds about the limit plus what the module writes in one interval.

The job is then judged by the runner, not by its harness: it trapped with `disk_limit`.
Jobs too short for one look are measured when they end, before the scratch dir is
emptied: the verdict is the same, only the peak is bounded by the job's time limit and
the disk's speed rather than by the interval.

What is counted: the blocks really allocated (`st_blocks`, so a sparse file costs what it
holds), folders included, plus an inode's worth (`INODE_BYTES`) for every entry, so that
millions of empty files hit the limit too. The test data copied in before the job is
measured first and not counted: the limit is on what the job writes.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: what one directory entry costs beyond its blocks (an ext4 inode's size)
INODE_BYTES = 256
#: how often an armed watch measures, at least
INTERVAL_S = 0.02
#: a measurement may take at most this share of the interval that follows it
MAX_DUTY = 0.2


def _entries(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under `root` with its own status (links are not followed, so a link
    never leads the walk out of `root`); entries that vanish meanwhile are skipped."""
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            entries = os.scandir(folder)
        except OSError:
            continue
        with entries:
            for entry in entries:
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    stack.append(entry.path)
                yield entry.path, info


def disk_usage(root: Path, stop_above: int | None = None) -> int:
    """Bytes allocated under `root` (not counting `root` itself), by the rules above. With
    `stop_above`, the walk stops as soon as the sum passes it (the sum so far is returned):
    a look at a tree already past a limit then costs the limit's worth of entries, not the
    whole flood's, so the watch keeps its pace against a module creating files by the
    thousand."""
    total = 0
    for _path, info in _entries(root):
        total += info.st_blocks * 512 + INODE_BYTES
        if stop_above is not None and total > stop_above:
            break
    return total


def empty_files(root: Path) -> None:
    """Truncate every regular file under `root` to nothing, never following a link. Files
    are kept (a module holding one open goes on writing into a file that is still seen)."""
    for path, info in _entries(root):
        if stat.S_ISREG(info.st_mode):
            try:
                _truncate(path)
            except OSError:
                continue


def _truncate(path: str) -> None:
    # O_NOFOLLOW: the entry could have been swapped for a link since it was listed
    fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)


def kill_children() -> None:
    """SIGKILL every child process of this one (with its process group, where it leads one)."""
    pids: set[int] = set()
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return
    for task in tasks:
        try:
            pids.update(int(pid) for pid in Path(f"/proc/self/task/{task}/children").read_text().split())
        except (OSError, ValueError):
            continue
    for pid in pids:
        try:
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except OSError:
            continue  # already gone


@dataclass
class _Armed:
    scratch: Path
    limit: int
    base: int
    stop: Callable[[], None] | None
    exceeded: bool = False
    peak: int = 0


class DiskWatch:
    """Watches the scratch dir of the one job this process is running (see the module's
    docstring). `arm` before the job, `disarm` after it: each is an attribute store and an
    uncontended lock, so jobs that write nothing pay a few microseconds; the thread looks
    at whatever job is armed on its own cadence (it never needs waking)."""

    def __init__(self, interval: float = INTERVAL_S) -> None:
        self.interval = interval
        #: whether every child process of this one runs the job (a pool worker): past the
        #: limit they are killed (see `kill_children`)
        self.owns_children = False
        #: held while the thread measures or empties: `disarm` waits for it, so a look that
        #: began during one job never empties the files of the next (same folder)
        self._busy = threading.Lock()
        self._job: _Armed | None = None
        self._thread: threading.Thread | None = None

    def arm(self, scratch: Path, limit: int, base: int = 0, stop: Callable[[], None] | None = None) -> None:
        """Watch `scratch` for the job about to run; `base` is what was there already, and
        `stop` ends the job from the watch's thread (the session's `interrupt`)."""
        self._job = _Armed(scratch, limit, base, stop)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wasitest-disk-watch", daemon=True)
            self._thread.start()

    def disarm(self, look_again: bool = True) -> int | None:
        """Stop watching; returns the most the job was seen to use if it went past its
        limit, else None. `look_again` measures once more now, for jobs shorter than one
        interval (pointless when the scratch dir is empty)."""
        job, self._job = self._job, None
        if job is None:
            return None
        with self._busy:
            pass
        if look_again and not job.exceeded:
            used = _used(job)
            if used > job.limit:
                job.exceeded, job.peak = True, max(job.peak, used)
        return job.peak if job.exceeded else None

    def _run(self) -> None:
        pause = self.interval
        while True:
            time.sleep(pause)
            pause = self.interval
            job = self._job
            if job is None:
                continue
            with self._busy:
                if self._job is not job:  # disarmed meanwhile: the folder is the next job's
                    continue
                started = time.monotonic()
                used = _used(job, stop_above=job.limit)
                job.peak = max(job.peak, used)
                if used > job.limit:
                    if not job.exceeded:
                        job.exceeded = True
                        self._stop(job)
                        job.peak = max(job.peak, _used(job))  # the whole of it, once stopped
                    empty_files(job.scratch)
                pause = max(self.interval, (time.monotonic() - started) / MAX_DUTY)

    def _stop(self, job: _Armed) -> None:
        if job.stop is not None:
            try:
                job.stop()
            except Exception:  # noqa: BLE001 - a failed interrupt still leaves the emptying
                pass
        if self.owns_children:
            kill_children()


def _used(job: _Armed, stop_above: int | None = None) -> int:
    """What the job wrote; with `stop_above`, as soon as it is known to be past that."""
    return max(0, disk_usage(job.scratch, None if stop_above is None else stop_above + job.base) - job.base)


_WATCH: DiskWatch | None = None


def process_watch() -> DiskWatch:
    """This process's one watch (its thread starts with the first armed job)."""
    global _WATCH
    if _WATCH is None:
        _WATCH = DiskWatch()
    return _WATCH


def _forget_watch() -> None:
    """A forked child has its parent's watch object without its thread: it makes its own."""
    global _WATCH
    _WATCH = None


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_watch)

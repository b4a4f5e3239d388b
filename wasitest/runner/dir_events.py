"""Whether a scratch directory that was empty is still empty, without listing it.

After every job `run_job` must know whether the job left anything in its scratch dir (it
is emptied before the next job, which must find it empty). Listing it (`scandir`) costs
7-10 us right after a job, about a twentieth of a trivial job on embedded Wasmtime. On
Linux an inotify watch answers for less: nothing can appear in a directory except by being
created in it or moved into it (`IN_CREATE`, `IN_MOVED_TO`; a subdirectory's content needs
the subdirectory created first), and the kernel queues the event in the same system call.
So when no event is queued, the directory is as empty as it was. Any event (and the
directory's own removal or move, and a queue overflow) means: list it, as before.

Elsewhere, or when inotify is not available (a per-user limit on instances reached), every
question is answered "unknown" and the caller lists the directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import sys
from pathlib import Path

IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
#: an entry created in the directory, or moved into it; the directory itself removed or moved
WATCHED = 0x100 | 0x080 | 0x400 | 0x800
IN_ONLYDIR = 0x01000000


class DirEvents:
    """Watches directories known to be empty; `still_empty` says whether one still is.
    One inotify instance, opened on the first `watch` in the process that uses it."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._poll: select.poll | None = None
        self._libc: ctypes.CDLL | None = None
        self._unavailable = not sys.platform.startswith("linux")
        #: the directories watched since the queue was last found empty
        self._watched: set[str] = set()

    def watch(self, directory: Path) -> None:
        """`directory` was just found empty: watch it (once), so `still_empty` can answer."""
        name = os.fspath(directory)
        if name in self._watched or not self._open():
            return
        assert self._libc is not None and self._fd is not None
        if self._libc.inotify_add_watch(self._fd, os.fsencode(name), WATCHED | IN_ONLYDIR) >= 0:
            self._watched.add(name)

    def still_empty(self, directory: Path) -> bool:
        """True when `directory` was watched empty and nothing was created in or moved into
        any watched directory since (or removed them): it is empty without a look. False
        means unknown: the caller lists it (and `watch`es it again once it is empty)."""
        if self._fd is None or os.fspath(directory) not in self._watched:
            return False
        assert self._poll is not None
        try:
            if not self._poll.poll(0):  # no event queued (the cheapest way to ask: 0.3 us)
                return True
        except OSError:
            pass
        self._drain()
        return False

    def _drain(self) -> None:
        """Forget the queued events; every directory is watched again when found empty."""
        assert self._fd is not None
        with contextlib.suppress(OSError):
            while os.read(self._fd, 65536):
                pass
        self._watched.clear()

    def _open(self) -> bool:
        if self._fd is not None:
            return True
        if self._unavailable:
            return False
        try:
            # the process's own symbols, libc's among them (`find_library` runs `ldconfig`)
            libc = ctypes.CDLL(None, use_errno=True)
            fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        except (OSError, AttributeError):
            fd = -1
        if fd < 0:
            self._unavailable = True
            return False
        self._libc, self._fd = libc, fd
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN)
        return True

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = self._poll = None
        self._watched.clear()

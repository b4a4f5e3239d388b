"""What a builder learnt of files it did not build (a prebuilt module's world and hash, a
spec read and checked), remembered by the files' stamps, so that a run reads again only
the files that changed.

A stamp is what `stat` says of a file: size, modification and change times (in
nanoseconds), inode. An edit, a copy over it, a `touch` or a checkout changes at least one;
the content alone is never read to tell. A stamp is taken before the file is read, so a
file changed while it was read has a stamp the next run does not match: it is read again.

One JSON file per memo in the build cache; it names the code that made its entries
(`code`: the wasitest version and the stamps of the modules that read the files), and a
memo made by other code is ignored as a whole.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from wasitest import __version__
from wasitest.files import write_atomically

Stamp = tuple[int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    """(size, mtime_ns, ctime_ns, inode): what tells a file changed without reading it."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def stamp_text(path: str | Path) -> str:
    """The stamp of `path` as stored: `size,mtime_ns,ctime_ns,inode`; "" when there is no
    such file. Text, not four numbers: a memo of thousands of entries reads in half the time."""
    try:
        size, mtime, ctime, inode = stamp_of(os.stat(path))
    except OSError:
        return ""
    return f"{size},{mtime},{ctime},{inode}"


def _joined(paths: Sequence[str | Path]) -> str:
    return "\0".join([os.fspath(p) for p in paths])


class StampMemo:
    """Values remembered under a key, each valid while the files it was made from keep
    their stamps (a file that was missing must still be missing).

    An entry is stored as `[paths, stamps, value]`, the paths and their stamps each one
    text (joined by NUL and `;`)."""

    def __init__(self, file: Path, code: Sequence[Path]) -> None:
        self.file = file
        self.code = [__version__, self.stamps(code)]
        self._entries: dict[str, Any] = {}
        self._changed = False
        #: stamps taken so far, by path: each file is looked at once in the memo's life (a
        #: build), though many entries may depend on it (a folder's manifest, say)
        self._seen: dict[str, str] = {}
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("code") == self.code and isinstance(data.get("entries"), dict):
            self._entries = data["entries"]

    @staticmethod
    def stamps(paths: Sequence[str | Path]) -> str:
        """The stamps to `put` with a value: take them before reading the files."""
        return ";".join(stamp_text(p) for p in paths)

    def current(self, paths: Sequence[str | Path]) -> str:
        """The stamps of `paths` as this memo first saw them (taken now if it has not):
        what `get` compares, and what to `put` with a value read after `get` missed."""
        seen = self._seen
        texts = []
        for path in paths:
            name = os.fspath(path)
            text = seen.get(name)
            if text is None:
                text = seen[name] = stamp_text(name)
            texts.append(text)
        return ";".join(texts)

    def get(self, key: str, paths: Sequence[str | Path]) -> Any | None:
        entry = self._entries.get(key)
        if (not isinstance(entry, list) or len(entry) != 3
                or entry[0] != _joined(paths) or entry[1] != self.current(paths)):
            return None
        return entry[2]

    def remembered(self, key: str, paths: Sequence[str | Path], ask: Callable[[], Any],
                   keep: Callable[[Any], bool] = lambda value: value is not None) -> Any:
        """The value remembered under `key` while `paths` keep their stamps, if `keep`
        accepts it; else `ask()`'s, remembered when `keep` accepts it (`save` writes it).
        The stamps are taken before `ask` reads the files: one changed meanwhile is read
        again next time."""
        found = self.get(key, paths)
        if found is not None and keep(found):
            return found
        stamps = self.current(paths)
        value = ask()
        if keep(value):
            self.put(key, paths, stamps, value)
        return value

    def put(self, key: str, paths: Sequence[str | Path], stamps: str, value: Any) -> None:
        self._entries[key] = [_joined(paths), stamps, value]
        self._changed = True

    def save(self) -> None:
        """Write the memo if anything was put (atomically; a failure to write costs only
        the next run's reading)."""
        if not self._changed:
            return
        with contextlib.suppress(OSError):
            write_atomically(self.file, json.dumps({"code": self.code, "entries": self._entries}))
            self._changed = False

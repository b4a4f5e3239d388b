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

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wasitest import __version__

Stamp = tuple[int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    """(size, mtime_ns, ctime_ns, inode): what tells a file changed without reading it."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def stamp(path: str | Path) -> Stamp | None:
    """The stamp of `path`; None when there is no such file."""
    try:
        return stamp_of(os.stat(path))
    except OSError:
        return None


class StampMemo:
    """Values remembered under a key, each valid while the files it was made from keep
    their stamps (a file that was missing must still be missing)."""

    def __init__(self, file: Path, code: Sequence[Path]) -> None:
        self.file = file
        self.code = [__version__, *self.stamps(code)]
        self._entries: dict[str, Any] = {}
        self._changed = False
        #: stamps taken so far, by path: each file is looked at once in the memo's life (a
        #: build), though many entries may depend on it (a folder's manifest, say)
        self._seen: dict[str, list[int] | None] = {}
        try:
            data = json.loads(file.read_text())
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("code") == self.code and isinstance(data.get("entries"), dict):
            self._entries = data["entries"]

    @staticmethod
    def stamps(paths: Sequence[Path]) -> list[list[int] | None]:
        """The stamps to `put` with a value: take them before reading the files."""
        return [list(s) if (s := stamp(p)) else None for p in paths]

    def current(self, paths: Sequence[str | Path]) -> list[list[int] | None]:
        """The stamps of `paths` as this memo first saw them (taken now if it has not):
        what `get` compares, and what to `put` with a value read after `get` missed."""
        stamps = []
        for path in paths:
            name = os.fspath(path)
            if name not in self._seen:
                found = stamp(name)
                self._seen[name] = list(found) if found else None
            stamps.append(self._seen[name])
        return stamps

    def get(self, key: str, paths: Sequence[str | Path]) -> Any | None:
        entry = self._entries.get(key)
        if not isinstance(entry, dict) or entry.get("paths") != [os.fspath(p) for p in paths]:
            return None
        return entry.get("value") if entry.get("stamps") == self.current(paths) else None

    def put(self, key: str, paths: Sequence[str | Path], stamps: list[list[int] | None], value: Any) -> None:
        self._entries[key] = {"paths": [os.fspath(p) for p in paths], "stamps": stamps, "value": value}
        self._changed = True

    def save(self) -> None:
        """Write the memo if anything was put (atomically; a failure to write costs only
        the next run's reading)."""
        if not self._changed:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            partial = self.file.with_name(f"{self.file.name}.{os.getpid()}")
            partial.write_text(json.dumps({"code": self.code, "entries": self._entries}))
            partial.replace(self.file)
            self._changed = False
        except OSError:
            pass

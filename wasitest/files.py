"""Writing a file so that no reader ever sees half of it: another worker loading a compiled
module, a later run reading a cache, a dashboard reading a report while the run ends."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from pathlib import Path


def write_atomically(path: Path, data: str | bytes | bytearray | Iterable[str]) -> None:
    """Write `data` (text, bytes, or pieces of text one after the other) to a file beside
    `path`, then put it in place; the folder is made if missing.

    The file beside is this thread's own: forked workers share their main thread's ident,
    builders' threads their process id, and two of them may write the same cache entry at
    once. On failure the file beside is removed and the `OSError` raised."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}-{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, (bytes, bytearray)):
            tmp.write_bytes(data)
        else:
            with tmp.open("w", encoding="utf-8") as handle:
                if isinstance(data, str):
                    handle.write(data)
                else:
                    handle.writelines(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):  # a half-written file, if its folder is there at all
            tmp.unlink(missing_ok=True)
        raise

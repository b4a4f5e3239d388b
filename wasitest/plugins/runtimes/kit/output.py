"""The one output capper every adapter uses, in-process or not.

`CappedStream` keeps the first `cap` bytes of a stream (and, where asked, its last bytes),
counts the rest and drops it: a guest flooding its output costs neither memory nor disk.
Around it: `PipeSink` and `OutputCapture`, for runtimes that write a guest's output to a
path (embedded Wasmtime, the JS runners); `CappedFile`, for runtimes that take a Python
file object (pywasm); `drain`, for a pipe read while a process runs (`process.run_process`).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import IO, Any

CHUNK = 64 * 1024


class CappedStream:
    """The first `cap` bytes of a stream, its last `tail` bytes, and how much it held."""

    def __init__(self, cap: int, tail: int = 0) -> None:
        self.cap = cap
        self.tail_size = tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes | bytearray | memoryview) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
        if self.tail_size:
            self.tail += chunk[-self.tail_size :]
            del self.tail[: max(0, len(self.tail) - self.tail_size)]

    def drain(self, stream: IO[bytes]) -> None:
        """Read `stream` to its end (a pipe, from a reader thread) and close it."""
        with stream:
            while chunk := stream.read1(CHUNK):  # type: ignore[attr-defined]
                self.feed(chunk)

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def kept(self) -> tuple[bytes, bool]:
        return bytes(self.head), self.truncated


class CappedFile:
    """A writable file object for runtimes that take one (pywasm's stdio `pipe` hook): the
    first `cap` bytes written, plus one so a reader of `cap` bytes can tell there was more,
    go to the file at `path` as they come (a job killed at its deadline keeps its output);
    every write is reported as complete."""

    def __init__(self, path: str | Path, cap: int) -> None:
        self.handle = open(path, "wb", buffering=0)
        self.stream = CappedStream(cap + 1)

    def write(self, data: bytes | bytearray) -> int:
        kept = len(self.stream.head)
        self.stream.feed(data)
        if len(self.stream.head) > kept:
            self.handle.write(self.stream.head[kept:])
        return len(data)

    def seek(self, *_args: Any) -> int:
        return 0

    def close(self) -> None:
        self.handle.close()


def read_capped(path: Path, cap: int) -> tuple[bytes, bool]:
    """The first `cap` bytes of a file, and whether there was more."""
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except FileNotFoundError:
        return b"", False
    return data[:cap], len(data) > cap


def private_tmp(cache_dir: Path) -> Path:
    """A per-process folder for job files, under the run's cache."""
    folder = cache_dir / "jobs" / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class PipeSink:
    """A named pipe, kept for a whole session, that captures one job's output at a time.

    A runtime that can only write a guest's stdout to a path is given this pipe's path.
    A reader thread keeps the first `cap` bytes of each job and drains the rest, so a guest
    flooding its output costs neither disk nor memory, only the time to drain it (bounded
    by the job's time limit). The sink holds a writer of its own, so the reader never sees
    end-of-file; a job ends when the sink writes a fresh random token after the runtime has
    closed its end: the pipe keeps writers' bytes in order, so everything before the token
    is the job's, and the guest cannot forge a token it never saw. POSIX only.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        self._reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._keeper = os.open(path, os.O_WRONLY)
        os.set_blocking(self._reader, True)
        self._lock = threading.Condition()
        self._token = b""
        self._stream = CappedStream(0)
        self._done = False
        self._thread = threading.Thread(target=self._drain, daemon=True, name="wasitest-pipe")
        self._thread.start()

    @staticmethod
    def available() -> bool:
        return hasattr(os, "mkfifo") and hasattr(os, "set_blocking")

    def start(self, cap: int) -> None:
        """Before a job: what to keep of its output."""
        with self._lock:
            self._token = os.urandom(16).hex().encode()
            self._stream, self._done = CappedStream(cap), False

    def _drain(self) -> None:
        window = b""  # the bytes that may hold the start of the token
        while chunk := os.read(self._reader, CHUNK):
            with self._lock:
                data = window + chunk
                at = data.find(self._token) if self._token else -1
                if at >= 0:
                    self._stream.feed(data[:at])
                    window, self._done = b"", True
                    self._lock.notify_all()
                    continue
                keep = len(self._token) - 1
                self._stream.feed(data[: len(data) - keep] if keep > 0 else data)
                window = data[len(data) - keep :] if keep > 0 else b""

    def finish(self) -> tuple[bytes, bool]:
        """After the runtime closed its end: the job's kept output and whether there was more."""
        os.write(self._keeper, self._token)
        with self._lock:
            while not self._done:
                self._lock.wait()
            return self._stream.kept()

    def close(self) -> None:
        os.close(self._keeper)
        self._thread.join(5)
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class OutputCapture:
    """One job at a time: the paths to give a runtime for stdin, stdout and stderr, and
    afterwards what the guest wrote, capped. Pipes where the OS has them (bounded disk and
    memory whatever the guest writes), else files read back capped."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.stdin = folder / "stdin"
        self._empty = folder / "empty"
        self._empty.write_bytes(b"")
        self._pipes = (PipeSink(folder / "stdout"), PipeSink(folder / "stderr")) if PipeSink.available() else None
        self._cap = 0

    def begin(self, stdin: bytes, cap: int) -> tuple[Path, Path, Path]:
        self._cap = cap
        stdin_path = self._empty
        if stdin:
            self.stdin.write_bytes(stdin)
            stdin_path = self.stdin
        if self._pipes is not None:
            for pipe in self._pipes:
                pipe.start(cap)
            return stdin_path, self._pipes[0].path, self._pipes[1].path
        for name in ("stdout", "stderr"):
            (self.folder / name).unlink(missing_ok=True)
        return stdin_path, self.folder / "stdout", self.folder / "stderr"

    def end(self) -> tuple[bytes, bool, bytes, bool]:
        """Call after the runtime closed the files (for embedded Wasmtime: `store.close()`)."""
        if self._pipes is not None:
            out, out_cut = self._pipes[0].finish()
            err, err_cut = self._pipes[1].finish()
            return out, out_cut, err, err_cut
        out, out_cut = read_capped(self.folder / "stdout", self._cap)
        err, err_cut = read_capped(self.folder / "stderr", self._cap)
        return out, out_cut, err, err_cut

    def close(self) -> None:
        if self._pipes is not None:
            for pipe in self._pipes:
                pipe.close()
        shutil.rmtree(self.folder, ignore_errors=True)

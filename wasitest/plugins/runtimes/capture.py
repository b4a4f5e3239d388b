"""Helpers every runtime adapter shares: per-job output files and capped reading."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path


def read_capped(path: Path, cap: int) -> tuple[bytes, bool]:
    """The first `cap` bytes of a file, and whether there was more."""
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except FileNotFoundError:
        return b"", False
    return data[:cap], len(data) > cap


@dataclass
class JobFiles:
    """A private folder holding one job's stdin, stdout and stderr files."""

    folder: Path

    @classmethod
    def create(cls, parent: Path, stdin: bytes) -> JobFiles:
        parent.mkdir(parents=True, exist_ok=True)
        files = cls(Path(tempfile.mkdtemp(prefix="job-", dir=parent)))
        files.stdin.write_bytes(stdin)
        return files

    @property
    def stdin(self) -> Path:
        return self.folder / "stdin"

    @property
    def stdout(self) -> Path:
        return self.folder / "stdout"

    @property
    def stderr(self) -> Path:
        return self.folder / "stderr"

    def read(self, cap: int) -> tuple[bytes, bool, bytes, bool]:
        out, out_cut = read_capped(self.stdout, cap)
        err, err_cut = read_capped(self.stderr, cap)
        return out, out_cut, err, err_cut

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


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

    CHUNK = 1 << 16

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        self._reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._keeper = os.open(path, os.O_WRONLY)
        os.set_blocking(self._reader, True)
        self._lock = threading.Condition()
        self._token = b""
        self._cap = 0
        self._kept = bytearray()
        self._total = 0
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
            self._cap, self._kept, self._total, self._done = cap, bytearray(), 0, False

    def _take(self, data: bytes) -> None:
        self._total += len(data)
        room = self._cap - len(self._kept)
        if room > 0:
            self._kept += data[:room]

    def _drain(self) -> None:
        window = b""  # the bytes that may hold the start of the token
        while chunk := os.read(self._reader, self.CHUNK):
            with self._lock:
                data = window + chunk
                at = data.find(self._token) if self._token else -1
                if at >= 0:
                    self._take(data[:at])
                    window, self._done = b"", True
                    self._lock.notify_all()
                    continue
                keep = len(self._token) - 1
                self._take(data[: len(data) - keep] if keep > 0 else data)
                window = data[len(data) - keep :] if keep > 0 else b""

    def finish(self) -> tuple[bytes, bool]:
        """After the runtime closed its end: the job's kept output and whether there was more."""
        os.write(self._keeper, self._token)
        with self._lock:
            while not self._done:
                self._lock.wait()
            return bytes(self._kept), self._total > self._cap

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

"""The one output capper every adapter uses, in-process or not.

`CappedStream` keeps the first `cap` bytes of a stream (and, where asked, its last bytes),
counts the rest and drops it: a guest flooding its output costs neither memory nor disk.
Around it: `OutputCapture` (named pipes, `PipeSink`, kept drained by one `PipeDrain`
thread), for runtimes that write a guest's output to a path (embedded Wasmtime, the JS
runners); `CappedFile`, for runtimes that take a Python file object (pywasm); `drain`, for
a pipe read while a process runs (`process.run_process`).

Why pipes, of the candidates measured (bench/README.md, issue 19): a job that prints
nothing costs two `open`s of the pipes by the runtime and two non-blocking reads at its
end, no thread hand-off; regular or memory files (memfd) cost about the same but grow with
a flood until the job ends, and wasmtime-py's output callbacks run on Wasmtime's own
threads, which abort the interpreter at exit (FACTS.md).
"""

from __future__ import annotations

import os
import select
import selectors
import shutil
import threading
from pathlib import Path
from typing import IO, Any

from wasitest.runner.job_files import private_tmp

# `private_tmp` (the folder for a process's job files) is here too, for adapters that build
# on the kit, third-party ones included
__all__ = [
    "CHUNK", "CappedFile", "CappedStream", "OutputCapture", "PipeDrain", "PipeSink", "private_tmp", "read_capped",
]

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


class PipeSink:
    """A named pipe, kept for a whole session, through which one job's stream at a time
    is captured: a runtime that can only write a guest's output to a path is given this
    pipe's path. The sink holds a writer of its own, so its reader never sees end-of-file
    between jobs. Its reads are done by `PipeDrain`, always under the drain's lock, so they
    happen in the pipe's order whoever does them. POSIX only.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        self.reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._keeper = os.open(path, os.O_WRONLY)
        #: how much of the job's stream to keep; None between jobs, when whatever arrives is dropped
        self.cap: int | None = None
        #: the job's stream, made when its first bytes arrive (most jobs print nothing)
        self.stream: CappedStream | None = None

    @staticmethod
    def available() -> bool:
        return hasattr(os, "mkfifo")

    def pull(self, chunks: int) -> None:
        """Read what the pipe holds, in at most `chunks` reads, into the job's stream (or
        nowhere between jobs). The caller holds the drain's lock."""
        reads = 0
        while True:
            try:
                chunk = os.read(self.reader, CHUNK)
            except BlockingIOError:
                return
            if self.cap is not None:
                if self.stream is None:
                    self.stream = CappedStream(self.cap)
                self.stream.feed(chunk)
            reads += 1
            if not chunk or len(chunk) < CHUNK or reads == chunks:
                return

    def take(self) -> tuple[bytes, bool]:
        """The job's kept output and whether there was more; the sink is between jobs after."""
        stream, self.stream, self.cap = self.stream, None, None
        return stream.kept() if stream is not None else (b"", False)

    def close(self) -> None:
        for fd in (self._keeper, self.reader):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class PipeDrain:
    """One thread that keeps a session's pipes drained while a job runs, so a guest that
    floods its output never blocks on a full pipe and costs neither disk nor memory beyond
    the cap, only the time to drain it (bounded by the job's time limit).

    The thread sleeps in `select` and reads only when a pipe has data: a job that prints
    nothing never wakes it. A job ends with `finish`, called once the runtime closed its
    end: under the same lock as the thread's reads, the caller reads what is still in the
    pipes itself, so no hand-off to the thread and no wait for it. Nothing can follow: the
    writers are closed, and the pipe keeps bytes in order. `start` and `finish` ask which
    pipes hold anything with one `poll` and read only those: a job that printed nothing
    costs that one system call at each end.
    """

    #: reads per pipe per wake of the thread: `finish` never waits behind a long flood
    BURST = 16
    #: the most reads `start` and `finish` do per pipe: a pipe holds 1 MiB at most (16
    #: reads), so more means a writer outlived its job and is still writing; it must not
    #: keep a job from starting or ending
    LAST_READS = 64

    def __init__(self, sinks: tuple[PipeSink, ...]) -> None:
        self.sinks = sinks
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._selector = selectors.DefaultSelector()
        for sink in sinks:
            self._selector.register(sink.reader, selectors.EVENT_READ, sink)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._poll = select.poll()
        for sink in sinks:
            self._poll.register(sink.reader, select.POLLIN)
        self._by_fd = {sink.reader: sink for sink in sinks}
        self._thread = threading.Thread(target=self._drain, daemon=True, name="wasitest-pipes")
        self._thread.start()

    def _drain(self) -> None:
        while True:
            ready = self._selector.select()
            with self._lock:
                for key, _ in ready:
                    if key.data is None:  # `close`
                        return
                    key.data.pull(self.BURST)

    def _holding(self) -> list[PipeSink]:
        """The sinks whose pipes hold something (or whose writers all closed)."""
        return [self._by_fd[fd] for fd, _ in self._poll.poll(0)]

    def start(self, cap: int) -> None:
        """Before a job: what to keep of each stream. Whatever a writer that outlived its
        job left in the pipes since is dropped, not given to this job."""
        with self._lock:
            for sink in self._holding():
                sink.take()
                sink.pull(self.LAST_READS)
            for sink in self.sinks:
                sink.stream, sink.cap = None, cap

    def finish(self) -> list[tuple[bytes, bool]]:
        """After the runtime closed its ends: each stream's kept output and whether there was more."""
        with self._lock:
            for sink in self._holding():
                sink.pull(self.LAST_READS)
            return [sink.take() for sink in self.sinks]

    def close(self) -> None:
        os.write(self._wake_w, b"x")
        self._thread.join(5)
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        for sink in self.sinks:
            sink.close()


class OutputCapture:
    """One job at a time: the paths to give a runtime for stdin, stdout and stderr, and
    afterwards what the guest wrote, capped. Pipes where the OS has them (bounded disk and
    memory whatever the guest writes), else files read back capped.

    An empty stdin is one empty file, made once; a runtime whose guest reads an empty stdin
    when given none (embedded Wasmtime) need not open it at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.stdin = folder / "stdin"
        self._empty = folder / "empty"
        self._empty.write_bytes(b"")
        self._drain = (
            PipeDrain((PipeSink(folder / "stdout"), PipeSink(folder / "stderr"))) if PipeSink.available() else None
        )
        self._cap = 0

    def begin(self, stdin: bytes, cap: int) -> tuple[Path, Path, Path]:
        self._cap = cap
        stdin_path = self._empty
        if stdin:
            self.stdin.write_bytes(stdin)
            stdin_path = self.stdin
        if self._drain is not None:
            self._drain.start(cap)
            out, err = self._drain.sinks
            return stdin_path, out.path, err.path
        for name in ("stdout", "stderr"):
            (self.folder / name).unlink(missing_ok=True)
        return stdin_path, self.folder / "stdout", self.folder / "stderr"

    def end(self) -> tuple[bytes, bool, bytes, bool]:
        """Call after the runtime closed the files (for embedded Wasmtime: `store.close()`)."""
        if self._drain is not None:
            (out, out_cut), (err, err_cut) = self._drain.finish()
            return out, out_cut, err, err_cut
        out, out_cut = read_capped(self.folder / "stdout", self._cap)
        err, err_cut = read_capped(self.folder / "stderr", self._cap)
        return out, out_cut, err, err_cut

    def close(self) -> None:
        if self._drain is not None:
            self._drain.close()
        shutil.rmtree(self.folder, ignore_errors=True)

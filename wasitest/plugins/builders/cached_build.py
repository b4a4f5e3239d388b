"""What the compiling builders share: one artifact per cache key, compiled only on a miss;
their compilers run side by side and stop together; and a failed compile's diagnostics.

Builders compute the key from everything the output depends on (toolchain version, flags,
inputs); `build_cached` looks it up, and on a miss runs the compiler into a private
temporary folder and moves the result into the cache, so a half-written file is never
cached and two workers building the same key never see each other's output.

Every step is said through `BuildContext.log` as it happens (`compiling`, `cached`,
`built`, and a note when a compile is slow), which the front ends show as progress.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

from wasitest.errors import BuildError
from wasitest.protocols import BuildContext

Compile = Callable[[Path], "subprocess.CompletedProcess[str]"]
Failure = Callable[["subprocess.CompletedProcess[str]"], BuildError]
Item = TypeVar("Item")
Made = TypeVar("Made")

#: a compile running this long gets the builder's note on why (a first build, say)
SLOW_AFTER_S = 5.0
#: the lines of a failed compile's diagnostics shown (all of them with --debug)
DIAGNOSTIC_LINES = 60


class Compilers:
    """The compiler processes of one build. `stop` kills the running ones and refuses new
    ones, so Ctrl-C (or another source's compile error) ends a build at once instead of
    after every queued compile has run.

    Each compiler runs in a process group of its own, which `stop` kills whole: a
    compiler may have children of its own (Zig does, while it builds wasi-libc), which
    would go on after their parent was killed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: set[subprocess.Popen[str]] = set()
        self._stopped = False

    def run(self, command: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        """`subprocess.run(command, capture_output=True, text=True, cwd=cwd)`, stoppable."""
        with self._lock:
            if self._stopped:
                raise BuildError("the build was stopped")
            process = subprocess.Popen(
                list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                process_group=0 if os.name == "posix" else None,
            )
            self._running.add(process)
        try:
            stdout, stderr = process.communicate()
        finally:
            with self._lock:
                self._running.discard(process)
        return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for process in self._running:
                try:
                    if os.name == "posix":
                        os.killpg(process.pid, signal.SIGKILL)
                    else:
                        process.kill()
                except ProcessLookupError:
                    pass  # it ended meanwhile


def build_each(
    items: Iterable[Item], build_one: Callable[[Item, Compilers], Made], workers: int = 2
) -> list[Made]:
    """`build_one(item, compilers)` for every item, `workers` at a time; results in the
    items' order. The first failure (in that order, among those that failed) is raised
    as soon as it happens, after the other compiles were stopped; Ctrl-C stops them too."""
    compilers = Compilers()
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="wasitest-build")
    try:
        futures = [pool.submit(build_one, item, compilers) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f.done() and f.exception() is not None), None)
        if failed is not None:
            compilers.stop()
            failed.result()  # raises its exception
        return [future.result() for future in futures]
    except BaseException:
        compilers.stop()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def build_cached(
    context: BuildContext,
    key: str,
    label: str,
    filename: str,
    compile: Compile,
    failure: Failure,
    slow_note: str = "",
) -> Path:
    """The cached artifact for `key`. On a miss, `compile(output)` runs the toolchain to write
    `output` (named `filename`); when it fails or writes nothing, the `BuildError` that
    `failure(process)` makes is raised. `label` names the artifact in the build log;
    `slow_note` is logged when the compile takes longer than `SLOW_AFTER_S`."""
    target = context.cached(key)
    if target.exists():
        context.reuse()
        context.log(f"cached    {label}")
        return target
    context.log(f"compiling {label}")
    started = time.monotonic()
    timer = threading.Timer(SLOW_AFTER_S, _slow, [context, label, slow_note])
    timer.daemon = True
    if slow_note:
        timer.start()
    try:
        with tempfile.TemporaryDirectory(prefix="wasitest-build-") as tmp:
            output = Path(tmp) / filename
            proc = compile(output)
            if proc.returncode != 0 or not output.is_file():
                raise failure(proc)
            context.store(output, key)
    finally:
        timer.cancel()
    context.log(f"built     {label} ({time.monotonic() - started:.1f} s)")
    return target


def _slow(context: BuildContext, label: str, note: str) -> None:
    context.log(f"still compiling {label} after {SLOW_AFTER_S:g} s")
    context.log(f"note: {note}")  # the same line for every slow compile: a front end shows it once


def diagnostics(output: str, root: Path) -> tuple[str, bool]:
    """A failed compile's diagnostics as people read them: paths relative to the project,
    every error with its context lines, cut after `DIAGNOSTIC_LINES` lines unless
    `WASITEST_DEBUG` is set. Returns the text and whether it was cut."""
    lines = output.replace(f"{root}{os.sep}", "").rstrip().splitlines()
    if os.environ.get("WASITEST_DEBUG") or len(lines) <= DIAGNOSTIC_LINES:
        return "\n".join(lines), False
    rest = len(lines) - DIAGNOSTIC_LINES
    return "\n".join([*lines[:DIAGNOSTIC_LINES], f"... {rest} more line(s)"]), True


def first_error(output: str) -> str:
    """The first line of compiler output that says `error`, else the first line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line), lines[0] if lines else "")[:300]


def compile_failure(source: Path, root: Path, proc: subprocess.CompletedProcess[str]) -> BuildError:
    """The error of a failed compile: its first error on the one line, every diagnostic
    (capped) as the detail shown above it."""
    text = proc.stderr or proc.stdout or f"the compiler exited with {proc.returncode} and wrote no output file"
    detail, cut = diagnostics(text, root)
    hint = "fix the compile error" + ("; --debug shows every line of the compiler's output" if cut else "")
    return BuildError(
        f"{source.relative_to(root)} failed to build: {first_error(detail)}", hint, detail=detail
    )

"""A worker answers quick jobs a few at a time and keeps the job it runs in shared memory:
when it dies, the job it was running is the one blamed, wherever it sits in its batch, and
the jobs it ran but had not answered yet run again instead of being lost."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from wasitest.model import Cell, Execution, Invocation
from wasitest.runner.job import WorkItem
from wasitest.runner.pool import WorkerPool, can_fork


@pytest.fixture(scope="module")
def sleeper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real WASI command module that sleeps as many seconds as its first argument says."""
    folder = tmp_path_factory.mktemp("module")
    (folder / "s.c").write_text(
        "#include <stdlib.h>\n#include <unistd.h>\n"
        "int main(int argc, char **argv) { if (argc > 1) sleep(atoi(argv[1])); return 0; }\n"
    )
    return zig_cc(folder / "s.c", folder / "s.wasm")


def test_a_dead_worker_blames_the_job_it_was_running_not_the_first_unanswered(
    sleeper: Path, tmp_path: Path
) -> None:
    def item(index: int, seconds: int) -> WorkItem:
        argv = ("s", str(seconds)) if seconds else ("s",)
        return WorkItem(index, Cell("wasmtime"), Invocation(module=sleeper, argv=argv, timeout_s=60), scratch=False)

    slow = 3
    items = [item(i, 30 if i == slow else 0) for i in range(7)]
    pool = WorkerPool(1, tmp_path / "cache", tmp_path / "scratch", batch_size=8)
    killed: list[int] = []

    def kill_when_the_slow_job_runs() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            workers = list(pool._workers)
            running = workers[0].progress.current() if workers else None
            if running is not None and running[0] == slow and workers[0].process.pid:
                time.sleep(0.3)  # well into the slow job; the quick ones before it are done
                os.kill(workers[0].process.pid, signal.SIGKILL)
                killed.append(workers[0].process.pid)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_when_the_slow_job_runs)
    killer.start()
    seen: dict[int, list[Execution]] = {}
    for done, execution in pool.run(items):
        seen.setdefault(done.index, []).append(execution)
    killer.join()
    assert killed, "the slow job never showed as running"
    assert sorted(seen) == list(range(7))
    assert all(len(runs) == 1 for runs in seen.values()), seen
    (crashed,) = seen[slow]
    assert "worker process died (exit code -9)" in crashed.crash
    assert crashed.duration_s >= 0.3
    for index in set(seen) - {slow}:
        assert seen[index][0].exit_code == 0 and not seen[index][0].crash, (index, seen[index])
    assert pool.crashes == 1


def test_a_process_with_a_second_thread_does_not_fork() -> None:
    """A lock another thread holds at a fork stays held in the child: the pool forks only a
    process of one thread (else its workers start fresh interpreters)."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
    finally:
        stop.set()
        thread.join()

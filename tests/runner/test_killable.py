"""`killable` jobs (batches, and the listings of suites that run in batches): embedded
Wasmtime runs them on an engine without epoch checks, and a pool worker ends itself when
such a job passes its time or disk limit. The pool reads the verdict from the exit code
and starts a new worker; the batch's cases run again alone, with their own limits. Outside
a pool worker such a job runs as any other."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.conftest import RunCli, write_project, zig_cc
from wasitest.config import load_settings
from wasitest.errors import InputError
from wasitest.model import Cell, Invocation, TrapKind
from wasitest.plugin import load_registry
from wasitest.runner import discover
from wasitest.runner.disk import disk_usage
from wasitest.runner.job import Sessions, WorkItem, run_job
from wasitest.runner.pool import WorkerPool
from wasitest.runner.run import build_and_discover

LOOPS = """#include <string.h>
int main(int argc, char **argv) {
    volatile unsigned long n = 0;
    if (argc > 1 && strcmp(argv[1], "loop") == 0) for (;;) n++;
    return 3;
}
"""

SUITE = '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["t.c"]\nharness="clist"\nisolation="batch"\n'


@pytest.fixture(scope="module")
def looper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real WASI command module that spins forever with `loop`, else exits 3."""
    folder = tmp_path_factory.mktemp("module")
    (folder / "loops.c").write_text(LOOPS)
    return zig_cc(folder / "loops.c", folder / "loops.wasm")


def _item(index: int, module: Path, argv: tuple[str, ...], *, killable: bool) -> WorkItem:
    invocation = Invocation(module=module, argv=argv, timeout_s=0.5, killable=killable)
    return WorkItem(index, Cell("wasmtime"), invocation, scratch=False)


def test_a_worker_ends_itself_at_a_killable_jobs_time_limit_and_is_replaced(looper: Path, tmp_path: Path) -> None:
    pool = WorkerPool(1, tmp_path / "cache", tmp_path / "scratch")
    items = [_item(0, looper, ("l", "loop"), killable=True), _item(1, looper, ("l",), killable=True)]
    started = time.monotonic()
    answers = dict((item.index, execution) for item, execution in pool.run(items))
    assert time.monotonic() - started < 30  # not the pool's backstop (the limit plus 10 s grace)
    looped, then = answers[0], answers[1]
    assert looped.trap is TrapKind.TIMEOUT and "ended its worker" in looped.trap_message, looped
    assert not looped.crash
    assert pool.crashes == 1  # its worker was replaced, and the next job ran on the new one
    assert (then.exit_code, then.trap, then.crash) == (3, None, ""), then


def test_a_job_that_is_not_killable_traps_at_its_limit_and_keeps_its_worker(looper: Path, tmp_path: Path) -> None:
    pool = WorkerPool(1, tmp_path / "cache", tmp_path / "scratch")
    items = [_item(0, looper, ("l", "loop"), killable=False), _item(1, looper, ("l",), killable=False)]
    answers = dict((item.index, execution) for item, execution in pool.run(items))
    assert answers[0].trap is TrapKind.TIMEOUT and "ended its worker" not in answers[0].trap_message
    assert pool.crashes == 0 and answers[1].exit_code == 3


def test_a_killable_job_outside_a_worker_runs_as_any_other(looper: Path, tmp_path: Path) -> None:
    """This process is no pool worker: ending it would end the caller (pytest here)."""
    sessions = Sessions.of(load_registry(), tmp_path / "cache")
    try:
        execution = run_job(_item(0, looper, ("l", "loop"), killable=True), sessions, tmp_path / "scratch")
    finally:
        sessions.close()
    assert execution.trap is TrapKind.TIMEOUT, execution


def _results(project: Path) -> dict[str, dict[str, object]]:
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    return {r["case"]: r for r in doc["results"]}


def test_a_batch_past_its_time_limit_ends_its_worker_and_its_cases_run_alone(tmp_path: Path, run_cli: RunCli) -> None:
    """The batch's limit is its three cases' (3 s); its worker ends there, so nothing of
    its output is read (the first case's pass with it), and every case runs alone."""
    source = '#include "wasitest.h"\nTEST(first) { CHECK(1); }\n'
    source += "TEST(spins) { volatile unsigned long n = 0; for (;;) n++; }\nTEST(third) { CHECK(2 > 1); }\n"
    project = write_project(tmp_path, SUITE + "timeout = 1\n", {"t.c": source})
    started = time.monotonic()
    proc = run_cli("run", str(project), "--runtimes", "wasmtime", "-j", "1", "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert time.monotonic() - started < 60
    results = _results(project)
    assert (results["spins"]["outcome"], results["spins"]["trap"]) == ("timeout", "timeout"), results["spins"]
    for name in ("first", "third"):
        assert results[name]["outcome"] == "passed" and "batched" not in results[name], results[name]


def test_a_batch_past_its_disk_limit_ends_its_worker_and_leaves_no_files(tmp_path: Path, run_cli: RunCli) -> None:
    source = '#include <stdio.h>\n#include "wasitest.h"\nTEST(first) { CHECK(1); }\n'
    source += (
        'TEST(floods) { static char block[65536]; FILE *f = fopen("flood", "wb");'
        " for (;;) { fwrite(block, 1, sizeof block, f); fflush(f); } }\n"
    )
    source += "TEST(third) { CHECK(1); }\n"
    project = write_project(tmp_path, SUITE + 'disk = "4MiB"\ntimeout = 20\n', {"t.c": source})
    started = time.monotonic()
    proc = run_cli("run", str(project), "--runtimes", "wasmtime", "-j", "1", "-q")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert time.monotonic() - started < 40  # the batch's own time limit is 60 s
    results = _results(project)
    assert results["floods"]["trap"] == "disk_limit", results["floods"]
    assert results["first"]["outcome"] == results["third"]["outcome"] == "passed"
    assert disk_usage(project / ".wasitest" / "scratch") < 1024 * 1024  # the ended worker's files went with it


@pytest.mark.parametrize("before", [(), ("list",)], ids=["run", "list-then-run"])
def test_a_cold_run_in_batches_compiles_each_module_once(
    tmp_path: Path, run_cli: RunCli, before: tuple[str, ...]
) -> None:
    """The listing runs on a worker, on the engine the batch runs on, whether `run` or
    `list` lists: one compiled module, not one for the listing's engine and another for
    the batch's."""
    source = '#include "wasitest.h"\nTEST(one) { CHECK(1); }\nTEST(two) { CHECK(2 > 1); }\n'
    project = write_project(tmp_path, SUITE, {"t.c": source})
    for command in before:
        listed = run_cli(command, str(project), "--runtimes", "wasmtime")
        assert listed.returncode == 0 and "two" in listed.stdout, listed.stdout + listed.stderr
    proc = run_cli("run", str(project), "--runtimes", "wasmtime", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert all(r.get("batched") for r in _results(project).values())
    assert len(list((project / ".wasitest" / "cache" / "wasmtime").glob("*.cwasm"))) == 1


def test_a_listing_that_never_ends_in_a_batch_suite_is_stopped_at_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The listing runs on a pool worker without epoch checks: its worker is ended at the
    listing's time limit, and the artifact's cases cannot be listed, as on the epoch engine."""
    project = write_project(tmp_path / "p", SUITE, {"t.c": LOOPS.replace('"loop"', '"--list"')})
    monkeypatch.setattr(discover, "DISCOVERY_TIMEOUT_S", 1.0)
    settings = load_settings(project, {})
    pool = WorkerPool(1, settings.work_dir / "cache", settings.work_dir / "scratch")
    started = time.monotonic()
    try:
        with pytest.raises(InputError) as raised:
            build_and_discover(settings, load_registry(), pool=pool)
    finally:
        pool.close(now=True)
    assert time.monotonic() - started < 60  # not the pool's backstop
    assert "cannot list the cases of s/t" in str(raised.value) and "1 s time limit" in str(raised.value), raised.value
    assert pool.crashes == 1

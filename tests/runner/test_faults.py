"""Faults cost one job, never the run: a killed worker, Ctrl-C, a resumed run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import RunCli, write_project
from wasitest.cli import main
from wasitest.errors import ExitCode
from wasitest.plugin import hookimpl, load_registry
from wasitest.runner.journal import journal_end

SPIN = "#include <unistd.h>\nint main(void){ sleep(%d); return 0; }\n"
CONFIG = '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["*.c"]\ntimeout=30\n'


def _children(pid: int) -> list[int]:
    """The worker processes of the run `pid`, from /proc (Linux): its children started by
    multiprocessing's spawn, or forked from it (its own command line); not its resource
    tracker."""
    found = []
    run = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(fields[1]) == pid and (b"spawn_main" in cmdline or cmdline == run):
                found.append(int(entry.name))
    return found


def _wait_for(predicate, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def _start(project: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "wasitest", "run", str(project), "-j", "2", "-q", *extra],
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,
    )


def _journal(project: Path) -> list[dict[str, object]]:
    path = project / ".wasitest" / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()[1:] if line.strip()]


def test_killed_worker_costs_one_job(tmp_path: Path) -> None:
    files = {f"slow{i}.c": SPIN % 2 for i in range(4)} | {f"quick{i}.c": SPIN % 0 for i in range(4)}
    project = write_project(tmp_path, CONFIG, files)
    proc = _start(project)
    try:
        _wait_for(lambda: sum(1 for r in _journal(project) if str(r.get("case", "")).startswith("quick")) == 4)
        time.sleep(0.5)  # both workers are now in a 2 s job
        victim = _children(proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        assert proc.wait(timeout=120) == int(ExitCode.TESTS_FAILED)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    outcomes = {r["case"]: r["outcome"] for r in doc["results"]}
    assert len(outcomes) == 8  # every job has a result
    crashed = [r for r in doc["results"] if r["outcome"] == "crashed"]
    assert len(crashed) == 1, outcomes
    assert "worker process died" in crashed[0]["message"] and "-9" in crashed[0]["message"]
    assert sum(1 for o in outcomes.values() if o == "passed") == 7


def test_workers_end_when_the_run_is_killed(tmp_path: Path) -> None:
    """A run killed outright (no Ctrl-C handling, no atexit) leaves workers whose pipe to
    it has no writer left: each ends after its job. Forked workers hold copies of the run's
    ends of the pool's pipes unless they close them; then none would ever see the end."""
    project = write_project(tmp_path, CONFIG, {f"slow{i}.c": SPIN % 1 for i in range(6)})
    proc = _start(project)
    try:
        _wait_for(lambda: len(_journal(project)) >= 1)
        workers = _children(proc.pid)
        assert len(workers) == 2
        run = (Path("/proc") / str(proc.pid) / "cmdline").read_bytes()
        assert all((Path("/proc") / str(pid) / "cmdline").read_bytes() == run for pid in workers)  # forked
        os.kill(proc.pid, signal.SIGKILL)  # the run alone, not its process group
        proc.wait(timeout=30)
        _wait_for(lambda: not [pid for pid in workers if _alive(pid)], timeout=20)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def test_ctrl_c_stops_and_still_reports(tmp_path: Path) -> None:
    files = {"quick.c": SPIN % 0} | {f"slow{i}.c": SPIN % 20 for i in range(3)}
    project = write_project(tmp_path, CONFIG, files)
    junit = tmp_path / "junit.xml"
    proc = _start(project, "--junit", str(junit))
    try:
        _wait_for(lambda: any(r.get("case") == "quick" for r in _journal(project)))
        time.sleep(0.5)
        workers = _children(proc.pid)
        assert workers
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
        assert proc.wait(timeout=30) == int(ExitCode.INTERRUPTED)
        assert time.monotonic() - started < 10  # running jobs were ended, not waited for
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    assert doc["interrupted"] is True
    assert [r["case"] for r in doc["results"]] == ["quick"]
    assert junit.exists() and "quick" in junit.read_text()
    assert _journal(project)[-1] == {"end": True, "interrupted": True}
    time.sleep(0.5)
    assert not [pid for pid in workers if _alive(pid)]  # no worker outlived the run


def _alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, ended and not reaped, does not)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_resume_runs_only_what_is_missing(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, CONFIG, {"a.c": SPIN % 0, "b.c": SPIN % 0, "c.c": "int main(void){return 3;}"})
    assert run_cli("run", str(project), "-q").returncode == int(ExitCode.TESTS_FAILED)
    journal = project / ".wasitest" / "results.jsonl"
    lines = journal.read_text().splitlines()
    kept = [line for line in lines[:-1] if '"case":"b"' not in line]  # as if b never finished, and no end
    journal.write_text("\n".join(kept) + "\n")
    proc = run_cli("run", str(project), "--resume", "-q")
    assert proc.returncode == int(ExitCode.TESTS_FAILED)
    rows = [json.loads(line) for line in journal.read_text().splitlines()]
    assert sorted(r["case"] for r in rows if "case" in r) == ["a", "b", "c"]
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    assert sorted(r["case"] for r in doc["results"]) == ["a", "b", "c"]
    assert doc["stats"]["jobs"] == 1  # only b ran again


class _FailsOnSecondResult:
    """A plugin with a bug: its second `wasitest_result` raises."""

    def __init__(self) -> None:
        self.seen = 0

    @hookimpl
    def wasitest_result(self, result: object) -> None:
        self.seen += 1
        if self.seen == 2:
            raise RuntimeError("a plugin's bug")


def test_a_run_that_fails_midway_leaves_a_journal_that_says_so(tmp_path: Path) -> None:
    """An error that ends the run (here a plugin's) is one line and exit 70, and the journal
    keeps what finished and ends `interrupted`: `report` and `--resume` must not take it
    for a finished run."""
    project = write_project(tmp_path, CONFIG, {f"c{i}.c": SPIN % 0 for i in range(3)})
    registry = load_registry()
    registry.pm.register(_FailsOnSecondResult(), name="buggy")
    assert main(["run", str(project), "-j", "1", "-q"], registry) == int(ExitCode.INTERNAL)
    lines = _journal(project)
    assert lines[-1] == {"end": True, "interrupted": True}
    assert len(lines) == 3  # the two results that finished, then the end
    assert journal_end(project / ".wasitest" / "results.jsonl") == "interrupted"

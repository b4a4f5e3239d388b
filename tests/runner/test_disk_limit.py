"""The disk limit of a job's scratch dir (`wasitest.runner.disk`): how it is measured, that
its emptying never leaves the scratch dir, how it is configured, and that jobs run in this
process (the pytest plugin's way, no pool worker to kill children) are stopped or have
their writes emptied too. The hostile battery (tests/hostile) checks it in real runs on
every runtime, with the run's disk watched from outside."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_project
from wasitest.config import DEFAULT_DISK, load_settings
from wasitest.errors import ConfigError
from wasitest.model import Cell, Invocation, TrapKind
from wasitest.plugin import load_registry
from wasitest.runner.disk import INODE_BYTES, DiskWatch, disk_usage, empty_files
from wasitest.runner.job import Sessions, WorkItem, run_job

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"
MIB = 1024 * 1024


# ----------------------------------------------------------------------------- measuring


def test_usage_counts_allocated_blocks_and_entries(tmp_path: Path) -> None:
    (tmp_path / "dense").write_bytes(b"x" * MIB)
    with open(tmp_path / "sparse", "wb") as sparse:  # 1 GiB long, one block written
        sparse.seek(1 << 30)
        sparse.write(b"x")
    (tmp_path / "sub").mkdir()
    for i in range(100):
        (tmp_path / "sub" / f"empty{i}").touch()
    used = disk_usage(tmp_path)
    assert MIB + 102 * INODE_BYTES <= used < 2 * MIB + 102 * INODE_BYTES, used


def test_emptying_truncates_files_but_follows_no_link(tmp_path: Path) -> None:
    scratch, outside = tmp_path / "scratch", tmp_path / "outside"
    scratch.mkdir()
    outside.mkdir()
    (outside / "secret").write_bytes(b"keep me")
    (scratch / "big").write_bytes(b"x" * MIB)
    (scratch / "deep" / "er").mkdir(parents=True)
    (scratch / "deep" / "er" / "file").write_bytes(b"y" * 4096)
    (scratch / "link").symlink_to(outside / "secret")
    (scratch / "dirlink").symlink_to(outside, target_is_directory=True)
    empty_files(scratch)
    assert (scratch / "big").stat().st_size == 0
    assert (scratch / "deep" / "er" / "file").stat().st_size == 0
    assert (outside / "secret").read_bytes() == b"keep me"


def test_a_watch_stops_and_empties_a_job_past_its_limit(tmp_path: Path) -> None:
    """Writing from a thread (a stand-in for a guest: the watch is runtime-blind): the watch
    calls the job's `stop`, empties the file, and `disarm` reports the peak it saw."""
    watch = DiskWatch(interval=0.01)
    stopped = []
    watch.arm(tmp_path, 4 * MIB, stop=lambda: stopped.append(time.monotonic()))
    with open(tmp_path / "fill", "wb") as out:
        for _ in range(64):
            out.write(b"z" * MIB)
            out.flush()
            if stopped:
                break
            time.sleep(0.005)
    time.sleep(0.05)
    peak = watch.disarm()
    assert stopped, "the watch never called stop"
    assert peak is not None and peak > 4 * MIB
    assert disk_usage(tmp_path) < 4 * MIB + 4 * INODE_BYTES


def test_a_short_job_is_measured_when_it_ends(tmp_path: Path) -> None:
    watch = DiskWatch(interval=10.0)  # never looks while the job runs
    watch.arm(tmp_path, MIB)
    (tmp_path / "burst").write_bytes(b"b" * (2 * MIB))
    assert (watch.disarm() or 0) >= 2 * MIB
    watch.arm(tmp_path, 4 * MIB, base=disk_usage(tmp_path))  # what was there is not counted
    (tmp_path / "more").write_bytes(b"m" * MIB)
    assert watch.disarm() is None


# ----------------------------------------------------------------------------- configuring


def test_disk_is_configured_globally_per_suite_and_by_variable(tmp_path: Path) -> None:
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest]\ndisk = "64MiB"\n'
        '[tool.wasitest.suites.a]\nbuilder = "c"\nsources = ["a.c"]\ndisk = "8MiB"\n'
        '[tool.wasitest.suites.b]\nbuilder = "c"\nsources = ["b.c"]\n',
        {},
    )
    settings = load_settings(project, {})
    assert settings.disk == 64 * MIB
    assert {s.name: s.disk for s in settings.suites} == {"a": 8 * MIB, "b": None}
    assert load_settings(project, {"WASITEST_DISK": "1GiB"}).disk == 1 << 30
    assert load_settings(write_project(tmp_path / "q", "[tool.wasitest]\n", {}), {}).disk == DEFAULT_DISK
    with pytest.raises(ConfigError, match="expected a size"):
        load_settings(project, {"WASITEST_DISK": "plenty"})


# ------------------------------------------------------------------- jobs in this process


@pytest.fixture(scope="module")
def disk_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hostile battery's disk cases, built by wasitest's own C builder."""
    pytest.importorskip("ziglang")
    root = tmp_path_factory.mktemp("disk")
    project = write_project(
        root / "project",
        '[tool.wasitest.suites.disk]\nbuilder = "c"\nsources = ["limits_disk.c"]\nharness = "clist"\n',
        {"limits_disk.c": (HOSTILE / "limits_disk.c").read_text()},
    )
    done = subprocess.run(
        [sys.executable, "-m", "wasitest", "build", str(project), "--out", str(root / "bundle")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((root / "bundle" / "manifest.json").read_text())
    return root / "bundle" / manifest["artifacts"][0]["file"]


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    opened = Sessions.of(load_registry(), tmp_path_factory.mktemp("cache"))
    yield opened
    opened.close()


@pytest.mark.parametrize("runtime", ["wasmtime", "node"])
@pytest.mark.parametrize("case", ["disk_fill", "disk_many_files"])
def test_a_job_run_in_this_process_is_held_to_its_disk_limit(
    disk_module: Path, sessions: Sessions, tmp_path: Path, runtime: str, case: str
) -> None:
    """No pool worker here, whose children the watch could kill: the sessions' own
    `interrupt` stops the job (embedded Wasmtime through its epoch, Node by killing its
    runner) long before the time limit; the verdict is `disk_limit` and the scratch dir is
    left empty."""
    info = load_registry().runtimes.get(runtime).info()
    if not info.available:
        pytest.skip(f"{runtime} is not available: {info.reason}")
    invocation = Invocation(
        module=disk_module, argv=("limits_disk", case), timeout_s=30.0, disk_limit=8 * MIB
    )
    scratch = tmp_path / "scratch"
    started = time.monotonic()
    execution = run_job(WorkItem(0, Cell(runtime), invocation), sessions, scratch)
    took = time.monotonic() - started
    assert execution.trap is TrapKind.DISK_LIMIT, execution
    assert "past the 8 MiB disk limit" in execution.trap_message
    assert not scratch.exists() or not any(scratch.iterdir())
    assert took < 10, f"the interrupt did not stop the guest: {took:.1f} s"

"""Every benchmark script in bench/ runs end to end at a tiny size and closes with its
ratio line. The figures themselves are never asserted (they depend on the machine and its
load, and at these sizes are noise, negative ones included): only that each script really
measured wasitest and its anchor and compared them. The scripts start together, so the
module costs about as long as its slowest script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
RATIO = re.compile(
    r"^ratio  \S.* = -?\d+(?:\.\d+)?(?:e[+-]?\d+)?x(?:  \(target (?:<=|>=) [\d.]+x\)  (?:met|MISSED))?$", re.M
)
TARGET = re.compile(r"^target \S.* = -?[\d.e+-]+ \S+  \(target (?:<=|>=) [\d.]+ \S+\)  (?:met|MISSED)$", re.M)

#: each script with the smallest arguments that still run every step of it
SCRIPTS = {
    "per_case_wasmtime.py": ("--size", "3", "--anchor-cases", "2", "--repeat", "1"),
    "per_case_node.py": ("--size", "3", "--anchor-cases", "2", "--repeat", "1"),
    "parallel.py": ("--size", "2", "--spin", "1000", "--repeat", "1"),
    "startup.py": ("--size", "2", "--repeat", "1"),
    "scale.py": ("--size", "3", "--repeat", "1"),
    "go_std.py": ("--packages", "container/list", "--size", "2", "--repeat", "1", "--cold-repeat", "0", "--stack", "0"),
    "profile_per_case.py": ("--size", "3", "--repeat", "1", "--top", "5"),
    "shard_balance.py": ("--size", "8", "--unit", "1000", "--repeat", "1"),
    "per_case_component.py": ("--size", "3", "--repeat", "1"),
    "many_modules.py": ("--size", "3", "--anchor-cases", "2", "--repeat", "1"),
    "emulated_node.py": ("--size", "3", "--local-size", "3", "--repeat", "1", "--hosts", "linux-s390x"),
}


def test_every_script_is_covered() -> None:
    scripts = {p.name for p in BENCH.glob("*.py") if not p.name.startswith("_")}
    assert scripts == set(SCRIPTS)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every script started at once, each in its own work folder; their outputs when done."""
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("WASITEST_DEBUG", None)
    work = tmp_path_factory.mktemp("bench")
    procs = {
        name: subprocess.Popen(
            [sys.executable, str(BENCH / name), *args, "--keep", str(work / name)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name, args in SCRIPTS.items()
    }
    done = {}
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_script_runs_and_prints_its_ratio(script: str, outputs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = outputs[script]
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("== ") and lines[1].startswith("machine: ") and "load average" in lines[1]
    assert lines[2].startswith("command: python ") and script in lines[2]
    if script == "profile_per_case.py":
        assert "cProfile of 3 worker jobs" in proc.stdout and "run_job" in proc.stdout
    else:
        assert RATIO.search(proc.stdout), proc.stdout
    for line in lines:
        if line.startswith("ratio "):
            assert RATIO.match(line), line
        if line.startswith("target "):
            assert TARGET.match(line), line

"""examples/github/fan-out.yml passes the last run's results as durations: its build job's
own scripts (the restored cache standing in as a file), then each test job's shard run by
the action's real `run` step, then the merge. The shards balance by the bundle's durations,
and their merge is the full run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES, ROOT
from tests.github.action_runner import ActionRunner, hermetic_environ, load_action
from tests.github.runner_files import parse_output_file
from wasitest.matrix.providers import PROVIDERS
from wasitest.results import load_results

WORKFLOW = EXAMPLES / "github" / "fan-out.yml"


def _steps(job: str) -> dict[str, dict[str, Any]]:
    return {s.get("name", s.get("uses", "")): s for s in load_action(WORKFLOW)["jobs"][job]["steps"]}


def _environ(bin_dir: Path) -> dict[str, str]:
    env = hermetic_environ()
    for provider in PROVIDERS:
        env.pop(provider.index, None)
        env.pop(provider.total, None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env.update({str(k): str(v) for k, v in load_action(WORKFLOW)["env"].items()})
    return env


def _bash(script: str, cwd: Path, env: dict[str, str], output: Path) -> subprocess.CompletedProcess[str]:
    output.write_text("")
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd,
                          env={**env, "GITHUB_OUTPUT": str(output)}, capture_output=True, text=True, timeout=900)


def _setup_python(step: dict[str, Any]) -> dict[str, str]:
    return {"python-path": sys.executable}


def test_the_build_job_hands_durations_to_the_shards(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "wasitest").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wasitest "$@"\n')
    (bin_dir / "wasitest").chmod(0o755)
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLES / "quickstart", workspace / "examples" / "quickstart",
                    ignore=shutil.ignore_patterns(".wasitest"))
    env = _environ(bin_dir)
    build = _steps("build")
    assert _bash(build["Build the bundle"]["run"], workspace, env, tmp_path / "out0").returncode == 0

    # the last run's merged results, as the cache restores them: here, a full run of the bundle
    restore = build["Restore the last run's results"]["with"]
    full = workspace / restore["path"]
    full.parent.mkdir(parents=True)
    (tmp_path / "full").mkdir()
    proc = subprocess.run([str(bin_dir / "wasitest"), "run", str(tmp_path / "full"), "--bundle", "bundle",
                           "--runtimes", "wasmtime,node", "--results", str(full), "-q"],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr
    assert restore["key"].startswith(restore["restore-keys"])
    save = _steps("report")["Keep the results for the next run's shards"]["with"]
    assert save["path"] == restore["path"] and save["key"].startswith(restore["restore-keys"])

    plan = _bash(build["Plan the jobs"]["run"], workspace, env, tmp_path / "out1")
    assert plan.returncode == 0, plan.stderr
    assert f"durations from {restore['path']}: the shards balance by them" in plan.stderr
    matrix = json.loads(parse_output_file((tmp_path / "out1").read_text())["matrix"])
    assert (workspace / "bundle" / "durations.json").is_file()  # uploaded with the bundle

    test_step = next(s for s in load_action(WORKFLOW)["jobs"]["test"]["steps"] if s.get("uses") == "./")
    outputs = []
    for entry in (e for e in matrix["include"] if e["os"] == "ubuntu-latest"):
        runner = ActionRunner(ROOT, workspace, tmp_path / "runner", {}, _setup_python, env)
        inputs = {k: str(v).replace("${{ matrix.shard }}", entry["shard"]) for k, v in test_step["with"].items()}
        index = entry["shard"].split("/")[0]
        inputs.update({"project": f"out-{index}", "results": f"out-{index}/results.json"})
        run = runner.run(inputs, reuse={"python": {"python-path": sys.executable},
                                        "install": {"python": sys.executable}}, only={"run"})
        step = run.step("run")
        assert step.returncode == 0, step.stderr
        assert f"shard {entry['shard']} balanced by time" in step.stderr and "bundle/durations.json" in step.stderr
        outputs.append(workspace / f"out-{index}" / "results.json")
    assert len(outputs) == 2
    merged = [r.job_id for o in outputs for r in load_results(o).results]
    assert sorted(merged) == sorted(r.job_id for r in load_results(full).results)

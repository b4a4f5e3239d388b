"""examples/gitlab/.gitlab-ci.yml: valid by GitLab's own schema (check-jsonschema's
vendored copy, which needs no network), and its pipeline run for real, job by job, the way a
runner would: each job's `script` in bash with GitLab's variables (`parallel: 4` copies get
CI_NODE_INDEX 1..4 and CI_NODE_TOTAL 4; every other job CI_NODE_TOTAL 1), the artifacts
handed on, and the `cache` kept from one pipeline to the next. The first pipeline has no
durations and splits by hash; the second balances by the first one's merged results. Both
merge into exactly the full run's jobs.

What cannot run here: GitLab itself, its Docker image (this machine's Python and Node stand
in), and the `pip install`/`apt-get` lines (this environment has what they install).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import junitparser
import pytest
import xmlschema
import yaml

from tests.conftest import DATA, EXAMPLES
from wasitest.matrix.providers import PROVIDERS
from wasitest.results import load_results

PIPELINE = EXAMPLES / "gitlab" / ".gitlab-ci.yml"
#: lines a runner's image would run that this machine has done already
PROVIDED = ("python -m pip install", "apt-get ")


def _config() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(PIPELINE.read_text())
    return data


def test_gitlabs_schema_accepts_it(tmp_path: Path) -> None:
    tool = shutil.which("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed (the test extra installs it)")
    # no network: a proxy that is not there makes any download fail (the vendored schema needs none)
    offline = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}

    def check(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run([tool, "--builtin-schema", "vendor.gitlab-ci", str(path)], capture_output=True,
                              text=True, timeout=120, env=offline)

    proc = check(PIPELINE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / ".gitlab-ci.yml"
    broken.write_text(PIPELINE.read_text().replace("    reports:", "    report:"))
    bad = check(broken)
    assert bad.returncode == 1 and "'report' was unexpected" in bad.stdout  # the check can fail


def test_the_pipeline_has_the_shape_the_docs_describe() -> None:
    config = _config()
    assert config["stages"] == ["build", "test", "report"]
    test, report = config["test"], config["report"]
    assert test["parallel"] == 4 and any("--shard auto" in line for line in test["script"])
    assert report["artifacts"]["reports"]["junit"] == "wasitest-results/junit.xml"
    assert config["build"]["cache"]["key"] == report["cache"]["key"]


def _shim(folder: Path) -> Path:
    """A `wasitest` command on PATH that is this checkout's, run by this Python."""
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "wasitest"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m wasitest "$@"\n')
    shim.chmod(0o755)
    return folder


def _run_job(
    name: str, workspace: Path, bin_dir: Path, node: tuple[int, int] | None
) -> subprocess.CompletedProcess[str]:
    """One job's script as a runner runs it: line by line, stopping at the first failure."""
    config = _config()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WASITEST_")}
    for provider in PROVIDERS:
        env.pop(provider.index, None)
        env.pop(provider.total, None)
    env.update({str(k): str(v) for k, v in config["variables"].items()})
    env.update({"CI": "true", "GITLAB_CI": "true", "NO_COLOR": "1", "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"})
    if node is None:
        env["CI_NODE_TOTAL"] = "1"  # as GitLab sets it on every job without `parallel`
    else:
        env["CI_NODE_INDEX"], env["CI_NODE_TOTAL"] = map(str, node)
    lines = [line for line in config[name]["script"] if not line.startswith(PROVIDED)]
    script = "\n".join(f"{line}\nstatus=$?; if [ $status -ne 0 ]; then exit $status; fi" for line in lines)
    return subprocess.run(["bash", "-c", script], cwd=workspace, env=env, capture_output=True, text=True, timeout=900)


def _pipeline(workspace: Path, bin_dir: Path) -> dict[str, list[subprocess.CompletedProcess[str]]]:
    done = {"build": [_run_job("build", workspace, bin_dir, None)]}
    assert done["build"][0].returncode == 0, done["build"][0].stderr
    total = _config()["test"]["parallel"]
    done["test"] = [_run_job("test", workspace, bin_dir, (k, total)) for k in range(1, total + 1)]
    done["report"] = [_run_job("report", workspace, bin_dir, None)]
    return done


def _workspace(root: Path, cache: Path | None) -> Path:
    """A fresh checkout of the project, with the cache restored when there is one."""
    workspace = root / "ws"
    shutil.copytree(EXAMPLES / "quickstart", workspace / "examples" / "quickstart",
                    ignore=shutil.ignore_patterns(".wasitest"))
    if cache is not None:
        shutil.copytree(cache, workspace / "durations")
    return workspace


def test_two_pipelines_fan_out_merge_and_balance(tmp_path: Path) -> None:
    bin_dir = _shim(tmp_path / "bin")
    first = _workspace(tmp_path / "p1", None)
    one = _pipeline(first, bin_dir)
    assert "no durations at durations/results.json yet" in one["build"][0].stderr
    for k, job in enumerate(one["test"], start=1):
        assert job.returncode in (0, 1), job.stderr  # 1: the shard that holds the quickstart's divergent case
        assert f"--shard auto: shard {k}/4 from GitLab CI (CI_NODE_INDEX={k}, CI_NODE_TOTAL=4)" in job.stderr
        assert "balanced by time" not in job.stderr
    assert sorted(job.returncode for job in one["test"]) == [0, 0, 0, 1]
    report = one["report"][0]
    assert report.returncode == 1, report.stderr  # the divergence fails the run, on purpose

    (tmp_path / "full").mkdir()
    full = subprocess.run(
        [str(bin_dir / "wasitest"), "run", str(tmp_path / "full"), "--bundle", str(first / "bundle"), "--runtimes",
         "wasmtime,node", "--results", str(tmp_path / "full.json"), "-q"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "NO_COLOR": "1"},
    )
    assert full.returncode == 1, full.stderr
    every = sorted(r.job_id for r in load_results(tmp_path / "full.json").results)
    merged = first / "durations" / "results.json"
    assert sorted(r.job_id for r in load_results(merged).results) == every
    junit = first / "wasitest-results" / "junit.xml"
    xmlschema.XMLSchema(DATA / "junit-wasitest.xsd").validate(junit)
    pairs = [(c.classname, c.name) for suite in junitparser.JUnitXml.fromfile(str(junit)) for c in suite]
    assert len(pairs) == len(set(pairs)) and (first / "wasitest-results" / "report.html").is_file()

    second = _workspace(tmp_path / "p2", first / "durations")  # the cache the report job pushed
    two = _pipeline(second, bin_dir)
    assert "durations from durations/results.json: the shards balance by them" in two["build"][0].stderr
    assert (second / "bundle" / "durations.json").is_file()
    for job in two["test"]:
        assert "balanced by time" in job.stderr and "from bundle/durations.json" in job.stderr
    assert sorted(r.job_id for r in load_results(second / "durations" / "results.json").results) == every

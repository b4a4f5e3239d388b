"""The Action's own steps, run with bash in a simulated GitHub Actions job: a temporary
`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`, event file and workspace, and the GitHub API on a
local server. The install step really creates the virtual environment and pip-installs
wasitest from a copy of the action's folder; the run step really builds and runs the
quickstart on Wasmtime and Node.

What cannot run here: `actions/setup-python` (a `uses:` step: this Python stands in for
it), and macOS and Windows runners.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.github.action_runner import ActionRunner, hermetic_environ, load_action
from tests.github.fake_github import FakeGitHub
from tests.github.runner_files import parse_commands
from wasitest.results import load_results

HEAD = "f" * 40
SETUP_PYTHON = re.compile(r"^actions/setup-python@[0-9a-f]{40}$")


def _setup_python(step: dict[str, Any]) -> dict[str, str]:
    assert SETUP_PYTHON.match(step["uses"]), step["uses"]
    assert step["with"]["update-environment"] is False  # the user's own Python stays theirs
    return {"python-path": sys.executable, "python-version": sys.version.split()[0]}


@dataclass
class Installed:
    action_dir: Path
    runner_temp: Path
    reuse: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The action's folder as a runner checks it out, and its install step, run once."""
    action_dir = tmp_path_factory.mktemp("action")
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, action_dir / name)
    shutil.copytree(ROOT / "wasitest", action_dir / "wasitest", ignore=shutil.ignore_patterns("__pycache__"))
    runner_temp = tmp_path_factory.mktemp("runner-temp")
    workspace = tmp_path_factory.mktemp("install-ws")
    runner = ActionRunner(action_dir, workspace, runner_temp, {}, _setup_python, hermetic_environ())
    run = runner.run({"extras": ""}, only={"python", "install"})
    install = run.step("install")
    assert install.returncode == 0, install.stderr
    python = Path(install.outputs["python"])
    assert python == runner_temp / "wasitest-venv" / "bin" / "python"
    # The `zig` extra (the default) would pip-install the Zig toolchain, about 440 MB and most
    # of a minute here: this machine's copy is lent to the venv instead, and nothing else.
    lent = runner_temp / "lent"
    lent.mkdir()
    (lent / "ziglang").symlink_to(Path(importlib.util.find_spec("ziglang").origin or "").parent)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(site, "lent-zig.pth").write_text(f"{lent}\n")
    check = subprocess.run(
        [python, "-c", "import github, ziglang, wasitest; print(wasitest.__file__)"],
        capture_output=True,
        text=True,
        cwd=workspace,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(str(runner_temp / "wasitest-venv"))  # its own copy, not this checkout's
    yield Installed(action_dir, runner_temp, {"python": run.step("python").outputs, "install": install.outputs})


def _job(fake: FakeGitHub, workspace: Path, token: str = "job-token") -> dict[str, str]:
    event = workspace.parent / "event.json"
    event.write_text(json.dumps({"number": 7, "pull_request": {"number": 7, "head": {"sha": HEAD}}}))
    return {
        "GITHUB_REPOSITORY": fake.repository,
        "GITHUB_SHA": "0" * 40,
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_API_URL": fake.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "9",
        "GITHUB_TOKEN": token,
    }


def _workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLES / "quickstart", workspace / "quickstart", ignore=shutil.ignore_patterns(".wasitest"))
    return workspace


def test_one_step_use(installed: Installed, fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = _workspace(tmp_path)
    runner = ActionRunner(
        installed.action_dir,
        workspace,
        installed.runner_temp,
        _job(fake_github, workspace),
        _setup_python,
        hermetic_environ(),
    )
    run = runner.run(
        {"project": "quickstart", "runtimes": "wasmtime,node", "html": "wasitest-results/report.html"},
        reuse=installed.reuse,
    )
    by_id = {s.id: s for s in run.steps}
    assert by_id["run"].returncode == 0, by_id["run"].stderr  # the step records the code, the last one exits
    assert by_id["run"].outputs == {"exit-code": "1", "results": "wasitest-results/results.json"}
    assert "jobs in 2 cell(s)" in by_id["run"].stderr and "wasitest results" in by_id["run"].stdout
    report, final = by_id["report"], run.steps[-1]
    assert report.returncode == 0, report.stderr
    assert final.ran and final.returncode == 1  # the action fails as `wasitest run` did

    document = load_results(workspace / "wasitest-results" / "results.json")
    assert run.outputs["total"] == str(len(document.results)) == str(sum(json.loads(run.outputs["counts"]).values()))
    assert run.outputs["passed"] == str(sum(r.outcome.value == "passed" for r in document.results))
    assert run.outputs["failed"] == "1" and run.outputs["divergences"] == "1"
    assert run.outputs["divergent-cases"] == "unit/files::excl_create_refuses_dangling_symlink"
    assert run.outputs["exit-code"] == "1" and run.outputs["conclusion"] == "failure"
    for key, name in (("results", "results.json"), ("junit", "junit.xml"), ("html", "report.html")):
        assert run.outputs[key] == str(workspace / "wasitest-results" / name)
        assert Path(run.outputs[key]).is_file()
    assert {c.id for c in document.cells} == {"wasmtime", "node"}  # WASITEST_RUNTIMES reached the run

    assert report.summary.startswith("## wasitest\n") and "1 divergent case(s)" in report.summary
    (error,) = [c for c in parse_commands(report.stdout) if c.name == "error"]
    assert (error.properties["file"], error.properties["line"]) == ("quickstart/tests/files.c", "55")

    publish = run.steps[-2]
    assert publish.returncode == 0, publish.stderr
    (check,) = fake_github.check_runs.values()
    assert check["head_sha"] == HEAD and check["conclusion"] == "failure" and len(check["annotations"]) == 2
    (comment,) = fake_github.comments.values()
    assert comment["issue"] == 7 and "excl_create_refuses_dangling_symlink" in comment["body"]
    assert all(c.headers.get("Authorization") == "token job-token" for c in fake_github.calls)


def test_build_once_fan_out_merge(installed: Installed, fake_github: FakeGitHub, tmp_path: Path) -> None:
    """The fan-out example's three jobs: build a bundle; two shards run it (no toolchain,
    no publishing); a last job merges their results.json and reports once."""
    workspace = _workspace(tmp_path)
    python = installed.reuse["install"]["python"]
    build = subprocess.run(
        [python, "-m", "wasitest", "build", "quickstart", "--out", "bundle"],
        cwd=workspace,
        env=hermetic_environ(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    shutil.rmtree(workspace / "quickstart" / ".wasitest")  # the shards must not need the build

    totals = []
    for index in (1, 2):
        runner = ActionRunner(
            installed.action_dir,
            workspace,
            installed.runner_temp,
            _job(fake_github, workspace),
            _setup_python,
            hermetic_environ(),
        )
        shard = runner.run(
            {
                "bundle": "bundle",
                "project": f"out-{index}",
                "runtimes": "wasmtime,node",
                "shard": f"{index}/2",
                "results": f"out-{index}/results.json",
                "junit": "",
                "extras": "",
                "github-token": "",
            },
            reuse=installed.reuse,
        )
        assert shard.step("run").returncode == 0, shard.step("run").stderr
        assert "no GitHub token" in shard.steps[-2].stderr
        totals.append(int(shard.outputs["total"]))
        target = workspace / "shards" / f"results-{index}"
        target.mkdir(parents=True)
        shutil.copy(workspace / f"out-{index}" / "results.json", target / "results.json")
    assert not fake_github.calls and all(totals)

    runner = ActionRunner(
        installed.action_dir,
        workspace,
        installed.runner_temp,
        _job(fake_github, workspace),
        _setup_python,
        hermetic_environ(),
    )
    merged = runner.run(
        {"merge": "shards", "project": "quickstart", "html": "wasitest-results/report.html", "extras": ""},
        reuse=installed.reuse,
    )
    assert merged.step("run").returncode == 0, merged.step("run").stderr
    assert merged.outputs["total"] == str(sum(totals))
    assert merged.outputs["divergent-cases"] == "unit/files::excl_create_refuses_dangling_symlink"
    assert merged.outputs["exit-code"] == "1" and merged.steps[-1].returncode == 1
    assert Path(merged.outputs["html"]).is_file() and Path(merged.outputs["junit"]).is_file()
    document = load_results(workspace / "wasitest-results" / "results.json")
    assert document.stats.get("merged_from") == 2
    (check,) = fake_github.check_runs.values()
    assert check["name"] == "wasitest" and check["head_sha"] == HEAD
    assert len(fake_github.comments) == 1


def test_every_action_used_is_pinned_by_commit() -> None:
    uses = [s["uses"] for s in load_action(ROOT / "action.yml")["runs"]["steps"] if "uses" in s]
    assert uses and all(re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u) for u in uses), uses
    examples = sorted((EXAMPLES / "github").glob("*.yml"))
    assert len(examples) >= 2
    for example in examples:
        jobs = load_action(example)["jobs"].values()
        found = [step["uses"] for job in jobs for step in job["steps"] if "uses" in step]
        assert "./" in found, example
        assert all(u == "./" or re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", u) for u in found), (example, found)


def test_no_expression_is_pasted_into_a_script() -> None:
    """Inputs reach the scripts through `env:` only: `${{ }}` inside `run:` would let an
    input's text become shell code (template injection)."""
    for step in load_action(ROOT / "action.yml")["runs"]["steps"]:
        assert "${{" not in str(step.get("run", "")), step.get("name")
        assert "python -c" not in str(step.get("run", "")) and "<<" not in str(step.get("run", ""))

"""action.yml and the example workflows pass actionlint (which also checks each example's
`with:` against action.yml's inputs, and the workflows' scripts with shellcheck), zizmor
(security audits: template injection, unpinned actions, credentials, permissions), and
shellcheck on the action's own scripts (actionlint reads no action.yml scripts)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tests.github.action_runner import load_action

EXAMPLE_WORKFLOWS = sorted((EXAMPLES / "github").glob("*.yml"))


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (the test extra installs it)")
    return path


def _repository(tmp_path: Path, workflows: dict[str, str]) -> Path:
    """A repository as actionlint expects one: `.git`, `.github/workflows/`, and the action
    at its root, where the examples' `uses: ./` points."""
    (tmp_path / ".git").mkdir()
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    for name, text in workflows.items():
        (folder / name).write_text(text)
    return tmp_path


def _actionlint(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_tool("actionlint"), "-no-color"], cwd=repo, capture_output=True, text=True, timeout=120)


def test_examples_pass_actionlint_against_the_actions_inputs(tmp_path: Path) -> None:
    assert EXAMPLE_WORKFLOWS
    repo = _repository(tmp_path, {p.name: p.read_text() for p in EXAMPLE_WORKFLOWS})
    proc = _actionlint(repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_would_catch_an_input_the_action_does_not_have(tmp_path: Path) -> None:
    text = EXAMPLE_WORKFLOWS[0].read_text().replace("runtimes: wasmtime,node", "runtime: wasmtime,node")
    proc = _actionlint(_repository(tmp_path, {"bad.yml": text}))
    assert proc.returncode == 1 and 'input "runtime" is not defined in action' in proc.stdout


def test_action_and_examples_pass_zizmor() -> None:
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(ROOT / "action.yml"), *map(str, EXAMPLE_WORKFLOWS)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_actions_scripts_pass_shellcheck() -> None:
    shellcheck = _tool("shellcheck")
    scripts = [s for s in load_action(ROOT / "action.yml")["runs"]["steps"] if "run" in s]
    assert len(scripts) >= 4
    for step in scripts:
        proc = subprocess.run(
            [shellcheck, "--shell=bash", "-"], input=step["run"], capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, f"{step['name']}:\n{proc.stdout}"

"""Shared fixtures: real example projects copied to a temporary folder, and a way to run
the real `wasitest` command in a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def zig_cc(source: Path, out: Path) -> Path:
    """Compile one C file to a WASI command module with the `ziglang` package (the test
    skips without it): for tests of the layers below the builders, which need a module and
    not a project."""
    pytest.importorskip("ziglang")
    command = [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(out), str(source)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return out


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns(".wasitest"))
    return target


@pytest.fixture
def run_cli() -> RunCli:
    """Run `python -m wasitest ARGS` for real and capture what it prints."""

    def run(
        *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
        full_env.pop("WASITEST_DEBUG", None)
        return subprocess.run(
            [sys.executable, "-m", "wasitest", *args],
            cwd=cwd,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def quickstart_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One real `wasitest run --matrix` of the quickstart example, shared by the tests that
    only read what it produced."""
    project = copy_example("quickstart", tmp_path_factory.mktemp("qs"))
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "wasitest",
            "run",
            "--matrix",
            str(project),
            "--junit",
            str(project / "junit.xml"),
            "--results",
            str(project / "results.json"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return project, proc


def write_project(folder: Path, pyproject: str, files: Mapping[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(pyproject)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder

"""Fixtures for the GitHub tests: a fake GitHub API on a real local HTTP server, and a
workspace holding a copy of the quickstart project with the results of a real run."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.github.fake_github import FakeGitHub


@pytest.fixture
def fake_github(httpserver: HTTPServer) -> FakeGitHub:
    return FakeGitHub(httpserver)


@pytest.fixture
def workspace(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    """A repository checkout: `quickstart/` with its sources and the run's results.json."""
    project, proc = quickstart_run
    assert proc.returncode == 1, proc.stderr  # Node's divergence fails the run, on purpose
    root = tmp_path / "checkout"
    shutil.copytree(project, root / "quickstart", ignore=shutil.ignore_patterns(".wasitest"))
    return root

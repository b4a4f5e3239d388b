"""Build once, run anywhere: a bundle runs with no sources and no toolchain."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.conftest import RunCli, copy_example, write_project
from wasitest.errors import ExitCode


def test_bundle_runs_elsewhere_without_toolchain(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("quickstart", tmp_path)
    bundle = tmp_path / "bundle"
    built = run_cli("build", str(project), "--out", str(bundle))
    assert built.returncode == 0, built.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["schema"] == "wasitest-bundle"
    assert sorted(a["name"] for a in manifest["artifacts"]) == ["env", "files", "parser", "strings"]
    assert all(a["cases"] for a in manifest["artifacts"])

    # another folder, no sources, and a Python where the Zig toolchain cannot be imported
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    blocker = write_project(tmp_path / "blocker", "", {"ziglang/__init__.py": "raise ImportError('no zig here')\n"})
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), *sys.path])}
    proc = run_cli("run", str(elsewhere), "--bundle", str(bundle), env=env)
    assert proc.returncode == 0, proc.stderr  # wasmtime: everything passes (known_bug is xfail)
    doc = json.loads((elsewhere / ".wasitest" / "results.json").read_text())
    assert doc["bundle_id"] == manifest["bundle_id"]
    outcomes = {r["case"]: r["outcome"] for r in doc["results"]}
    assert outcomes["known_bug"] == "xfailed"  # the suite's xfail travelled with the bundle
    assert outcomes["greeting_is_granted"] == "passed"  # and so did its env grant
    assert len(outcomes) == sum(len(a["cases"]) for a in manifest["artifacts"])


def test_damaged_bundle_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("quickstart", tmp_path)
    bundle = tmp_path / "bundle"
    assert run_cli("build", str(project), "--out", str(bundle)).returncode == 0
    with (bundle / "artifacts" / "unit" / "env.wasm").open("ab") as handle:
        handle.write(b"\0")
    proc = run_cli("run", str(tmp_path), "--bundle", str(bundle))
    assert proc.returncode == int(ExitCode.INPUT)
    assert "does not match its hash" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_not_a_bundle(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli("run", str(tmp_path), "--bundle", str(tmp_path))
    assert proc.returncode == int(ExitCode.INPUT)
    assert "not a wasitest bundle" in proc.stderr

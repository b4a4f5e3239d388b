"""An emulated aarch64 cell beside the local x86_64 ones, and a real host divergence."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

import pytest

from tests.conftest import RunCli, write_project
from wasitest.plugin import load_registry

HERE = Path(__file__).resolve().parent


def _need_emulation() -> None:
    host = load_registry().hosts.get("linux-aarch64")
    available, reason = host.available()
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to emulate aarch64: {reason}")
        pytest.skip(reason)
    if platform.machine().lower() in {"aarch64", "arm64"}:
        pytest.skip("this machine is aarch64 itself: no divergence to expect from emulating it")


CONFIG = """
[tool.wasitest.matrix]
runtime = ["wasmtime-cli"]
host = ["local", "linux-aarch64"]
[tool.wasitest.suites.fp]
builder = "zig"
sources = ["nan.c"]
timeout = 120
"""


def test_nan_bits_are_a_host_divergence(tmp_path: Path, run_cli: RunCli) -> None:
    """0.0/0.0 computed at run time: x86-64 gives the NaN 0xffc00000, aarch64 0x7fc00000.
    WebAssembly leaves a computed NaN's sign unspecified, so both runtimes are right, and
    the report must say that the host, not the runtime, made the difference."""
    _need_emulation()
    project = write_project(tmp_path, CONFIG, {"nan.c": (HERE / "hosts" / "nan.c").read_text()})
    proc = run_cli("run", str(project), "--matrix", timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    cells = {c["id"]: c for c in doc["cells"]}
    assert cells["wasmtime-cli@linux-aarch64"]["platform"] == "linux-aarch64"
    assert cells["wasmtime-cli"]["platform"].startswith("linux-")
    out = {r["cell"]: r["stdout"] for r in doc["results"]}
    assert out["wasmtime-cli@linux-aarch64"] == "0/0 = 0x7fc00000\n"
    assert out["wasmtime-cli"] == "0/0 = 0xffc00000\n"
    (divergence,) = doc["divergences"]
    assert divergence["kind"] == "output" and divergence["scope"] == "host"


def test_unsupported_runtime_on_an_emulated_host_is_reported(tmp_path: Path, run_cli: RunCli) -> None:
    _need_emulation()
    config = CONFIG.replace('runtime = ["wasmtime-cli"]', 'runtime = ["wasmtime-cli", "wasmtime"]')
    project = write_project(tmp_path, config, {"nan.c": (HERE / "hosts" / "nan.c").read_text()})
    proc = run_cli("matrix", str(project), "--json")
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows["wasmtime-cli@linux-aarch64"]["available"] is True
    assert rows["wasmtime@linux-aarch64"]["available"] is False  # in-process: it runs where Python does
    assert "cannot run on host linux-aarch64" in rows["wasmtime@linux-aarch64"]["reason"]

"""The real host divergences of `node`, found by running it on every emulated host: one
`wasitest run --matrix` of a few probes on `node` here and on each host, shared by the
tests, which read its results.json.

A NaN computed from numbers (0/0, sqrt(-1)) has the sign bit the CPU's instruction gives
it: set on x86 (x86-64 and i386), clear on ARM and s390x. WebAssembly allows both, so it is
no runtime's bug, and the diff must call it a *host* divergence. (How far memory grows on a
32-bit host is in test_emulated_node.py: it varies from run to run.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import ROOT, write_project
from tests.hosts.conftest import HOSTS, PROBES, emulated_node

CONFIG = """
[tool.wasitest.matrix]
runtime = ["node"]
host = ["local", "linux-s390x", "linux-armhf", "linux-i386", "linux-aarch64"]
[tool.wasitest.suites.cpu]
builder = "zig"
sources = ["nan.c"]
timeout = 120
"""

#: the CPUs whose computed NaNs have the sign bit set
SIGNED_NAN = ("x86_64", "amd64", "i386")


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    for host in HOSTS:
        emulated_node(host)  # skips (fails under CI) when a host cannot run node
    project = write_project(
        tmp_path_factory.mktemp("divergences"),
        CONFIG,
        {"nan.c": (PROBES / "nan.c").read_text()},
    )
    proc = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", "--matrix", "-j", "2", str(project)],
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data: dict[str, Any] = json.loads((project / ".wasitest" / "results.json").read_text())
    return data


def _by_cell(results: dict[str, Any], artifact: str) -> dict[str, str]:
    """platform -> the stdout of the artifact's case there."""
    platform = {c["id"]: c["platform"] for c in results["cells"]}
    return {platform[r["cell"]]: r["stdout"] for r in results["results"] if r["artifact"].endswith(f"/{artifact}")}


def test_results_record_each_hosts_platform(results: dict[str, Any]) -> None:
    platforms = {c["id"]: c["platform"] for c in results["cells"]}
    assert platforms["node"].startswith("linux-")
    for host in HOSTS:
        assert platforms[f"node@{host}"] == host


def test_a_computed_nan_has_the_cpus_sign(results: dict[str, Any]) -> None:
    out = _by_cell(results, "nan")
    assert set(HOSTS) < set(out)
    for platform, stdout in out.items():
        lines = {key.strip(): value for key, value in (line.split(" = ") for line in stdout.splitlines())}
        signed = platform.endswith(SIGNED_NAN)
        assert lines["f32 0/0"] == ("0xffc00000" if signed else "0x7fc00000"), (platform, stdout)
        assert lines["f64 0/0"] == ("0xfff8000000000000" if signed else "0x7ff8000000000000"), (platform, stdout)
        assert lines["f32 sqrt(-1)"] == lines["f32 0/0"], (platform, stdout)
        # a NaN operand's payload is kept on every CPU: only the CPU's own NaNs differ
        assert lines["f32 qnan+1"] == "0x7fc12345", (platform, stdout)


def test_the_diff_calls_them_host_divergences(results: dict[str, Any]) -> None:
    scopes = {d["artifact"].split("/")[-1]: d["scope"] for d in results["divergences"]}
    assert scopes == {"nan": "host"}
    (divergence,) = results["divergences"]
    assert divergence["kind"] == "output"

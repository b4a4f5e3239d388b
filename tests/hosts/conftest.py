"""What the tests of the emulated hosts share: whether a host can run `node` here (else the
test skips with the reason, and under `CI` fails: `.ci/run` installs every host), and the
runtime probe module (`tests/runtimes/probes/probe.c`), built once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from wasitest.plugin import load_registry
from wasitest.plugins.runtimes.node import NodeRuntime

ROOT = Path(__file__).resolve().parents[2]
PROBES = Path(__file__).with_name("probes")
#: every emulated host that runs `node`, with the CPU and byte order its Node reports
HOSTS = {
    "linux-s390x": ("s390x", "BE"),
    "linux-armhf": ("arm", "LE"),
    "linux-i386": ("ia32", "LE"),
    "linux-aarch64": ("arm64", "LE"),
}


def emulated_node(host: str) -> NodeRuntime:
    """The `node` runtime as it runs on `host`; skips (fails under CI) when it cannot."""
    registry = load_registry()
    runtime = registry.hosts.get(host).runtime(registry.runtimes.get("node"))
    assert isinstance(runtime, NodeRuntime)
    info = runtime.info()
    if not info.available:
        reason = f"node on {host}: {info.reason}" + (f" ({info.install_hint})" if info.install_hint else "")
        if os.environ.get("CI"):
            pytest.fail(f"CI must run node on every emulated host: {reason}")
        pytest.skip(reason)
    return runtime


@pytest.fixture(scope="session")
def runtime_probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The probe the runtime tests use (one mode per argv[1])."""
    return zig_cc(ROOT / "tests" / "runtimes" / "probes" / "probe.c", tmp_path_factory.mktemp("probe") / "probe.wasm")

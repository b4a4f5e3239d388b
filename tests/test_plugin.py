"""Plugins: built-ins and third-party plugins arrive the same way, through the hooks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.conftest import RunCli, write_project
from wasitest.errors import ExitCode
from wasitest.plugin import BUILTIN_PLUGINS, get_plugin_manager, load_registry

THIRD_PARTY = '''
import os
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.wasmtime import WasmtimeRuntime


class CountingSession:
    """Wasmtime, but every job leaves a line in a log, so the test sees who ran it."""

    def __init__(self, inner):
        self.inner = inner

    def run(self, invocation):
        with open(os.environ["THIRDPARTY_LOG"], "a") as log:
            log.write(f"{os.getpid()} {' '.join(invocation.argv)}\\n")
        return self.inner.run(invocation)

    def close(self):
        self.inner.close()


class CountingRuntime(WasmtimeRuntime):
    name = "counting"

    def info(self):
        base = super().info()
        return type(base)(self.name, base.available, "counting 1.0", base.reason, "", base.capabilities)

    def open_session(self, cache_dir):
        return CountingSession(super().open_session(cache_dir))


@hookimpl
def wasitest_register_runtimes(register):
    register(CountingRuntime())
'''


def _install_third_party(site: Path) -> None:
    """A real installed distribution: a dist-info with an entry point in the `wasitest` group."""
    (site / "thirdparty_rt.py").parent.mkdir(parents=True, exist_ok=True)
    (site / "thirdparty_rt.py").write_text(THIRD_PARTY)
    info = site / "thirdparty_rt-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-rt\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[wasitest]\ncounting = thirdparty_rt\n")


def test_builtins_are_plain_registered_plugins() -> None:
    pm = get_plugin_manager({"WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    names = {pm.get_name(p) for p in pm.get_plugins()}
    assert set(BUILTIN_PLUGINS) <= names
    registry = load_registry({"WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert {"wasmtime", "node"} <= set(registry.runtimes.names())
    assert {"zig", "prebuilt"} <= set(registry.builders.names())
    assert {"exitcode", "clist", "zigtest"} <= set(registry.harnesses.names())
    assert {"console", "junit", "results-json"} <= set(registry.reporters)


def test_third_party_runtime_through_entry_point_is_used(tmp_path: Path, run_cli: RunCli) -> None:
    site = tmp_path / "site"
    _install_third_party(site)
    log = tmp_path / "log.txt"
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["t/*.c"]\n',
        {
            "t/one.c": "int main(void){return 0;}",
            "t/two.c": "int main(void){return 2;}",
        },
    )
    env = {"PYTHONPATH": os.pathsep.join([str(site), *sys.path]), "THIRDPARTY_LOG": str(log)}

    listing = run_cli("runtimes", "--json", env=env)
    assert {r["name"]: r["version"] for r in json.loads(listing.stdout)}["counting"] == "counting 1.0"

    proc = run_cli("run", str(project), "--runtimes", "counting", "-j", "2", env=env)
    assert proc.returncode == int(ExitCode.TESTS_FAILED), proc.stderr
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    assert {(r["case"], r["cell"], r["outcome"]) for r in doc["results"]} == {
        ("one", "counting", "passed"),
        ("two", "counting", "failed"),
    }
    lines = log.read_text().splitlines()
    assert sorted(line.split()[1] for line in lines) == ["one", "two"]
    assert all(int(line.split()[0]) != os.getpid() for line in lines)  # ran in worker processes

    blocked = run_cli(
        "run", str(project), "--runtimes", "counting", env={**env, "WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    )
    assert blocked.returncode == int(ExitCode.CONFIG)
    assert "unknown runtime 'counting'" in blocked.stderr

"""The README's third-party runtime (examples/runtime-plugin), installed as a real
distribution with an entry point in the `wasitest` group, runs real suites like a built-in."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tests.conftest import RunCli, copy_example, write_project

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "runtime-plugin"


def _install(site: Path) -> dict[str, str]:
    """What `pip install ./examples/runtime-plugin` leaves: the module and its dist-info."""
    site.mkdir(parents=True)
    shutil.copy(EXAMPLE / "wasitest_tinywasm.py", site)
    info = site / "wasitest_tinywasm-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: wasitest-tinywasm\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[wasitest]\ntinywasm = wasitest_tinywasm\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}


def test_the_example_is_a_small_complete_runtime() -> None:
    code = [line for line in (EXAMPLE / "wasitest_tinywasm.py").read_text().splitlines() if line.strip()]
    assert len(code) < 60
    assert "tinywasm" in (EXAMPLE / "pyproject.toml").read_text()


def test_example_runtime_agrees_with_builtin_wasmtime(tmp_path: Path, run_cli: RunCli) -> None:
    env = _install(tmp_path / "site")
    listing = json.loads(run_cli("runtimes", "--json", env=env).stdout)
    tiny = next(row for row in listing if row["name"] == "tinywasm")
    assert tiny["available"] and tiny["version"].startswith("tinywasm (wasmtime-py ")

    project = copy_example("quickstart", tmp_path / "qs")
    proc = run_cli("run", str(project), "--runtimes", "tinywasm,wasmtime", "-j", "2", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    by_cell: dict[str, dict[str, tuple[str, int | None]]] = {}
    for r in doc["results"]:
        by_cell.setdefault(r["cell"], {})[f"{r['artifact']}::{r['case']}"] = (r["outcome"], r.get("exit_code"))
    assert len(by_cell["tinywasm"]) >= 10
    assert by_cell["tinywasm"] == by_cell["wasmtime"]
    assert doc["divergences"] == []


def test_example_runtime_enforces_time_and_memory(tmp_path: Path, run_cli: RunCli) -> None:
    env = _install(tmp_path / "site")
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["t/*.c"]\ntimeout=1\nmemory=\"32MiB\"\n',
        {
            "t/spin.c": "int main(void){volatile unsigned x=0; for(;;) x++; }",
            "t/hog.c": "#include <stdlib.h>\n#include <string.h>\n"
            "int main(void){char *volatile p = malloc(64u<<20); if(!p) return 3; memset(p, 1, 64u<<20); return 0;}",
            "t/echo.c": "#include <stdio.h>\n#include <stdlib.h>\n"
            'int main(void){const char *g = getenv("HOME"); printf("home=%s\\n", g ? g : "-"); return 0;}',
        },
    )
    proc = run_cli("run", str(project), "--runtimes", "tinywasm", env=env)
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    results = {r["case"]: r for r in doc["results"]}
    assert results["spin"]["outcome"] == "timeout", proc.stdout
    assert results["hog"]["exit_code"] == 3  # malloc failed at the memory limit
    assert results["echo"]["outcome"] == "passed" and results["echo"]["stdout"] == "home=-\n"

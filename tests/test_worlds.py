"""Worlds end to end: p1 modules and their p2 components (made by jco from the project's own
builds), prebuilt components, the matrix's world axis, the diff's `world` scope, bundles,
and the bad input around them. The runtimes that run components have their own tests
(tests/runtimes/test_components.py, tests/runtimes/test_jco.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, write_project
from wasitest import npm, wasmbin
from wasitest.diff import find_divergences
from wasitest.errors import ExitCode
from wasitest.model import Outcome, Result

JCO = npm.tool_dir("jco") / "node_modules" / "@bytecodealliance" / "jco" / "dist" / "jco.js"

#: a C test program: prints its argv, writes a file into its scratch dir, exits with argv[1]
PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) printf("arg %s\n", argv[i]);
    FILE *f = fopen("made.txt", "w");
    if (!f || fputs("hello", f) < 0 || fclose(f)) return 9;
    return argc > 1 ? atoi(argv[1]) : 0;
}
"""

#: a component that is a library (it exports `add`, not `wasi:cli/run`)
LIBRARY_WAT = """(component
  (core module $m (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (export "add" (func $add)))
"""

#: the smallest command of WASI 0.3: it exports `wasi:cli/run@0.3.0`, whose `run` returns ok
P3_WAT = """(component
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $ri (export "run" (func $run)))
  (export "wasi:cli/run@0.3.0" (instance $ri)))
"""


def _jco(*args: str) -> None:
    """jco from wasitest's npm cache (the component plugin installs it on first use)."""
    node = shutil.which("node")
    if node is None or not JCO.is_file():
        if os.environ.get("CI"):
            pytest.fail("jco is not installed in wasitest's npm cache (.ci/run installs it)")
        pytest.skip("jco is not installed (wasitest runtimes install jco)")
    done = subprocess.run([node, str(JCO), *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def _results(project: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((project / ".wasitest" / "results.json").read_text())
    return doc


def _project(tmp_path: Path, suite: str = "", matrix: str = "") -> Path:
    return write_project(
        tmp_path / "p",
        f'[tool.wasitest.suites.unit]\nbuilder = "zig"\nsources = ["t/*.c"]\nargs = ["3"]\n{suite}\n{matrix}',
        {"t/prog.c": PROGRAM},
    )


def test_a_suite_in_world_p2_builds_components_with_their_modules_as_twins(tmp_path: Path, run_cli: RunCli) -> None:
    project = _project(tmp_path, 'world = "p2"')
    listing = run_cli("list", str(project), "--json", "--runtimes", "wasmtime")
    assert listing.returncode == 0, listing.stderr
    (artifact,) = json.loads(listing.stdout)["artifacts"]
    assert (artifact["world"], artifact["twins"]) == ("p2", ["p1"])
    component = wasmbin.inspect(Path(artifact["path"]).read_bytes())
    assert component.is_component and component.is_command and component.world == "p2"
    assert any(name.startswith("wasi:cli/environment@0.2") for name in component.imports)
    text = run_cli("list", str(project), "--runtimes", "wasmtime")
    assert "unit/prog::prog  [p2/p1]" in text.stdout


def test_a_runtime_without_components_reports_p2_jobs_unsupported(tmp_path: Path, run_cli: RunCli) -> None:
    project = _project(tmp_path, 'world = "p2"')
    proc = run_cli("run", str(project), "--runtimes", "node")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = _results(project)["results"]
    assert result["outcome"] == "unsupported"
    assert result["message"] == "node runs core modules only, not p2 components"


def test_the_world_axis_runs_module_and_component_and_diffs_them(tmp_path: Path, run_cli: RunCli) -> None:
    """exit(3) of a module is exit status 3; of a p2 component it is err, status 1: a real
    divergence whose scope is the world."""
    project = _project(tmp_path, matrix='[tool.wasitest.matrix]\nruntime = ["wasmtime"]\nworld = ["p1", "p2"]')
    proc = run_cli("run", str(project), "--matrix")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = _results(project)
    assert doc["version"] == 2
    assert [(c["id"], c.get("world")) for c in doc["cells"]] == [("wasmtime:p1", "p1"), ("wasmtime:p2", "p2")]
    by_cell = {r["cell"]: r for r in doc["results"]}
    assert (by_cell["wasmtime:p1"]["exit_code"], by_cell["wasmtime:p2"]["exit_code"]) == (3, 1)
    assert by_cell["wasmtime:p1"]["stdout"] == by_cell["wasmtime:p2"]["stdout"] == "arg 3\n"
    (divergence,) = doc["divergences"]
    assert (divergence["kind"], divergence["scope"]) == ("exit_code", "world")
    assert doc["artifacts"][0]["twins"][0]["world"] == "p2"


def test_a_bundle_carries_the_twins(tmp_path: Path, run_cli: RunCli) -> None:
    project = _project(tmp_path, matrix='[tool.wasitest.matrix]\nruntime = ["wasmtime"]\nworld = ["p1", "p2"]')
    bundle = tmp_path / "bundle"
    built = run_cli("build", str(project), "--out", str(bundle))
    assert built.returncode == 0, built.stderr
    manifest = json.loads((bundle / "manifest.json").read_text())
    (twin,) = manifest["artifacts"][0]["twins"]
    assert twin["world"] == "p2" and (bundle / twin["file"]).is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli("run", str(elsewhere), "--bundle", str(bundle), "--runtimes", "wasmtime:p2")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (result,) = _results(elsewhere)["results"]
    assert (result["cell"], result["exit_code"]) == ("wasmtime:p2", 1)
    (bundle / twin["file"]).write_bytes(b"\0asm\x0d\0\x01\0")
    damaged = run_cli("run", str(elsewhere), "--bundle", str(bundle), "--runtimes", "wasmtime:p2")
    assert damaged.returncode == int(ExitCode.INPUT) and damaged.stderr.count("\n") == 1
    assert "does not match its hash" in damaged.stderr


def _prebuilt(tmp_path: Path, files: dict[str, bytes]) -> Path:
    return write_project(
        tmp_path / "pre", '[tool.wasitest.suites.pre]\nbuilder = "prebuilt"\nsources = ["*.wasm"]\n', files
    )


def test_prebuilt_components_bad_input_is_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "lib.wat").write_text(LIBRARY_WAT)
    _jco("parse", str(tmp_path / "lib.wat"), "-o", str(tmp_path / "lib.wasm"))
    library = _prebuilt(tmp_path / "a", {"lib.wasm": (tmp_path / "lib.wasm").read_bytes()})
    proc = run_cli("run", str(library))
    assert proc.returncode == int(ExitCode.INPUT), proc.stderr
    assert proc.stderr.count("\n") == 1 and "does not export wasi:cli/run" in proc.stderr

    truncated = _prebuilt(tmp_path / "b", {"cut.wasm": (tmp_path / "lib.wasm").read_bytes()[:60]})
    proc = run_cli("run", str(truncated))
    assert proc.returncode == int(ExitCode.INPUT), proc.stderr
    assert proc.stderr.count("\n") == 1 and "truncated" in proc.stderr


def test_a_p3_component_is_unsupported_where_p3_is_not(tmp_path: Path, run_cli: RunCli) -> None:
    (tmp_path / "p3.wat").write_text(P3_WAT)
    _jco("parse", str(tmp_path / "p3.wat"), "-o", str(tmp_path / "p3.wasm"))
    project = _prebuilt(tmp_path, {"p3.wasm": (tmp_path / "p3.wasm").read_bytes()})
    listing = run_cli("list", str(project), "--json", "--runtimes", "wasmtime")
    assert json.loads(listing.stdout)["artifacts"][0]["world"] == "p3"
    proc = run_cli("run", str(project), "--runtimes", "wasmtime")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = _results(project)["results"]
    assert result["outcome"] == "unsupported"
    assert result["message"].startswith("wasmtime runs worlds p1, p2 only, not p3")


def test_world_names_are_checked(tmp_path: Path, run_cli: RunCli) -> None:
    suite = run_cli("list", str(_project(tmp_path / "a", 'world = "p4"')))
    assert suite.returncode == int(ExitCode.CONFIG) and "unknown world 'p4'" in suite.stderr
    axis = run_cli("list", str(_project(tmp_path / "b", matrix='[tool.wasitest.matrix]\nruntime = ["wasmtime"]\n'
                                                             'world = ["p1", "p9"]')), "--matrix")
    assert axis.returncode == int(ExitCode.CONFIG) and "unknown world 'p9'" in axis.stderr
    cell = run_cli("list", str(_project(tmp_path / "c")), "--runtimes", "wasmtime:p5")
    assert cell.returncode == int(ExitCode.CONFIG) and "unknown world 'p5'" in cell.stderr
    p3 = run_cli("run", str(_project(tmp_path / "d", 'world = "p3"')))
    # the build's progress lines come first (issue 16), then the one error line
    assert p3.returncode == int(ExitCode.BUILD) and p3.stderr.count("wasitest: error: ") == 1
    assert p3.stderr.splitlines()[-1].startswith("wasitest: error: ")
    assert "asks for world 'p3', which no plugin can make" in p3.stderr


def test_without_node_making_a_component_fails_in_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    project = _project(tmp_path, 'world = "p2"')
    bare = tmp_path / "bin"
    bare.mkdir()
    proc = run_cli(
        "run", str(project), env={"PATH": str(bare), "WASITEST_CACHE_DIR": str(tmp_path / "cache")}
    )
    assert proc.returncode == int(ExitCode.BUILD), proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("wasitest: error: ")]
    assert errors == proc.stderr.splitlines()[-1:] and "needs Node.js for jco" in errors[0]  # after the build's lines


def _result(cell: str, exit_code: int) -> Result:
    outcome = Outcome.PASSED if exit_code == 0 else Outcome.FAILED
    return Result(artifact="s/a", case="c", cell=cell, outcome=outcome, exit_code=exit_code)


@pytest.mark.parametrize(
    ("cells", "scope"),
    [
        (("wasmtime:p1", "wasmtime:p2"), "world"),
        (("wasmtime-cli", "wasmtime-cli@linux-aarch64"), "host"),
        (("wasmtime-cli:p2", "wasmtime-cli@linux-aarch64:p2"), "host"),
        (("wasmtime", "node"), "runtime"),
    ],
)
def test_divergence_scope_names_what_differs(cells: tuple[str, str], scope: str) -> None:
    (divergence,) = find_divergences([_result(cells[0], 0), _result(cells[1], 1)])
    assert divergence.scope == scope

"""Messages that name the real reason: an unavailable cell's own, and the `allow_unsafe`
hint only where opting in would let the job run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli, write_project
from wasitest.errors import ExitCode
from wasitest.plugin import load_registry

SCRATCH_USER = '#include <stdio.h>\nint main(void){FILE *f = fopen("x.txt", "w"); return f ? 0 : 1;}\n'


def test_a_matrix_of_one_refused_cell_says_why(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path,
        '[tool.wasitest]\nmatrix = { runtime = ["wasmtime"], strategy = ["no-such-strategy"] }\n'
        '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["t.c"]\n',
        {"t.c": SCRATCH_USER},
    )
    proc = run_cli("run", str(project), "--matrix")
    assert proc.returncode == int(ExitCode.RUNTIME), proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "wasmtime+strategy=no-such-strategy: wasmtime cannot use" in proc.stderr


@pytest.mark.parametrize(("runtime", "hint"), [("pywasm", True), ("wasmer", False)])
def test_allow_unsafe_is_offered_only_where_it_helps(tmp_path: Path, run_cli: RunCli, runtime: str, hint: bool) -> None:
    """pywasm has preopens but no containment: opting in runs the job. Wasmer has no host
    preopens at all: opting in would change nothing, so it is not offered."""
    info = load_registry().runtimes.get(runtime).info()
    if not info.available:
        pytest.skip(f"{runtime} is not available: {info.reason}")
    project = write_project(
        tmp_path, '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["t.c"]\n', {"t.c": SCRATCH_USER}
    )
    proc = run_cli("run", str(project), "--runtimes", runtime)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = json.loads((project / ".wasitest" / "results.json").read_text())["results"]
    assert result["outcome"] == "unsupported"
    assert ("allow_unsafe" in result["message"]) is hint, result["message"]

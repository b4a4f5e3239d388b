"""Bad input: one line on stderr, the documented exit code, no traceback."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import RunCli, write_project
from wasitest.errors import ExitCode

ONE_C_SUITE = """
[tool.wasitest.suites.s]
builder = "zig"
sources = ["t/*.c"]
"""


def _assert_one_line_error(proc, code: ExitCode, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == int(code), (proc.returncode, proc.stdout, proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("wasitest: error: ")]
    assert len(errors) == 1, proc.stderr
    assert proc.stderr.rstrip().endswith(errors[0])
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in errors[0]


def test_unknown_config_key(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, "[tool.wasitest]\njbos = 2\n", {})
    _assert_one_line_error(run_cli("run", str(project)), ExitCode.CONFIG, "'jbos'", "did you mean 'jobs'")


def test_unknown_builder_suggests(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, ONE_C_SUITE.replace('"zig"', '"zgi"'), {"t/a.c": "int main(void){return 0;}"})
    _assert_one_line_error(run_cli("run", str(project)), ExitCode.CONFIG, "unknown builder 'zgi'", "did you mean 'zig'")


def test_no_suites(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, "[project]\nname='x'\n", {})
    _assert_one_line_error(run_cli("run", str(project)), ExitCode.CONFIG, "no suites")


def test_compile_error(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, ONE_C_SUITE, {"t/a.c": "int main(void){ return nope; }"})
    _assert_one_line_error(run_cli("run", str(project)), ExitCode.BUILD, "t/a.c failed to build", "nope")


def test_missing_toolchain(tmp_path: Path, run_cli: RunCli) -> None:
    """A Python where `ziglang` cannot be imported, as on a machine without the extra."""
    blocker = tmp_path / "blocker"
    write_project(blocker, "", {"ziglang/__init__.py": "raise ImportError('No module named ziglang')\n"})
    project = write_project(tmp_path / "p", ONE_C_SUITE, {"t/a.c": "int main(void){return 0;}"})
    proc = run_cli("run", str(project), env={"PYTHONPATH": os.pathsep.join([str(blocker), *sys.path])})
    _assert_one_line_error(proc, ExitCode.BUILD, "needs Zig", "pip install 'wasitest[zig]'")


def test_missing_runtime(tmp_path: Path, run_cli: RunCli) -> None:
    """`--runtimes node` on a PATH without node."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    project = write_project(tmp_path / "p", ONE_C_SUITE, {"t/a.c": "int main(void){return 0;}"})
    proc = run_cli("run", str(project), "--runtimes", "node", env={"PATH": str(bin_dir)})
    _assert_one_line_error(proc, ExitCode.RUNTIME, "runtime 'node' is not available")


def test_unknown_runtime(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, ONE_C_SUITE, {"t/a.c": "int main(void){return 0;}"})
    _assert_one_line_error(
        run_cli("run", str(project), "--runtimes", "wasmtim"), ExitCode.CONFIG, "did you mean 'wasmtime'"
    )


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"\0asm\x01\0\0\0\x01\x05", "truncated"),
        (b"not wasm at all", "not a WebAssembly"),
        (b"\0asm\x0d\0\x01\0", "component"),
    ],
)
def test_malformed_prebuilt_module(tmp_path: Path, run_cli: RunCli, content: bytes, needle: str) -> None:
    project = write_project(
        tmp_path, '[tool.wasitest.suites.pre]\nbuilder="prebuilt"\nsources=["w/*.wasm"]\n', {"w/bad.wasm": content}
    )
    _assert_one_line_error(run_cli("run", str(project)), ExitCode.INPUT, "bad.wasm", needle)


def test_unwritable_output(tmp_path: Path, run_cli: RunCli) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    project = write_project(tmp_path / "p", ONE_C_SUITE, {"t/a.c": "int main(void){return 0;}"})
    proc = run_cli("run", str(project), "--junit", str(blocker / "junit.xml"))
    _assert_one_line_error(proc, ExitCode.OUTPUT, "junit.xml", "not writable")
    assert not (project / ".wasitest" / "results.jsonl").exists()  # refused before any job ran


def test_output_path_that_is_a_folder(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path / "p", ONE_C_SUITE, {"t/a.c": "int main(void){return 0;}"})
    target = tmp_path / "out" / "junit.xml"
    target.mkdir(parents=True)  # a folder where the file should go
    proc = run_cli("run", str(project), "--junit", str(target))
    _assert_one_line_error(proc, ExitCode.OUTPUT, "junit.xml", "it is a folder")


def test_debug_shows_the_traceback(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, "[tool.wasitest]\njbos = 2\n", {})
    proc = run_cli("--debug", "run", str(project))
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_usage_error_exit_code(run_cli: RunCli) -> None:
    proc = run_cli("run", "--jobs", "zero")
    assert proc.returncode == int(ExitCode.USAGE)


def test_runtimes_json(run_cli: RunCli) -> None:
    proc = run_cli("runtimes", "--json")
    assert proc.returncode == 0
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["wasmtime"]["available"] is True
    assert "timeout" in rows["wasmtime"]["capabilities"]
    assert rows["node"]["available"] is (shutil.which("node") is not None)

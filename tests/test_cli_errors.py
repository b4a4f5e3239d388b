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


# issue 16: what a new user meets


TWO_ERRORS = "int helper(int x) {\n  return x + nope;\n}\nint main(void) { return helper(1) == other; }\n"


def test_a_compile_error_shows_every_diagnostic_and_debug_keeps_the_exit_code(
    tmp_path: Path, run_cli: RunCli
) -> None:
    project = write_project(tmp_path, ONE_C_SUITE, {"t/a.c": TWO_ERRORS})
    proc = run_cli("run", str(project))
    _assert_one_line_error(proc, ExitCode.BUILD, "t/a.c failed to build", "'nope'")
    lines = proc.stderr.splitlines()
    for expected in ("t/a.c:2:14: error: use of undeclared identifier 'nope'", "    2 |   return x + nope;",
                     "t/a.c:4:38: error: use of undeclared identifier 'other'",
                     "    4 | int main(void) { return helper(1) == other; }", "2 errors generated."):
        assert expected in lines, proc.stderr
    assert str(project) not in proc.stderr  # paths as the project names them
    debug = run_cli("--debug", "run", str(project))
    assert debug.returncode == int(ExitCode.BUILD)  # not 1: --debug adds, it changes nothing
    assert "Traceback" in debug.stderr and debug.stderr.splitlines()[-1] == lines[-1]


def test_long_diagnostics_are_cut_and_debug_shows_them_all(tmp_path: Path, run_cli: RunCli) -> None:
    body = "".join(f"int f{i}(void) {{ return missing_{i}; }}\n" for i in range(30))
    project = write_project(tmp_path, ONE_C_SUITE + 'flags = ["-ferror-limit=0"]\n', {"t/a.c": body})
    proc = run_cli("run", str(project))
    _assert_one_line_error(proc, ExitCode.BUILD, "--debug shows every line of the compiler's output")
    assert "'missing_19'" in proc.stderr and "'missing_29'" not in proc.stderr
    assert any(line.startswith("... ") and line.endswith(" more line(s)") for line in proc.stderr.splitlines())
    full = run_cli("--debug", "run", str(project))
    assert full.returncode == int(ExitCode.BUILD) and "'missing_29'" in full.stderr and "30 errors" in full.stderr


def test_a_baseline_that_names_no_cell_is_an_error(tmp_path: Path, run_cli: RunCli,
                                                    quickstart_run: tuple[Path, object]) -> None:
    project = write_project(tmp_path, ONE_C_SUITE, {"t/a.c": "int main(void){return 0;}"})
    proc = run_cli("run", str(project), "--runtimes", "wasmtime,node", "--baseline", "nod")
    _assert_one_line_error(proc, ExitCode.USAGE, "baseline 'nod' names no cell", "did you mean 'node'")
    assert not (project / ".wasitest" / "cache" / "build").exists()  # refused before the build
    results = quickstart_run[0] / "results.json"
    report = run_cli("report", str(results), "--baseline", "wasmtim")
    _assert_one_line_error(report, ExitCode.USAGE, "--baseline 'wasmtim' names no cell", "did you mean 'wasmtime'")


def test_patterns_that_match_nothing_are_warnings(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path,
        ONE_C_SUITE + 'xfail = ["a::nope", "a::*"]\n'
        '[[tool.wasitest.expect]]\nruntime = "nod"\ncases = ["a::a"]\naction = "skip"\n'
        '[[tool.wasitest.expect]]\nruntime = "wasmtime"\ncases = ["b::*"]\naction = "xfail"\n',
        {"t/a.c": "int main(void){return 1;}"},
    )
    proc = run_cli("run", str(project), "--cells", "wasmtime,wasmtme*")
    assert proc.returncode == 0, proc.stderr  # a::* holds: the failure was expected
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("wasitest: warning: ")]
    assert warnings == [
        "wasitest: warning: --cells pattern 'wasmtme*' matches no cell (did you mean 'wasmtime'?) (cells: wasmtime)",
        "wasitest: warning: suite 's': xfail pattern(s) 'a::nope' match no case (patterns are ARTIFACT::CASE, "
        "e.g. a::a)",
        "wasitest: warning: expect: case pattern(s) 'b::*' match no case",
        "wasitest: warning: expect: runtime pattern(s) 'nod' (did you mean 'node'?) match no runtime",
    ]


def test_the_command_line_of_a_new_user(tmp_path: Path, run_cli: RunCli) -> None:
    from wasitest import __version__

    assert run_cli("-V").stdout.strip() == f"wasitest {__version__}"
    for args in (("run", "--jobs", "zero"), ("run", "--isolation", "full"), ("run", "--nope"), ("lsit",)):
        proc = run_cli(*args)
        assert proc.returncode == int(ExitCode.USAGE)
        (line,) = proc.stderr.splitlines()
        assert line.startswith("wasitest") and ": error: " in line and line.endswith("--help)"), line
    top = run_cli("--help").stdout
    assert "exit codes:" in top
    for code in ExitCode:
        assert f"\n  {int(code):<4} " in top
    assert "usage: wasitest runtimes [-h] [--json] [install NAME ...]" in run_cli("runtimes", "--help").stdout
    project = write_project(tmp_path, '[tool.wasitest]\nruntimes = ["wasmtime", "node"]\n' + ONE_C_SUITE,
                            {"t/a.c": "int main(void){return 0;}"})
    proc = run_cli("run", str(project), "-j", "0", env={"WASITEST_RUNTIME": "node", "WASITEST_JOBS": "0"})
    assert proc.returncode == 0, proc.stderr  # an unknown variable is not exit 4
    assert ("wasitest: warning: ignoring the unknown environment variable WASITEST_RUNTIME (did you mean "
            "'RUNTIMES'?)") in proc.stderr.splitlines()
    notes = [line for line in proc.stderr.splitlines() if line.startswith("wasitest: note: ")]
    assert notes == ["wasitest: note: ran on wasmtime only (the default runtime); --matrix runs all 2 "
                     "configured cells: wasmtime, node"]
    assert "note:" not in run_cli("run", str(project), "--matrix", "--cells", "wasmtime").stderr


def test_every_option_and_positional_has_help() -> None:
    import argparse

    from wasitest.cli import build_parser
    from wasitest.options import collect_options
    from wasitest.plugin import load_registry

    parser = build_parser(collect_options(load_registry().pm))
    pending, missing = [("wasitest", parser)], []
    while pending:
        name, current = pending.pop()
        for action in current._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend((f"{name} {sub}", p) for sub, p in action.choices.items())
            elif not action.help and action.help != argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []

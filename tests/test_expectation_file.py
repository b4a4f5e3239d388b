"""wasi-testsuite expectation files (TOML, `version = 1`, `[[suite]]` of `[[suite.test]]`
with `action = "skip"` and/or `expected = "fail"`) loaded as wasitest expectations through
`[[tool.wasitest.expect]] file = ...`; a real run on Wasmtime and Node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.harnesses.test_spec_operations import RUN, WAIT, ops, project_of, read, results
from wasitest.config import Expectation, load_settings
from wasitest.errors import ConfigError

NODE_EXPECTATIONS = """version = 1

[[suite]]
name = "WASI ops tests"

# fails on purpose: the spec reads what the module never prints
[[suite.test]]
name = "fails"
expected = "fail"

[[suite.test]]
name = "skipped"
action = "skip"

[[suite.test]]
name = "passes"
expected = "pass"

[[suite]]
name = "a suite this project does not run"

[[suite.test]]
name = "passes"
action = "skip"
"""


def test_a_wasi_testsuite_expectation_file_skips_and_expects_failures(tmp_path: Path, run_cli: RunCli) -> None:
    project = project_of(
        tmp_path / "p",
        {
            "fails": ops({**RUN, "args": ["a"]}, read("stdout", "b\n"), WAIT),
            "skipped": ops(RUN, WAIT),
            "passes": ops({**RUN, "args": ["a"]}, read("stdout", "a\n"), WAIT),
        },
        extra='\n[[tool.wasitest.expect]]\nruntime = "node"\nfile = "expectations/node.toml"\n'
        'suites = { "WASI ops tests" = "ops" }\n',
        files={"expectations/node.toml": NODE_EXPECTATIONS},
    )
    report = project / "wasi-testsuite.json"
    proc = run_cli("run", "--matrix", str(project), "--results", str(project / "r.json"),
                   "--wasi-testsuite", str(report))
    assert proc.returncode == 1, proc.stdout + proc.stderr  # wasmtime has no expectation file: `fails` fails there
    got = {key: (r["outcome"], r.get("expectation", "")) for key, r in results(project / "r.json").items()}
    assert got == {
        ("fails", "node"): ("xfailed", "xfail: expectations/node.toml (WASI ops tests)"),
        ("skipped", "node"): ("skipped", "skip: expectations/node.toml (WASI ops tests)"),
        ("passes", "node"): ("passed", ""),
        ("fails", "wasmtime"): ("failed", ""),
        ("skipped", "wasmtime"): ("passed", ""),
        ("passes", "wasmtime"): ("passed", ""),
    }
    suites = json.loads(report.read_text())["results"]
    counts = {s["runtime"]["name"]: (s["passed"], s["failed"], s["skipped"]) for s in suites}
    assert counts == {"wasmtime": (2, 1, 0), "node": (2, 0, 1)}  # an expected failure counts as a pass


def _settings(tmp_path: Path, expect: str, expectations: str = NODE_EXPECTATIONS) -> tuple[Expectation, ...]:
    (tmp_path / "exp.toml").write_text(expectations)
    (tmp_path / "pyproject.toml").write_text("[[tool.wasitest.expect]]\n" + expect)
    return load_settings(tmp_path, {}).expectations


def test_without_a_mapping_a_test_is_looked_for_in_every_suite(tmp_path: Path) -> None:
    found = _settings(tmp_path, 'runtime = "wamr*"\nfile = "exp.toml"\nreason = "known in wamr 2.2"\n')
    assert found == (
        Expectation("wamr*", ("*/fails::fails",), "xfail", "known in wamr 2.2"),
        Expectation("wamr*", ("*/skipped::skipped",), "skip", "known in wamr 2.2"),
        Expectation("wamr*", ("*/passes::passes",), "skip", "known in wamr 2.2"),
    )
    bracketed = '[[suite]]\nname = "x"\n[[suite.test]]\nname = "odd[1]"\naction = "skip"\n'
    (only,) = _settings(tmp_path, 'runtime = "node"\nfile = "exp.toml"\n', bracketed)
    assert only.cases == ("*/odd[[]1]::odd[[]1]",)  # a test name is matched as it is, not as a pattern


@pytest.mark.parametrize(
    ("expect", "file", "message"),
    [
        ('runtime = "node"\nfile = "missing.toml"\n', None, "[tool.wasitest].expect[1].file: cannot read"),
        ('runtime = "node"\nfile = "exp.toml"\ncases = ["x"]\n', None, "`cases` does not go with `file`"),
        ('file = "exp.toml"\n', None, "needs `runtime` and `file`"),
        ('runtime = "node"\ncases = ["x"]\nsuites = { a = "b" }\n', None, "`suites` goes with `file`"),
        ('runtime = "node"\nfile = "exp.toml"\nsuites = { "nope" = "ops" }\n', None, "exp.toml has no suite 'nope'"),
        ('runtime = "node"\nfile = "exp.toml"\n', "version = 2\n", "expectation file version 2"),
        ('runtime = "node"\nfile = "exp.toml"\n', '[[suite]]\nname = "s"\n[[suite.test]]\nname = "t"\n',
         "test 't': expected action = \"skip\" and/or expected = \"fail\""),
        ('runtime = "node"\nfile = "exp.toml"\n', '[[suite]]\nname = "s"\n[[suite.test]]\nname = "t"\naction = "run"\n',
         "test 't': expected action"),
        ('runtime = "node"\nfile = "exp.toml"\n', "[[suite]]\n", "expected [[suite]] tables, each with a string"),
        ('runtime = "node"\nfile = "exp.toml"\n', "version = ", "is not valid TOML"),
    ],
)
def test_a_bad_expectation_file_is_a_config_error(tmp_path: Path, expect: str, file: str | None, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _settings(tmp_path, expect, file if file is not None else NODE_EXPECTATIONS)
    assert message in str(info.value)


def test_a_bad_expectation_file_stops_the_run_with_the_config_exit_code(tmp_path: Path, run_cli: RunCli) -> None:
    project = project_of(
        tmp_path / "p",
        {"t": ops(RUN, WAIT)},
        extra='\n[[tool.wasitest.expect]]\nruntime = "node"\nfile = "exp.toml"\n',
        files={"exp.toml": "version = 2\n"},
    )
    proc = run_cli("run", str(project))
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert proc.stderr.startswith("wasitest: error: ") and "expectation file version 2" in proc.stderr

"""The JUnit `file` and `line` of real failures, one real example project per toolchain:
Go's `t.Errorf` line, a Rust panic, an AssemblyScript check. Each names a file of the
project at the line of the failing check, so a dashboard's link lands on it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest
import xmlschema

from tests.conftest import DATA, copy_example
from wasitest.plugins.reporters.junit_read import LocatedTestCase
from wasitest.results import load_results

#: example -> (artifact, testcase name, file, line, text on that line)
FAILURES = {
    "go-test": ("unit/strutil", "TestTitleBroken[wasmtime]", "strutil/strutil_test.go", 21, "t.Errorf(\"Title"),
    "rust-libtest": ("rust/textkit", "tests::counts_letters[wasmtime]", "src/lib.rs", 70, "letters, not bytes"),
    "assemblyscript": ("as/text", "slugifies[wasmtime]", "tests/text.ts", 12, 'slugify("Hello, World")'),
}


@pytest.mark.parametrize("example", sorted(FAILURES))
def test_a_real_failure_points_at_its_line(example: str, tmp_path: Path) -> None:
    project = copy_example(example, tmp_path)
    junit = project / "junit.xml"
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("WASITEST_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", str(project), "--runtimes", "wasmtime", "--junit", str(junit),
         "--results", str(project / "results.json"), "-q"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    if proc.returncode not in (0, 1) and "install" in proc.stderr and not os.environ.get("CI"):
        pytest.skip(proc.stderr.strip().splitlines()[-1])  # a toolchain this machine lacks
    assert proc.returncode == 1, proc.stderr  # each example fails one case on purpose
    artifact, name, file, line, text = FAILURES[example]
    xmlschema.XMLSchema(DATA / "junit-wasitest.xsd").validate(junit)
    (case,) = [
        LocatedTestCase.fromelem(c)
        for suite in junitparser.JUnitXml.fromfile(str(junit))
        for c in suite
        if (suite.name, c.classname, c.name) == ("wasmtime", artifact, name)
    ]
    assert (case.file, case.line) == (file, line)
    assert text in (project / file).read_text(encoding="utf-8").splitlines()[line - 1]
    assert case.result[0].text.startswith(f"{file}:{line}")
    (result,) = [r for r in load_results(project / "results.json").results if f"{r.case}[{r.cell}]" == name]
    assert (result.file, result.line) == (file, line)  # results.json carries the place too

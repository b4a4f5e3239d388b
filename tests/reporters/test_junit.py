"""JUnit that every dashboard reads in full: no `(classname, name)` pair twice in a file,
the cell in the name, `file` and `line` where a harness located the result, a `FILE:LINE:`
frame in the failure text, and a file that validates against the project's schema
(tests/data/junit-wasitest.xsd: the Jenkins schema plus those two attributes)."""

from __future__ import annotations

import difflib
import re
import subprocess
from pathlib import Path

import junitparser
import pytest
import xmlschema

from tests.conftest import DATA
from wasitest.diff import find_divergences
from wasitest.model import Cell, Outcome, Result
from wasitest.plugins.reporters.junit import write_junit
from wasitest.plugins.reporters.junit_read import LocatedTestCase, render_junit
from wasitest.results import ResultsDocument

DIVERGENT = "excl_create_refuses_dangling_symlink"
SCHEMA = DATA / "junit-wasitest.xsd"
JENKINS = DATA / "junit-10.xsd"


def _cases(path: Path) -> dict[tuple[str, str, str], LocatedTestCase]:
    """Every testcase by (suite, classname, name), with its `file` and `line` readable."""
    return {
        (suite.name, case.classname, case.name): LocatedTestCase.fromelem(case)
        for suite in junitparser.JUnitXml.fromfile(str(path))
        for case in suite
    }


def _code(path: Path) -> list[str]:
    """The schema's lines without its comments and blank lines."""
    return [line for line in re.sub(r"<!--.*?-->", "", path.read_text(), flags=re.S).splitlines() if line.strip()]


def test_the_schema_is_jenkins_plus_file_and_line() -> None:
    diff = list(difflib.ndiff(_code(JENKINS), _code(SCHEMA)))
    assert not [line for line in diff if line.startswith("- ")]  # nothing of the Jenkins schema is gone
    assert [line[2:].strip() for line in diff if line.startswith("+ ")] == [
        '<xs:attribute name="file" type="xs:string"/>',
        '<xs:attribute name="line" type="xs:nonNegativeInteger"/>',
    ]


def test_a_real_run_names_every_job_once_and_locates_its_failure(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    project, _ = quickstart_run
    junit = project / "junit.xml"
    xmlschema.XMLSchema(SCHEMA).validate(junit)
    cases = _cases(junit)
    pairs = [(classname, name) for _, classname, name in cases]
    assert len(pairs) == len(set(pairs))
    for suite, _, name in cases:
        assert suite == "divergences" or name.endswith(f"[{suite}]")
    failing = cases[("node", "unit/files", f"{DIVERGENT}[node]")]
    assert (failing.file, failing.line) == ("tests/files.c", 55)
    (failure,) = failing.result
    assert failure.text.startswith("tests/files.c:55: check failed: fd == -1")
    passing = cases[("wasmtime", "unit/files", f"{DIVERGENT}[wasmtime]")]
    assert passing.is_passed and passing.file is None and passing.line is None
    divergence = cases[("divergences", "unit/files", DIVERGENT)]
    assert (divergence.file, divergence.line) == ("tests/files.c", 55)  # where the cell that differs failed
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="file"):
        xmlschema.XMLSchema(JENKINS).validate(junit)  # the Jenkins schema has no place for them


def _document(*results: Result) -> ResultsDocument:
    cells = list(dict.fromkeys(r.cell for r in results))
    document = ResultsDocument(cells=[Cell(c) for c in cells], results=list(results))
    document.divergences = find_divergences(document.results)
    return document


def test_without_a_place_the_jenkins_schema_still_applies(tmp_path: Path) -> None:
    document = _document(
        Result("u/a", "adds", "wasmtime", Outcome.PASSED),
        Result("u/a", "adds", "node", Outcome.FAILED, message="exit code 1"),
        Result("u/a", "skips", "node", Outcome.SKIPPED, message="later"),
    )
    write_junit(document, tmp_path / "j.xml")
    xmlschema.XMLSchema(JENKINS).validate(tmp_path / "j.xml")
    xmlschema.XMLSchema(SCHEMA).validate(tmp_path / "j.xml")


def test_a_go_message_gets_the_full_path_in_its_frame(tmp_path: Path) -> None:
    result = Result(
        "unit/strutil", "TestTitle", "node", Outcome.FAILED,
        message='strutil_test.go:21: Title("go") = "Go", want "GO"', file="strutil/strutil_test.go", line=21,
    )
    skipped = Result("unit/strutil", "TestNet", "node", Outcome.SKIPPED, message="strutil_test.go:49: no network",
                     file="strutil/strutil_test.go", line=49)
    write_junit(_document(result, skipped), tmp_path / "j.xml")
    xmlschema.XMLSchema(SCHEMA).validate(tmp_path / "j.xml")
    cases = _cases(tmp_path / "j.xml")
    failed = cases[("node", "unit/strutil", "TestTitle[node]")]
    (failure,) = failed.result
    assert failure.message == 'strutil_test.go:21: Title("go") = "Go", want "GO"'  # the message as it was
    assert failure.text.splitlines()[0] == 'strutil/strutil_test.go:21: Title("go") = "Go", want "GO"'
    skip = cases[("node", "unit/strutil", "TestNet[node]")]
    assert (skip.file, skip.line) == ("strutil/strutil_test.go", 49) and skip.is_skipped


def test_a_file_without_a_line_is_a_frame_too(tmp_path: Path) -> None:
    result = Result("spec/args", "args", "node", Outcome.FAILED, message="exit code 1, expected 0",
                    file="probes/args.json")
    write_junit(_document(result), tmp_path / "j.xml")
    case = _cases(tmp_path / "j.xml")[("node", "spec/args", "args[node]")]
    assert (case.file, case.line) == ("probes/args.json", None)
    assert case.result[0].text.startswith("probes/args.json: exit code 1, expected 0")


def test_names_that_collide_anyway_are_numbered() -> None:
    document = _document(
        Result("u/a", "adds[node]", "node", Outcome.PASSED),  # a case named like another's job
        Result("u/a", "adds", "node", Outcome.PASSED),
        Result("u/a", "adds[node]", "wasmtime", Outcome.PASSED),
    )
    document.results.append(Result("u/a", "adds", "node", Outcome.PASSED))  # the same job twice (a bad merge)
    xml = render_junit(document)
    pairs = [(c.classname, c.name) for suite in xml for c in suite]
    assert len(pairs) == len(set(pairs)) == 4
    assert ("u/a", "adds[node] #2") in pairs

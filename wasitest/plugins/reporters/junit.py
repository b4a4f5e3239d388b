"""JUnit XML, rendered from the results document: one `<testsuite>` per cell.

Naming: a testcase's `classname` is the artifact and its `name` the case followed by its
cell in brackets, `excl_create[node]`, as the pytest plugin names the same job (and pytest
a parametrized test). No `(classname, name)` pair repeats within a file, because the
readers key a testcase by it, not by its `<testsuite>`: GitLab shows only the first
testcase of a pair, mikepenz/action-junit-report (`check_retries`) takes a repeated name
for a retry, and EnricoMi's publisher folds repeats into runs of one test. With the cell in
the name every cell's result stays its own test in all of them, and the classname still
groups a case's cells under its artifact. docs/results-schema.md has the details.

Where a harness located a result (`file`, `line`: the failed check, the panic), its
testcase carries the `file` and `line` attributes (as pytest's xunit1 family, GitLab and
the GitHub publishers read them), and its failure text starts with a `FILE:LINE: message`
frame for readers that parse text.

Outcome mapping: failed, trapped, timeout and xpassed are `<failure type=OUTCOME>`;
crashed and error are `<error>`; skipped, unsupported and xfailed are `<skipped>` whose
message starts with the outcome. Retries (Maven Surefire's convention): a flaky case
passes with one `<flakyFailure>` per failed attempt; a case that failed every attempt
has its `<failure>` and one `<rerunFailure>` per earlier attempt.

Divergences reach JUnit readers as one more `<testsuite name="divergences">` with a
testcase per divergent case (classname the artifact, name the case): a `<failure
type="divergence">` when the run fails on divergences (`--fail-on-divergence`), else a
`<skipped message="divergence: ...">`, so a dashboard counts them either way.

The XML validates against the Jenkins xUnit schema that pytest's own test suite uses,
extended with the testcase's `file` and `line` attributes (tests/data/junit-wasitest.xsd);
a file with no located result validates against the Jenkins schema itself.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from junitparser import Attr, Error, Failure, IntAttr, JUnitXml, Skipped, TestSuite
from junitparser.xunit2 import FlakyFailure, RerunFailure, TestCase

from wasitest.config import Settings
from wasitest.model import Outcome, Result
from wasitest.options import OptionParser
from wasitest.plugin import hookimpl
from wasitest.results import ResultsDocument, write_text_atomically

TAIL_LINES = 40
_FAILURE = {Outcome.FAILED, Outcome.TRAPPED, Outcome.TIMEOUT, Outcome.XPASSED}
_ERROR = {Outcome.CRASHED, Outcome.ERROR}
_SKIPPED = {Outcome.SKIPPED, Outcome.UNSUPPORTED, Outcome.XFAILED}
#: a message that starts with its own place, `FILE:LINE: text`
_PLACED = re.compile(r"^(?P<file>\S+):(?P<line>\d+): (?P<text>.*)$")


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-TAIL_LINES:])


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; a test's output may hold any."""
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 0x20 else f"\\x{ord(ch):02x}" for ch in text)


class LocatedTestCase(TestCase):
    """A `<testcase>` with the `file` and `line` attributes of where it failed or skipped."""

    file = Attr()
    line = IntAttr()


def testcase_name(case: str, cell: str) -> str:
    """A job's testcase name: the case, then its cell in brackets (`adds[node]`)."""
    return f"{case}[{cell}]"


def _frame(result: Result) -> str:
    """`FILE:LINE` (or `FILE`) of a located result; "" when it has no place."""
    if not result.file:
        return ""
    return f"{result.file}:{result.line}" if result.line > 0 else result.file


def _locate(case: LocatedTestCase, results: list[Result]) -> None:
    for result in results:
        if result.file:
            case.file = _clean(result.file)
            if result.line > 0:
                case.line = result.line
            return


def _testcase(result: Result) -> TestCase:
    case = LocatedTestCase(
        _clean(testcase_name(result.case, result.cell)), _clean(result.artifact), round(result.duration_s, 3)
    )
    _locate(case, [result])
    message = _clean(result.message.splitlines()[0] if result.message else result.outcome.value)
    body = _clean(_tail(result.stderr) if result.stderr else result.message)
    frame = _clean(_frame(result))
    if frame and not body.startswith(f"{frame}:"):
        said = _PLACED.match(message)  # Go's `x_test.go:21: msg`: the frame names the place in full
        same = said and result.file.endswith(said["file"]) and int(said["line"]) == result.line
        body = f"{frame}: {said['text'] if said and same else message}" + (f"\n{body}" if body else "")
    if result.outcome in _FAILURE:
        case.result = [Failure(message, result.outcome.value)]
        case.result[0].text = body
    elif result.outcome in _ERROR:
        case.result = [Error(message, result.outcome.value)]
        case.result[0].text = body
    elif result.outcome in _SKIPPED:
        prefix = "" if result.outcome is Outcome.SKIPPED else f"{result.outcome.value}: "
        case.result = [Skipped(prefix + message)]
    for attempt in result.attempts:
        kind = FlakyFailure if result.outcome is Outcome.FLAKY else RerunFailure
        first = str(attempt.get("message") or attempt.get("outcome", "failed")).splitlines()
        case.add_interim_result(kind(_clean(first[0] if first else "failed"), str(attempt.get("outcome", "failed"))))
    if result.stdout:
        case.system_out = _clean(_tail(result.stdout))
    if result.stderr:
        case.system_err = _clean(_tail(result.stderr))
    return case


def _divergence_suite(document: ResultsDocument, fail: bool) -> TestSuite:
    suite = TestSuite("divergences")
    suite.add_property("cells", ", ".join(c.id for c in document.cells))
    for divergence in document.divergences:
        case = LocatedTestCase(_clean(divergence.case), _clean(divergence.artifact), 0.0)
        _locate(case, [r for r in divergence.results if r.cell in divergence.differing] or list(divergence.results))
        text = f"{divergence.scope} divergence ({divergence.kind}): {divergence.detail}"
        if divergence.expected:
            text = "expected " + text
        if fail and divergence.fails:
            case.result = [Failure(_clean(text.splitlines()[0][:500]), "divergence")]
            case.result[0].text = _clean(text)
        else:
            case.result = [Skipped(_clean(text.splitlines()[0][:500]))]
        case.system_out = _clean("\n".join(f"{r.cell}: {r.outcome.value}" + (f" (exit {r.exit_code})"
                                 if r.exit_code is not None else "") for r in divergence.results))
        suite.append(case)
    suite.update_statistics()
    return suite


def render_junit(document: ResultsDocument, fail_on_divergence: bool = False) -> JUnitXml:
    xml = JUnitXml("wasitest")
    hostname = socket.gethostname()
    for cell in document.cells:
        suite = TestSuite(cell.id)
        if document.started:
            suite.timestamp = document.started
        suite.hostname = hostname
        for name, value in (("runtime", cell.runtime), ("runtime_version", cell.runtime_version), ("host", cell.host)):
            suite.add_property(name, value)
        for result in document.results:
            if result.cell == cell.id:
                suite.append(_testcase(result))  # add_testcase recounts the suite: quadratic
        suite.update_statistics()
        suite.time = round(sum(r.duration_s for r in document.results if r.cell == cell.id), 3)
        xml.add_testsuite(suite)
    if document.divergences:
        xml.add_testsuite(_divergence_suite(document, fail_on_divergence))
    _make_unique(xml)
    # <testsuites> takes no `skipped` in the schema, so its counts are set by hand
    xml.tests = sum(s.tests for s in xml)
    xml.failures = sum(s.failures for s in xml)
    xml.errors = sum(s.errors for s in xml)
    xml.time = round(sum(s.time for s in xml), 3)
    return xml


def _make_unique(xml: JUnitXml) -> None:
    """Number a `(classname, name)` pair seen before in the file (`adds[node] #2`). The
    naming makes pairs unique already; this keeps the promise for names that collide
    anyway (a case literally named `adds[node]` beside `adds` in the cell `node`)."""
    seen: set[tuple[str, str]] = set()
    for suite in xml:
        for case in suite:
            name, number = case.name, 1
            while (case.classname, name) in seen:
                number += 1
                name = f"{case.name} #{number}"
            case.name = name
            seen.add((case.classname, name))


def write_junit(document: ResultsDocument, path: Path, fail_on_divergence: bool = False) -> None:
    xml = render_junit(document, fail_on_divergence)
    text = xml.tostring().decode("utf-8")
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + text
    write_text_atomically(path, text)


class JUnitReporter:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def wasitest_run_end(self, summary: Any) -> None:
        settings = summary.settings
        write_junit(summary.document, self.path, bool(settings and settings.fail_on_divergence))


def _factory(settings: Settings) -> JUnitReporter | None:
    path = settings.extra.get("junit")
    return JUnitReporter(Path(path)) if path else None


@hookimpl
def wasitest_addoption(parser: OptionParser) -> None:
    parser.add_option("--junit", kind="output", key="junit", env="JUNIT", help="write JUnit XML here")


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("junit", _factory)

"""JUnit XML, rendered from the results document: one `<testsuite>` per cell.

Outcome mapping: failed, trapped, timeout and xpassed are `<failure type=OUTCOME>`;
crashed and error are `<error>`; skipped, unsupported and xfailed are `<skipped>` whose
message starts with the outcome. The XML validates against the Jenkins xUnit schema that
pytest's own test suite uses.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite

from wasitest.config import Settings
from wasitest.model import Outcome, Result
from wasitest.plugin import hookimpl
from wasitest.results import ResultsDocument, write_text_atomically

TAIL_LINES = 40
_FAILURE = {Outcome.FAILED, Outcome.TRAPPED, Outcome.TIMEOUT, Outcome.XPASSED}
_ERROR = {Outcome.CRASHED, Outcome.ERROR}
_SKIPPED = {Outcome.SKIPPED, Outcome.UNSUPPORTED, Outcome.XFAILED}


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-TAIL_LINES:])


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; a test's output may hold any."""
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 0x20 else f"\\x{ord(ch):02x}" for ch in text)


def _testcase(result: Result) -> TestCase:
    case = TestCase(_clean(result.case), _clean(result.artifact), round(result.duration_s, 3))
    message = _clean(result.message.splitlines()[0] if result.message else result.outcome.value)
    body = _clean(_tail(result.stderr) if result.stderr else result.message)
    if result.outcome in _FAILURE:
        case.result = [Failure(message, result.outcome.value)]
        case.result[0].text = body
    elif result.outcome in _ERROR:
        case.result = [Error(message, result.outcome.value)]
        case.result[0].text = body
    elif result.outcome in _SKIPPED:
        prefix = "" if result.outcome is Outcome.SKIPPED else f"{result.outcome.value}: "
        case.result = [Skipped(prefix + message)]
    if result.stdout:
        case.system_out = _clean(_tail(result.stdout))
    if result.stderr:
        case.system_err = _clean(_tail(result.stderr))
    return case


def render_junit(document: ResultsDocument) -> JUnitXml:
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
                suite.add_testcase(_testcase(result))
        suite.update_statistics()
        suite.time = round(sum(r.duration_s for r in document.results if r.cell == cell.id), 3)
        xml.add_testsuite(suite)
    # <testsuites> takes no `skipped` in the schema, so its counts are set by hand
    xml.tests = sum(s.tests for s in xml)
    xml.failures = sum(s.failures for s in xml)
    xml.errors = sum(s.errors for s in xml)
    xml.time = round(sum(s.time for s in xml), 3)
    return xml


def write_junit(document: ResultsDocument, path: Path) -> None:
    xml = render_junit(document)
    text = xml.tostring().decode("utf-8")
    if not text.startswith("<?xml"):
        text = '<?xml version="1.0" encoding="utf-8"?>\n' + text
    write_text_atomically(path, text)


class JUnitReporter:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def wasitest_run_end(self, summary: Any) -> None:
        write_junit(summary.document, self.path)


def _factory(settings: Settings) -> JUnitReporter | None:
    return JUnitReporter(settings.junit) if settings.junit else None


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("junit", _factory)

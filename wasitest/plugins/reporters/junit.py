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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

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
#: what XML text, and an attribute's value besides, cannot hold as it is (ElementTree's
#: escaping, as junitparser wrote it)
_TEXT_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ATTR_ENTITIES = (*_TEXT_ENTITIES, ('"', "&quot;"), ("\n", "&#10;"), ("\r", "&#13;"), ("\t", "&#09;"))


def _escape(text: str, entities: tuple[tuple[str, str], ...] = _TEXT_ENTITIES) -> str:
    """`text` with each of `entities` replaced (`&` first). Not xml.sax.saxutils: it
    imports urllib.request, which every command would pay for, since plugins load first."""
    for raw, entity in entities:
        if raw in text:
            text = text.replace(raw, entity)
    return text


def _tail(text: str) -> str:
    return "\n".join(text.splitlines()[-TAIL_LINES:])


#: the control characters XML 1.0 cannot carry (all below 0x20 but tab, newline, return)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _clean(text: str) -> str:
    """XML 1.0 cannot carry most control characters; a test's output may hold any. (A
    regular expression: a report of 200,000 results cleans a million strings, nearly
    all of them clean.)"""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def testcase_name(case: str, cell: str) -> str:
    """A job's testcase name: the case, then its cell in brackets (`adds[node]`)."""
    return f"{case}[{cell}]"


def _frame(result: Result) -> str:
    """`FILE:LINE` (or `FILE`) of a located result; "" when it has no place."""
    if not result.file:
        return ""
    return f"{result.file}:{result.line}" if result.line > 0 else result.file


def _attrs(pairs: Iterable[tuple[str, object]]) -> str:
    """` name="value"` for each pair whose value is not None, escaped for an attribute."""
    return "".join(
        f' {name}="{_escape(_clean(str(value)), _ATTR_ENTITIES)}"' for name, value in pairs if value is not None
    )


def _element(tag: str, attrs: Iterable[tuple[str, object]], text: str | None = None) -> str:
    if not text:
        return f"<{tag}{_attrs(attrs)} />"
    return f"<{tag}{_attrs(attrs)}>{_escape(_clean(text))}</{tag}>"


def _place(results: Iterable[Result]) -> list[tuple[str, object]]:
    """The `file` and `line` attributes of the first located result."""
    for result in results:
        if result.file:
            return [("file", result.file), ("line", result.line if result.line > 0 else None)]
    return []


def _testcase(result: Result, name: str) -> str:
    """One `<testcase>` (named `name`, made unique by the caller)."""
    message = result.message.splitlines()[0] if result.message else result.outcome.value
    body = _tail(result.stderr) if result.stderr else result.message
    frame = _frame(result)
    if frame and not body.startswith(f"{frame}:"):
        said = _PLACED.match(message)  # Go's `x_test.go:21: msg`: the frame names the place in full
        same = said and result.file.endswith(said["file"]) and int(said["line"]) == result.line
        body = f"{frame}: {said['text'] if said and same else message}" + (f"\n{body}" if body else "")
    children = []
    if result.outcome in _FAILURE:
        children.append(_element("failure", [("message", message), ("type", result.outcome.value)], body))
    elif result.outcome in _ERROR:
        children.append(_element("error", [("message", message), ("type", result.outcome.value)], body))
    elif result.outcome in _SKIPPED:
        prefix = "" if result.outcome is Outcome.SKIPPED else f"{result.outcome.value}: "
        children.append(_element("skipped", [("message", prefix + message)]))
    for attempt in result.attempts:
        kind = "flakyFailure" if result.outcome is Outcome.FLAKY else "rerunFailure"
        first = str(attempt.get("message") or attempt.get("outcome", "failed")).splitlines()
        interim: list[tuple[str, object]] = [("message", first[0] if first else "failed"),
                                             ("type", str(attempt.get("outcome", "failed")))]
        children.append(_element(kind, interim))
    if result.stdout:
        children.append(_element("system-out", [], _tail(result.stdout)))
    if result.stderr:
        children.append(_element("system-err", [], _tail(result.stderr)))
    attrs: list[tuple[str, object]] = [("name", name), ("classname", result.artifact),
                                       ("time", round(result.duration_s, 3)), *_place([result])]
    return f"<testcase{_attrs(attrs)}>{''.join(children)}</testcase>" if children else f"<testcase{_attrs(attrs)} />"


class _Names:
    """Numbers a `(classname, name)` pair seen before in the file (`adds[node] #2`). The
    naming makes pairs unique already; this keeps the promise for names that collide
    anyway (a case literally named `adds[node]` beside `adds` in the cell `node`)."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def unique(self, classname: str, name: str) -> str:
        found, number = name, 1
        while f"{classname}\0{found}" in self._seen:
            number += 1
            found = f"{name} #{number}"
        self._seen.add(f"{classname}\0{found}")
        return found


def _counts(outcomes: Iterable[Outcome]) -> dict[str, int]:
    """A `<testsuite>`'s counts of its testcases by kind (JUnit's, not wasitest's outcomes)."""
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for outcome in outcomes:
        counts["tests"] += 1
        if outcome in _FAILURE:
            counts["failures"] += 1
        elif outcome in _ERROR:
            counts["errors"] += 1
        elif outcome in _SKIPPED:
            counts["skipped"] += 1
    return counts


def _properties(pairs: Iterable[tuple[str, str]]) -> str:
    found = "".join(_element("property", [("name", name), ("value", value)]) for name, value in pairs)
    return f"<properties>{found}</properties>"


def _divergence_suite(document: ResultsDocument, fail: bool, names: _Names) -> Iterator[str]:
    failing = 0
    cases = []
    for divergence in document.divergences:
        name = names.unique(divergence.artifact, divergence.case)
        place = _place([r for r in divergence.results if r.cell in divergence.differing] or divergence.results)
        text = f"{divergence.scope} divergence ({divergence.kind}): {divergence.detail}"
        if divergence.expected:
            text = "expected " + text
        if fail and divergence.fails:
            failing += 1
            verdict = _element("failure", [("message", text.splitlines()[0][:500]), ("type", "divergence")], text)
        else:
            verdict = _element("skipped", [("message", text.splitlines()[0][:500])])
        out = "\n".join(f"{r.cell}: {r.outcome.value}" + (f" (exit {r.exit_code})" if r.exit_code is not None else "")
                        for r in divergence.results)  # fmt: skip
        attrs = [("name", name), ("classname", divergence.artifact), ("time", 0.0), *place]
        cases.append(f"<testcase{_attrs(attrs)}>{verdict}{_element('system-out', [], out)}</testcase>")
    total = len(document.divergences)
    counts = [("tests", total), ("errors", 0), ("failures", failing), ("skipped", total - failing), ("time", 0.0)]
    yield f"<testsuite{_attrs([('name', 'divergences'), *counts])}>"
    yield _properties([("cells", ", ".join(c.id for c in document.cells))])
    yield from cases
    yield "</testsuite>"


def junit_chunks(document: ResultsDocument, fail_on_divergence: bool = False) -> Iterator[str]:
    """The JUnit XML of the document, in pieces: one `<testsuite>` per cell, then the
    divergences' suite. Written as text, a testcase at a time: building the tree first
    (junitparser, ElementTree) took 10 s and a few hundred MB for 200,000 results."""
    hostname = socket.gethostname()
    by_cell: dict[str, list[Result]] = {cell.id: [] for cell in document.cells}
    for result in document.results:
        if result.cell in by_cell:
            by_cell[result.cell].append(result)
    suites = []
    for cell in document.cells:
        results = by_cell[cell.id]
        counts = _counts(r.outcome for r in results)
        suites.append((cell, results, counts, round(sum(r.duration_s for r in results), 3)))
    divergent_failures = sum(1 for d in document.divergences if fail_on_divergence and d.fails)
    root = [
        ("name", "wasitest"),
        ("tests", sum(s[2]["tests"] for s in suites) + len(document.divergences)),
        ("failures", sum(s[2]["failures"] for s in suites) + divergent_failures),
        ("errors", sum(s[2]["errors"] for s in suites)),
        ("time", round(sum(s[3] for s in suites), 3)),
    ]
    yield '<?xml version="1.0" encoding="utf-8"?>\n'
    yield f"<testsuites{_attrs(root)}>"
    names = _Names()
    for cell, results, counts, seconds in suites:
        head = [("name", cell.id), ("timestamp", document.started or None), ("hostname", hostname),
                *counts.items(), ("time", seconds)]  # fmt: skip
        yield f"<testsuite{_attrs(head)}>"
        yield _properties([("runtime", cell.runtime), ("runtime_version", cell.runtime_version), ("host", cell.host)])
        for result in results:
            yield _testcase(result, names.unique(result.artifact, testcase_name(result.case, result.cell)))
        yield "</testsuite>"
    if document.divergences:
        yield from _divergence_suite(document, fail_on_divergence, names)
    yield "</testsuites>\n"


def write_junit(document: ResultsDocument, path: Path, fail_on_divergence: bool = False) -> None:
    write_text_atomically(path, junit_chunks(document, fail_on_divergence))


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

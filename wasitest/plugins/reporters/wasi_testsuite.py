"""wasi-testsuite's runner result format (its `--json-output-location` file), rendered from
the results document, so that a runtime maintainer can use wasitest as their wasi-testsuite
runner: `wasitest run --wasi-testsuite FILE`, or `wasitest report --wasi-testsuite FILE
results.json` for a run already done (`wasi_testsuite = FILE` in `[tool.wasitest]`,
`WASITEST_WASI_TESTSUITE`).

The document is the one the reference runner's JSON reporter writes:

    {"execution": {"start_timestamp": "2026-12-06T10:00:00.000Z", "finish_timestamp": "..."},
     "results": [{"name": SUITE, "runtime": {"name": RUNTIME, "version": VERSION},
                  "duration_s": S, "failed": N, "skipped": N, "passed": N,
                  "tests": [{"name": TEST, "executed": true, "duration_s": S,
                             "wasi_functions": [], "failures": ["..."]}]}]}

with one entry of `results` per suite and cell (the runner's runs one runtime; a matrix
has more, each entry naming its own). The suite is wasitest's suite name (a suite named
after its manifest, `[tool.wasitest.suites."WASI C tests"]`, gives wasi-testsuite's), the
runtime is the cell's id (its runtime's name, unless the cell has a host, world or
options), a test is the case (`ARTIFACT::CASE` where the two differ). `wasi_functions` is
informational in wasi-testsuite and always empty there too.

Outcomes: passed and flaky pass; skipped and unsupported are not executed (skipped);
xfailed counts as passed and xpassed as failed (the reference runner's rule for its
expectation files), and every other outcome fails, its message in `failures`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasitest.config import Settings
from wasitest.model import Outcome, Result
from wasitest.options import OptionParser
from wasitest.plugin import hookimpl
from wasitest.results import ResultsDocument, write_text_atomically

_PASSED = {Outcome.PASSED, Outcome.FLAKY, Outcome.XFAILED}
_NOT_EXECUTED = {Outcome.SKIPPED, Outcome.UNSUPPORTED}


def timestamp(iso: str) -> str:
    """`2026-12-06T10:00:00+00:00` as the reference runner writes times: UTC, milliseconds,
    `Z` (`2026-12-06T10:00:00.000Z`); now, for a document that has no time."""
    try:
        moment = datetime.datetime.fromisoformat(iso)
    except ValueError:
        moment = datetime.datetime.now(datetime.UTC)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _test(result: Result, artifact_name: str) -> dict[str, Any]:
    failures: list[str] = []
    if result.outcome not in _NOT_EXECUTED and result.outcome not in {Outcome.PASSED, Outcome.FLAKY}:
        message = result.message or result.outcome.value
        failures.append(message if result.outcome is Outcome.FAILED else f"{result.outcome.value}: {message}")
    executed = result.outcome not in _NOT_EXECUTED
    return {
        "name": result.case if result.case == artifact_name else f"{artifact_name}::{result.case}",
        "executed": executed,
        "duration_s": round(result.duration_s, 6) if executed else 0,
        "wasi_functions": [],
        "failures": failures,
    }


def render_wasi_testsuite(document: ResultsDocument) -> dict[str, Any]:
    """The reference runner's JSON result document for `document`."""
    artifacts = {str(a.get("id")): (str(a.get("suite")), str(a.get("name"))) for a in document.artifacts}

    def suite_and_name(artifact_id: str) -> tuple[str, str]:
        """From the document's artifacts; an id is `SUITE/NAME` when they lack it."""
        suite, _, name = artifact_id.partition("/")
        return artifacts.get(artifact_id, (suite, name))

    entries: list[dict[str, Any]] = []
    for cell in document.cells:
        suites: dict[str, list[Result]] = {}
        for result in document.results:
            if result.cell == cell.id:
                suites.setdefault(suite_and_name(result.artifact)[0], []).append(result)
        for suite, results in suites.items():
            tests = [_test(result, suite_and_name(result.artifact)[1]) for result in results]
            entries.append(
                {
                    "name": suite,
                    "runtime": {"name": cell.id, "version": cell.runtime_version},
                    # of the durations as results.json keeps them: `report` renders the same file
                    "duration_s": round(sum(round(r.duration_s, 6) for r in results), 6),
                    "failed": sum(r.outcome not in _PASSED | _NOT_EXECUTED for r in results),
                    "skipped": sum(r.outcome in _NOT_EXECUTED for r in results),
                    "passed": sum(r.outcome in _PASSED for r in results),
                    "tests": tests,
                }
            )
    return {
        "execution": {
            "start_timestamp": timestamp(document.started),
            "finish_timestamp": timestamp(document.finished or document.started),
        },
        "results": entries,
    }


class WasiTestsuiteReporter:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def wasitest_run_end(self, summary: Any) -> None:
        write_text_atomically(self.path, json.dumps(render_wasi_testsuite(summary.document), indent=1) + "\n")


def _factory(settings: Settings) -> WasiTestsuiteReporter | None:
    path = settings.extra.get("wasi_testsuite")
    return WasiTestsuiteReporter(Path(path)) if path else None


@hookimpl
def wasitest_addoption(parser: OptionParser) -> None:
    parser.add_option(
        "--wasi-testsuite",
        kind="output",
        key="wasi_testsuite",
        env="WASI_TESTSUITE",
        help="write the results in wasi-testsuite's runner JSON format here",
    )


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("wasi-testsuite", _factory)

"""Writes `results.json`, the document every other report can be rendered from again.

Written on every run: to `--results`/`results =` if given, else `.wasitest/results.json`.
`report` and `merge` (a summary with no plan: the document came from files) write it only
where `--results` says, never over the project's own.

`results` is a core setting, not this plugin's option: `wasitest github` and the runner
read it too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasitest.config import Settings
from wasitest.plugin import hookimpl
from wasitest.results import write_results


class ResultsJsonReporter:
    def __init__(self, path: Path | None, default: Path) -> None:
        self.path = path
        self.default = default

    @hookimpl(tryfirst=True)  # the data first: every other report can be rebuilt from it
    def wasitest_run_end(self, summary: Any) -> None:
        path = self.path or (self.default if summary.plan is not None else None)
        if path is not None:
            write_results(summary.document, path)


def _factory(settings: Settings) -> ResultsJsonReporter:
    return ResultsJsonReporter(settings.results, settings.work_dir / "results.json")


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("results-json", _factory)

"""Writes `results.json`, the document every other report can be rendered from again.

Written on every run: to `--results`/`results =` if given, else `.wasitest/results.json`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasitest.config import Settings
from wasitest.plugin import hookimpl
from wasitest.results import write_results


class ResultsJsonReporter:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl(tryfirst=True)  # the data first: every other report can be rebuilt from it
    def wasitest_run_end(self, summary: Any) -> None:
        write_results(summary.document, self.path)


def _factory(settings: Settings) -> ResultsJsonReporter:
    return ResultsJsonReporter(settings.results or settings.work_dir / "results.json")


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("results-json", _factory)

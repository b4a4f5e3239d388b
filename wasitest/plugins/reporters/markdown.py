"""The `markdown` reporter: the Markdown summary (`wasitest.markdown`) written to a file,
e.g. `--markdown "$GITHUB_STEP_SUMMARY"` for a CI step summary.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from wasitest.config import Settings
from wasitest.markdown import render_markdown
from wasitest.options import OptionParser
from wasitest.plugin import hookimpl
from wasitest.results import ResultsDocument, write_text_atomically


def write_markdown(document: ResultsDocument, path: Path) -> None:
    write_text_atomically(path, render_markdown(document))


class MarkdownReporter:
    def __init__(self, path: Path) -> None:
        self.path = path

    @hookimpl
    def wasitest_run_end(self, summary: Any) -> None:
        write_markdown(summary.document, self.path)


def _factory(settings: Settings) -> MarkdownReporter | None:
    path = settings.extra.get("markdown")
    return MarkdownReporter(Path(path)) if path else None


@hookimpl
def wasitest_addoption(parser: OptionParser) -> None:
    parser.add_option("--markdown", kind="output", help="write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("markdown", _factory)

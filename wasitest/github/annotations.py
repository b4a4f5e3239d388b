"""Failures and divergences as annotations, placed at a source line where one is known.

One annotation per failing case (its cells listed together), one per divergence, one per
flaky case. The place is, in order: the `file`/`line` a harness recorded on a result; a
`FILE:LINE:` at the start of a line of the case's message or output (as `wasitest.h`'s
`CHECK` prints), when that file exists in the project; else the line of the
suite's table in the project's config file, which is where the test is declared.

A step shows at most 10 annotations of each level, so `for_step` keeps 9 and folds the
rest into a tenth. The Checks API takes any number, 50 per request (see checks.py).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest.model import Outcome, Result
from wasitest.results import ResultsDocument

STEP_LIMIT = 10
_LOCATION = re.compile(r"^\s*(?P<file>[\w./\\-]+\.\w+):(?P<line>\d+):")
_LEVELS = ("error", "warning", "notice")
_CHECK_LEVEL = {"error": "failure", "warning": "warning", "notice": "notice"}
_TITLE_MAX = 255
_TEXT_MAX = 60_000


@dataclass(frozen=True)
class Annotation:
    level: str  # "error" | "warning" | "notice"
    title: str
    message: str
    #: relative to the repository's root, with `/` separators; "" when no place is known
    path: str = ""
    line: int = 0
    details: str = ""


class Locator:
    """Finds where in the repository a case lives."""

    def __init__(self, project_dir: Path, workspace: Path) -> None:
        self.project_dir = project_dir.resolve()
        self.workspace = workspace.resolve()
        self.config_file = next(
            (f for f in (self.project_dir / "wasitest.toml", self.project_dir / "pyproject.toml") if f.is_file()), None
        )
        self._config_lines = (
            self.config_file.read_text(encoding="utf-8", errors="replace").splitlines() if self.config_file else []
        )

    def _relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.workspace).as_posix()
        except ValueError:
            return ""

    def _existing(self, name: str) -> str:
        candidate = Path(name)
        for base in (
            (candidate,) if candidate.is_absolute() else (self.project_dir / candidate, self.workspace / candidate)
        ):
            if base.is_file():
                return self._relative(base)
        return ""

    def _suite_line(self, suite: str) -> int:
        header = re.compile(
            r"^\s*\[\s*(?:tool\.wasitest\.)?suites\.(?:" + re.escape(suite) + r'|"' + re.escape(suite) + r'")\s*\]'
        )
        return next((n for n, text in enumerate(self._config_lines, start=1) if header.match(text)), 1)

    def locate(self, results: Sequence[Result]) -> tuple[str, int]:
        for r in results:
            if r.file:
                path = self._existing(r.file) or self._relative(self.project_dir / r.file)
                if path:
                    return path, r.line
        for r in results:
            for text in (r.message, r.stderr, r.stdout):
                for line in text.splitlines()[:200]:
                    match = _LOCATION.match(line)
                    if match:
                        path = self._existing(match.group("file"))
                        if path:
                            return path, int(match.group("line"))
        if self.config_file is not None and results:
            path = self._relative(self.config_file)
            if path:
                return path, self._suite_line(results[0].artifact.split("/", 1)[0])
        return "", 0


def _first_lines(text: str, count: int = 3) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    more = f"\n… {len(lines) - count} more line(s)" if len(lines) > count else ""
    return "\n".join(line[:300] for line in lines[:count]) + more


def _details(results: Iterable[Result]) -> str:
    parts = []
    for r in results:
        body = "\n".join((r.stderr or r.stdout).splitlines()[-40:])
        parts.append(f"[{r.cell}] {r.outcome.value}" + (f"\n{body}" if body else ""))
    return "\n\n".join(parts)[:_TEXT_MAX]


def collect(document: ResultsDocument, locator: Locator | None = None) -> list[Annotation]:
    """Every annotation of a results document: failures, then divergences, then flaky cases."""
    found: list[Annotation] = []

    def place(results: Sequence[Result]) -> tuple[str, int]:
        return locator.locate(results) if locator is not None else ("", 0)

    failing: dict[tuple[str, str], list[Result]] = defaultdict(list)
    flaky: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in document.results:
        if r.outcome.is_failure:
            failing[(r.artifact, r.case)].append(r)
        elif r.outcome is Outcome.FLAKY:
            flaky[(r.artifact, r.case)].append(r)
    for (artifact, case), results in failing.items():
        cells = ", ".join(f"{r.cell} ({r.outcome.value})" for r in results)
        message = _first_lines(next((r.message for r in results if r.message), "")) or "no message"
        path, line = place(results)
        found.append(
            Annotation("error", f"{artifact}::{case} failed on {cells}", message, path, line, _details(results))
        )
    for d in document.divergences:
        path, line = place([r for r in d.results if r.cell in d.differing] or list(d.results))
        cells = ", ".join(f"{r.cell}: {r.outcome.value}" for r in d.results)
        title = f"{d.artifact}::{d.case}: {d.scope} divergence ({d.kind})" + (" (expected)" if d.expected else "")
        found.append(
            Annotation(
                "notice" if d.expected else "warning", title, f"{d.detail}\n{cells}", path, line, _details(d.results)
            )
        )
    for (artifact, case), results in flaky.items():
        path, line = place(results)
        cells = ", ".join(r.cell for r in results)
        found.append(
            Annotation(
                "warning",
                f"{artifact}::{case} is flaky on {cells}",
                _first_lines(results[0].message) or "failed, then passed when retried",
                path,
                line,
            )
        )
    return found


def for_step(annotations: Sequence[Annotation], limit: int = STEP_LIMIT) -> list[Annotation]:
    """What one step can show: per level, up to `limit`; past that, `limit - 1` and a last
    annotation that names the rest."""
    kept: list[Annotation] = []
    for level in _LEVELS:
        mine = [a for a in annotations if a.level == level]
        if len(mine) <= limit:
            kept += mine
            continue
        rest = mine[limit - 1 :]
        names = "\n".join(a.title for a in rest[:50]) + (f"\n… and {len(rest) - 50} more" if len(rest) > 50 else "")
        kept += mine[: limit - 1]
        kept.append(Annotation(level, f"{len(rest)} more {level} annotation(s): see the job summary", names))
    return kept


def workflow_properties(annotation: Annotation) -> dict[str, str | int | None]:
    return {"file": annotation.path or None, "line": annotation.line or None, "title": annotation.title[:_TITLE_MAX]}


def to_check_annotation(annotation: Annotation) -> dict[str, Any]:
    """The Checks API form. Only annotations with a place can be sent (`path` is required)."""
    data: dict[str, Any] = {
        "path": annotation.path,
        "start_line": annotation.line or 1,
        "end_line": annotation.line or 1,
        "annotation_level": _CHECK_LEVEL[annotation.level],
        "title": annotation.title[:_TITLE_MAX],
        "message": annotation.message[:_TEXT_MAX] or annotation.title[:_TITLE_MAX],
    }
    if annotation.details:
        data["raw_details"] = annotation.details
    return data


def with_places(annotations: Sequence[Annotation]) -> list[Annotation]:
    return [a for a in annotations if a.path]

"""The canonical `results.json` document: everything every report is rendered from.

Schema `wasitest-results`, version 1 (documented in docs/results-schema.md). Readers refuse
other schemas and newer major versions with a clear error.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wasitest import __version__
from wasitest.diff import Divergence, find_divergences
from wasitest.errors import ExitCode, InputError, OutputError
from wasitest.files import write_atomically
from wasitest.jsontext import spaced
from wasitest.model import Cell, Outcome, Result
from wasitest.runner.journal import read_journal

SCHEMA = "wasitest-results"
VERSION = 2


@dataclass
class ResultsDocument:
    cells: list[Cell]
    results: list[Result]
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    divergences: list[Divergence] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    interrupted: bool = False
    stats: dict[str, Any] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    #: what was built (see `Built.bundle_id`): merge refuses documents of different bundles
    bundle_id: str = ""

    def counts(self) -> dict[str, dict[str, int]]:
        """Per cell, the number of results by outcome."""
        table: dict[str, dict[str, int]] = {c.id: {} for c in self.cells}
        # counted by (cell, outcome) first: an enum's `.value` costs more than a count
        for (cell, outcome), count in Counter((r.cell, r.outcome) for r in self.results).items():
            table.setdefault(cell, {})[outcome.value] = count
        return table

    def outcomes(self) -> set[Outcome]:
        """The outcomes any result has."""
        return {r.outcome for r in self.results}

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.outcome.is_failure]

    def to_json(self) -> dict[str, Any]:
        return {
            **self._head(),
            "results": [r.to_json() for r in self.results],
            "divergences": [d.to_json() for d in self.divergences],
        }

    def _head(self) -> dict[str, Any]:
        """Every member of the document but its results and divergences, in its order."""
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "wasitest_version": __version__,
            "started": self.started,
            "finished": self.finished,
            "interrupted": self.interrupted,
            "bundle_id": self.bundle_id,
            "cells": [c.to_json() for c in self.cells],
            "unavailable": self.unavailable,
            "artifacts": self.artifacts,
            "stats": self.stats,
        }

    def json_chunks(self) -> Iterator[str]:
        """The document as `to_json` has it, in pieces of text: a run of 200,000 results is
        written without holding them all as JSON objects, nor the whole text (together
        three times the memory of the results themselves). Results and artifacts are one
        a line, each on one line by the C encoder (`jsontext`); the other members are indented
        (an indented `json.dumps` runs the pure-Python encoder: for thousands of artifacts,
        most of the report's time)."""
        members: dict[str, Any] = {
            **self._head(),
            "results": None,  # one a line, below
            "divergences": [d.to_json() for d in self.divergences],
        }
        for number, (key, value) in enumerate(members.items()):
            yield ("{\n " if number == 0 else ",\n ") + json.dumps(key) + ": "
            if key == "results":
                yield from _one_a_line(result.to_json() for result in self.results)
            elif key == "artifacts":
                yield from _one_a_line(self.artifacts)
            else:
                yield json.dumps(value, indent=1).replace("\n", "\n ")
        yield "\n}\n"

    @classmethod
    def from_json(cls, data: Any, source: str = "results.json") -> ResultsDocument:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise InputError(
                f"{source} is not a wasitest results document",
                "pass a results.json written by `wasitest run --results`",
            )
        version = data.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise InputError(
                f"{source} has results schema version {version!r}; this wasitest reads {VERSION}", "upgrade wasitest"
            )
        try:
            cells = [Cell.from_json(c) for c in data["cells"]]
            results = [Result.from_json(r) for r in data["results"]]
            divergences = [Divergence.from_json(d, results) for d in data.get("divergences", [])]
            return cls(
                cells=cells,
                results=results,
                artifacts=list(data.get("artifacts", [])),
                divergences=divergences,
                started=str(data.get("started", "")),
                finished=str(data.get("finished", "")),
                interrupted=bool(data.get("interrupted", False)),
                stats=dict(data.get("stats", {})),
                unavailable=dict(data.get("unavailable", {})),
                bundle_id=str(data.get("bundle_id", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"{source} is damaged: {type(exc).__name__}: {exc}",
                "re-run the job, or rebuild it from results.jsonl with `wasitest report`",
            ) from None

    def recompute_divergences(self) -> None:
        self.divergences = find_divergences(self.results)


def exit_code_for(document: ResultsDocument, fail_on_divergence: bool) -> ExitCode:
    if document.interrupted:
        return ExitCode.INTERRUPTED
    if document.failures():
        return ExitCode.TESTS_FAILED
    if fail_on_divergence and any(d.fails for d in document.divergences):
        return ExitCode.DIVERGENCE
    return ExitCode.OK


def load_results(path: Path) -> ResultsDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}", "check the path") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}", "pass a results.json written by wasitest") from None
    return ResultsDocument.from_json(data, str(path))


def write_text_atomically(path: Path, text: str | Iterable[str]) -> None:
    """Write a report (or its pieces, one after the other) so that a reader never sees half
    of it (`files.write_atomically`); a failure is an `OutputError`."""
    try:
        write_atomically(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}", "choose a writable path") from None


def check_writable(path: Path) -> None:
    """Fail before a run, not after it, when an output cannot be written."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if path.is_dir() or not folder.is_dir() or not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: {'it is a folder' if path.is_dir() else 'its folder is not writable'}",
                          "choose a writable path")


def _one_a_line(items: Iterable[Any]) -> Iterator[str]:
    """A JSON array, one item a line (at the document's second level)."""
    empty = True
    for item in items:
        yield ("[\n  " if empty else ",\n  ") + spaced(item)
        empty = False
    yield "[]" if empty else "\n ]"


def write_results(document: ResultsDocument, path: Path) -> None:
    write_text_atomically(path, document.json_chunks())


def outcome_counts(results: Sequence[Result]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    return counts


def document_from_journal(path: Path) -> ResultsDocument:
    """A results document rebuilt from the journal a run streamed, e.g. after a hard kill:
    every job that finished is there; the run is marked interrupted when it has no end."""
    header, results = read_journal(path)
    try:
        cells = [Cell.from_json(c) for c in header.get("cells", [])]
    except (KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: damaged journal header: {exc}", "pass the results.jsonl a run wrote") from None
    return ResultsDocument(cells=cells, results=results, started=str(header.get("started", "")),
                           interrupted=_interrupted(path),
                           bundle_id=str(header.get("bundle_id", "")),
                           artifacts=list(header.get("artifacts", [])))


def _interrupted(path: Path) -> bool:
    """A journal that ends without its end marker, or whose marker says so, was interrupted."""
    try:
        last = json.loads(path.read_text(encoding="utf-8").rstrip().rsplit("\n", 1)[-1])
        return not (isinstance(last, dict) and last.get("end") and not last.get("interrupted"))
    except (OSError, ValueError):
        return True

"""The results journal: one JSON line per finished job, flushed as it is written, so an
interrupted or killed run still has a record of everything that finished."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from wasitest.errors import InputError, OutputError
from wasitest.jsontext import compact
from wasitest.model import Result, job_id


class Journal:
    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle: IO[str] = path.open("w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(
                f"cannot write the journal {path}: {exc.strerror}", "choose a writable folder with --journal"
            ) from None
        self._write({"journal": "wasitest", **header})

    def _write(self, data: dict[str, Any]) -> None:
        self._handle.write(compact(data) + "\n")
        self._handle.flush()

    def append(self, result: Result) -> None:
        self._write(result.to_json())

    def close(self, interrupted: bool = False, output_varies: Sequence[str] = ()) -> None:
        """End the journal with a marker line: a journal without one was cut short. It
        names the jobs whose output came out different when run again (`output_varies`,
        known only after the results: the confirmation reruns them), so that reports
        made from the journal compare as the run did."""
        marker: dict[str, Any] = {"end": True, "interrupted": interrupted}
        if output_varies:
            marker["output_varies"] = list(output_varies)
        self._write(marker)
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()


def _lines(path: Path) -> Iterator[str]:
    """The journal's lines, read as they are needed: a journal of 200,000 results is tens
    of megabytes, more than the rest of a run needs at once."""
    try:
        with path.open(encoding="utf-8") as handle:
            yield from handle
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the journal {path}: {exc}") from None


def _header(path: Path, rows: Iterator[str]) -> dict[str, Any]:
    try:
        header = json.loads(next(rows))
    except (StopIteration, ValueError):
        raise InputError(f"{path} is not a wasitest journal", "pass the results.jsonl a run wrote") from None
    if not isinstance(header, dict) or header.get("journal") != "wasitest":
        raise InputError(f"{path} is not a wasitest journal", "pass the results.jsonl a run wrote")
    return header


def _records(rows: Iterator[str], ends: bool = False) -> Iterator[dict[str, Any]]:
    """The result lines as JSON objects (and the end markers, with `ends`); a line cut
    short by a hard kill is ignored."""
    for line in rows:
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and (ends or not data.get("end")):
            yield data


def read_journal(path: Path) -> tuple[dict[str, Any], list[Result]]:
    """The header and every complete line; a line cut short by a hard kill is ignored."""
    rows = _lines(path)
    header = _header(path, rows)
    results = []
    varies: set[str] = set()
    for data in _records(rows, ends=True):
        if data.get("end"):
            with contextlib.suppress(TypeError):
                varies.update(str(name) for name in data.get("output_varies", []))
            continue
        try:
            results.append(Result.from_json(data))
        except (ValueError, KeyError, TypeError):
            continue
    if varies:
        results = [replace(r, output_varies=True) if r.job_id in varies else r for r in results]
    return header, results


def journal_durations(path: Path) -> dict[str, float]:
    """How long each job took, by job id, from a journal; and each batch run, by `batch_id`
    (results read from a batch have a share of its time, not their own). Only durations
    are kept: this is read before every run, and the results themselves would cost a run's
    worth of memory."""
    rows = _lines(path)
    _header(path, rows)
    durations: dict[str, float] = {}
    for data in _records(rows):
        try:  # the fields, not a whole `Result` each: this is on every run's way to its first job
            duration = float(data.get("duration_s", 0.0))
            if not data.get("batched"):
                durations[job_id(data["artifact"], data["case"], data["cell"])] = duration
            elif "/" not in data["case"]:  # a case's share of its batch (a subcase has its own time)
                key = batch_id(data["artifact"], data["cell"])
                durations[key] = durations.get(key, 0.0) + duration
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return durations


def batch_id(artifact: str, cell: str) -> str:
    """What a batch run of an artifact's cases in a cell is known by in `journal_durations`
    (the sum of its cases' shares: about how long the batch took)."""
    return f"{artifact}[{cell}]"


def journal_end(path: Path) -> str:
    """How a journal ends: "complete" (its end marker), "interrupted" (a marker that says
    so, or none after the last whole line: the run was stopped between two results, by
    Ctrl-C or a kill), or "truncated" (its last line is cut short: the file was cut, or
    its writer died in the middle of a line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the journal {path}: {exc}") from None
    last = text.rstrip("\n").rsplit("\n", 1)[-1]
    try:
        data = json.loads(last)
    except ValueError:
        return "truncated"
    if not text.endswith("\n"):
        return "truncated"
    if isinstance(data, dict) and data.get("end"):
        return "interrupted" if data.get("interrupted") else "complete"
    return "interrupted"

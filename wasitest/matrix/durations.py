"""How long each job took in an earlier run: what `--shard K/N --durations FILE` balances by.

`load_durations` reads any of wasitest's own records of a run, whatever the file is called:
a `results.json` (of a run, or of `merge`), a `results.jsonl` journal (even of an
interrupted run), a JUnit file (`<testsuite name=CELL>`, `classname` the artifact, `name`
the case, with or without its `[CELL]`), or the small durations file that `wasitest matrix
--github --durations` writes into a bundle (`DURATIONS_FILE`), so that every shard that
runs the bundle balances by the same numbers.

Durations are keyed by job id, `ARTIFACT::CASE[CELL]`. `merge` renames a cell seen on
two platforms to `CELL@PLATFORM`; such a job also counts under its plain cell id, at the
mean of its platforms, so the next run's shards (whose cells have no platform in their
id) find it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wasitest.errors import InputError
from wasitest.model import Result
from wasitest.results import ResultsDocument, document_from_journal, write_text_atomically

#: the file in a bundle folder that its shards balance by
DURATIONS_FILE = "durations.json"
SCHEMA = "wasitest-durations"
#: the JUnit testsuite that holds divergences, not jobs
_DIVERGENCES = "divergences"


def load_durations(path: Path) -> dict[str, float]:
    """Seconds by job id from `path` (see the module's docstring). InputError when the file
    cannot be read or is none of those formats."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read durations from {path}: {exc}",
                         "pass a results.json, journal or JUnit file") from None
    if text.lstrip().startswith("<"):
        return _from_junit(text, path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _from_results(document_from_journal(path))  # a journal: one JSON document a line
    if isinstance(data, dict) and data.get("schema") == SCHEMA:
        return _from_durations_file(data, path)
    if isinstance(data, dict) and data.get("journal") == "wasitest":
        return _from_results(document_from_journal(path))  # a journal of one line, its header
    return _from_results(ResultsDocument.from_json(data, str(path)))


def write_durations(path: Path, durations: Mapping[str, float], source: str) -> None:
    """The durations file a bundle carries; `source` says where they came from."""
    document = {"schema": SCHEMA, "version": 1, "source": source,
                "durations": {job: round(seconds, 6) for job, seconds in sorted(durations.items())}}
    write_text_atomically(path, json.dumps(document, indent=1) + "\n")


def _from_results(document: ResultsDocument) -> dict[str, float]:
    renamed = {c.id: _plain_cell(c.id, c.platform) for c in document.cells if c.platform and c.host == c.platform}
    return _with_plain_cells([(r.job_id, _plain_job(r, renamed), r.duration_s) for r in document.results])


def _plain_cell(cell_id: str, platform: str) -> str:
    """The id a cell had before `merge` split it by platform: `wasmtime` for `wasmtime@linux-x86_64`."""
    return cell_id.replace(f"@{platform}", "", 1)


def _plain_job(result: Result, renamed: Mapping[str, str]) -> str:
    plain = renamed.get(result.cell)
    return f"{result.artifact}::{result.case}[{plain}]" if plain else ""


def _with_plain_cells(rows: list[tuple[str, str, float]]) -> dict[str, float]:
    """Each job's seconds by its id, and by its plain id at the mean of its platforms
    (an exact id wins over a plain one)."""
    durations = {job: seconds for job, _, seconds in rows}
    by_plain: dict[str, list[float]] = defaultdict(list)
    for _, plain, seconds in rows:
        if plain:
            by_plain[plain].append(seconds)
    for plain, platforms in by_plain.items():
        durations.setdefault(plain, sum(platforms) / len(platforms))
    return durations


def _from_junit(text: str, path: Path) -> dict[str, float]:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise InputError(f"{path} is not well-formed XML: {exc}", "pass a JUnit file that wasitest wrote") from None
    durations: dict[str, float] = {}
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    for suite in suites:
        cell = suite.get("name") or ""
        if not cell or cell == _DIVERGENCES:
            continue
        for case in suite.iter("testcase"):
            name, artifact = case.get("name") or "", case.get("classname") or ""
            name = name.removesuffix(f"[{cell}]")
            try:
                seconds = float(case.get("time") or 0.0)
            except ValueError:
                continue
            durations[f"{artifact}::{name}[{cell}]"] = seconds
    return durations


def _from_durations_file(data: Mapping[str, Any], path: Path) -> dict[str, float]:
    table = data.get("durations")
    if not isinstance(table, dict) or not all(isinstance(v, (int, float)) for v in table.values()):
        raise InputError(f"{path}: `durations` must be a table of seconds by job id", "write it with wasitest matrix")
    return {str(job): float(seconds) for job, seconds in table.items()}

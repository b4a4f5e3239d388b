"""Merging the results of many shards and machines into one document.

Documents must come from the same build (equal bundle ids). A cell id seen on two
platforms (`wasmtime` on a Linux and on a macOS runner) is split by platform
(`wasmtime@linux-x86_64`, `wasmtime@macos-arm64`), so the diff can tell a host divergence
from a runtime divergence. A job present in two documents is refused: the same shard was
given twice.

Shards from any CI merge alike: a shard's results.json records its slice (`stats.shard`,
`K/N`, whether given as `--shard K/N` or found by `--shard auto`), and the merged
document lists the slices it holds (`stats.shards`); `missing_shards` names the slices of
an N that none of the documents is (a shard whose job died before writing its results).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from wasitest.diff import find_divergences
from wasitest.errors import InputError
from wasitest.model import Cell, Result
from wasitest.results import ResultsDocument


def _platform_cell(cell: Cell) -> Cell:
    return replace(cell, host=cell.platform or cell.host)


def merge_documents(named: Sequence[tuple[str, ResultsDocument]]) -> ResultsDocument:
    if not named:
        raise InputError("nothing to merge", "pass one or more results.json files")
    bundles = {doc.bundle_id for _, doc in named}
    if len(bundles) > 1:
        first, other = named[0], next(n for n in named if n[1].bundle_id != named[0][1].bundle_id)
        raise InputError(
            f"{first[0]} and {other[0]} come from different builds (bundle {first[1].bundle_id or 'none'} "
            f"vs {other[1].bundle_id or 'none'})",
            "merge only the results of one `wasitest build --out` bundle",
        )
    platforms: dict[str, set[str]] = {}
    for _, doc in named:
        for cell in doc.cells:
            platforms.setdefault(cell.id, set()).add(cell.platform)
    split = {cid for cid, seen in platforms.items() if len(seen) > 1}

    cells: dict[str, Cell] = {}
    results: list[Result] = []
    seen_jobs: dict[str, str] = {}
    for name, doc in named:
        rename = {c.id: (_platform_cell(c) if c.id in split else c) for c in doc.cells}
        for cell in rename.values():
            cells.setdefault(cell.id, cell)
        for result in doc.results:
            renamed = rename.get(result.cell)
            moved = replace(result, cell=renamed.id) if renamed else result
            if moved.job_id in seen_jobs:
                raise InputError(f"job {moved.job_id} is in both {seen_jobs[moved.job_id]} and {name}",
                                 "pass each shard's results.json once")
            seen_jobs[moved.job_id] = name
            results.append(moved)
    merged = ResultsDocument(
        cells=list(cells.values()), results=results,
        artifacts=list({a["id"]: a for _, d in named for a in d.artifacts}.values()),
        started=min((d.started for _, d in named if d.started), default=""),
        finished=max((d.finished for _, d in named if d.finished), default=""),
        interrupted=any(d.interrupted for _, d in named),
        stats={"merged_from": len(named), "jobs": len(results), **_shards(named)},
        unavailable={k: v for _, d in named for k, v in d.unavailable.items()},
        bundle_id=next(iter(bundles)),
    )
    merged.divergences = find_divergences(merged.results)
    return merged


def _shards(named: Sequence[tuple[str, ResultsDocument]]) -> dict[str, list[str]]:
    shards = sorted({str(d.stats["shard"]) for _, d in named if d.stats.get("shard")}, key=_shard_key)
    return {"shards": shards} if shards else {}


def _shard_key(text: str) -> tuple[int, int]:
    index, _, count = text.partition("/")
    return (int(count), int(index)) if index.isdigit() and count.isdigit() else (0, 0)


def missing_shards(document: ResultsDocument) -> list[str]:
    """The `K/N` slices none of the merged documents was, for each N they name; across
    runners every runner's slices count together, so one runner's lost slice is found only
    when no other runner ran that slice either."""
    seen = {_shard_key(str(s)) for s in document.stats.get("shards", [])}
    counts = {count for count, _ in seen if count}
    return [f"{k}/{n}" for n in sorted(counts) for k in range(1, n + 1) if (n, k) not in seen]

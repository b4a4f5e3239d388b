"""Deterministic sharding: `--shard K/N` keeps the jobs whose stable hash of case and cell
falls in slice K. The hash depends only on the names, so every machine computes the same
slices, and the N slices together hold every job exactly once."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from wasitest.errors import UsageError
from wasitest.model import Job

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as people write it
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, case_id: str, cell_id: str) -> bool:
        digest = hashlib.sha256(f"{case_id}\0{cell_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def parse_shard(text: str) -> Shard:
    match = _SHARD.match(text)
    if not match:
        raise UsageError(f"--shard expects K/N, got {text!r}", "e.g. --shard 2/4 runs the second of four slices")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text}: K must be between 1 and N", "e.g. --shard 1/4 ... --shard 4/4")
    return Shard(index, count)


def select(jobs: Sequence[Job], shard: Shard | None) -> list[Job]:
    if shard is None:
        return list(jobs)
    return [job for job in jobs if shard.holds(job.case.id, job.cell.id)]

"""Deterministic sharding: `--shard K/N` keeps slice K of N of the planned jobs.

By default a job's slice is a stable hash of its case and cell: it depends only on the
names, so every machine computes the same slices, and the N slices together hold every
job exactly once. The hash spreads jobs evenly by count, not by time: a slice that draws
the few long cases takes longest, and the CI waits for it.

With durations from an earlier run (`--durations`, see `wasitest.matrix.durations`), the
slices are balanced by time instead (`balance`): the jobs with a known duration go,
longest first, each to the slice with the least work so far (the LPT rule, within 4/3 of
the best possible split); the jobs with none are spread by the same stable hash, each
counted at the median known duration, before that. The assignment depends only on the
job ids and the durations, never on the order jobs were planned in, so every shard given
the same inputs computes the same split, and it is still a partition of the jobs.
"""

from __future__ import annotations

import hashlib
import heapq
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from wasitest.errors import UsageError
from wasitest.model import Job

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as people write it
    count: int
    #: seconds each job took before, by job id: when given, `select` balances by time
    durations: Mapping[str, float] = field(default_factory=dict, compare=False, repr=False)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, case_id: str, cell_id: str) -> bool:
        """Whether the stable hash puts this job in this slice."""
        return hash_slot(case_id, cell_id, self.count) == self.index - 1


def hash_slot(case_id: str, cell_id: str, count: int) -> int:
    """The 0-based slice of `count` that the stable hash of case and cell picks."""
    digest = hashlib.sha256(f"{case_id}\0{cell_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> Shard:
    match = _SHARD.match(text)
    if not match:
        raise UsageError(f"--shard expects K/N, got {text!r}", "e.g. --shard 2/4 runs the second of four slices")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise UsageError(f"--shard {text}: K must be between 1 and N", "e.g. --shard 1/4 ... --shard 4/4")
    return Shard(index, count)


def balance(jobs: Sequence[Job], count: int, durations: Mapping[str, float]) -> dict[str, int]:
    """The 0-based slice of each job (by id), balancing the slices' total time (see the
    module's docstring)."""
    known = sorted(
        ((max(0.0, float(durations[job.id])), job.id) for job in jobs if job.id in durations),
        key=lambda item: (-item[0], item[1]),
    )
    import statistics  # only when sharding: not on every command's way in

    estimate = statistics.median(d for d, _ in known) if known else 0.0
    loads = [0.0] * count
    slots: dict[str, int] = {}
    for job in sorted((j for j in jobs if j.id not in durations), key=lambda j: j.id):
        slot = hash_slot(job.case.id, job.cell.id, count)
        slots[job.id] = slot
        loads[slot] += estimate
    heap = [(load, slot) for slot, load in enumerate(loads)]
    heapq.heapify(heap)
    for seconds, job_id in known:
        if job_id in slots:
            continue  # the same job planned twice: one slice
        load, slot = heapq.heappop(heap)
        slots[job_id] = slot
        heapq.heappush(heap, (load + seconds, slot))
    return slots


def select(jobs: Sequence[Job], shard: Shard | None) -> list[Job]:
    if shard is None:
        return list(jobs)
    if shard.durations:
        slots = balance(jobs, shard.count, shard.durations)
        return [job for job in jobs if slots[job.id] == shard.index - 1]
    return [job for job in jobs if shard.holds(job.case.id, job.cell.id)]

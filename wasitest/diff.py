"""Divergence analysis: the same case behaving differently in different cells.

Cells are compared on what a test author would call behaviour: the outcome first, then
the exit code, the trap kind, and the output after normalisation (timings and addresses
vary from run to run and are masked). `unsupported` cells did not run and are left out.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wasitest.model import Outcome, Result

_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s)\b"), "<duration>"),
    (re.compile(r"\b0x[0-9a-fA-F]{4,}\b"), "<address>"),
)

KINDS = ("outcome", "exit_code", "trap", "output")


def normalise(text: str) -> str:
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class Divergence:
    artifact: str
    case: str
    kind: str
    results: tuple[Result, ...]
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "case": self.case,
            "kind": self.kind,
            "detail": self.detail,
            "cells": {
                r.cell: {"outcome": r.outcome.value, "exit_code": r.exit_code, "trap": r.trap} for r in self.results
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], results: Sequence[Result]) -> Divergence:
        mine = tuple(r for r in results if r.artifact == data["artifact"] and r.case == data["case"])
        return cls(data["artifact"], data["case"], data["kind"], mine, data.get("detail", ""))


def _describe(result: Result) -> str:
    if result.trap:
        return f"{result.outcome.value} (trap: {result.trap})"
    if result.exit_code is not None:
        return f"{result.outcome.value} (exit {result.exit_code})"
    return result.outcome.value


def _first_difference(a: str, b: str) -> str:
    left, right = a.splitlines(), b.splitlines()
    for number, (x, y) in enumerate(zip(left, right, strict=False), start=1):
        if x != y:
            return f"line {number}: {x[:80]!r} vs {y[:80]!r}"
    return f"{len(left)} vs {len(right)} lines"


def _classify(results: Sequence[Result]) -> tuple[str, str] | None:
    ran = [r for r in results if r.outcome is not Outcome.UNSUPPORTED]
    if len(ran) < 2:
        return None
    summary = "; ".join(f"{r.cell}: {_describe(r)}" for r in ran)
    if len({r.outcome for r in ran}) > 1:
        failing = next((r for r in ran if r.message and r.outcome is not Outcome.PASSED), None)
        why = f" — {failing.cell}: {failing.message.splitlines()[0][:160]}" if failing else ""
        return "outcome", summary + why
    if len({r.exit_code for r in ran}) > 1:
        return "exit_code", summary
    if len({r.trap for r in ran}) > 1:
        return "trap", summary
    outputs = {r.cell: normalise(r.stdout) + "\0" + normalise(r.stderr) for r in ran}
    if len(set(outputs.values())) > 1:
        first, *rest = ran
        other = next(r for r in rest if outputs[r.cell] != outputs[first.cell])
        which = "stdout" if normalise(first.stdout) != normalise(other.stdout) else "stderr"
        a, b = (first.stdout, other.stdout) if which == "stdout" else (first.stderr, other.stderr)
        return "output", f"{which} differs between {first.cell} and {other.cell}: {_first_difference(a, b)}"
    return None


def find_divergences(results: Iterable[Result]) -> list[Divergence]:
    by_case: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for result in results:
        by_case[(result.artifact, result.case)].append(result)
    found = []
    for (artifact, case), group in by_case.items():
        classified = _classify(group)
        if classified:
            kind, detail = classified
            found.append(Divergence(artifact, case, kind, tuple(sorted(group, key=lambda r: r.cell)), detail))
    return found

"""Divergence analysis: the same case behaving differently in different cells.

Cells are compared on what a test author would call behaviour: the outcome first, then
the exit code, the trap kind, and the output after normalisation (timings, addresses and
the user's own patterns are masked). `unsupported` cells did not run and are left out;
an expected failure counts as the failure it is, so a per-runtime expectation marks a
divergence as expected rather than hiding it.

An output divergence is confirmed before it is reported: its jobs run again (`rerun`),
and a cell whose output changes from one run to the next marks its result `output_varies`;
such a divergence has the scope *nondeterministic* and fails no run.

Scope: a divergence between cells of the same runtime, host and options that differ only
in their world (a p1 module against its p2 component) is a *world* divergence; between
cells of the same runtime (and options) on different hosts a *host* divergence (the CPU or
OS matters); any other is a *runtime* divergence.
With a baseline cell, every cell is compared against it alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wasitest.model import Outcome, Result

BUILTIN_NORMALISERS: tuple[tuple[str, str], ...] = (
    (r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|s)\b", "<duration>"),
    (r"\(\d+(?:\.\d+)?s\)", "(<duration>)"),
    # host addresses (64-bit); a wasm32 pointer or a NaN's bits (8 digits) are behaviour
    (r"\b0x[0-9a-fA-F]{9,}\b", "<address>"),
)

KINDS = ("outcome", "exit_code", "trap", "output")

#: how an outcome behaves, whatever was expected of it
_BEHAVIOUR = {Outcome.XFAILED: "failed", Outcome.XPASSED: "passed"}


@dataclass(frozen=True)
class DiffOptions:
    normalisers: tuple[tuple[str, str], ...] = BUILTIN_NORMALISERS
    baseline: str | None = None
    #: how many times the jobs of an output divergence run again to confirm it (0: never)
    rerun: int = 1

    def compiled(self) -> list[tuple[re.Pattern[str], str]]:
        return [(re.compile(pattern), replacement) for pattern, replacement in self.normalisers]


@dataclass(frozen=True)
class Divergence:
    artifact: str
    case: str
    kind: str
    results: tuple[Result, ...]
    detail: str
    scope: str = "runtime"
    #: a per-runtime expectation covers it: reported, but does not fail the run
    expected: bool = False
    #: the cells that behave differently (from the baseline, or from the majority)
    differing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fails(self) -> bool:
        """Whether it fails a `--fail-on-divergence` run: not when an expectation covers it,
        nor when it is only output that differs between runs of one cell."""
        return not self.expected and self.scope != "nondeterministic"

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "case": self.case,
            "kind": self.kind,
            "scope": self.scope,
            "expected": self.expected,
            "differing": list(self.differing),
            "detail": self.detail,
            "cells": {r.cell: {"outcome": r.outcome.value, "exit_code": r.exit_code, "trap": r.trap}
                      for r in self.results},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], results: Sequence[Result]) -> Divergence:
        mine = tuple(r for r in results if r.artifact == data["artifact"] and r.case == data["case"])
        return cls(data["artifact"], data["case"], data["kind"], mine, data.get("detail", ""),
                   data.get("scope", "runtime"), bool(data.get("expected", False)), tuple(data.get("differing", [])))


def normalise(text: str, patterns: Sequence[tuple[re.Pattern[str], str]] | None = None) -> str:
    for pattern, replacement in patterns if patterns is not None else DiffOptions().compiled():
        text = pattern.sub(replacement, text)
    return text


def _describe(result: Result) -> str:
    if result.trap:
        return f"{result.outcome.value} (trap: {result.trap})"
    if result.exit_code is not None:
        return f"{result.outcome.value} (exit {result.exit_code})"
    return result.outcome.value


#: how much of each differing line a divergence's detail shows: a little before the first
#: differing character, the rest after it
EXCERPT_BEFORE, EXCERPT_CHARS = 20, 80


def _first_difference(a: str, b: str) -> str:
    """Where two outputs first differ: the line, and an excerpt of each that starts a little
    before the first differing character (two long lines that differ at their end would
    otherwise show the same cut-off text twice)."""
    left, right = a.splitlines(), b.splitlines()
    for number, (x, y) in enumerate(zip(left, right, strict=False), start=1):
        if x != y:
            at = next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))
            start = max(0, at - EXCERPT_BEFORE)
            where = f"line {number}" + (f", column {at + 1}" if at else "")
            return f"{where}: {_excerpt(x, start)} vs {_excerpt(y, start)}"
    return f"{len(left)} vs {len(right)} lines"


def _excerpt(line: str, start: int) -> str:
    text = repr(line[start : start + EXCERPT_CHARS])
    return ("…" if start else "") + text + ("…" if len(line) > start + EXCERPT_CHARS else "")


def _cell_key(cell_id: str, *, host: bool, world: bool) -> str:
    """The cell id with its host and/or world left out, for grouping:
    `wasmtime-cli@linux-aarch64:p2+opt=1` without the host is `wasmtime-cli:p2+opt=1`."""
    head, _, options = cell_id.partition("+")
    head, _, cell_world = head.partition(":")
    runtime, _, cell_host = head.partition("@")
    key = runtime + (f"@{cell_host}" if host and cell_host else "") + (f":{cell_world}" if world and cell_world else "")
    return key + ("+" + options if options else "")


def _scope(ran: Sequence[Result], values: dict[str, str]) -> str:
    """Which part of the cells explains the difference: world, host, else runtime."""
    for scope, key in (("world", {"host": True, "world": False}), ("host", {"host": False, "world": True})):
        groups: dict[str, set[str]] = defaultdict(set)
        for r in ran:
            groups[_cell_key(r.cell, **key)].add(values[r.cell])
        if any(len(group) > 1 for group in groups.values()):
            return scope
    return "runtime"


class _Comparer:
    def __init__(self, options: DiffOptions) -> None:
        self.patterns = options.compiled()
        self.baseline = options.baseline

    def aspects(self, r: Result, has_subcases: bool = False) -> dict[str, object]:
        """What is compared. A case whose subcases have results of their own (Go's subtests,
        parallel ones interleaving their lines) compares its output line by line in any
        order: its subcases' results say what each did."""
        out, err = normalise(r.stdout, self.patterns), normalise(r.stderr, self.patterns)
        output: object = (sorted(out.splitlines()), sorted(err.splitlines())) if has_subcases else (out, err)
        return {
            "outcome": _BEHAVIOUR.get(r.outcome, r.outcome.value),
            "exit_code": r.exit_code,
            "trap": r.trap,
            "output": output,
        }

    def classify(self, results: Sequence[Result], has_subcases: bool = False) -> Divergence | None:
        ran = [r for r in results if r.outcome is not Outcome.UNSUPPORTED]
        if len(ran) < 2:
            return None
        aspects = {r.cell: self.aspects(r, has_subcases) for r in ran}
        reference = next((r for r in ran if r.cell == self.baseline), None)
        for kind in KINDS:
            if reference is not None:
                differing = [r for r in ran if aspects[r.cell][kind] != aspects[reference.cell][kind]]
            else:
                values = [aspects[r.cell][kind] for r in ran]
                if len({repr(v) for v in values}) == 1:
                    continue
                majority = max(values, key=lambda v: sum(1 for w in values if w == v))
                differing = [r for r in ran if aspects[r.cell][kind] != majority]
            if not differing:
                continue
            return self._divergence(ran, kind, differing, reference, aspects)
        return None

    def _divergence(self, ran: Sequence[Result], kind: str, differing: Sequence[Result], reference: Result | None,
                    aspects: dict[str, dict[str, object]]) -> Divergence:
        first = ran[0]
        scope = _scope(ran, {r.cell: repr(aspects[r.cell][kind]) for r in ran})
        if kind == "output" and any(r.output_varies for r in ran):
            scope = "nondeterministic"
        if kind == "output":
            base = reference or next(r for r in ran if r not in differing)
            other = differing[0] if differing[0] is not base else differing[-1]
            same_stdout = normalise(base.stdout, self.patterns) == normalise(other.stdout, self.patterns)
            which = "stderr" if same_stdout else "stdout"
            a, b = (base.stdout, other.stdout) if which == "stdout" else (base.stderr, other.stderr)
            detail = f"{which} differs between {base.cell} and {other.cell}: {_first_difference(a, b)}"
        else:
            detail = "; ".join(f"{r.cell}: {_describe(r)}" for r in ran)
            failing = next((r for r in ran if r.message and r.outcome is not Outcome.PASSED), None)
            if kind == "outcome" and failing is not None:
                detail += f" — {failing.cell}: {failing.message.splitlines()[0][:160]}"
        expected = any(r.expectation for r in ran)
        return Divergence(first.artifact, first.case, kind, tuple(sorted(ran, key=lambda r: r.cell)), detail, scope,
                          expected, tuple(r.cell for r in differing))


def find_divergences(results: Iterable[Result], options: DiffOptions | None = None) -> list[Divergence]:
    comparer = _Comparer(options or DiffOptions())
    by_case: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for result in results:
        by_case[(result.artifact, result.case)].append(result)
    parents = {(artifact, case.rsplit("/", 1)[0]) for artifact, case in by_case if "/" in case}
    found = []
    for key, group in by_case.items():
        if len(group) < 2:  # one cell ran it: nothing to differ from
            continue
        divergence = comparer.classify(group, key in parents)
        if divergence is not None:
            found.append(divergence)
    return found

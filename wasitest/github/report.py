"""What a results document says in GitHub's terms: a one-line title, a check conclusion,
and the step outputs a workflow can read (`steps.ID.outputs.failed`, ...)."""

from __future__ import annotations

import json

from wasitest.errors import ExitCode
from wasitest.model import Outcome
from wasitest.results import ResultsDocument, exit_code_for, outcome_counts


def title(document: ResultsDocument) -> str:
    """E.g. `24 passed, 1 failed, 2 skipped; 1 divergence on 2 cells`."""
    counts = outcome_counts(document.results)
    parts = [f"{counts[o]} {o.value}" for o in Outcome if counts.get(o)] or ["no jobs"]
    divergences = len(document.divergences)
    text = ", ".join(parts)
    if divergences:
        text += f"; {divergences} divergence{'s' if divergences != 1 else ''}"
    return text + f" on {len(document.cells)} cell{'s' if len(document.cells) != 1 else ''}"


def conclusion(document: ResultsDocument, fail_on_divergence: bool) -> str:
    """The check run's conclusion, agreeing with the exit code `wasitest run` gave:
    divergences that do not fail the run are `neutral`."""
    code = exit_code_for(document, fail_on_divergence)
    if code is ExitCode.INTERRUPTED:
        return "cancelled"
    if code is not ExitCode.OK:
        return "failure"
    return "neutral" if any(d.fails for d in document.divergences) else "success"


def outputs(document: ResultsDocument, fail_on_divergence: bool) -> dict[str, str]:
    counts = outcome_counts(document.results)
    values = {o.value: str(counts.get(o, 0)) for o in Outcome}
    values.update(
        {
            "total": str(len(document.results)),
            "failures": str(len(document.failures())),
            "divergences": str(len(document.divergences)),
            "divergent-cases": "\n".join(f"{d.artifact}::{d.case}" for d in document.divergences),
            "conclusion": conclusion(document, fail_on_divergence),
            "counts": json.dumps({o.value: counts.get(o, 0) for o in Outcome}, separators=(",", ":")),
        }
    )
    return values

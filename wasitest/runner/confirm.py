"""Confirming output divergences before they are reported.

A case whose cells differ only in their output runs again, in every cell, `rerun` times
(`[tool.wasitest.diff] rerun`, default 1). A cell whose normalised output comes out
different from its first run has output that is not deterministic (a random value, the
order of parallel subtests' lines, a timing the normalisers miss): its result is marked
`output_varies`, and the divergence is reported with the scope *nondeterministic* rather
than as a difference between runtimes, so it fails no `--fail-on-divergence` run. A cell
whose output is stable in every run leaves the divergence as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from wasitest.diff import find_divergences, normalise
from wasitest.model import Result
from wasitest.plugin import Registry
from wasitest.runner.execute import execute
from wasitest.runplan import RunPlan

#: at most this many divergent cases run again (a run where everything diverges is not noise)
MAX_CASES = 50


def confirm_output_divergences(plan: RunPlan, registry: Registry, results: Sequence[Result]) -> list[Result]:
    """The results, with `output_varies` set where a rerun's output differed."""
    options = plan.settings.diff
    suspects = {
        (d.artifact, d.case) for d in find_divergences(results, options) if d.kind == "output" and d.fails
    }
    if options.rerun <= 0 or not suspects:
        return list(results)
    chosen = set(sorted(suspects)[:MAX_CASES])
    jobs = [job for job in plan.jobs if (job.case.artifact.id, job.case.name) in chosen]
    first = {r.job_id: r for r in results}
    patterns = options.compiled()
    varies: set[str] = set()
    for _ in range(options.rerun):
        for again in execute(replace(plan, jobs=jobs, history={}), registry):
            before = first.get(again.job_id)
            if before is not None and _output(before, patterns) != _output(again, patterns):
                varies.add(again.job_id)
    return [replace(r, output_varies=True) if r.job_id in varies else r for r in results]


def _output(result: Result, patterns: list[tuple[re.Pattern[str], str]]) -> tuple[str, str]:
    return normalise(result.stdout, patterns), normalise(result.stderr, patterns)

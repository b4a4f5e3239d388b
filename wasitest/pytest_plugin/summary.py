"""The divergence section of pytest's terminal summary: the core's `find_divergences` over
the results of the items that ran, printed the way `wasitest run` prints them."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from wasitest.diff import DiffOptions, find_divergences
from wasitest.model import Outcome, Result

MAX_LISTED = 30
_RED = {Outcome.FAILED, Outcome.TRAPPED, Outcome.CRASHED, Outcome.ERROR, Outcome.XPASSED, Outcome.TIMEOUT}


def write_divergences(
    reporter: pytest.TerminalReporter, results: Sequence[Result], options: DiffOptions | None
) -> None:
    cells = list(dict.fromkeys(r.cell for r in results))
    if len(cells) < 2:
        return  # nothing to compare
    divergences = find_divergences(results, options)
    if not divergences:
        reporter.write_sep("-", f"wasitest: no divergence between {', '.join(cells)}", green=True)
        return
    reporter.write_sep("=", f"wasitest: {len(divergences)} divergent case(s)", yellow=True, bold=True)
    for divergence in divergences[:MAX_LISTED]:
        notes = "".join(
            f" ({note})" for note, on in (("host", divergence.scope == "host"), ("expected", divergence.expected)) if on
        )
        reporter.write_line(f"{divergence.artifact}::{divergence.case} [{divergence.kind}]{notes}", bold=True)
        for result in divergence.results:
            reporter.write(f"    {result.cell}: ")
            reporter.write(
                result.outcome.value,
                red=result.outcome in _RED,
                green=result.outcome is Outcome.PASSED,
                yellow=result.outcome not in _RED and result.outcome is not Outcome.PASSED,
            )
            extra = ""
            if result.exit_code is not None:
                extra += f" (exit {result.exit_code})"
            if result.trap:
                extra += f" (trap {result.trap})"
            if result.message and result.outcome is not Outcome.PASSED:
                extra += f" {result.message.splitlines()[0][:120]}"
            reporter.write_line(extra)
        if divergence.kind == "output":
            reporter.write_line(f"    {divergence.detail}")
    if len(divergences) > MAX_LISTED:
        reporter.write_line(f"... and {len(divergences) - MAX_LISTED} more")

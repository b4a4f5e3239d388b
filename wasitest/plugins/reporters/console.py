"""The terminal: the steps before the jobs (build, discovery), a progress bar per cell while
jobs run, then the summary.

On a terminal the steps and the jobs are a live display (rich); elsewhere (a CI log) each
step is one line on stderr, so a log is never silent for long. Colour follows rich's rules:
`NO_COLOR` turns it off, `FORCE_COLOR` on, and output that is not a terminal gets none.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from wasitest.config import Settings
from wasitest.model import Outcome, Result
from wasitest.options import OptionParser
from wasitest.plugin import hookimpl
from wasitest.results import ResultsDocument

if TYPE_CHECKING:  # rich is imported where it is used: a quiet run (and `--help`) never needs it
    from rich.console import Console
    from rich.progress import Progress, TaskID

STYLES = {
    Outcome.PASSED: "green",
    Outcome.FAILED: "red",
    Outcome.SKIPPED: "yellow",
    Outcome.TIMEOUT: "magenta",
    Outcome.TRAPPED: "red",
    Outcome.CRASHED: "bold red",
    Outcome.ERROR: "bold red",
    Outcome.UNSUPPORTED: "dim",
    Outcome.XFAILED: "yellow",
    Outcome.XPASSED: "red",
    Outcome.FLAKY: "dark_orange",
}
MAX_LISTED = 30


def make_console(stderr: bool = False) -> Console:
    """A console for summaries: log files (not a terminal) get wide lines, not wrapped ones."""
    from rich.console import Console
    console = Console(highlight=False, soft_wrap=True, stderr=stderr, markup=False)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, stderr=stderr, width=160, markup=False)
    return console


def render_summary(console: Console, document: ResultsDocument) -> None:
    """Per cell the counts by outcome, then failures, then every divergent case."""
    from rich.table import Table
    from rich.text import Text
    table = Table(title="wasitest results", title_justify="left")
    table.add_column("cell")
    table.add_column("version", style="dim")
    outcomes = [o for o in Outcome if any(r.outcome is o for r in document.results)]
    for outcome in outcomes:
        table.add_column(outcome.value, justify="right", style=STYLES[outcome])
    counts = document.counts()
    for cell in document.cells:
        row = counts.get(cell.id, {})
        table.add_row(cell.id, cell.runtime_version, *(str(row.get(o.value, 0) or "") for o in outcomes))
    console.print(table)
    for name, reason in document.unavailable.items():
        console.print(Text(f"runtime {name} unavailable: {reason}", style="dim"))
    failures = document.failures()
    if failures:
        console.print(Text(f"\n{len(failures)} failing job(s):", style="bold red"))
        for result in failures[:MAX_LISTED]:
            _print_result(console, result)
        if len(failures) > MAX_LISTED:
            console.print(f"  ... and {len(failures) - MAX_LISTED} more (see the JUnit or results.json)")
    _reasons(console, document)
    if len(document.cells) > 1:
        _matrix_table(console, document)
    if document.divergences:
        _divergence_panels(console, document)
    if document.interrupted:
        console.print(Text("\ninterrupted: the results above are what finished", style="bold magenta"))


#: outcomes that mean a job did not run, whose reason the summary groups
NOT_RUN = (Outcome.UNSUPPORTED, Outcome.ERROR)


def _reasons(console: Console, document: ResultsDocument) -> None:
    """Why jobs did not run, grouped by cell, outcome and reason: the reason of an
    unsupported job is otherwise only in results.json."""
    from rich.text import Text
    groups: dict[tuple[str, Outcome, str], int] = {}
    for result in document.results:
        if result.outcome in NOT_RUN:
            reason = (result.message.splitlines() or ["no reason given"])[0][:300]
            key = (result.cell, result.outcome, reason)
            groups[key] = groups.get(key, 0) + 1
    if not groups:
        return
    console.print(Text("\njobs that did not run, by reason:", style="bold"))
    order = {cell.id: index for index, cell in enumerate(document.cells)}
    for (cell, outcome, reason), count in sorted(groups.items(), key=lambda g: (order.get(g[0][0], 0), -g[1])):
        line = Text(f"  {cell}: {count} job(s) ")
        line.append(outcome.value, style=STYLES[outcome])
        line.append(f": {reason}", style="dim")
        console.print(line)


def _matrix_table(console: Console, document: ResultsDocument) -> None:
    """Cases x cells, only the interesting rows: a case that did not pass everywhere. A
    cell where every job was unsupported makes no row by itself (it would make them all):
    its reason is in the list above."""
    from rich.table import Table
    from rich.text import Text
    by_case: dict[tuple[str, str], dict[str, Result]] = {}
    for r in document.results:
        by_case.setdefault((r.artifact, r.case), {})[r.cell] = r
    divergent = {(d.artifact, d.case) for d in document.divergences}
    idle = {c.id for c in document.cells if all(
        r.outcome is Outcome.UNSUPPORTED for r in document.results if r.cell == c.id)}
    rows = [k for k, cells in by_case.items() if k in divergent or any(
        r.outcome not in (Outcome.PASSED, Outcome.SKIPPED) for cell, r in cells.items() if cell not in idle)]
    for cell in document.cells:
        if cell.id in idle:
            console.print(Text(f"\n{cell.id}: every job unsupported", style="dim"))
    if not rows:
        return
    console.print()
    caption = "≠ marks a divergent case: its cells disagree (each one is shown below)" if divergent else None
    table = Table(title=f"cases that did not simply pass ({len(rows)} of {len(by_case)})", title_justify="left",
                  caption=caption, caption_justify="left")
    table.add_column("case")
    for cell in document.cells:
        table.add_column(cell.id)
    for key in rows[:MAX_LISTED]:
        label = Text(f"{key[0]}::{key[1]}", style="bold" if key in divergent else "")
        if key in divergent:
            label.append(" ≠", style="bold yellow")
        cells = by_case[key]
        table.add_row(label, *(Text(cells[c.id].outcome.value, style=STYLES[cells[c.id].outcome]) if c.id in cells
                               else Text("-", style="dim") for c in document.cells))
    console.print(table)
    if len(rows) > MAX_LISTED:
        console.print(f"  ... and {len(rows) - MAX_LISTED} more rows (see the HTML or Markdown report)")


def _divergence_panels(console: Console, document: ResultsDocument) -> None:
    """For each divergent case, its cells side by side: outcome, then the output tails."""
    from rich.table import Table
    from rich.text import Text
    console.print(Text(f"\n{len(document.divergences)} divergent case(s):", style="bold yellow"))
    order = {cell.id: index for index, cell in enumerate(document.cells)}
    for divergence in document.divergences[:MAX_LISTED]:
        tag = f"{divergence.scope} divergence, {divergence.kind}" + (", expected" if divergence.expected else "")
        table = Table(title=Text(f"{divergence.artifact}::{divergence.case}  ({tag})"), title_justify="left",
                      expand=False, show_lines=False)
        # the cells in the order of the other tables
        results = sorted(divergence.results, key=lambda r: order.get(r.cell, len(order)))
        for result in results:
            table.add_column(result.cell, overflow="fold", max_width=60)
        heads, bodies = [], []
        for result in results:
            head = Text(result.outcome.value, style=STYLES[result.outcome])
            if result.exit_code is not None:
                head.append(f" exit {result.exit_code}")
            if result.trap:
                head.append(f" trap {result.trap}")
            heads.append(head)
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-6:]) or result.message
            bodies.append(Text(tail, style="dim"))
        table.add_row(*heads)
        table.add_row(*bodies)
        console.print(table)
        if divergence.kind == "output":
            console.print(Text(f"  {divergence.detail}", style="dim"))


def _print_result(console: Console, result: Result) -> None:
    from rich.text import Text
    line = Text("  ")
    line.append(f"{result.outcome.value:<8}", style=STYLES[result.outcome])
    line.append(f" {result.artifact}::{result.case} [{result.cell}]")
    if result.message:
        line.append(f"  {result.message.splitlines()[0][:160]}", style="dim")
    console.print(line)


class ConsoleReporter:
    def __init__(self, quiet: bool = False) -> None:
        self._out: Console | None = None
        self._err: Console | None = None
        self.quiet = quiet
        #: the live line of the steps before the jobs (a terminal only)
        self.steps: Progress | None = None
        self.step_task: TaskID | None = None
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        #: lines for the end of the summary (`note` steps)
        self.notes: list[str] = []
        self._lock = threading.Lock()

    def out(self) -> Console:
        """The summary's console (stdout), made when first needed (not a property: pluggy
        reads every attribute of a plugin as it registers it)."""
        if self._out is None:
            self._out = make_console()
        return self._out

    def err(self) -> Console:
        """The progress display's console (stderr), made when first needed."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False, markup=False)
        return self._err

    @hookimpl
    def wasitest_progress(self, step: str, message: str) -> None:
        if self.quiet:
            return
        if step == "note":
            self.notes.append(message)
            return
        if step == "written":
            self._line(f"wasitest: wrote {message}")
            return
        if not self.err().is_terminal:
            self._line(f"wasitest: {message}")
            return
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        with self._lock:  # builders log from their threads
            if self.steps is None:
                self.steps = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                                      console=self.err(), transient=True)
                self.step_task = self.steps.add_task(message, total=None)
                self.steps.start()
            self.steps.console.print(Text(message, style="dim"))
            assert self.step_task is not None
            self.steps.update(self.step_task, description=message)

    def _line(self, text: str) -> None:
        """One whole line on stderr: builders log from their threads, whose lines must not mix."""
        with self._lock:
            sys.stderr.write(text + "\n")
            sys.stderr.flush()

    def _stop_steps(self) -> None:
        with self._lock:
            if self.steps is not None:
                self.steps.stop()
                self.steps = None

    @hookimpl
    def wasitest_run_start(self, plan: Any) -> None:
        self._stop_steps()
        if self.quiet:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.err(),
            transient=False,
            disable=not self.err().is_terminal,
        )
        per_cell: dict[str, int] = {}
        for job in plan.jobs:
            per_cell[job.cell.id] = per_cell.get(job.cell.id, 0) + 1
        for cell in plan.cells:
            self.tasks[cell.id] = self.progress.add_task(cell.id, total=per_cell.get(cell.id, 0))
        self.progress.start()
        if not self.err().is_terminal:
            print(f"wasitest: running {len(plan.jobs)} jobs in {len(plan.cells)} cell(s)", file=sys.stderr)

    @hookimpl
    def wasitest_result(self, result: Result) -> None:
        if self.progress is not None and result.cell in self.tasks:
            self.progress.advance(self.tasks[result.cell])

    @hookimpl
    def wasitest_run_end(self, summary: Any) -> None:
        self.close()
        if not self.quiet:
            from rich.text import Text

            render_summary(self.out(), summary.document)
            for note in self.notes:
                self.err().print(Text(f"wasitest: note: {note}", style="bold"), soft_wrap=True)

    def close(self) -> None:
        """Stop whatever live display runs: at the end, or when the command failed."""
        self._stop_steps()
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _factory(settings: Settings) -> ConsoleReporter:
    return ConsoleReporter(quiet=bool(settings.extra.get("quiet")))


@hookimpl
def wasitest_addoption(parser: OptionParser) -> None:
    parser.add_option("-q", "--quiet", kind="flag", help="no progress bar and no summary")


@hookimpl
def wasitest_register_reporters(register: Callable[[str, Callable[[Settings], Any]], None]) -> None:
    register("console", _factory)

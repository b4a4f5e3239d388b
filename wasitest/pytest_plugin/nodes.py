"""The collection tree: the project, one collector per artifact, one item per job.

Node ids are the core's job ids, `SUITE/ARTIFACT::CASE[CELL]`, so what `--lf`, `-k`,
`--deselect` and JUnit see is what `wasitest run` reports.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from wasitest.errors import WasitestError
from wasitest.model import Artifact, Job, Outcome, Result
from wasitest.pytest_plugin.executor import InlineExecutor, PoolExecutor
from wasitest.pytest_plugin.options import CASE_MARKER, for_pytest, runtime_marker
from wasitest.pytest_plugin.state import get_state

#: the collector all wasm items hang under; `-k wasitest` matches every one of them
PROJECT_NODE = "wasitest"
STDERR_TAIL_LINES = 20


class WasiProject(pytest.Collector):
    """Builds once (the core's `prepare`) and yields one collector per artifact."""

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        state = get_state(self.config)
        plan = state.plan()
        by_artifact: dict[str, list[Job]] = {}
        for job in plan.jobs:
            by_artifact.setdefault(job.case.artifact.id, []).append(job)
        register_markers(self.config, sorted({cell.runtime for cell in plan.cells}))
        for artifact in plan.artifacts:
            jobs = by_artifact.get(artifact.id)
            if jobs:
                yield WasiArtifact.from_parent(self, name=artifact.id, nodeid=artifact.id, artifact=artifact, jobs=jobs)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, WasitestError):
            error = excinfo.value
            line = f"wasitest: {for_pytest(error.one_line())}"
            return f"{error.detail}\n{line}" if error.detail else line
        return str(super().repr_failure(excinfo))


class WasiArtifact(pytest.Collector):
    def __init__(self, *, artifact: Artifact, jobs: Sequence[Job], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.artifact = artifact
        self.jobs = list(jobs)

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        for job in self.jobs:
            yield WasiCase.from_parent(self, name=f"{job.case.name}[{job.cell.id}]", job=job)


class WasiCaseFailed(Exception):
    """The job's outcome counts as a failure (failed, trapped, timeout, crashed, error, xpassed)."""


class WasiCase(pytest.Item):
    """One case in one cell; its result comes from the session's executor."""

    def __init__(self, *, job: Job, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job = job
        self.results: list[Result] = []
        self.add_marker(CASE_MARKER)
        self.add_marker(runtime_marker(job.cell.runtime))

    def runtest(self) -> None:
        self.results = _executor_results(self)
        main = self.results[0]
        if main.stdout:
            self.add_report_section("call", "stdout", main.stdout)
        if main.stderr:
            self.add_report_section("call", "stderr", main.stderr)
        if main.outcome.is_failure:
            raise WasiCaseFailed(main.message or main.outcome.value)
        if main.outcome in (Outcome.SKIPPED, Outcome.UNSUPPORTED):
            reason = main.message or "skipped itself"
            prefix = f"unsupported on {main.cell}: " if main.outcome is Outcome.UNSUPPORTED else ""
            raise pytest.skip.Exception(prefix + reason, _use_item_location=True)
        if main.outcome is Outcome.XFAILED:
            pytest.xfail(main.expectation or main.message or "declared as expected to fail")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if self.results and isinstance(excinfo.value, (WasiCaseFailed, pytest.xfail.Exception)):
            return describe_failure(self.job, self.results)
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[os.PathLike[str] | str, int | None, str]:
        config_file = get_state(self.config).settings().config_file
        # the domain is pytest's failure headline; it must not be the end of the node id,
        # or pytest's verbose line would turn dots in case names into '::'
        return (config_file or Path(self.job.case.artifact.path)), 0, f"{self.job.case.id} on {self.job.cell.id}"


def _executor_results(item: WasiCase) -> list[Result]:
    state = get_state(item.config)
    if state.executor is None:
        plan = state.plan()
        if hasattr(item.config, "workerinput"):  # a pytest-xdist worker
            state.executor = InlineExecutor(plan, state.registry)
        else:
            jobs = [other.job for other in item.session.items if isinstance(other, WasiCase)]
            state.executor = PoolExecutor(plan, state.registry, jobs)
    results = state.executor.results(item.job)
    if results is None:  # an item that was not in session.items when the pool started: run it here
        if state.inline is None:
            state.inline = InlineExecutor(state.plan(), state.registry)
        results = state.inline.results(item.job)
    if not results:
        raise WasiCaseFailed(f"wasitest returned no result for {item.job.id}")
    return results


def describe_failure(job: Job, results: Sequence[Result]) -> str:
    """The runtime's side of a failure. The first line is the harness's message (pytest's
    short summary shows it), then the runtime's detail and the tail of stderr."""
    main = results[0]
    cell = job.cell
    message = main.message.splitlines() or [f"{main.outcome.value} on {cell.id}"]
    lines = [*message, ""]
    version = f" ({cell.runtime_version})" if cell.runtime_version else ""
    detail = [
        ("cell", f"{cell.id}{version}"),
        ("outcome", main.outcome.value),
        ("exit code", "-" if main.exit_code is None else str(main.exit_code)),
        ("trap", main.trap or "-"),
        ("duration", f"{main.duration_s:.3f} s"),
    ]
    if main.file:
        detail.append(("at", f"{main.file}:{main.line}" if main.line else main.file))
    if main.expectation:
        detail.append(("expectation", main.expectation))
    detail.extend(("attempt", f"{a.get('outcome')} {str(a.get('message', ''))[:160]}") for a in main.attempts)
    detail.extend(
        ("subcase", f"{sub.case} {sub.outcome.value} {(sub.message.splitlines() or [''])[0][:160]}")
        for sub in results[1:]
        if sub.outcome is not Outcome.PASSED
    )
    lines.extend(f"{label + ':':<12} {value}".rstrip() for label, value in detail)
    tail = main.stderr.splitlines()[-STDERR_TAIL_LINES:]
    if tail:
        total = len(main.stderr.splitlines())
        truncated = ", cut at the output cap" if main.stderr_truncated else ""
        lines.append(f"stderr (last {len(tail)} of {total} line(s){truncated}):")
        lines.extend(f"  {line}" for line in tail)
    return "\n".join(lines)


def register_markers(config: pytest.Config, runtimes: Iterable[str]) -> None:
    """Declare `wasi_RUNTIME` markers (once each) so `--strict-markers` accepts them."""
    known = {line.split(":")[0].strip() for line in config.getini("markers")}
    for runtime in runtimes:
        name = runtime_marker(runtime)
        if name not in known:
            config.addinivalue_line("markers", f"{name}: runs on the {runtime} WASI runtime (wasitest)")
            known.add(name)

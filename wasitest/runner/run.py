"""One run, start to finish: build, discover, plan, execute, journal, diff, report.

The CLI, the GitHub Action and the pytest plugin all call `run`; none re-implements any
step of it.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from wasitest.config import DEFAULT_RUNTIME, Settings, did_you_mean
from wasitest.diff import find_divergences
from wasitest.errors import InputError, UsageError, warn
from wasitest.matrix.shard import Shard, select
from wasitest.model import Artifact, Cell, Result, job_id
from wasitest.plugin import Registry
from wasitest.protocols import Execute
from wasitest.reporting import check_outputs, finish, report_paths, start_reporters, stop_reporters
from wasitest.results import ResultsDocument, exit_code_for
from wasitest.runner.build import BuildSession, build_all
from wasitest.runner.bundle import Built, load_bundle
from wasitest.runner.cells import CellChoice, choose_cells, unmatched_patterns
from wasitest.runner.confirm import confirm_output_divergences
from wasitest.runner.discover import discover, discovery_execute, pooled_discovery_execute
from wasitest.runner.execute import execute, runs_in_batches
from wasitest.runner.job import Sessions
from wasitest.runner.journal import Journal, journal_durations, read_journal
from wasitest.runner.plan import check_artifacts, plan_jobs, suites_by_name
from wasitest.runner.pool import WorkerPool
from wasitest.runplan import RunPlan, RunSummary


def matrix_worlds(settings: Settings) -> set[str]:
    """The worlds the configured matrix names (its `world` axis and include entries)."""
    spec = settings.matrix_spec
    if spec is None:
        return set()
    return {dict(combination).get("world", "") for combination in spec.combinations()}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def progress(registry: Registry, step: str) -> Callable[[str], None]:
    """What says the `step`'s progress to the front ends (`wasitest_progress`)."""
    return lambda message: registry.pm.hook.wasitest_progress(step=step, message=message)


def build_session(settings: Settings, registry: Registry) -> BuildSession:
    """The build's context, its cache in the project's work folder, its log as progress."""
    return BuildSession(settings.project_dir, settings.work_dir / "cache" / "build",
                        progress=progress(registry, "build"))


def build_and_discover(settings: Settings, registry: Registry, discovery_runtime: str = DEFAULT_RUNTIME,
                       build: BuildSession | None = None, worlds: Iterable[str] | None = None,
                       pool: WorkerPool | None = None) -> Built:
    """Build every suite once, then list every artifact's cases (on `discovery_runtime`).
    `worlds` are the ones the run's cells want (default: the matrix's `world` axis). With
    the run's `pool`, the artifacts of suites that run in batches are listed on its
    workers, as their batches run (`pooled_discovery_execute`)."""
    build = build or build_session(settings, registry)
    artifacts = build_all(settings, registry, build, matrix_worlds(settings) if worlds is None else worlds)
    check_artifacts(artifacts)
    say = progress(registry, "discover")
    say(f"listing the cases of {len(artifacts)} artifact(s) on {discovery_runtime}")
    sessions = Sessions.of(registry, settings.work_dir / "cache")
    try:
        execute = discovery_execute(sessions, settings.work_dir / "scratch" / "discovery", discovery_runtime)
        route: Callable[[Artifact], Execute] | None = None
        if pool is not None:
            pooled, suites = pooled_discovery_execute(pool, discovery_runtime), suites_by_name(settings)

            def route(artifact: Artifact) -> Execute:
                return pooled if runs_in_batches(artifact, settings, suites, registry) else execute

        cases = discover(artifacts, registry, execute, settings.work_dir / "cache" / "cases", route)
    finally:
        sessions.close()
    say(f"found {sum(len(c) for c in cases.values())} case(s) in {len(artifacts)} artifact(s)")
    return Built(artifacts, cases)


def prepare(settings: Settings, registry: Registry, runtimes: Sequence[str] | None = None,
            bundle: Path | None = None, cells: Sequence[str] = (), shard: Shard | None = None,
            pool: WorkerPool | None = None) -> RunPlan:
    """Build (or load a bundle), choose cells, discover and plan: all before the first job
    (`pool`: the run's, started already; see `build_and_discover`).

    The baseline is checked before anything is built; the xfail and expectation patterns
    that match no case are warned about once the cases are known."""
    build = build_session(settings, registry)
    if bundle is not None:
        suites, built = load_bundle(bundle)
        settings = replace(settings, suites=suites)
        for artifact in built.artifacts:
            registry.harnesses.get(artifact.harness)
    choice = choose_cells(settings, registry, runtimes, cells)
    _check_baseline(settings, registry, choice)
    if bundle is None:
        local = [c.runtime for c in choice.cells if c.host == "local" and not c.options]
        discovery = DEFAULT_RUNTIME if registry.runtimes.get(DEFAULT_RUNTIME).info().available else (
            local[0] if local else choice.cells[0].runtime)
        built = build_and_discover(settings, registry, discovery, build, {c.world for c in choice.cells}, pool)
    for warning in unmatched_patterns(settings, [case for found in built.cases.values() for case in found],
                                      registry):
        warn(warning)
    jobs = select(plan_jobs(built.cases, choice.cells, suites_by_name(settings), settings.expectations), shard)
    return RunPlan(settings, choice.cells, built.artifacts, jobs, choice.unavailable, choice.infos, build,
                   built.bundle_id, shard)


def _check_baseline(settings: Settings, registry: Registry, choice: CellChoice) -> None:
    """A baseline must name a cell of this run: a typo would silently compare every cell
    with the majority instead. One from `[tool.wasitest.diff]` that names a runtime this
    run does not use (a plain run of a project whose matrix has it) is fine."""
    baseline = settings.diff.baseline
    cells = [c.id for c in choice.cells]
    if not baseline or baseline in cells:
        return
    known = [*cells, *choice.unavailable]
    if baseline in choice.unavailable:
        reason = f"cell {baseline!r} is not available here: {choice.unavailable[baseline]}"
    elif baseline in registry.runtimes.names() or baseline in settings.runtimes:
        if len(cells) < 2:
            return  # nothing is compared in a run of one cell
        reason = f"{baseline!r} is not a cell of this run"
    else:
        reason = f"{baseline!r} names no cell{did_you_mean(baseline, [*known, *registry.runtimes.names()])}"
    raise UsageError(f"baseline {reason}", f"cells of this run: {', '.join(cells)}; see `wasitest matrix`")


def run(settings: Settings, registry: Registry, runtimes: Sequence[str] | None = None,
        bundle: Path | None = None, cells: Sequence[str] = (), shard: Shard | None = None,
        resume: bool = False) -> RunSummary:
    """The whole run. Reporters are created from their factories for this run only.

    With `resume`, the jobs the journal of an interrupted run already holds are not run
    again: their results are carried into the new journal and reports.
    """
    started = _now()
    clock = time.perf_counter()
    journal_path = settings.journal or settings.work_dir / "results.jsonl"
    reports = report_paths(settings, settings.work_dir / "results.json")
    check_outputs([*reports.values(), journal_path])
    reporters = start_reporters(registry, settings)
    # the workers start while the project is built and its cases listed: a worker's
    # start (an interpreter, wasitest's imports, the plugins) takes as long as a cached plan
    pool = WorkerPool.of(settings, linger=True)
    if bundle is None and DEFAULT_RUNTIME in registry.runtimes:
        # discovery probes it anyway; probed before the fork, what the probe loaded (an
        # embedded runtime's library: 20 ms for wasmtime) is loaded in every worker too.
        # A probe that fails fails again in `prepare`, where the run reports it.
        with contextlib.suppress(Exception):
            registry.runtimes.get(DEFAULT_RUNTIME).info()
    pool.start(fork=True)  # nothing is open yet that a worker must not share
    try:
        plan = prepare(settings, registry, runtimes, bundle, cells, shard, pool)
        settings = plan.settings
        # the previous run's durations only order the jobs, so that no worker idles at the
        # end: with one worker the order changes nothing, and the journal is not read
        plan.history = _history(journal_path) if pool.size > 1 else {}
        results: list[Result] = _resumed(plan, journal_path) if resume else []
        interrupted = False
        note = _default_runtime_note(settings, runtimes, bundle, plan.cells)
        if note:
            registry.pm.hook.wasitest_progress(step="note", message=note)
        registry.pm.hook.wasitest_run_start(plan=plan)
        artifacts_json = [a.to_json() for a in plan.artifacts]  # the journal's and the results'
        journal = Journal(
            journal_path,
            {"started": started, "cells": [c.to_json() for c in plan.cells], "bundle_id": plan.bundle_id,
             "artifacts": artifacts_json, "jobs": len(plan.jobs) + len(results)},
        )
        for result in results:
            journal.append(result)
        # a case differs between cells: a run of one cell has nothing to compare
        compared = len(plan.cells) > 1
        try:
            try:
                for result in execute(plan, registry, pool):
                    results.append(result)
                    journal.append(result)
                    registry.pm.hook.wasitest_result(result=result)
            except KeyboardInterrupt:
                interrupted = True
            if not interrupted and compared:
                try:
                    results = confirm_output_divergences(plan, registry, results)
                except KeyboardInterrupt:
                    interrupted = True
        except BaseException:
            interrupted = True  # the run did not finish (a bug, a plugin's error): its journal must not say it did
            raise
        finally:
            journal.close(interrupted, [r.job_id for r in results if r.output_varies])
        results.sort(key=_plan_order(plan))
        document = ResultsDocument(
            cells=plan.cells,
            results=results,
            artifacts=artifacts_json,
            divergences=find_divergences(results, settings.diff) if compared else [],
            started=started,
            finished=_now(),
            interrupted=interrupted,
            stats=_stats(plan, clock),
            unavailable=plan.unavailable,
            bundle_id=plan.bundle_id,
        )
        summary = RunSummary(document, exit_code_for(document, settings.fail_on_divergence), settings, plan)
        finish(registry, summary, reports)
        return summary
    finally:
        pool.close(now=True)  # waits for the workers the run told to stop; kills any left idle
        stop_reporters(registry, reporters)


def _default_runtime_note(settings: Settings, runtimes: Sequence[str] | None, bundle: Path | None,
                          cells: Sequence[Cell]) -> str:
    """For a plain run of a project that configures more than one runtime: that it ran on
    one, and that `--matrix` runs them all (a first-time user expects all of them)."""
    if runtimes or bundle is not None or settings.matrix:
        return ""
    spec = settings.matrix_spec
    configured = len(list(spec.combinations())) if spec is not None else len(settings.runtimes)
    if configured < 2:
        return ""
    names = "" if spec is not None else f": {', '.join(settings.runtimes)}"
    return (f"ran on {', '.join(c.id for c in cells)} only (the default runtime); "
            f"--matrix runs all {configured} configured cells{names}")


def _history(journal_path: Path) -> dict[str, float]:
    """How long each job took last time, from the previous journal (if any)."""
    if not journal_path.exists():
        return {}
    try:
        return journal_durations(journal_path)
    except InputError:
        return {}


def _resumed(plan: RunPlan, journal_path: Path) -> list[Result]:
    """The finished results of the journal being resumed; their jobs leave the plan."""
    if not journal_path.exists():
        raise InputError(f"nothing to resume: {journal_path} does not exist", "run without --resume")
    header, previous = read_journal(journal_path)
    if header.get("bundle_id", plan.bundle_id) != plan.bundle_id:
        raise InputError(f"{journal_path} is from another build of the suites",
                         "run without --resume (the artifacts changed since that run)")
    planned = {job.id for job in plan.jobs}
    kept = [r for r in previous if r.job_id in planned or _parent_id(r) in planned]
    done = {r.job_id for r in kept}
    plan.jobs = [job for job in plan.jobs if job.id not in done]
    return kept


def _parent_id(result: Result) -> str:
    return job_id(result.artifact, result.case.split("/")[0], result.cell)


def _plan_order(plan: RunPlan) -> Callable[[Result], tuple[int, int, str]]:
    """Results in plan order (its cases, each case's cells); a subcase (`TestX/sub`) right
    after its parent case. Keyed by case and by cell rather than by job: a run of 200,000
    jobs would build 200,000 job ids for it, when its memory peaks (results.json, the diff)."""
    cases: dict[tuple[str, str], int] = {}
    cells: dict[str, int] = {}
    for job in plan.jobs:
        cases.setdefault((job.case.artifact.id, job.case.name), len(cases))
        cells.setdefault(job.cell.id, len(cells))

    def key(result: Result) -> tuple[int, int, str]:
        case = cases.get((result.artifact, result.case))
        if case is None:
            case = cases.get((result.artifact, result.case.split("/")[0]), len(cases))
        return case, cells.get(result.cell, len(cells)), result.case

    return key


def _stats(plan: RunPlan, clock: float) -> dict[str, Any]:
    build = plan.build
    return {
        "wall_s": round(time.perf_counter() - clock, 3),
        "jobs": len(plan.jobs),
        "shard": str(plan.shard) if plan.shard else None,
        "batched": plan.batched,
        "artifacts_built": build.built if build else 0,
        "artifacts_cached": build.reused if build else 0,
    }

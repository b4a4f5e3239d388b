"""Executing a plan: jobs to the worker pool, results back, in either isolation mode.

`case` isolation runs every job in its own instance. `batch` isolation runs all of an
artifact's planned cases in one instance per cell, through a harness that can split the
binary's own output into per-case verdicts (`BatchHarness`); only the passes and skips of a
batch are taken from it: every other case, and every case the instance never reported on,
runs again alone. A batch is `killable` (`Invocation.killable`): what it printed matters
to no one once it is past its limits, so a runtime may run it without time checks of its
own and its worker be ended at the limit. Jobs go longest-expected-first, by the
durations of the previous run.

`work_items` is the step every executor takes first (the pytest plugin's too): which jobs
run, and which results are known without running them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from math import inf
from pathlib import Path

from wasitest.config import Settings, SuiteConfig, isolation_of
from wasitest.model import WAIVABLE, Artifact, Capability, Execution, Job, Outcome, Result, RuntimeInfo, Verdict
from wasitest.plugin import Registry
from wasitest.protocols import BatchHarness, batching, refusing, with_subcases
from wasitest.runner.job import Sessions, WorkItem, run_job
from wasitest.runner.journal import batch_id
from wasitest.runner.plan import invocation_for, suites_by_name, world_problem
from wasitest.runner.pool import WorkerPool
from wasitest.runner.verdicts import result_from_verdict, results_for, results_from, verdict_for, with_attempts
from wasitest.runplan import RunPlan

#: a batch gets each case's time limit, up to this much in all
MAX_BATCH_TIMEOUT_S = 900.0
ACCEPTED_FROM_BATCH = (Outcome.PASSED, Outcome.SKIPPED)


def _missing_capability(job: Job, info: RuntimeInfo | None, needs: frozenset[Capability]) -> str:
    if info is None:
        return ""
    missing = needs - info.capabilities - {Capability(u) for u in job.cell.unsafe}
    if not missing:
        return ""
    text = f"{job.cell.runtime} cannot enforce or provide: {', '.join(sorted(c.value for c in missing))}"
    if Capability.FS_CONTAINMENT in missing and missing <= WAIVABLE:  # only where opting in lets it run
        text += (
            f"; a module could reach host files outside its scratch dir (see SECURITY.md); opt in with "
            f'[tool.wasitest] allow_unsafe = ["{job.cell.runtime}"]'
        )
    return text


def _work(plan: RunPlan, registry: Registry, index: int, suites: Mapping[str, SuiteConfig]) -> WorkItem | list[Result]:
    """The work item of the plan's job `index`, or its results when they are known without
    running it (see `work_items`)."""
    job = plan.jobs[index]
    invocation = invocation_for(job, suites.get(job.case.artifact.suite), plan.settings)
    if job.expectation.startswith("skip"):
        return results_for(job, Execution(), registry, invocation.timeout_s)
    item = WorkItem(
        index,
        job.cell,
        invocation,
        copy_in=job.case.copy_in,
        scratch_preopens=job.case.scratch_preopens,
        default_preopens=job.case.default_preopens,
    )
    info = plan.infos.get(job.cell.id)
    harness = registry.harnesses.get(job.case.artifact.harness)
    refuser = refusing(harness)
    refused = refuser.refuse(job.case) if refuser else ""
    reason = refused or world_problem(job, info) or _missing_capability(job, info, item.needs())
    if reason:
        return results_for(job, Execution(unsupported=reason), registry, invocation.timeout_s)
    return item


def work_items(plan: RunPlan, registry: Registry) -> tuple[list[WorkItem], list[Result]]:
    """The jobs to run, and the results known without running: skipped by an expectation,
    or unsupported (its harness refuses the case, the cell's runtime does not run the job's
    world, or lacks a capability the job needs)."""
    suites = suites_by_name(plan.settings)
    items: list[WorkItem] = []
    known: list[Result] = []
    for index in range(len(plan.jobs)):
        work = _work(plan, registry, index, suites)
        if isinstance(work, list):
            known += work
        else:
            items.append(work)
    return items, known


def _streamed_items(plan: RunPlan, registry: Registry, order: Sequence[int], known: list[Result]) -> Iterator[WorkItem]:
    """`work_items` one at a time, in `order`, as the pool asks for them: a run holds the
    items in flight, not one per job (200,000 of them cost more memory than the rest of
    the run). The results known without running are added to `known` on the way."""
    suites = suites_by_name(plan.settings)
    for index in order:
        work = _work(plan, registry, index, suites)
        if isinstance(work, list):
            known += work
        else:
            yield work


def _drain(known: list[Result]) -> list[Result]:
    """What `known` holds, which is emptied."""
    done = list(known)
    known.clear()
    return done


def runs_in_batches(
    artifact: Artifact, settings: Settings, suites: Mapping[str, SuiteConfig], registry: Registry
) -> bool:
    """Whether an artifact's cases run in batches: its suite asks for batch isolation and its
    harness can split a batch's output."""
    return (
        isolation_of(settings, suites.get(artifact.suite)) == "batch"
        and batching(registry.harnesses.get(artifact.harness)) is not None
    )


def _batches(
    plan: RunPlan, registry: Registry, items: list[WorkItem]
) -> tuple[list[WorkItem], dict[int, list[WorkItem]]]:
    """Split the items into those run alone and batches (by artifact and cell)."""
    settings = plan.settings
    suites = suites_by_name(settings)
    groups: dict[tuple[str, str], tuple[BatchHarness, list[WorkItem]]] = {}
    alone: list[WorkItem] = []
    for item in items:
        job = plan.jobs[item.index]
        artifact = job.case.artifact
        harness = batching(registry.harnesses.get(artifact.harness))
        if harness is not None and isolation_of(settings, suites.get(artifact.suite)) == "batch":
            groups.setdefault((artifact.id, job.cell.id), (harness, []))[1].append(item)
        else:
            alone.append(item)
    batches: dict[int, list[WorkItem]] = {}
    next_index = len(plan.jobs)
    for batcher, members in groups.values():
        if len(members) == 1:
            alone += members
            continue
        first = plan.jobs[members[0].index]
        case = batcher.batch(first.case.artifact, [plan.jobs[m.index].case for m in members])
        invocation = replace(
            members[0].invocation,
            argv=case.argv + members[0].invocation.argv[len(first.case.argv) :],
            stdin=case.stdin,
            timeout_s=min(MAX_BATCH_TIMEOUT_S, members[0].invocation.timeout_s * len(members)),
            killable=True,  # past its limits a batch's output matters to no one: its cases run alone
        )
        batches[next_index] = members
        alone.append(replace(members[0], index=next_index, invocation=invocation))
        next_index += 1
    return alone, batches


def _expected(plan: RunPlan, batches: Mapping[int, list[WorkItem]] | None = None) -> Callable[[int], float]:
    """How long the job of an index is expected to take, by the previous run's durations:
    unknown (infinite) for a job not seen before. A batch (an index past the plan) is
    expected to take what its artifact's batch in that cell took last time."""
    history = plan.history
    jobs = plan.jobs
    batches = batches or {}

    def expected(index: int) -> float:
        if index < len(jobs):
            return history.get(jobs[index].id, inf)
        members = batches.get(index)
        if not members:
            return inf
        first = jobs[members[0].index]
        return history.get(batch_id(first.case.artifact.id, first.cell.id), inf)

    return expected


def _longest_first(
    items: list[WorkItem], plan: RunPlan, batches: Mapping[int, list[WorkItem]] | None = None
) -> list[WorkItem]:
    """Longest expected first (by the previous run's durations), so no core idles at the
    end waiting for one slow job or batch; those never seen before go first, in plan order."""
    if not plan.history:
        return items
    expected = _expected(plan, batches)
    return sorted(items, key=lambda item: expected(item.index), reverse=True)


def _longest_first_order(plan: RunPlan) -> Sequence[int]:
    """The plan's job indexes in `_longest_first` order."""
    if not plan.history:
        return range(len(plan.jobs))
    return sorted(range(len(plan.jobs)), key=_expected(plan), reverse=True)


def _batching(plan: RunPlan, registry: Registry) -> bool:
    """Whether any job of the plan may run in a batch (its suite asks, its harness can)."""
    settings = plan.settings
    suites = suites_by_name(settings)
    if not any(isolation_of(settings, suite) == "batch" for suite in [*suites.values(), None]):
        return False
    artifacts = {job.case.artifact.id: job.case.artifact for job in plan.jobs}.values()
    return any(runs_in_batches(artifact, settings, suites, registry) for artifact in artifacts)


def execute(plan: RunPlan, registry: Registry, pool: WorkerPool | None = None) -> Iterator[Result]:
    """Run every job of the plan and yield each result as it is known. `pool` is one
    started early (see `run.run`); by default a pool of `jobs` workers is made here."""
    settings = plan.settings
    pool = pool or WorkerPool.of(settings)
    known: list[Result] = []
    batches: dict[int, list[WorkItem]] = {}
    source: Iterable[WorkItem]
    if _batching(plan, registry):
        items, known = work_items(plan, registry)
        alone, batches = _batches(plan, registry, items)
        source, total = _longest_first(alone, plan, batches), len(alone)
    else:
        order = _longest_first_order(plan)
        source, total = _streamed_items(plan, registry, order, known), len(order)
    yield from _drain(known)
    #: the jobs of the subcases run alone, by their indexes (past the plan's and the batches')
    subjobs: dict[int, Job] = {}
    more = itertools.count(len(plan.jobs) + len(batches))
    earlier: dict[int, list[Result]] = {}
    for item, execution in pool.run(source, total):
        yield from _drain(known)
        index = item.index
        members = batches.pop(index, None)
        if members is not None:
            taken, rest = _split(plan, registry, members, execution)
            plan.batched += len(taken)
            yield from taken
            for member in rest:  # failed or unreported in the batch: run alone
                pool.submit(member)
            continue
        job = subjobs[index] if index in subjobs else plan.jobs[index]
        verdict = verdict_for(job, execution, registry, item.invocation.timeout_s)
        results = results_from(job, execution, verdict)
        tries = earlier.setdefault(index, [])
        if _retry(results[0], tries, settings.retries):
            tries.append(results[0])
            pool.submit(item)
            continue
        subjobs.pop(index, None)
        yield from with_attempts(results, earlier.pop(index))
        for sub_job, sub_item in _subcases_alone(registry, job, item, verdict.unreported, more):
            subjobs[sub_item.index] = sub_job
            pool.submit(sub_item)
    yield from _drain(known)


def _subcases_alone(
    registry: Registry, job: Job, item: WorkItem, names: Sequence[str], indexes: Iterator[int]
) -> Iterator[tuple[Job, WorkItem]]:
    """A job and its work item for each subcase an instance died before reporting, each to
    run alone in the same cell (the parent's own suite arguments kept)."""
    harness = with_subcases(registry.harnesses.get(job.case.artifact.harness))
    if harness is None:
        return
    extra_argv = item.invocation.argv[len(job.case.argv) :]
    for name in names:
        case = harness.subcase(job.case, name)
        invocation = replace(item.invocation, argv=case.argv + extra_argv, stdin=case.stdin)
        yield replace(job, case=case), replace(item, index=next(indexes), invocation=invocation)


def run_here(plan: RunPlan, registry: Registry, job: Job, sessions: Sessions, scratch: Path) -> list[Result]:
    """One job of the plan run in this process, as a pool worker runs it, with its
    retries: for executors that are themselves parallel processes (pytest-xdist's
    workers). Batch isolation does not apply: the job runs alone, which batching only
    speeds up."""
    items, known = work_items(replace(plan, jobs=[job]), registry)
    if not items:
        return known
    (item,) = items
    earlier: list[Result] = []
    while True:
        execution = run_job(item, sessions, scratch)
        verdict = verdict_for(job, execution, registry, item.invocation.timeout_s)
        results = results_from(job, execution, verdict)
        if not _retry(results[0], earlier, plan.settings.retries):
            break
        earlier.append(results[0])
    done = with_attempts(results, earlier)
    for sub_job, _sub_item in _subcases_alone(registry, job, item, verdict.unreported, itertools.count()):
        done += run_here(plan, registry, sub_job, sessions, scratch)
    return done


def _retry(result: Result, earlier: list[Result], retries: int) -> bool:
    """Whether a job's result asks for another attempt: a failure (an unexpected pass
    aside, which a retry cannot change) with attempts left."""
    return result.outcome.is_failure and result.outcome is not Outcome.XPASSED and len(earlier) < retries


def _split(
    plan: RunPlan, registry: Registry, members: list[WorkItem], execution: Execution
) -> tuple[list[Result], list[WorkItem]]:
    """The results a batch run gives (its passes and skips), and the members to run alone."""
    jobs = [plan.jobs[m.index] for m in members]
    harness = batching(registry.harnesses.get(jobs[0].case.artifact.harness))
    verdicts: Mapping[str, Verdict] = {}
    # only a batch harness makes batches; a run that did not run is not the harness's to read
    if harness is not None and not (execution.error or execution.crash or execution.unsupported):
        try:
            verdicts = harness.split([job.case for job in jobs], execution)
        except Exception:  # noqa: BLE001 - an unreadable batch costs only the batching
            verdicts = {}
    share = execution.duration_s / max(1, len(members))
    taken: list[Result] = []
    rest: list[WorkItem] = []
    for member, job in zip(members, jobs, strict=True):
        verdict = verdicts.get(job.case.name)
        if verdict is not None and verdict.outcome in ACCEPTED_FROM_BATCH:
            taken.extend(result_from_verdict(job, verdict, share))
        else:
            rest.append(member)
    return taken, rest

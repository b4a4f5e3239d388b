"""Planning: which cells run, and the jobs (cases x cells) with their invocations."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from wasitest.config import Expectation, Settings, SuiteConfig
from wasitest.errors import ConfigError
from wasitest.model import Artifact, Case, Cell, Invocation, Job, RuntimeInfo
from wasitest.runner.build import FORM_ERRORS


def is_expected_failure(suite: SuiteConfig | None, case: Case) -> bool:
    if suite is None or not suite.xfail:
        return False
    names = (f"{case.artifact.name}::{case.name}", f"{case.artifact.id}::{case.name}", case.name)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in suite.xfail for name in names)


def expectation_for(case: Case, cell: Cell, expectations: Sequence[Expectation]) -> str:
    names = (f"{case.artifact.name}::{case.name}", f"{case.artifact.id}::{case.name}")
    for expectation in expectations:
        if fnmatch.fnmatchcase(cell.id, expectation.runtime) and any(
            fnmatch.fnmatchcase(name, pattern) for pattern in expectation.cases for name in names
        ):
            return f"{expectation.action}: {expectation.reason or 'declared in [[tool.wasitest.expect]]'}"
    return ""


def plan_jobs(
    cases: Mapping[str, Sequence[Case]],
    cells: Sequence[Cell],
    suites: Mapping[str, SuiteConfig],
    expectations: Sequence[Expectation] = (),
) -> list[Job]:
    """Cases outside, cells inside: the cells of one case run side by side, so a slow
    runtime never leaves the others idle at the end of a run."""
    jobs = []
    for artifact_cases in cases.values():
        for case in artifact_cases:
            suite_xfail = is_expected_failure(suites.get(case.artifact.suite), case)
            for cell in cells:
                expectation = expectation_for(case, cell, expectations)
                jobs.append(Job(case, cell, suite_xfail or expectation.startswith("xfail"), expectation))
    return jobs


def invocation_for(job: Job, suite: SuiteConfig | None, settings: Settings) -> Invocation:
    """The job's invocation: the artifact in the cell's world (its own when the cell names
    none, or has no form of it: `world_problem` then makes the job unsupported)."""
    case = job.case
    form = case.artifact.form(job.cell.world) or case.artifact.form("")
    assert form is not None  # an artifact always has its own form
    return Invocation(
        module=form.path,
        module_sha256=form.sha256,
        world=form.world,
        argv=case.argv + (suite.args if suite else ()),
        env=(suite.env if suite else ()) + case.env,
        stdin=case.stdin,
        timeout_s=(suite.timeout_s if suite and suite.timeout_s else settings.timeout_s),
        memory_limit=(suite.memory if suite and suite.memory else settings.memory),
        disk_limit=(suite.disk if suite and suite.disk else settings.disk),
        output_cap=(suite.output_cap if suite and suite.output_cap else settings.output_cap),
    )


def world_problem(job: Job, info: RuntimeInfo | None) -> str:
    """Why the job cannot run in its cell's world, or "": the artifact has no form of that
    world, or the cell's runtime does not run it (decided at plan time, per world)."""
    artifact = job.case.artifact
    world = job.cell.world or artifact.world
    if artifact.form(world) is None:
        kind = "a core module" if artifact.world == "p1" else f"a {artifact.world} component"
        why = dict(artifact.extra.get(FORM_ERRORS, {})).get(world) or "a p1 module can be made into a p2 component"
        return f"{artifact.id} is {kind} with no {world} form ({why})"
    if info is not None and world not in info.worlds:
        what = "core modules" if info.worlds == ("p1",) else "worlds " + ", ".join(info.worlds)
        return f"{job.cell.runtime} runs {what} only, not {world} {'components' if world != 'p1' else 'modules'}"
    return ""


def suites_by_name(settings: Settings) -> dict[str, SuiteConfig]:
    return {s.name: s for s in settings.suites}


def check_artifacts(artifacts: Sequence[Artifact]) -> None:
    if not artifacts:
        raise ConfigError(
            "no suites are configured", "add a [tool.wasitest.suites.NAME] table to pyproject.toml or wasitest.toml"
        )

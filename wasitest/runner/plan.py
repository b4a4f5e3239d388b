"""Planning: which cells run, and the jobs (cases x cells) with their invocations."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from wasitest.config import Expectation, Settings, SuiteConfig
from wasitest.errors import ConfigError
from wasitest.model import Artifact, Case, Cell, Invocation, Job


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
    case = job.case
    return Invocation(
        module=case.artifact.path,
        argv=case.argv + (suite.args if suite else ()),
        env=(suite.env if suite else ()) + case.env,
        stdin=case.stdin,
        timeout_s=(suite.timeout_s if suite and suite.timeout_s else settings.timeout_s),
        memory_limit=(suite.memory if suite and suite.memory else settings.memory),
        output_cap=(suite.output_cap if suite and suite.output_cap else settings.output_cap),
    )


def suites_by_name(settings: Settings) -> dict[str, SuiteConfig]:
    return {s.name: s for s in settings.suites}


def check_artifacts(artifacts: Sequence[Artifact]) -> None:
    if not artifacts:
        raise ConfigError(
            "no suites are configured", "add a [tool.wasitest.suites.NAME] table to pyproject.toml or wasitest.toml"
        )

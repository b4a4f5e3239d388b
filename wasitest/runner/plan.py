"""Planning: which cells run, and the jobs (cases x cells) with their invocations."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from wasitest.config import Settings, SuiteConfig
from wasitest.errors import ConfigError, RuntimeUnavailable
from wasitest.model import Artifact, Case, Cell, Invocation, Job, RuntimeInfo
from wasitest.plugin import Registry


@dataclass(frozen=True)
class CellChoice:
    cells: list[Cell]
    infos: dict[str, RuntimeInfo]
    unavailable: dict[str, str]


def choose_cells(settings: Settings, registry: Registry, requested: Sequence[str] | None) -> CellChoice:
    """The cells of this run.

    `--runtimes a,b` asks for exactly those (an unavailable one is an error). Without it, a
    plain run uses the default runtime, and `--matrix` uses the configured `runtimes` or,
    when none are configured, every runtime available on this host; unavailable ones are
    reported, not silently dropped.
    """
    for name in requested or settings.runtimes:
        registry.runtimes.get(name)  # unknown names: did-you-mean error
    if requested:
        names, strict = list(dict.fromkeys(requested)), True
    elif settings.matrix:
        names, strict = list(settings.runtimes or registry.runtimes.names()), False
    else:
        names, strict = [settings.runtimes[0] if settings.runtimes else "wasmtime"], True
    infos = {name: registry.runtimes.get(name).info() for name in names}
    unavailable = {n: i.reason or "not available" for n, i in infos.items() if not i.available}
    if strict and unavailable:
        name, reason = next(iter(unavailable.items()))
        raise RuntimeUnavailable(
            f"runtime {name!r} is not available: {reason}", infos[name].install_hint or "see `wasitest runtimes`"
        )
    cells = [Cell(n, "local", infos[n].version) for n in names if infos[n].available]
    if not cells:
        raise RuntimeUnavailable(
            "no runtime is available on this host", "see `wasitest runtimes` for how to install one"
        )
    return CellChoice(cells, infos, unavailable)


def is_expected_failure(suite: SuiteConfig | None, case: Case) -> bool:
    if suite is None or not suite.xfail:
        return False
    names = (f"{case.artifact.name}::{case.name}", f"{case.artifact.id}::{case.name}", case.name)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in suite.xfail for name in names)


def plan_jobs(
    cases: Mapping[str, Sequence[Case]], cells: Sequence[Cell], suites: Mapping[str, SuiteConfig]
) -> list[Job]:
    """Cases outside, cells inside: the cells of one case run side by side, so a slow
    runtime never leaves the others idle at the end of a run."""
    return [
        Job(case, cell, is_expected_failure(suites.get(case.artifact.suite), case))
        for artifact_cases in cases.values()
        for case in artifact_cases
        for cell in cells
    ]


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

"""Every hook wasitest calls, in one place.

Hooks are called with keyword arguments only. Registration hooks hand each plugin a
`register` callable (the tox model): a plugin adds as many objects as it likes, keyed by
their `name`; a second object with a name already taken is a configuration error.
Lifecycle hooks are called on every registered plugin, including the reporter objects
that reporter factories create for a run; their return values are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from wasitest.model import Result
    from wasitest.protocols import Builder, Harness, Host, Runtime
    from wasitest.runplan import RunPlan, RunSummary

hookspec = pluggy.HookspecMarker("wasitest")

ReporterFactory = Callable[[Any], Any]


@hookspec
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    """Called once when the registry is built. Add `Builder` objects with `register`."""


@hookspec
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    """Called once when the registry is built. Add `Harness` objects with `register`."""


@hookspec
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    """Called once when the registry is built, in the parent and in every worker process.

    Add `Runtime` adapters with `register`. Registering must be cheap and must not start the
    runtime: availability is asked later through `Runtime.info()`.
    """


@hookspec
def wasitest_register_hosts(register: Callable[[Host], None]) -> None:
    """Called once when the registry is built. Add `Host` objects with `register`."""


@hookspec
def wasitest_register_reporters(register: Callable[[str, ReporterFactory], None]) -> None:
    """Called once when the registry is built. `register(name, factory)` adds a reporter.

    At the start of a run every factory is called with the run's `Settings`; a factory
    returns an object with lifecycle hook implementations (it is then registered as a plugin
    under `reporter-NAME` for that run), or None when its output was not asked for.
    """


@hookspec
def wasitest_run_start(plan: RunPlan) -> None:
    """Called after building and discovery, before the first job starts.

    `plan` holds the cells, the artifacts and the jobs about to run.
    """


@hookspec
def wasitest_result(result: Result) -> None:
    """Called in the parent process for each job's result, the moment it is known."""


@hookspec
def wasitest_run_end(summary: RunSummary) -> None:
    """Called once when the run is over (also after an interruption), with every result,
    the divergences and the exit code the run will return. Reporters write their files here.
    """

"""What each kind of plugin object provides.

Plugins add objects of these shapes through the registration hooks in `hookspec.py`. They
are `Protocol`s, not base classes: a third-party plugin needs nothing from wasitest to
implement one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, cast, runtime_checkable

from wasitest.config import SuiteConfig
from wasitest.model import Artifact, Case, Execution, Invocation, RuntimeInfo, Verdict


@runtime_checkable
class RuntimeSession(Protocol):
    """A runtime kept alive inside one worker process and fed invocations one at a time.

    A session may cache compiled modules, linkers and helper processes between runs, but
    every `run` must get a fresh instance: nothing of one job may be visible to the next.

    A session may also have `interrupt()`, called from another thread to end the running
    job at once (the runner's disk watch calls it, `wasitest.runner.disk`); the job's `run`
    then returns whatever it saw. Sessions whose jobs run in child processes need none in
    the worker pool, where the watch kills those processes.
    """

    def run(self, invocation: Invocation) -> Execution: ...

    def close(self) -> None: ...


@runtime_checkable
class Runtime(Protocol):
    """A WASI runtime adapter.

    Built-in adapters, and most third-party ones, subclass
    `wasitest.plugins.runtimes.kit.RuntimeAdapter`, which provides everything here but
    `name` from a `probe()` and a `session()`.
    """

    name: str

    def info(self) -> RuntimeInfo:
        """Whether it is usable here, its version and capabilities; cheap, no module run."""
        ...

    def check_options(self, options: Mapping[str, str]) -> str:
        """Why these runtime-option values (a matrix cell's) cannot work here, or ""."""
        ...

    def open_session(self, cache_dir: Path, options: Mapping[str, str] | None = None) -> RuntimeSession:
        """Start a session in the calling (worker) process, with the cell's runtime options
        (only names `RuntimeInfo.options` declares)."""
        ...


@runtime_checkable
class BuildContext(Protocol):
    """What a builder gets besides the suite: where to write and what it may reuse."""

    project_dir: Path
    cache_dir: Path
    #: how many artifacts this build made, and how many it took from the cache or as given
    built: int
    reused: int

    def log(self, message: str) -> None: ...

    def cached(self, key: str) -> Path:
        """Where the output for a cache key lives; it exists when that build was done before."""
        ...

    def store(self, produced: Path, key: str) -> Path:
        """Move a freshly built file into the cache under `key`; returns its cached path."""
        ...

    def reuse(self) -> None:
        """Count an artifact that needed no build (cached or prebuilt)."""
        ...


@runtime_checkable
class Builder(Protocol):
    """Turns a suite into artifacts. Called once per run, before any job."""

    name: str

    def build(self, suite: SuiteConfig, context: BuildContext) -> Sequence[Artifact]: ...


Execute = Callable[[Invocation], Execution]


@runtime_checkable
class Harness(Protocol):
    """Knows a test binary's own protocol: how to list cases, run one, read its outcome.

    The runner alone judges what no harness could: before a harness reads a verdict, the
    runner has given its own to a job that was skipped by an expectation, was
    `unsupported`, whose worker `crash`ed, whose runtime reported an `error` (it could not
    run the module, or its adapter failed), or that ran out of time (a `TrapKind.TIMEOUT`
    trap). So `verdict` only ever reads an execution that ran: it has an exit code or a
    trap of another kind (or, from a faulty runtime, neither), and a harness checks none
    of those fields (`wasitest.runner.verdicts.runner_verdict` is the one place that does).
    """

    name: str

    def discover(self, artifact: Artifact, execute: Execute) -> Sequence[Case]:
        """List the artifact's cases; `execute` runs the module on the discovery runtime.
        Nothing judges these executions first: one may carry an `error` or be
        `unsupported`, and the harness says why the listing failed."""
        ...

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        """Read one case's outcome from the execution of its invocation, one that ran
        (see above)."""
        ...


@runtime_checkable
class BatchHarness(Protocol):
    """A harness that can also run many of an artifact's cases in one instance (`batch`
    isolation) and read each case's result from the binary's own output.

    The runner accepts only the passes and skips a batch reports; any other outcome, and
    every case the instance never reported on (it trapped, crashed or timed out first),
    runs again alone, so a batch never hides a case and every failure is confirmed, with
    its own message, in an instance of its own.
    """

    def batch(self, artifact: Artifact, cases: Sequence[Case]) -> Case:
        """One invocation that runs all of `cases` (it may run more)."""
        ...

    def split(self, cases: Sequence[Case], execution: Execution) -> Mapping[str, Verdict]:
        """The verdicts of the cases the batch run reported, by case name. The runner
        splits only a run that was not unsupported, crashed or refused; one that trapped
        or timed out is split, for the cases it reported before it stopped."""
        ...


@runtime_checkable
class RefusingHarness(Protocol):
    """A harness that can tell, before a job runs, that its case needs what no cell gives
    (a wasi-testsuite spec asking for proposals or a server): the job is `unsupported`
    with the reason, and never run."""

    def refuse(self, case: Case) -> str:
        """Why `case` must not run, or ""."""
        ...


@runtime_checkable
class SubcaseHarness(Protocol):
    """A harness whose binaries can run one subcase alone (a Go subtest), for the subcases a
    `Verdict` lists as `unreported`."""

    def subcase(self, case: Case, name: str) -> Case:
        """The case that runs exactly subcase `name` (a full name, `TestX/sub`) of `case`."""
        ...


@runtime_checkable
class Host(Protocol):
    """Where runtimes run: `local` is this machine; others (an emulated CPU) wrap a runtime."""

    name: str

    def available(self) -> tuple[bool, str]:
        """Whether this host can run anything here, and why not."""
        ...

    def runtime(self, runtime: Runtime) -> Runtime | None:
        """The runtime as it runs on this host, or None when it cannot run there."""
        ...

    def platform(self) -> str:
        """The OS and CPU jobs really run on, e.g. `linux-x86_64` or `linux-aarch64`."""
        ...



def batching(harness: object) -> BatchHarness | None:
    """`harness` as a `BatchHarness`, or None (see `_implements`)."""
    return cast(BatchHarness, harness) if _implements(harness, BatchHarness) else None


def refusing(harness: object) -> RefusingHarness | None:
    """`harness` as a `RefusingHarness`, or None (see `_implements`)."""
    return cast(RefusingHarness, harness) if _implements(harness, RefusingHarness) else None


def with_subcases(harness: object) -> SubcaseHarness | None:
    """`harness` as a `SubcaseHarness`, or None (see `_implements`)."""
    return cast(SubcaseHarness, harness) if _implements(harness, SubcaseHarness) else None


_IMPLEMENTS: dict[tuple[type, type], bool] = {}


def _implements(plugin: object, protocol: type) -> bool:
    """`isinstance(plugin, protocol)`, answered once per class: a protocol's check looks
    up each of its attributes, about 30 us, which the runner would otherwise pay on every
    job."""
    key = (type(plugin), protocol)
    found = _IMPLEMENTS.get(key)
    if found is None:
        found = _IMPLEMENTS[key] = isinstance(plugin, protocol)
    return found

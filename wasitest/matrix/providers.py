"""`--shard auto`: this job's slice from the CI's own parallel-job variables.

Each CI that runs N copies of a job tells each copy its position in variables of its own;
docs/ci.md cites where each documents them. A position counts from 0 or from 1, per CI:

| CI | index | total | first |
| --- | --- | --- | --- |
| GitLab CI (`parallel: N`) | `CI_NODE_INDEX` | `CI_NODE_TOTAL` | 1 |
| Buildkite (`parallelism: N`) | `BUILDKITE_PARALLEL_JOB` | `BUILDKITE_PARALLEL_JOB_COUNT` | 0 |
| CircleCI (`parallelism: N`) | `CIRCLE_NODE_INDEX` | `CIRCLE_NODE_TOTAL` | 0 |
| Semaphore (`parallelism: N`) | `SEMAPHORE_JOB_INDEX` | `SEMAPHORE_JOB_COUNT` | 1 |
| Azure Pipelines (`strategy: parallel: N`) | `SYSTEM_JOBPOSITIONINPHASE` | `SYSTEM_TOTALJOBSINPHASE` | 1 |
| Kubernetes (an Indexed Job) | `JOB_COMPLETION_INDEX` | `JOB_COMPLETIONS` | 0 |

Kubernetes gives a pod its index only; the Job's `completions` must be passed to the pod
as `JOB_COMPLETIONS` (an `env` entry of the pod template, equal to `spec.completions`).
GitLab sets `CI_NODE_TOTAL=1` on every job that has no `parallel`, with no index: that is
a job to run whole, not an inconsistency. Outside all of these, `--shard auto` runs every
job and says so; variables that contradict themselves (an index without its total, a
number out of range, two CIs that disagree) are a one-line error, since running the wrong
slice would pass in silence with jobs never run.

The environment is a parameter, so tests (and callers) choose what the process sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from wasitest.errors import UsageError
from wasitest.matrix.shard import Shard


@dataclass(frozen=True)
class Provider:
    """A CI's parallel-job variables."""

    name: str
    index: str
    total: str
    #: the index of the first copy: 0 or 1
    first: int
    #: the total this CI sets on a job that is not parallel, with no index ("1" on GitLab)
    total_alone: str | None = None
    #: how to fix a missing total
    hint: str = ""


PROVIDERS: Final[tuple[Provider, ...]] = (
    Provider("GitLab CI", "CI_NODE_INDEX", "CI_NODE_TOTAL", 1, total_alone="1"),
    Provider("Buildkite", "BUILDKITE_PARALLEL_JOB", "BUILDKITE_PARALLEL_JOB_COUNT", 0),
    Provider("CircleCI", "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0),
    Provider("Semaphore", "SEMAPHORE_JOB_INDEX", "SEMAPHORE_JOB_COUNT", 1),
    Provider("Azure Pipelines", "SYSTEM_JOBPOSITIONINPHASE", "SYSTEM_TOTALJOBSINPHASE", 1),
    Provider(
        "a Kubernetes Indexed Job",
        "JOB_COMPLETION_INDEX",
        "JOB_COMPLETIONS",
        0,
        hint="give the pod template an env entry JOB_COMPLETIONS equal to the Job's spec.completions",
    ),
)


@dataclass(frozen=True)
class Detection:
    """What `--shard auto` found: the slice to run (None: every job), which CI said so, and
    the variables it read (`CI_NODE_INDEX=2, CI_NODE_TOTAL=4`)."""

    shard: Shard | None
    provider: Provider | None = None
    variables: str = ""

    def describe(self) -> str:
        """One line for stderr: what runs, and why."""
        if self.provider is None:
            names = ", ".join(p.name.removeprefix("a ") for p in PROVIDERS)
            return f"--shard auto: no CI parallel-job variables ({names}): running every job"
        if self.shard is None:
            return f"--shard auto: {self.provider.name} runs this job once ({self.variables}): running every job"
        return f"--shard auto: shard {self.shard} from {self.provider.name} ({self.variables})"


def _number(environ: Mapping[str, str], name: str) -> int:
    value = environ[name].strip()
    if not value.isdigit():
        raise UsageError(f"--shard auto: {name}={environ[name]!r} is not a whole number",
                         "fix the variable, or pass --shard K/N")
    return int(value)


def _read(provider: Provider, environ: Mapping[str, str]) -> Detection | None:
    """The slice `provider`'s variables give, None when they are not set."""
    index_set = bool(environ.get(provider.index, "").strip())
    total_set = bool(environ.get(provider.total, "").strip())
    if not index_set and not total_set:
        return None
    if not index_set and environ[provider.total].strip() == provider.total_alone:
        return Detection(None, provider, f"{provider.total}={provider.total_alone}")
    if not (index_set and total_set):
        present, missing = (provider.index, provider.total) if index_set else (provider.total, provider.index)
        raise UsageError(f"--shard auto: {present} is set but {missing} is not ({provider.name})",
                         provider.hint or "set both, or pass --shard K/N")
    index, total = _number(environ, provider.index), _number(environ, provider.total)
    variables = f"{provider.index}={index}, {provider.total}={total}"
    if total < 1 or not provider.first <= index < total + provider.first:
        last = total - 1 + provider.first
        raise UsageError(
            f"--shard auto: {variables} is out of range ({provider.name} counts from {provider.first} to {last})",
            "fix the variables, or pass --shard K/N",
        )
    shard = Shard(index - provider.first + 1, total) if total > 1 else None
    return Detection(shard, provider, variables)


def detect(environ: Mapping[str, str]) -> Detection:
    """This job's slice from `environ` (see the module's docstring)."""
    found = [(p, d) for p, d in ((p, _read(p, environ)) for p in PROVIDERS) if d is not None]
    if not found:
        return Detection(None)
    (first, said), *others = found
    for provider, other in others:
        if str(other.shard) != str(said.shard):
            raise UsageError(
                f"--shard auto: {first.name} says {said.shard or 'no slice'} ({said.variables}) but "
                f"{provider.name} says {other.shard or 'no slice'} ({other.variables})",
                "unset the variables of the CI this is not, or pass --shard K/N",
            )
    return said

"""What the run hooks receive: the plan of a run (`wasitest_run_start`) and its summary
(`wasitest_run_end`).

They live apart from the runner so that `hookspec.py` can import them: this module imports
nothing that imports the plugin manager.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wasitest.config import Settings
from wasitest.errors import ExitCode
from wasitest.matrix.shard import Shard
from wasitest.model import Artifact, Cell, Job, RuntimeInfo
from wasitest.protocols import BuildContext
from wasitest.results import ResultsDocument


@dataclass
class RunPlan:
    """What a run is about to do; reporters get it in `wasitest_run_start`."""

    settings: Settings
    cells: list[Cell]
    artifacts: list[Artifact]
    jobs: list[Job]
    unavailable: dict[str, str] = field(default_factory=dict)
    infos: dict[str, RuntimeInfo] = field(default_factory=dict)
    build: BuildContext | None = None
    bundle_id: str = ""
    shard: Shard | None = None
    #: job id -> seconds it took in the previous run (for longest-first scheduling)
    history: dict[str, float] = field(default_factory=dict)
    #: how many results were read from batch runs
    batched: int = 0


@dataclass
class RunSummary:
    """A finished run; reporters get it in `wasitest_run_end`."""

    document: ResultsDocument
    exit_code: ExitCode
    settings: Settings | None = None
    plan: RunPlan | None = None

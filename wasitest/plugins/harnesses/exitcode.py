"""The `exitcode` harness: a whole module is one case, judged by its exit code."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wasitest.model import Artifact, Case, Execution, Verdict
from wasitest.plugin import hookimpl
from wasitest.plugins.harnesses.reading import judge
from wasitest.protocols import Execute, Harness


class ExitCodeHarness:
    """One case named after the artifact, run with no arguments: exit 0 passes, 77 skips."""

    name = "exitcode"

    def discover(self, artifact: Artifact, execute: Execute) -> Sequence[Case]:
        return [Case(artifact=artifact, name=artifact.name, argv=(artifact.name,))]

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        return judge(execution)


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(ExitCodeHarness())

"""The one report path: every command that reports does it through the reporter plugins.

A command's reporters are created from the factories registered with
`wasitest_register_reporters`, called with the command's `Settings`, and registered as
plugins (`reporter-NAME`) for that command only. `run` keeps them for the whole run (the
progress bar needs `wasitest_run_start` and `wasitest_result`); `report` and `merge` have
a finished document and call `render`, which ends with the same `wasitest_run_end` a run
ends with. So whatever produced the results, the same plugins write the same files, and a
third-party reporter serves all three commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from wasitest.config import Settings
from wasitest.errors import ExitCode
from wasitest.plugin import Registry
from wasitest.results import ResultsDocument
from wasitest.runplan import RunSummary


def start_reporters(registry: Registry, settings: Settings) -> list[str]:
    """Create the reporters these settings ask for and register them; returns their plugin
    names, for `stop_reporters`."""
    names = []
    for name, factory in registry.reporters.items():
        reporter = factory(settings)
        if reporter is not None:
            plugin_name = f"reporter-{name}"
            registry.pm.register(reporter, name=plugin_name)
            names.append(plugin_name)
    return names


def stop_reporters(registry: Registry, names: Iterable[str]) -> None:
    for name in names:
        registry.pm.unregister(name=name)


@contextmanager
def reporters(registry: Registry, settings: Settings) -> Iterator[list[str]]:
    """The reporters of one command, registered while the block runs."""
    names = start_reporters(registry, settings)
    try:
        yield names
    finally:
        stop_reporters(registry, names)


def render(registry: Registry, document: ResultsDocument, settings: Settings, exit_code: ExitCode) -> RunSummary:
    """Every report of a finished document, as a run ends with them: what `report` and
    `merge` do. The summary has no plan, since no run happened here."""
    summary = RunSummary(document, exit_code, settings)
    with reporters(registry, settings):
        registry.pm.hook.wasitest_run_end(summary=summary)
    return summary

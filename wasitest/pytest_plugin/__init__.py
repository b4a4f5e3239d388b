"""The pytest front end: wasm test cases as pytest items, and a fixture to run `.wasm` files.

`pytest --wasi` (or `wasi = true` in the ini file) adds one item per job of the core's plan
(`SUITE/ARTIFACT::CASE[CELL]`), built once per run by the core's `prepare` inside one
collector; the items run through the core's `execute` (see `executor.py`), and the
terminal summary gets the core's divergence analysis over the items that ran. Nothing here
plans, runs or judges a job itself.

Loading: the `pytest11` entry point is named after this module, so `-p wasitest.pytest_plugin`
given by hand names the same plugin and is not registered twice.
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from wasitest.errors import WasitestError
from wasitest.model import Result
from wasitest.pytest_plugin.fixtures import generate_tests, wasi_run, wasi_runtime, wasi_sessions
from wasitest.pytest_plugin.nodes import PROJECT_NODE, WasiCase, WasiProject, register_markers
from wasitest.pytest_plugin.options import CASE_MARKER, add_options, read_options
from wasitest.pytest_plugin.state import STATE, WasiState, get_state
from wasitest.pytest_plugin.summary import write_divergences

#: the fixtures; pytest finds them as this plugin module's attributes
__all__ = ["wasi_run", "wasi_runtime", "wasi_sessions"]

_SESSION_PLUGIN = "wasitest-session"
#: the report attribute that carries a wasm item's results (kept by pytest-xdist's serialisation)
REPORT_ATTR = "wasitest_results"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    state = WasiState(read_options(config))
    config.stash[STATE] = state
    config.addinivalue_line("markers", f"{CASE_MARKER}: a WebAssembly test case collected by wasitest (pytest --wasi)")
    if state.options.enabled:  # `pytest --markers` and `--strict-markers` see every runtime's marker
        try:
            register_markers(config, state.registry.runtimes.names())
        except WasitestError as exc:
            raise pytest.UsageError(f"wasitest: {exc.one_line()}") from None
    config.pluginmanager.register(_RunObserver(state), _SESSION_PLUGIN)


def pytest_unconfigure(config: pytest.Config) -> None:
    observer = config.pluginmanager.get_plugin(_SESSION_PLUGIN)
    if observer is not None:
        config.pluginmanager.unregister(observer)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Under pytest-xdist, build once in the controller before its workers start: each
    worker then finds every artifact and case list in the cache instead of building it
    at the same time as the others."""
    state = get_state(session.config)
    if state.options.enabled and session.config.pluginmanager.has_plugin("dsession"):
        try:
            state.plan()
        except WasitestError:
            pass  # every worker reports it as a collection error


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the wasm items before `-k`, `-m`, `--deselect` and `--lf` filter the list."""
    state = get_state(config)
    if not state.options.enabled:
        return
    project = WasiProject.from_parent(session, name=PROJECT_NODE, nodeid=PROJECT_NODE, path=state.project)
    items.extend(session.genitems(project))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    generate_tests(metafunc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if isinstance(item, WasiCase) and call.when == "call" and item.results:
        vars(report)[REPORT_ATTR] = [result.to_json() for result in item.results]
    return report


class _RunObserver:
    """Hooks that need the run's state but get no `config`: collects each wasm report's
    results (in the xdist controller too), prints the divergences, closes the executor."""

    def __init__(self, state: WasiState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        data = getattr(report, REPORT_ATTR, None)
        if data and report.when == "call":
            self.state.results.extend(Result.from_json(entry) for entry in data)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        for executor in (self.state.executor, self.state.inline):
            if executor is not None:
                executor.close()
        self.state.executor = self.state.inline = None

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if not self.state.results:
            return
        try:
            diff = self.state.settings().diff
        except WasitestError:
            diff = None
        write_divergences(terminalreporter, self.state.results, diff)

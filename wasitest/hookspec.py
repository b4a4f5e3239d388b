"""Every hook wasitest calls, in one place.

Hooks are called with keyword arguments only. `wasitest_addoption` comes first: each
plugin declares its own command-line options, config keys and variables there (pytest's
`pytest_addoption` is the model). Registration hooks hand each plugin a
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
    from pathlib import Path

    from wasitest.model import Result
    from wasitest.options import OptionParser
    from wasitest.protocols import BuildContext, Builder, Harness, Host, Runtime
    from wasitest.runplan import RunPlan, RunSummary

hookspec = pluggy.HookspecMarker("wasitest")

ReporterFactory = Callable[[Any], Any]


@hookspec
def wasitest_addoption(parser: OptionParser) -> None:
    """Called once per command, before its command line is parsed (and by anything else
    that reads the configuration, e.g. `wasitest github`). Declare options with
    `parser.add_option(*flags, kind=..., help=..., commands=..., key=..., env=...)`:

    - `flags` (e.g. `"--junit"`) go on the subcommands in `commands`, by default the ones
      that render reports (`run`, `report`, `merge`); none for a config-only option;
    - `key` is a `[tool.wasitest]` key and `env` a `WASITEST_` variable (without the prefix);
    - `kind` is "flag", "text", "path" or "output" (a file the plugin writes, checked
      writable before a run starts).

    The value, layered defaults -> config -> environment -> command line, is in
    `Settings.extra[dest]` (`dest`: the long flag's name with `_` for `-`). A flag, key or
    variable that another plugin or the core already uses is a configuration error.
    Return value ignored.
    """


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

    At the start of a run, and when `report` or `merge` render a finished document, every
    factory is called with the command's `Settings`; a factory returns an object with
    lifecycle hook implementations (it is then registered as a plugin under `reporter-NAME`
    for that command), or None when its output was not asked for. A factory reads what
    was asked for from its own options in `Settings.extra` (see `wasitest_addoption`).
    A reporter with a `close()` method has it called when the command ends, whatever
    happened (an error, Ctrl-C): where a live display stops.
    """


@hookspec(firstresult=True)
def wasitest_make_component(module: Path, world: str, context: BuildContext) -> Path | None:
    """Called in the build step for each p1 module that a suite (`world = "p2"`) or a cell of
    the run (the matrix's `world` axis) wants in another `world`.

    Return the path of the equivalent command component (stored in `context`'s cache), or
    None when this plugin cannot make one for that world; the first non-None result wins.
    Raise `ToolchainMissing` when the tool it needs cannot be had. When no plugin makes one,
    a suite that asked for the world fails to build, and the cells of that world report
    the artifact's jobs as unsupported.
    """


@hookspec
def wasitest_progress(step: str, message: str) -> None:
    """Called in the parent process as a command moves on, so a front end is never silent
    (the console reporter shows a live line on a terminal, a line per call elsewhere):

    - `build`: a builder's one-line `BuildContext.log` message, as each artifact starts
      compiling, is taken from the cache or is built, and a note when a compile is slow
      (a toolchain's first build); called from the builders' threads too;
    - `discover`: the cases of the artifacts are being listed, then how many were found;
    - `note`: one line the user should read at the end (e.g. that a plain run used the
      default runtime only, and `--matrix` runs them all);
    - `written`: a report was written, `LABEL: PATH`, after `wasitest_run_end`.

    Before `wasitest_run_start` for a run; `wasitest build` and `wasitest list` call it
    too. Return value ignored.
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

    `report` and `merge` call it too, with the document they read or merged: then
    `summary.plan` is None (no run happened here) and no other lifecycle hook was called.
    Return value ignored.
    """

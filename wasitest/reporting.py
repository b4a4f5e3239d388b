"""The one report path: every command that reports does it through the reporter plugins.

A command's reporters are created from the factories registered with
`wasitest_register_reporters`, called with the command's `Settings`, and registered as
plugins (`reporter-NAME`) for that command only. `run` keeps them for the whole run (the
progress display needs `wasitest_progress`, `wasitest_run_start` and `wasitest_result`);
`report` and `merge` have a finished document and call `render`, which ends with the same
`finish` a run ends with. So whatever produced the results, the same plugins write the
same files, and a third-party reporter serves all three commands.

No report is lost to another: every output is checked writable before a command starts
(`check_outputs`), and at the end each plugin's `wasitest_run_end` runs on its own, so one
that still fails costs only its own file; the others, and the console summary, are still
written, the failure is one error line, and the exit code says an output failed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from wasitest.config import Settings
from wasitest.errors import ExitCode, OutputError, WasitestError
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
    """Unregister the command's reporters, first calling the `close()` of those that have
    one, whatever happened: a live display must end before an error line is printed."""
    for name in names:
        reporter = registry.pm.unregister(name=name)
        close = getattr(reporter, "close", None)
        if callable(close):
            close()


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
        finish(registry, summary, report_paths(settings, None))
    return summary


def report_paths(settings: Settings, default_results: Path | None) -> dict[str, Path]:
    """The files the reporters were asked to write, by the option that names them; a run
    also writes `results.json` to its default place (`default_results`)."""
    paths = {dest: Path(settings.extra[dest]) for dest in settings.output_options if settings.extra.get(dest)}
    results = settings.results or default_results
    return {"results": results, **paths} if results is not None else paths


def check_outputs(paths: Iterable[Path]) -> None:
    """Fail before a command does any work, not after it, when an output cannot be written.

    Writing is tried for real (a probe file in the nearest existing folder; the file
    itself opened for appending, which changes nothing, when it exists): permissions
    alone say little to root, on a read-only file system or in /proc.
    """
    for path in paths:
        _check_output(Path(path))


def _check_output(path: Path) -> None:
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder", "give the path of a file")
    folder = path.parent
    while not folder.exists() and not folder.is_symlink() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: its folder is not writable ({folder} is a file, not a folder)",
                          "choose a writable path")
    try:
        if path.exists():
            with path.open("ab"):
                pass
        else:
            handle, probe = tempfile.mkstemp(prefix=".wasitest-probe-", dir=folder)
            os.close(handle)
            os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: its folder is not writable ({exc.strerror or exc})",
                          "choose a writable path") from None


def finish(registry: Registry, summary: RunSummary, paths: dict[str, Path]) -> None:
    """End a command's reporting: every plugin's `wasitest_run_end`, each on its own.

    A plugin that fails is reported as one error line (its traceback too with `--debug`),
    after the others have run; the summary's exit code becomes that error's (`OUTPUT` for
    a file that could not be written), unless the run was interrupted. Then each report
    that was written is announced (`wasitest_progress`, step "written").
    """
    hook = registry.pm.hook
    started = time.time()
    failures: list[WasitestError] = []
    for plugin in _run_end_order(registry):
        others = [p for p in registry.pm.get_plugins() if p is not plugin]
        try:
            registry.pm.subset_hook_caller("wasitest_run_end", remove_plugins=others)(summary=summary)
        except WasitestError as exc:
            failures.append(exc)
        except Exception as exc:  # noqa: BLE001 - a broken reporter must not cost the other reports
            if os.environ.get("WASITEST_DEBUG"):
                traceback.print_exc()
            name = registry.pm.get_name(plugin) or type(plugin).__name__
            failures.append(_InternalError(f"the reporter {name} failed: {type(exc).__name__}: {exc}",
                                           "rerun with --debug and report it"))
    for label, path in paths.items():
        if _written_since(path, started):
            hook.wasitest_progress(step="written", message=f"{label}: {path}")
    for failure in failures:
        print(f"wasitest: error: {failure.one_line()}", file=sys.stderr)
    if failures and summary.exit_code is not ExitCode.INTERRUPTED:
        summary.exit_code = max((f.exit_code for f in failures), key=int)


class _InternalError(WasitestError):
    exit_code = ExitCode.INTERNAL


def _run_end_order(registry: Registry) -> Sequence[object]:
    """The plugins implementing `wasitest_run_end`, in the order pluggy calls them."""
    order: list[object] = []
    for impl in reversed(registry.pm.hook.wasitest_run_end.get_hookimpls()):
        if impl.plugin not in order:
            order.append(impl.plugin)
    return order


def _written_since(path: Path, started: float) -> bool:
    try:
        return path.stat().st_mtime >= started - 1
    except OSError:
        return False

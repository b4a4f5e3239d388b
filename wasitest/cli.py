"""The `wasitest` command: argparse subcommands over the one runner.

`main(argv)` takes its arguments explicitly and returns an exit code (see `ExitCode`),
so tests call it directly. Every `WasitestError` becomes one line on stderr (after its
detail, a compiler's diagnostics say), with its own exit code; `--debug` (or
`WASITEST_DEBUG=1`) adds the traceback and changes nothing else. A bad argument is one line
too, pointing at `--help`. A `WasitestWarning` is one `wasitest: warning:` line.

The plugins load before the command line is parsed, because they declare options of their
own (`wasitest_addoption`: `--junit`, `--html`, `-q`, ...). The core imports no plugin:
reports are rendered through the reporter hooks (`wasitest.reporting`) by every command.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from wasitest import __version__
from wasitest.cli_listing import add_listing_parser
from wasitest.config import Settings, load_settings
from wasitest.errors import EXIT_CODE_MEANINGS, ExitCode, UsageError, WasitestError, WasitestWarning
from wasitest.matrix.shard import Shard, parse_shard
from wasitest.options import Option, add_to_parsers, collect_options, defaults, given, output_dests
from wasitest.plugin import Registry, load_registry
from wasitest.results import ResultsDocument
from wasitest.runplan import RunPlan


def _runtimes_arg(value: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list of runtime names")
    return names


def _count_arg(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return number


def _jobs_arg(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _workers_arg(value: str) -> int:
    """`-j N`: 0 is the CPU count, as `jobs = 0` and `WASITEST_JOBS=0` are."""
    return _count_arg(value)


def _settings(args: argparse.Namespace, registry: Registry, from_bundle: bool = False) -> Settings:
    """Layered settings. A bundle run needs no project config: PATH only holds the outputs."""
    path = Path(args.path)
    if from_bundle and not path.is_dir():
        raise UsageError(f"folder {path} does not exist", "create it or pass another folder for the outputs")
    options = collect_options(registry.pm)
    settings = load_settings(path, os.environ, options)
    settings = settings.with_overrides(
        matrix=getattr(args, "matrix", None) or None,
        jobs=getattr(args, "jobs", None),
        results=Path(args.results).resolve() if getattr(args, "results", None) else None,
        journal=Path(args.journal).resolve() if getattr(args, "journal", None) else None,
        fail_on_divergence=getattr(args, "fail_on_divergence", None) or None,
        retries=getattr(args, "retries", None),
        isolation_override=getattr(args, "isolation", None),
        allow_unsafe=tuple(args.allow_unsafe) if getattr(args, "allow_unsafe", None) else None,
        extra={**settings.extra, **given(options, args)},
    )
    if getattr(args, "baseline", None):
        settings = replace(settings, diff=replace(settings.diff, baseline=args.baseline))
    return settings


def cmd_run(args: argparse.Namespace, registry: Registry) -> int:
    from wasitest.runner.run import run

    bundle = Path(args.bundle) if args.bundle else None
    if args.path is None:  # a bundle's run keeps its state (.wasitest) in the bundle's folder
        args.path = str(bundle) if bundle is not None else "."
    settings = _settings(args, registry, bundle is not None)
    summary = run(settings, registry, args.runtimes, bundle, args.cells, _shard(args), args.resume)
    return int(summary.exit_code)


def cmd_build(args: argparse.Namespace, registry: Registry) -> int:
    from wasitest.reporting import reporters
    from wasitest.runner.bundle import write_bundle
    from wasitest.runner.run import build_and_discover, build_session

    settings = _settings(args, registry)
    build = build_session(settings, registry)
    with reporters(registry, settings):  # the console's progress display
        built = build_and_discover(settings, registry, build=build)
    count = sum(len(c) for c in built.cases.values())
    print(f"built {len(built.artifacts)} artifact(s) with {count} case(s) ({build.built} compiled, "
          f"{build.reused} from the cache); bundle id {built.bundle_id}", file=sys.stderr)
    if args.out:
        manifest = write_bundle(Path(args.out), settings.suites, built)
        print(f"bundle written: {manifest.parent}", file=sys.stderr)
    return int(ExitCode.OK)


def cmd_list(args: argparse.Namespace, registry: Registry) -> int:
    from wasitest.reporting import reporters
    from wasitest.runner.pool import WorkerPool
    from wasitest.runner.run import prepare

    shard = _shard(args)
    settings = _settings(args, registry)
    # a batch suite's cases are listed as a run lists them, on a worker (started only if
    # one is listed), so its module is compiled for the engine the run's batches use
    pool = WorkerPool.of(settings, 1)
    try:
        with reporters(registry, settings):  # the console's progress display
            plan = prepare(settings, registry, args.runtimes, None, args.cells, shard, pool)
    finally:
        pool.close()
    if shard is not None and not args.json:
        return _list_slice(plan, shard)
    by_artifact: dict[str, list[str]] = {a.id: [] for a in plan.artifacts}
    for job in plan.jobs:
        if job.cell == plan.cells[0]:
            by_artifact[job.case.artifact.id].append(job.case.name)
    if args.json:
        sliced = {"shard": str(shard), "jobs": [job.id for job in plan.jobs]} if shard is not None else {}
        print(
            json.dumps(
                {
                    **sliced,
                    "cells": [c.to_json() for c in plan.cells],
                    "artifacts": [
                        {
                            "id": a.id,
                            "path": str(a.path),
                            "harness": a.harness,
                            "sha256": a.sha256,
                            "world": a.world,
                            "twins": [t.world for t in a.twins],
                            "cases": by_artifact[a.id],
                        }
                        for a in plan.artifacts
                    ],
                },
                indent=1,
            )
        )
    else:
        worlds = {a.id: "/".join(a.worlds) for a in plan.artifacts}
        for artifact_id, cases in by_artifact.items():
            for case in cases:
                print(f"{artifact_id}::{case}  [{worlds[artifact_id]}]")
        for artifact in plan.artifacts:  # which harness each got (the suite's, or its source's)
            print(f"{artifact.id}: harness {artifact.harness}, {len(by_artifact[artifact.id])} case(s)",
                  file=sys.stderr)
        total = sum(len(c) for c in by_artifact.values())
        print(
            f"{total} case(s) in {len(by_artifact)} artifact(s); cells: {', '.join(c.id for c in plan.cells)}",
            file=sys.stderr,
        )
    return int(ExitCode.OK)


def cmd_matrix(args: argparse.Namespace, registry: Registry) -> int:
    from wasitest.matrix.github import github_matrix
    from wasitest.runner.cells import choose_cells

    settings = _settings(args, registry).with_overrides(matrix=True)
    if args.durations:
        _bundle_durations(Path(args.durations), Path(args.bundle) if args.bundle else None)
    if args.github:
        cells = choose_cells(settings, registry, None, args.cells).cells if args.split_runtimes else []
        runtimes = [c.id for c in cells]
        print(json.dumps(github_matrix(args.os or [], args.shards, runtimes)))
        return int(ExitCode.OK)
    choice = choose_cells(settings, registry, None, args.cells)
    rows = [{**c.to_json(), "available": True} for c in choice.cells] + [
        {"id": cid, "available": False, "reason": reason} for cid, reason in choice.unavailable.items()]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        for row in rows:
            detail = row.get("runtime_version") or "" if row["available"] else f"unavailable: {row['reason']}"
            print(f"{row['id']:<32} {detail}")
    return int(ExitCode.OK)


def cmd_merge(args: argparse.Namespace, registry: Registry) -> int:
    from wasitest.matrix.merge import merge_documents, missing_shards
    from wasitest.results import load_results

    merged = merge_documents([(str(p), load_results(Path(p))) for p in args.inputs])
    missing = missing_shards(merged)
    if missing:
        print(f"wasitest: warning: no results of shard {', '.join(missing)} among the files merged", file=sys.stderr)
    return _render(args, registry, merged)


def cmd_report(args: argparse.Namespace, registry: Registry) -> int:
    """Every report again, from results.json or, after a hard kill, from the journal."""
    from wasitest.config import did_you_mean
    from wasitest.diff import DiffOptions, find_divergences
    from wasitest.errors import InputError
    from wasitest.results import document_from_journal, load_results
    from wasitest.runner.journal import journal_end

    source = Path(args.input)
    journal = source.suffix == ".jsonl"
    document = document_from_journal(source) if journal else load_results(source)
    truncated = journal and journal_end(source) == "truncated"
    if truncated:
        document.interrupted = False  # nothing says how the run ended: the file was cut
    cells = [c.id for c in document.cells]
    if args.baseline and args.baseline not in cells:
        raise UsageError(f"--baseline {args.baseline!r} names no cell of {source}{did_you_mean(args.baseline, cells)}",
                         f"its cells: {', '.join(cells)}")
    if args.baseline or journal:
        document.divergences = find_divergences(document.results, DiffOptions(baseline=args.baseline))
    code = _render(args, registry, document)
    if truncated:
        raise InputError(f"{source} is truncated: its last line is cut short; the reports hold the "
                         f"{len(document.results)} result(s) before the cut",
                         "the file was cut or its writer died mid-line; `wasitest run --resume` runs what is missing")
    return code


def _render(args: argparse.Namespace, registry: Registry, document: ResultsDocument) -> int:
    """`report` and `merge`: every report the command line asks for, by the same reporter
    plugins a run ends with. They work on files, not on a project, so they read no project
    configuration and no `WASITEST_*` variable: only the command line counts."""
    from wasitest.reporting import check_outputs, render, report_paths
    from wasitest.results import exit_code_for

    options = collect_options(registry.pm)
    settings = Settings(
        project_dir=Path.cwd(),
        results=Path(args.results) if args.results else None,
        fail_on_divergence=args.fail_on_divergence,
        extra={**defaults(options), **given(options, args)},
        output_options=output_dests(options),
    )
    check_outputs(report_paths(settings, None).values())
    return int(render(registry, document, settings, exit_code_for(document, args.fail_on_divergence)).exit_code)


def cmd_runtimes_install(args: argparse.Namespace, registry: Registry) -> int:
    from wasitest.runtime_install import install_runtime

    for name in args.names:
        print(install_runtime(name, registry.runtimes.items.values()))
    return int(ExitCode.OK)


def cmd_runtimes(args: argparse.Namespace, registry: Registry) -> int:
    infos = [registry.runtimes.get(name).info() for name in registry.runtimes.names()]
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": i.name,
                        "available": i.available,
                        "version": i.version,
                        "reason": i.reason,
                        "install": i.install_hint,
                        "capabilities": sorted(c.value for c in i.capabilities),
                    }
                    for i in infos
                ],
                indent=1,
            )
        )
        return int(ExitCode.OK)
    for info in infos:
        state = "available" if info.available else "unavailable"
        detail = info.version if info.available else f"{info.reason}; install: {info.install_hint}"
        caps = ", ".join(sorted(c.value for c in info.capabilities))
        print(f"{info.name:<12} {state:<12} {detail}" + (f"  [{caps}]" if caps else ""))
    return int(ExitCode.OK)


def _shard_arg(value: str) -> Shard | str:
    if value.strip().lower() == AUTO:
        return AUTO
    try:
        return parse_shard(value)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(exc.one_line()) from None


#: `--shard auto`: the slice from the CI's parallel-job variables (`wasitest.matrix.providers`)
AUTO = "auto"


def _shard(args: argparse.Namespace) -> Shard | None:
    """The slice to run: `--shard K/N`, or this CI job's (`--shard auto`), balanced by time
    with `--durations FILE`, else with the durations a `--bundle` carries (`wasitest matrix
    --durations`). A durations file that is not there yet (the first run, a cold cache)
    leaves the hash's slices, and says so."""
    from wasitest.matrix.durations import DURATIONS_FILE, load_durations
    from wasitest.matrix.providers import detect

    requested: Shard | str | None = args.shard
    given = Path(args.durations) if args.durations else None
    if requested is None:
        if given is not None:
            raise UsageError("--durations balances the slices of --shard", "add --shard K/N or --shard auto")
        return None
    if isinstance(requested, Shard):
        shard = requested
    else:
        detection = detect(os.environ)
        print(f"wasitest: {detection.describe()}", file=sys.stderr)
        if detection.shard is None:
            return None
        shard = detection.shard
    bundle = getattr(args, "bundle", None)
    path = given or (Path(bundle) / DURATIONS_FILE if bundle and (Path(bundle) / DURATIONS_FILE).is_file() else None)
    if path is None:
        return shard
    if not path.exists():
        print(f"wasitest: no durations at {path} yet: shard {shard} is a slice by hash", file=sys.stderr)
        return shard
    durations = load_durations(path)
    print(f"wasitest: shard {shard} balanced by time ({len(durations)} job durations from {path})", file=sys.stderr)
    return replace(shard, durations=durations)


def _list_slice(plan: RunPlan, shard: Shard) -> int:
    """`list --shard`: the jobs of the slice, one `ARTIFACT::CASE[CELL]` a line (with
    `--json`, the listing's artifacts and cases of the slice, plus `shard` and `jobs`)."""
    for job in plan.jobs:
        print(job.id)
    print(f"{len(plan.jobs)} job(s) in shard {shard}; cells: {', '.join(c.id for c in plan.cells)}", file=sys.stderr)
    return int(ExitCode.OK)


def _bundle_durations(source: Path, bundle: Path | None) -> None:
    """`matrix --durations FILE --bundle DIR`: the durations, into the bundle, so that every
    shard that runs it balances by the same numbers (and computes the same slices)."""
    from wasitest.matrix.durations import DURATIONS_FILE, load_durations, write_durations

    if bundle is None or not (bundle / "manifest.json").is_file():
        raise UsageError("matrix --durations writes them into the bundle the shards run",
                         "add --bundle DIR, a folder written by `wasitest build --out DIR`")
    target = bundle / DURATIONS_FILE
    if not source.exists():
        target.unlink(missing_ok=True)
        print(f"wasitest: no durations at {source} yet: the shards will be slices by hash", file=sys.stderr)
        return
    durations = load_durations(source)
    write_durations(target, durations, str(source))
    print(f"wasitest: {target} holds {len(durations)} job durations from {source}: the shards balance by them",
          file=sys.stderr)


def _add_baseline(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--baseline", metavar="CELL", help="compare every cell against this one")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cells", type=_runtimes_arg, default=(), help="fnmatch patterns selecting matrix cells")
    parser.add_argument("--shard", type=_shard_arg, metavar="K/N|auto",
                        help="run slice K of N (by a stable hash of case and cell); auto: this CI job's slice")
    parser.add_argument("--durations", metavar="FILE",
                        help="balance the slices by time: an earlier run's results.json, journal or JUnit file")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line that points at `--help` (exit 2), not the
    usage block: in a CI log the one line is what people read."""

    def error(self, message: str) -> NoReturn:
        self.exit(int(ExitCode.USAGE), f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _exit_codes() -> str:
    return "exit codes:\n" + "\n".join(f"  {int(code):<4} {meaning}" for code, meaning in EXIT_CODE_MEANINGS.items())


def build_parser(options: Sequence[Option] = ()) -> argparse.ArgumentParser:
    """The command line: the core's subcommands and options, then the plugins' `options`
    (the report outputs and `-q` among them) on the subcommands they name."""
    parser = _Parser(prog="wasitest", description=__doc__.splitlines()[0] if __doc__ else None,
                     epilog=_exit_codes(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-V", "--version", action="version", version=f"wasitest {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and the compilers' full output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run_p = sub.add_parser("run", help="build, then run every case on the chosen runtimes")
    run_p.add_argument("path", nargs="?", default=None,
                       help="the project folder (default: the current folder; with --bundle, the bundle's)")
    run_p.add_argument("--matrix", action="store_true", help="run on every cell of the matrix")
    run_p.add_argument("--runtimes", type=_runtimes_arg, help="comma-separated runtimes to run on, e.g. wasmtime,node")
    run_p.add_argument("-j", "--jobs", type=_workers_arg, metavar="N",
                       help="worker processes (default, and 0: the CPU count)")
    _add_baseline(run_p)
    run_p.add_argument("--results", metavar="FILE", help="write results.json here (default: .wasitest/results.json)")
    run_p.add_argument("--journal", metavar="FILE", help="the results.jsonl journal (default: .wasitest/results.jsonl)")
    run_p.add_argument("--fail-on-divergence", action="store_true", help="exit 3 when runtimes disagree on a case")
    run_p.add_argument("--retries", type=_count_arg, metavar="N",
                       help="run a failing job up to N more times; a later pass is reported flaky")
    _add_selection(run_p)
    run_p.add_argument("--bundle", metavar="DIR", help="run a bundle from `wasitest build --out` (no toolchain needed)")
    run_p.add_argument("--isolation", choices=("case", "batch"),
                       help="case: every case its own instance; batch: one instance per artifact, failures rerun alone")
    run_p.add_argument("--allow-unsafe", type=_runtimes_arg, metavar="PATTERNS",
                       help="let these cells run jobs they cannot contain (see SECURITY.md)")
    run_p.add_argument("--resume", action="store_true", help="run only the jobs the last run's journal lacks")
    run_p.set_defaults(handler=cmd_run)

    build_p = sub.add_parser("build", help="build every suite once and list its cases; --out writes a bundle")
    build_p.add_argument("path", nargs="?", default=".", help="the project folder (default: the current folder)")
    build_p.add_argument("--out", metavar="DIR", help="write a portable bundle (artifacts, case lists, manifest)")
    build_p.set_defaults(handler=cmd_build)

    list_p = sub.add_parser("list", help="build and list every case, without running them")
    list_p.add_argument("path", nargs="?", default=".", help="the project folder (default: the current folder)")
    list_p.add_argument("--runtimes", type=_runtimes_arg, help=argparse.SUPPRESS)
    list_p.add_argument("--json", action="store_true", help="print the cells and artifacts (harness, cases) as JSON")
    list_p.add_argument("--matrix", action="store_true", help="list the jobs of every cell of the matrix")
    _add_selection(list_p)
    list_p.set_defaults(handler=cmd_list)

    matrix_p = sub.add_parser("matrix", help="print the expanded matrix cells without running anything")
    matrix_p.add_argument("path", nargs="?", default=".", help="the project folder (default: the current folder)")
    matrix_p.add_argument("--json", action="store_true", help="print the cells as JSON")
    matrix_p.add_argument("--cells", type=_runtimes_arg, default=(), help="fnmatch patterns selecting cells")
    matrix_p.add_argument("--github", action="store_true", help="print a GitHub Actions strategy.matrix (JSON)")
    matrix_p.add_argument("--os", type=_runtimes_arg, help="runner images for --github (default: ubuntu-latest)")
    matrix_p.add_argument("--shards", type=_jobs_arg, default=1, help="shards per runner for --github")
    matrix_p.add_argument("--split-runtimes", action="store_true", help="one GitHub job per cell as well")
    matrix_p.add_argument("--durations", metavar="FILE",
                          help="an earlier run's results, for the shards of --bundle to balance by time")
    matrix_p.add_argument("--bundle", metavar="DIR", help="the bundle (`wasitest build --out`) the shards run")
    matrix_p.set_defaults(handler=cmd_matrix)

    report_p = sub.add_parser("report", help="render reports again from results.json or a results.jsonl journal")
    report_p.add_argument("input", metavar="RESULTS", help="a results.json, or a results.jsonl journal")
    report_p.add_argument("--results", metavar="OUT", help="write results.json (e.g. rebuilt from a journal)")
    _add_baseline(report_p)
    report_p.add_argument("--fail-on-divergence", action="store_true", help="exit 3 when runtimes disagree on a case")
    report_p.set_defaults(handler=cmd_report)

    merge_p = sub.add_parser("merge", help="merge results.json files of shards and machines, diff them, report")
    merge_p.add_argument("inputs", nargs="+", metavar="RESULTS.json", help="the results.json of each shard or machine")
    merge_p.add_argument("--results", metavar="OUT", help="write the merged results.json here")
    merge_p.add_argument("--fail-on-divergence", action="store_true", help="exit 3 when runtimes disagree on a case")
    merge_p.set_defaults(handler=cmd_merge)

    github_p = sub.add_parser("github", help="publish a results.json to GitHub: check run, PR comment, annotations")
    from wasitest.github import command as github_command

    github_command.add_arguments(github_p)
    github_p.set_defaults(handler=github_command.run)

    rt_p = add_listing_parser(
        sub, "runtimes", "show every known runtime: available or not, why, version", cmd_runtimes,
        install=("install an npm runtime into wasitest's own cache folder",
                 "an npm runtime: bun, browser_shim, wasmer_js", cmd_runtimes_install),
    )
    from wasitest import hosts_command

    hosts_command.add_parser(sub)
    add_to_parsers(options, {"run": run_p, "build": build_p, "list": list_p, "matrix": matrix_p, "report": report_p,
                             "merge": merge_p, "github": github_p, "runtimes": rt_p})
    return parser


def main(argv: Sequence[str] | None = None, registry: Registry | None = None, *, freeze_heap: bool = False) -> int:
    """Run one command; `registry` is the plugins to use (default: the installed ones).

    `freeze_heap` (the console script's) moves everything imported and loaded so far out
    of the garbage collector's sight before the command runs (`gc.freeze`): they live as
    long as the process, and each full collection a run triggers (a run of thousands of
    cases triggers several) would walk them all again, 5-10 ms each. Forked workers
    inherit them frozen. Not for callers in a longer-lived process (tests, the pytest
    plugin): what is frozen is never collected."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # the plugins load before the command line is parsed: until then, a plain look for --debug
    debug = "--debug" in arguments or bool(os.environ.get("WASITEST_DEBUG"))
    with warnings.catch_warnings():  # restores the filters and `showwarning` when it returns
        warnings.simplefilter("always", WasitestWarning)
        warnings.showwarning = _warning_printer(warnings.showwarning)
        return _main(arguments, registry, debug, freeze_heap)


def _warning_printer(fallback: Callable[..., None]) -> Callable[..., None]:
    """`warnings.showwarning` that prints a `WasitestWarning` as one line (others as before)."""

    def show(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        if issubclass(category, WasitestWarning):
            print(f"wasitest: warning: {' '.join(str(message).split())}", file=sys.stderr)
        else:
            fallback(message, category, *args, **kwargs)

    return show


def _main(arguments: list[str], registry: Registry | None, debug: bool, freeze_heap: bool = False) -> int:
    try:
        registry = registry or load_registry()
        parser = build_parser(collect_options(registry.pm))
        args = parser.parse_args(arguments)
        if freeze_heap:
            gc.freeze()
        debug = debug or args.debug
        if debug:
            os.environ["WASITEST_DEBUG"] = "1"  # builders then show the compilers' full output
        if args.command is None:
            parser.print_help()
            return int(ExitCode.USAGE)
        return int(args.handler(args, registry))
    except WasitestError as exc:
        if debug:  # more detail, never another outcome: the exit code stays the error's
            traceback.print_exc()
        if exc.detail:
            print(exc.detail, file=sys.stderr)
        print(f"wasitest: error: {exc.one_line()}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("wasitest: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - any other is a bug: one line and exit 70, never a crash
        if debug:
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        print(f"wasitest: internal error: {type(exc).__name__}: {detail} (rerun with --debug and report it)",
              file=sys.stderr)
        return int(ExitCode.INTERNAL)


#: the collector's thresholds in the console script's process: it lives for one command,
#: and what it makes (plans, results, reports) is acyclic and freed by reference counts.
#: At the default (700 allocations), a run of 2000 one-case modules spent 30 ms, 7% of
#: it, in collections that freed nothing. Its workers keep the interpreter's (`worker.py`).
COMMAND_GC_THRESHOLD = (200_000, 30, 30)


def console_main() -> None:
    gc.set_threshold(*COMMAND_GC_THRESHOLD)
    code = main(freeze_heap=True)
    # What the command made is written and closed by now. The interpreter's end would
    # still walk every object it holds for cycles (a run's results, its modules' code):
    # tens of milliseconds on a run of one second. Frozen, they are freed as the process
    # ends without that walk; atexit handlers and module teardown still run.
    gc.freeze()
    sys.exit(code)


__all__ = ["UsageError", "main"]

"""`wasitest github`: publish a results.json to GitHub.

Two parts, both by default:

- `--workflow-outputs`, inside a GitHub Actions step: the Markdown summary appended to
  `$GITHUB_STEP_SUMMARY`, counts and paths written to `$GITHUB_OUTPUT`, failures and
  divergences printed as `::error`/`::warning` annotations;
- `--api`, through the REST API with a token: a check run on the commit (summary and
  annotations) and one pull-request comment with the divergence table.

Outside GitHub Actions, or without a token, each part says so in one line and does
nothing: the exit code stays 0, because publishing is not what decides a test run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wasitest.config import load_settings
from wasitest.github import annotations as notes
from wasitest.github import report
from wasitest.github.context import GitHubContext, context_from_environ
from wasitest.github.workflow import append_summary, command, emit, write_outputs
from wasitest.markdown import render_markdown
from wasitest.options import collect_options
from wasitest.results import ResultsDocument, load_results

DEFAULT_NAME = "wasitest"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results",
        nargs="?",
        metavar="RESULTS",
        help="the results.json to publish (default: the project's, .wasitest/results.json)",
    )
    parser.add_argument(
        "--project",
        default=".",
        metavar="DIR",
        help="the project folder, to place annotations in its sources (default: the current folder)",
    )
    parser.add_argument(
        "--workflow-outputs",
        action="store_true",
        help="only the step summary, step outputs and annotations (no API calls)",
    )
    parser.add_argument("--api", action="store_true", help="only the check run and the pull-request comment")
    parser.add_argument(
        "--check-name",
        default=DEFAULT_NAME,
        metavar="NAME",
        help="the check run's name, also the mark of the pull-request comment (default: wasitest)",
    )
    parser.add_argument("--no-check-run", action="store_true", help="do not create or update a check run")
    parser.add_argument("--no-comment", action="store_true", help="do not create or update a pull-request comment")
    parser.add_argument(
        "--fail-on-divergence",
        action="store_true",
        help="divergences make the check fail (as they make `wasitest run` exit 3)",
    )
    parser.add_argument("--junit", metavar="FILE", help="a JUnit report to name in the step outputs")
    parser.add_argument("--html", metavar="FILE", help="an HTML report to name in the step outputs")


def _say(text: str) -> None:
    print(f"wasitest github: {text}", file=sys.stderr)


def _paths(args: argparse.Namespace, results: Path) -> dict[str, str]:
    found = {"results": results}
    for key in ("junit", "html"):
        value = getattr(args, key)
        if value:
            found[key] = Path(value)
    return {key: str(path.resolve()) for key, path in found.items() if path.is_file()}


def workflow_outputs(
    document: ResultsDocument,
    args: argparse.Namespace,
    context: GitHubContext,
    environ: Mapping[str, str],
    results: Path,
    fail_on_divergence: bool,
) -> None:
    if not context.in_actions:
        _say("not in a GitHub Actions step (GITHUB_ACTIONS is not 'true'): no summary, outputs or annotations")
        return
    summary = environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        append_summary(Path(summary), render_markdown(document, title=args.check_name))
    output = environ.get("GITHUB_OUTPUT")
    if output:
        write_outputs(Path(output), {**report.outputs(document, fail_on_divergence), **_paths(args, results)})
    locator = notes.Locator(Path(args.project), context.workspace or Path.cwd())
    for annotation in notes.for_step(notes.collect(document, locator)):
        emit(command(annotation.level, annotation.message, notes.workflow_properties(annotation)), sys.stdout)


def publish(
    document: ResultsDocument,
    args: argparse.Namespace,
    context: GitHubContext,
    fail_on_divergence: bool,
    paced: bool = True,
) -> dict[str, Any]:
    """The check run and the comment. Returns what was done, for the caller to report."""
    from wasitest.github.api import PERMISSION_HINT, PermissionDenied, call, connect
    from wasitest.github.checks import CheckReport, publish_check_run
    from wasitest.github.comment import render_comment, upsert_comment, worth_posting

    done: dict[str, Any] = {}
    try:
        repo = connect(context, paced)
    except PermissionDenied as exc:
        _say(f"{exc}: nothing published ({PERMISSION_HINT})")
        return done
    headline = report.title(document)
    if not args.no_check_run:
        found = notes.collect(document, notes.Locator(Path(args.project), context.workspace or Path.cwd()))
        placed = notes.with_places(found)
        unplaced = [a for a in found if not a.path]
        text = "\n".join(f"- **{a.title}**: {a.message.splitlines()[0] if a.message else ''}" for a in unplaced)
        check = CheckReport(
            args.check_name,
            context.sha,
            report.conclusion(document, fail_on_divergence),
            headline,
            render_markdown(document, title=args.check_name),
            [notes.to_check_annotation(a) for a in placed],
            text,
            context.run_url,
        )
        try:
            run, updated = call(lambda: publish_check_run(repo, check), f"check run {args.check_name!r}")
            done["check_run"] = {"id": run.id, "updated": updated, "annotations": len(placed)}
            _say(
                f"check run {args.check_name!r} {'updated' if updated else 'created'} on {context.sha[:12]}: "
                f"{check.conclusion}, {len(placed)} annotation(s)"
            )
        except PermissionDenied as exc:
            _say(f"{exc}: no check run ({PERMISSION_HINT})")
    if not args.no_comment:
        if context.pr_number is None:
            _say("not a pull request: no comment")
        else:
            number = context.pr_number
            body = render_comment(document, args.check_name, headline, context.run_url)
            try:
                action = call(
                    lambda: upsert_comment(repo, number, args.check_name, body, worth_posting(document)),
                    f"comment on pull request #{number}",
                )
                done["comment"] = action
                _say(f"comment on #{number}: {action or 'nothing to say, none posted'}")
            except PermissionDenied as exc:
                _say(f"{exc}: no comment ({PERMISSION_HINT})")
    return done


def run(args: argparse.Namespace, registry: Any) -> int:
    environ = os.environ
    # the plugins' keys too (`junit = ...`): the project's config is read as `run` reads it
    settings = load_settings(Path(args.project), environ, collect_options(registry.pm))
    results = Path(args.results) if args.results else (settings.results or settings.work_dir / "results.json")
    document = load_results(results)
    fail_on_divergence = args.fail_on_divergence or settings.fail_on_divergence
    context = context_from_environ(environ)
    both = not (args.workflow_outputs or args.api)
    if both and not context.in_actions and not context.repository:
        _say("not in a GitHub Actions job (GITHUB_ACTIONS and GITHUB_REPOSITORY are not set): nothing published")
        return 0
    if args.workflow_outputs or both:
        workflow_outputs(document, args, context, environ, results, fail_on_divergence)
    if args.api or both:
        missing = context.missing()
        if missing:
            _say(f"{missing}: no check run or comment")
        else:
            publish(document, args, context, fail_on_divergence)
    return 0

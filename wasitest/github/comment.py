"""The pull-request comment: one per check name, with the divergence table.

The comment starts with a hidden HTML marker naming the check. Publishing finds an
earlier comment by that marker and edits it, so a pull request never collects a comment
per push. With nothing to say (no divergence, no failure) no comment is posted, but an
earlier one is still updated, so it never goes on showing divergences that are gone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wasitest.markdown import ICONS
from wasitest.model import Outcome, Result
from wasitest.results import ResultsDocument

if TYPE_CHECKING:
    from github.Issue import Issue
    from github.IssueComment import IssueComment
    from github.Repository import Repository

COMMENT_LIMIT = 65_000
MAX_ROWS = 100


def marker(name: str) -> str:
    return f"<!-- wasitest-comment: {name.replace('--', '- -')} -->"


def _cell(text: str) -> str:
    """Safe in a Markdown table cell: no pipes, no newlines, no HTML."""
    return (
        text.replace("\\", "\\\\")
        .replace("|", "\\|")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\n", " ")
        .strip()
    )


def _outcome(result: Result | None) -> str:
    if result is None:
        return ""
    extra = (
        f" ({result.trap})"
        if result.trap
        else (f" (exit {result.exit_code})" if result.exit_code not in (None, 0) else "")
    )
    return f"{ICONS.get(result.outcome, '')} {result.outcome.value}{extra}"


def render_comment(document: ResultsDocument, name: str, headline: str, run_url: str = "") -> str:
    cells = [c.id for c in document.cells]
    failing = len({(r.artifact, r.case) for r in document.failures()})
    lines = [marker(name), f"### {name}: {headline}", ""]
    if document.divergences:
        lines += [
            f"**{len(document.divergences)} case(s) behave differently across runtimes:**",
            "",
            "| case | difference | " + " | ".join(f"`{_cell(c)}`" for c in cells) + " |",
            "| --- | --- | " + " | ".join("---" for _ in cells) + " |",
        ]
        for d in document.divergences[:MAX_ROWS]:
            by_cell = {r.cell: r for r in d.results}
            kind = f"{d.scope} {d.kind}" + (" (expected)" if d.expected else "")
            lines.append(
                f"| `{_cell(d.artifact)}::{_cell(d.case)}` | {kind} | "
                + " | ".join(_outcome(by_cell.get(c)) for c in cells)
                + " |"
            )
        if len(document.divergences) > MAX_ROWS:
            lines.append(f"\n… and {len(document.divergences) - MAX_ROWS} more divergent case(s).")
        details = [
            f"- `{_cell(d.artifact)}::{_cell(d.case)}`: {_cell(d.detail)[:400]}"
            for d in document.divergences[:MAX_ROWS]
        ]
        lines += ["", "<details><summary>What differs</summary>", "", *details, "", "</details>"]
    else:
        lines.append("✅ No divergences: every runtime behaved the same on every case.")
    if failing:
        lines += ["", f"❌ {failing} case(s) failed on some cell."]
    if any(r.outcome is Outcome.FLAKY for r in document.results):
        lines += ["", f"🎲 {sum(r.outcome is Outcome.FLAKY for r in document.results)} flaky job(s)."]
    if run_url:
        lines += ["", f"[Full report of this run]({run_url})"]
    body = "\n".join(lines) + "\n"
    if len(body) > COMMENT_LIMIT:
        body = body[: COMMENT_LIMIT - 200]
        body = body[: body.rfind("\n") + 1] + "\n… cut to fit a comment: the run's summary has everything.\n"
    return body


def worth_posting(document: ResultsDocument) -> bool:
    return bool(document.divergences or document.failures())


def find_comment(issue: Issue, name: str) -> IssueComment | None:
    tag = marker(name)
    for comment in issue.get_comments():
        if tag in (comment.body or ""):
            return comment
    return None


def upsert_comment(repo: Repository, number: int, name: str, body: str, create: bool) -> str:
    """Edit our earlier comment, else post one when `create`. Returns what was done:
    "updated", "unchanged", "created" or "" (nothing)."""
    issue = repo.get_issue(number)
    existing = find_comment(issue, name)
    if existing is not None:
        if existing.body == body:
            return "unchanged"
        existing.edit(body)
        return "updated"
    if not create:
        return ""
    issue.create_comment(body)
    return "created"

"""The check run on the commit: conclusion, Markdown summary, annotations.

The Checks API takes at most 50 annotations per request: the run is created with the
first 50 and each further 50 go in an update. Annotations can only be added to a check
run, never removed, so the run records which annotations it carries (a digest in its
`external_id`): publishing the same results again updates that run in place and sends no
annotation twice; different results for the same commit (a re-run) get a new check run,
which GitHub then shows in place of the old one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from github.CheckRun import CheckRun
    from github.Repository import Repository

BATCH = 50
TEXT_LIMIT = 65_535
ID_PREFIX = "wasitest:"


@dataclass(frozen=True)
class CheckReport:
    name: str
    head_sha: str
    conclusion: str
    title: str
    summary: str
    annotations: Sequence[dict[str, Any]] = ()
    text: str = ""
    details_url: str = ""

    def external_id(self) -> str:
        blob = json.dumps(list(self.annotations), sort_keys=True).encode("utf-8")
        return ID_PREFIX + hashlib.sha256(blob).hexdigest()[:32]

    def output(self, annotations: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        data: dict[str, Any] = {"title": self.title[:1000], "summary": cut(self.summary)}
        if self.text:
            data["text"] = cut(self.text)
        if annotations:
            data["annotations"] = list(annotations)
        return data


def cut(text: str, limit: int = TEXT_LIMIT) -> str:
    """GitHub refuses a summary or text over 65,535 characters: cut at a line, say so."""
    if len(text) <= limit:
        return text
    note = "\n\n> ✂️ Cut here: the full report is in the job summary and the uploaded reports.\n"
    head = text[: limit - len(note)]
    return head[: head.rfind("\n") + 1 or len(head)] + note


def batches(items: Sequence[dict[str, Any]], size: int = BATCH) -> list[list[dict[str, Any]]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def find_check_run(repo: Repository, sha: str, name: str) -> CheckRun | None:
    """This tool's latest check run of that name on the commit (a job's own check run can
    share the name, but never has our `external_id`)."""
    for run in repo.get_commit(sha).get_check_runs(check_name=name, filter="latest"):
        if run.name == name and (run.external_id or "").startswith(ID_PREFIX):
            return run
    return None


def publish_check_run(repo: Repository, report: CheckReport) -> tuple[CheckRun, bool]:
    """Create or update the check run; returns it and whether it was updated in place."""
    external_id = report.external_id()
    extra: dict[str, Any] = {"details_url": report.details_url} if report.details_url else {}
    existing = find_check_run(repo, report.head_sha, report.name)
    if existing is not None and existing.external_id == external_id:
        existing.edit(status="completed", conclusion=report.conclusion, output=report.output(), **extra)
        return existing, True
    chunks = batches(report.annotations)
    run = repo.create_check_run(
        name=report.name,
        head_sha=report.head_sha,
        status="completed",
        conclusion=report.conclusion,
        external_id=external_id,
        output=report.output(chunks[0] if chunks else ()),
        **extra,
    )
    for chunk in chunks[1:]:
        run.edit(output=report.output(chunk))
    return run, False

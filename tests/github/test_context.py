"""Which repository, commit and pull request a job is about, from the runner's variables
and the event payload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wasitest.errors import InputError
from wasitest.github.context import context_from_environ

SHA = "c" * 40


def _context(tmp_path: Path, event_name: str, event: dict[str, Any], **env: str) -> Any:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return context_from_environ(
        {
            "GITHUB_REPOSITORY": "octo/lib",
            "GITHUB_SHA": SHA,
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(path),
            **env,
        }
    )


def test_pull_request_uses_the_head_commit_not_the_merge_commit(tmp_path: Path) -> None:
    ctx = _context(
        tmp_path,
        "pull_request",
        {"number": 12, "pull_request": {"number": 12, "head": {"sha": "d" * 40}}},
        GITHUB_REF="refs/pull/12/merge",
    )
    assert (ctx.sha, ctx.pr_number) == ("d" * 40, 12)


def test_push_uses_github_sha_and_has_no_pull_request(tmp_path: Path) -> None:
    ctx = _context(
        tmp_path, "push", {"ref": "refs/heads/main", "head_commit": {"id": SHA}}, GITHUB_REF="refs/heads/main"
    )
    assert (ctx.sha, ctx.pr_number) == (SHA, None)


def test_workflow_run_reports_on_the_run_it_follows(tmp_path: Path) -> None:
    event = {"workflow_run": {"head_sha": "e" * 40, "pull_requests": [{"number": 3}]}}
    ctx = _context(tmp_path, "workflow_run", event)
    assert (ctx.sha, ctx.pr_number) == ("e" * 40, 3)


def test_a_comment_on_a_pull_request_and_the_ref_fallback(tmp_path: Path) -> None:
    ctx = _context(tmp_path, "issue_comment", {"issue": {"number": 9, "pull_request": {"url": "x"}}})
    assert (ctx.sha, ctx.pr_number) == (SHA, 9)
    ctx = _context(tmp_path, "merge_group", {}, GITHUB_REF="refs/pull/5/merge")
    assert ctx.pr_number == 5


def test_api_url_token_and_run_link(tmp_path: Path) -> None:
    ctx = _context(
        tmp_path,
        "push",
        {},
        GITHUB_API_URL="http://127.0.0.1:9/api/v3",
        GH_TOKEN="t",
        GITHUB_SERVER_URL="https://ghe.example",
        GITHUB_RUN_ID="77",
    )
    assert ctx.api_url == "http://127.0.0.1:9/api/v3" and ctx.token == "t"
    assert ctx.run_url == "https://ghe.example/octo/lib/actions/runs/77"
    assert ctx.missing() == ""
    assert context_from_environ({}).missing().startswith("not in a GitHub Actions job")
    assert context_from_environ({"GITHUB_REPOSITORY": "o/r"}).missing().startswith("no GitHub token")


def test_a_damaged_event_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "event.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="cannot read the event payload"):
        context_from_environ({"GITHUB_EVENT_PATH": str(path)})

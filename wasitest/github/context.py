"""Where a GitHub Actions job runs: repository, commit, pull request, API, token.

Read from the variables the runner sets (`GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`,
`GITHUB_API_URL`, ...) and from the event payload at `GITHUB_EVENT_PATH`. The payload
matters on pull requests: there `GITHUB_SHA` is the test merge commit, which no one looks
at, while a check run belongs on the pull request's head commit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest.errors import InputError

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_SERVER_URL = "https://github.com"
_PR_REF = re.compile(r"^refs/pull/(\d+)/")


@dataclass(frozen=True)
class GitHubContext:
    repository: str = ""
    sha: str = ""
    pr_number: int | None = None
    event_name: str = ""
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    run_id: str = ""
    token: str = ""
    #: the repository's checkout: annotation paths are relative to it
    workspace: Path | None = None
    #: whether this is a GitHub Actions step (`GITHUB_ACTIONS=true`)
    in_actions: bool = False

    @property
    def run_url(self) -> str:
        """The page of this workflow run, for links from the check run and the comment."""
        if not (self.repository and self.run_id):
            return ""
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    def missing(self) -> str:
        """Why nothing can be published through the API, or "" when it can."""
        if not self.repository:
            return "not in a GitHub Actions job (GITHUB_REPOSITORY is not set)"
        if not self.token:
            return "no GitHub token (set GITHUB_TOKEN, or the action's github-token input)"
        if not self.sha:
            return "no commit to report on (GITHUB_SHA is not set)"
        return ""


def read_event(path: str) -> dict[str, Any]:
    """The event payload; an unreadable file is an error, an absent one an empty event."""
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the event payload {path}: {exc}", "check GITHUB_EVENT_PATH") from None
    return data if isinstance(data, dict) else {}


def _number(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _from_event(event_name: str, event: Mapping[str, Any]) -> tuple[str, int | None]:
    """The head commit and pull request number an event is about, where it says."""
    pull = event.get("pull_request")
    if isinstance(pull, dict):  # pull_request, pull_request_target, pull_request_review...
        head = pull.get("head")
        sha = str(head.get("sha", "")) if isinstance(head, dict) else ""
        return sha, _number(pull.get("number")) or _number(event.get("number"))
    if event_name == "workflow_run" and isinstance(event.get("workflow_run"), dict):
        run = event["workflow_run"]
        pulls = run.get("pull_requests")
        number = (
            _number(pulls[0].get("number"))
            if isinstance(pulls, list) and pulls and isinstance(pulls[0], dict)
            else None
        )
        return str(run.get("head_sha", "")), number
    issue = event.get("issue")
    if isinstance(issue, dict) and issue.get("pull_request"):  # a comment on a pull request
        return "", _number(issue.get("number"))
    return "", None


def context_from_environ(environ: Mapping[str, str]) -> GitHubContext:
    event_name = environ.get("GITHUB_EVENT_NAME", "")
    event = read_event(environ.get("GITHUB_EVENT_PATH", ""))
    sha, pr_number = _from_event(event_name, event)
    if pr_number is None:
        match = _PR_REF.match(environ.get("GITHUB_REF", ""))
        pr_number = int(match.group(1)) if match else None
    workspace = environ.get("GITHUB_WORKSPACE", "")
    return GitHubContext(
        repository=environ.get("GITHUB_REPOSITORY", ""),
        sha=sha or environ.get("GITHUB_SHA", ""),
        pr_number=pr_number,
        event_name=event_name,
        api_url=environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
        server_url=environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL,
        run_id=environ.get("GITHUB_RUN_ID", ""),
        token=environ.get("GITHUB_TOKEN") or environ.get("GH_TOKEN") or "",
        workspace=Path(workspace) if workspace else None,
        in_actions=environ.get("GITHUB_ACTIONS") == "true",
    )

"""The GitHub REST API through PyGithub (the `wasitest[github]` extra), and its errors in
wasitest's terms.

`GITHUB_API_URL` becomes PyGithub's `base_url`: GitHub Enterprise Server sets it to its own
API, and tests point it at a local server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from wasitest import __version__
from wasitest.errors import OutputError
from wasitest.github.context import GitHubContext

if TYPE_CHECKING:
    from github.Repository import Repository

T = TypeVar("T")

#: a token that may read but not write (a pull request from a fork gets one) is refused
#: with 403; that is a fact about the workflow, not a broken run, so it is reported and
#: the tests' own verdict stands
PERMISSION_HINT = (
    "give the job `permissions: checks: write, pull-requests: write`; a pull request from a fork "
    "gets a read-only token, so publish from a `workflow_run` workflow instead"
)


class PermissionDenied(Exception):
    """The token may not do this (HTTP 403)."""


def connect(context: GitHubContext, paced: bool = True) -> Repository:
    """The repository through the API. `paced` keeps PyGithub's pauses between requests
    (GitHub asks integrations to space out writes); tests of a local server turn them off."""
    try:
        from github import Auth, Github
    except ImportError:
        raise OutputError("publishing to GitHub needs PyGithub", "pip install 'wasitest[github]'") from None
    client = Github(
        auth=Auth.Token(context.token),
        base_url=context.api_url.rstrip("/"),
        timeout=30,
        retry=3,
        user_agent=f"wasitest/{__version__}",
        seconds_between_requests=0.25 if paced else None,
        seconds_between_writes=1.0 if paced else None,
    )
    return call(lambda: client.get_repo(context.repository), f"repository {context.repository}")


def call(action: Callable[[], T], what: str) -> T:
    """Run one API action; its failures become one-line errors."""
    from github import GithubException
    from requests import RequestException

    try:
        return action()
    except GithubException as exc:
        message = exc.data.get("message", "") if isinstance(exc.data, dict) else str(exc.data or "")
        if exc.status == 403:
            raise PermissionDenied(f"{what}: GitHub refused (403 {message})".strip()) from None
        hint = {
            401: "the token was rejected: check github-token / GITHUB_TOKEN",
            404: "check GITHUB_REPOSITORY, the token's access to it, and GITHUB_API_URL",
        }.get(exc.status, "see GitHub's status page, or run again")
        raise OutputError(f"{what}: GitHub answered {exc.status} {message}".strip(), hint) from None
    except RequestException as exc:
        raise OutputError(
            f"{what}: cannot reach the GitHub API: {type(exc).__name__}", "check GITHUB_API_URL and the network"
        ) from None

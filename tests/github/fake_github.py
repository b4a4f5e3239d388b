"""A local HTTP server that answers the few GitHub REST endpoints `wasitest github` uses,
keeps what was created (check runs, comments) the way GitHub does, and records every
request, so tests can assert on what PyGithub really sent over HTTP.

Endpoints: GET /repos/O/R; GET /repos/O/R/commits/SHA; GET .../commits/SHA/check-runs;
POST /repos/O/R/check-runs; PATCH /repos/O/R/check-runs/ID; GET /repos/O/R/issues/N;
GET and POST /repos/O/R/issues/N/comments; PATCH /repos/O/R/issues/comments/ID.
Anything else answers 404 and is recorded, so an unexpected call fails a test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class FakeGitHub:
    server: HTTPServer
    repository: str = "octo/wasm-lib"
    calls: list[Call] = field(default_factory=list)
    check_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, dict[str, Any]] = field(default_factory=dict)
    pulls: set[int] = field(default_factory=lambda: {7})
    #: (method, path regex) -> status: answer with this error instead
    refuse: dict[tuple[str, str], int] = field(default_factory=dict)
    _next_id: int = 1000

    def __post_init__(self) -> None:
        self.server.expect_request(re.compile(r"^/.*")).respond_with_handler(self.handle)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def writes(self, method: str, suffix: str = "") -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.endswith(suffix)]

    def add_check_run(self, name: str, head_sha: str, external_id: str = "", annotations: int = 0) -> int:
        """A check run someone else made (a job's own run, say)."""
        run_id = self._id()
        self.check_runs[run_id] = {
            "id": run_id,
            "name": name,
            "head_sha": head_sha,
            "external_id": external_id,
            "status": "completed",
            "conclusion": "success",
            "annotations": [{}] * annotations,
            "output": {},
            "url": f"{self.url}/repos/{self.repository}/check-runs/{run_id}",
        }
        return run_id

    def add_comment(self, number: int, body: str) -> int:
        comment_id = self._id()
        self.comments[comment_id] = {
            "id": comment_id,
            "issue": number,
            "body": body,
            "url": f"{self.url}/repos/{self.repository}/issues/comments/{comment_id}",
        }
        return comment_id

    # -- the server side ----------------------------------------------------------------

    def _json(self, data: Any, status: int = 200) -> Response:
        return Response(json.dumps(data), status=status, content_type="application/json")

    def _public_run(self, run: dict[str, Any]) -> dict[str, Any]:
        return {
            **{k: v for k, v in run.items() if k != "annotations"},
            "output": {**run["output"], "annotations_count": len(run["annotations"])},
        }

    def handle(self, request: Request) -> Response:
        body = request.get_json(silent=True) if request.data else None
        self.calls.append(Call(request.method, request.path, dict(request.args), body, dict(request.headers)))
        for (method, pattern), status in self.refuse.items():
            if request.method == method and re.search(pattern, request.path):
                return self._json({"message": "Resource not accessible by integration"}, status)
        repo = f"/repos/{self.repository}"
        path = request.path
        if not path.startswith(repo):
            return self._json({"message": "Not Found"}, 404)
        rest = path[len(repo) :]
        base = f"{self.url}{repo}"
        if request.method == "GET" and rest == "":
            owner, name = self.repository.split("/")
            return self._json(
                {"id": 1, "name": name, "full_name": self.repository, "owner": {"login": owner}, "url": base}
            )
        match = re.fullmatch(r"/commits/([0-9a-f]+)(/check-runs)?", rest)
        if request.method == "GET" and match:
            sha = match.group(1)
            if not match.group(2):
                return self._json({"sha": sha, "url": f"{base}/commits/{sha}"})
            name = request.args.get("check_name")
            runs = [
                self._public_run(r)
                for r in sorted(self.check_runs.values(), key=lambda r: -r["id"])
                if r["head_sha"] == sha and (name is None or r["name"] == name)
            ]
            return self._json({"total_count": len(runs), "check_runs": runs})
        if request.method == "POST" and rest == "/check-runs":
            run_id = self._id()
            data = dict(body or {})
            output = dict(data.pop("output", {}) or {})
            self.check_runs[run_id] = {
                **data,
                "id": run_id,
                "url": f"{base}/check-runs/{run_id}",
                "annotations": list(output.pop("annotations", [])),
                "output": output,
            }
            return self._json(self._public_run(self.check_runs[run_id]), 201)
        match = re.fullmatch(r"/check-runs/(\d+)", rest)
        if request.method == "PATCH" and match and int(match.group(1)) in self.check_runs:
            run = self.check_runs[int(match.group(1))]
            data = dict(body or {})
            output = dict(data.pop("output", {}) or {})
            run["annotations"] += output.pop("annotations", [])  # GitHub appends, never replaces
            run["output"].update(output)
            run.update(data)
            return self._json(self._public_run(run))
        match = re.fullmatch(r"/issues/(\d+)(/comments)?", rest)
        if match and int(match.group(1)) in self.pulls:
            number = int(match.group(1))
            if request.method == "GET" and not match.group(2):
                return self._json(
                    {
                        "number": number,
                        "url": f"{base}/issues/{number}",
                        "title": "a pull request",
                        "pull_request": {"url": f"{base}/pulls/{number}"},
                    }
                )
            if request.method == "GET":
                return self._json(
                    [
                        {k: v for k, v in c.items() if k != "issue"}
                        for c in self.comments.values()
                        if c["issue"] == number
                    ]
                )
            if request.method == "POST":
                comment_id = self.add_comment(number, str((body or {}).get("body", "")))
                return self._json(self.comments[comment_id], 201)
        match = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if request.method == "PATCH" and match and int(match.group(1)) in self.comments:
            comment = self.comments[int(match.group(1))]
            comment["body"] = str((body or {}).get("body", ""))
            return self._json(comment)
        return self._json({"message": "Not Found"}, 404)

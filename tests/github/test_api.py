"""`wasitest github --api` through PyGithub against a local HTTP server that answers the
REST endpoints it uses; the assertions are on the requests the server received."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli
from tests.github.fake_github import FakeGitHub
from wasitest.github.command import publish
from wasitest.github.comment import marker
from wasitest.github.context import context_from_environ
from wasitest.model import Cell, Outcome, Result
from wasitest.results import ResultsDocument, load_results

HEAD = "a" * 40
MERGE = "b" * 40
DIVERGENT = "unit/files::excl_create_refuses_dangling_symlink"


def _env(
    fake: FakeGitHub, workspace: Path, event: dict[str, Any] | None = None, name: str = "pull_request", **extra: str
) -> dict[str, str]:
    event_file = workspace.parent / "event.json"
    event_file.write_text(
        json.dumps(event if event is not None else {"number": 7, "pull_request": {"number": 7, "head": {"sha": HEAD}}})
    )
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": fake.repository,
        "GITHUB_SHA": MERGE,
        "GITHUB_REF": "refs/pull/7/merge",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(event_file),
        "GITHUB_API_URL": fake.url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "42",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_TOKEN": "secret-token",
        **extra,
    }


def _publish(run_cli: RunCli, workspace: Path, env: dict[str, str], *args: str) -> str:
    proc = run_cli(
        "github",
        str(workspace / "quickstart" / "results.json"),
        "--api",
        "--project",
        str(workspace / "quickstart"),
        *args,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_check_run_and_comment_for_a_pull_request(fake_github: FakeGitHub, workspace: Path, run_cli: RunCli) -> None:
    env = _env(fake_github, workspace)
    said = _publish(run_cli, workspace, env)
    assert "check run 'wasitest' created" in said and "comment on #7: created" in said
    assert all(c.headers.get("Authorization") == "token secret-token" for c in fake_github.calls)

    (create,) = fake_github.writes("POST", "/check-runs")
    body = create.body
    assert body["name"] == "wasitest"
    assert body["head_sha"] == HEAD  # the pull request's head, not the merge commit
    assert body["status"] == "completed" and body["conclusion"] == "failure"
    assert body["external_id"].startswith("wasitest:")
    assert body["output"]["title"].startswith("23 passed, 1 failed, 2 skipped, 2 xfailed; 1 divergence")
    assert body["output"]["summary"].startswith("## wasitest\n")
    assert f"| `{DIVERGENT}` | runtime outcome |" in body["output"]["summary"]
    notes = body["output"]["annotations"]
    assert [(a["annotation_level"], a["path"], a["start_line"]) for a in notes] == [
        ("failure", "quickstart/tests/files.c", 55),
        ("warning", "quickstart/tests/files.c", 55),
    ]
    assert "fd == -1 (5 != -1)" in notes[0]["message"]
    assert body["details_url"] == "https://github.example/octo/wasm-lib/actions/runs/42"

    (post,) = fake_github.writes("POST", "/issues/7/comments")
    comment = post.body["body"]
    assert comment.startswith(marker("wasitest"))
    assert f"| `{DIVERGENT}` | runtime outcome | ✅ passed | ❌ failed (exit 1) |" in comment
    assert "[Full report of this run](https://github.example/octo/wasm-lib/actions/runs/42)" in comment

    # the same results again: the check run is updated in place, nothing is posted twice
    # (in-process from here on, without PyGithub's pauses between requests)
    context = context_from_environ(env)
    results = workspace / "quickstart" / "results.json"
    args = _args(workspace, project=str(workspace / "quickstart"))
    done = publish(load_results(results), args, context, False, paced=False)
    assert done["check_run"]["updated"] and done["comment"] == "unchanged"
    assert len(fake_github.writes("POST", "/check-runs")) == 1
    (patch,) = fake_github.writes("PATCH", "/check-runs/" + str(next(iter(fake_github.check_runs))))
    assert "annotations" not in patch.body["output"]
    assert len(fake_github.check_runs[next(iter(fake_github.check_runs))]["annotations"]) == 2
    assert len(fake_github.writes("POST", "/comments")) == 1 and not fake_github.writes("PATCH")[1:]

    # Node fixed: the one comment is edited to say so; annotations cannot be taken back
    # from a check run, so different results on the commit get a fresh one
    document = load_results(results)
    document.results = [
        replace(r, outcome=Outcome.PASSED, exit_code=0, stdout="", stderr="", message="")
        if r.outcome is Outcome.FAILED
        else r
        for r in document.results
    ]
    document.recompute_divergences()
    assert publish(document, args, context, False, paced=False)["comment"] == "updated"
    assert len(fake_github.comments) == 1
    (edit,) = fake_github.writes("PATCH", "/issues/comments/" + str(next(iter(fake_github.comments))))
    assert "No divergences" in edit.body["body"] and edit.body["body"].startswith(marker("wasitest"))
    creates = fake_github.writes("POST", "/check-runs")
    assert len(creates) == 2 and creates[1].body["conclusion"] == "success"
    assert "annotations" not in creates[1].body["output"]


def _big_document(workspace: Path, failures: int) -> ResultsDocument:
    source = workspace / "suite" / "tests" / "big.c"
    source.parent.mkdir(parents=True)
    source.write_text("\n" * failures)
    results = [
        Result(
            "unit/big",
            f"case{i}",
            "node",
            Outcome.FAILED,
            f"check {i} failed",
            exit_code=1,
            file="tests/big.c",
            line=i + 1,
        )
        for i in range(failures)
    ]
    results += [
        Result("unit/big", f"case{i}", "wasmtime", Outcome.FAILED, f"check {i} failed", exit_code=1)
        for i in range(failures)
    ]
    return ResultsDocument(cells=[Cell("wasmtime"), Cell("node")], results=results)


def _args(workspace: Path, **overrides: Any) -> argparse.Namespace:
    values = {
        "project": str(workspace / "suite"),
        "check_name": "wasitest",
        "no_check_run": False,
        "no_comment": False,
        **overrides,
    }
    return argparse.Namespace(**values)


def test_annotations_go_in_batches_of_fifty(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = tmp_path / "checkout"
    document = _big_document(workspace, 120)
    context = context_from_environ(_env(fake_github, workspace))
    done = publish(document, _args(workspace), context, False, paced=False)
    assert done["check_run"]["annotations"] == 120 and not done["check_run"]["updated"]

    writes = [c for c in fake_github.calls if "/check-runs" in c.path and c.method in {"POST", "PATCH"}]
    assert [(c.method, len(c.body["output"].get("annotations", []))) for c in writes] == [
        ("POST", 50),
        ("PATCH", 50),
        ("PATCH", 20),
    ]
    assert all(c.body["output"]["title"] and c.body["output"]["summary"] for c in writes)
    (run,) = fake_github.check_runs.values()
    assert [a["start_line"] for a in run["annotations"]] == list(range(1, 121))
    assert {a["path"] for a in run["annotations"]} == {"suite/tests/big.c"}
    assert {c.path for c in writes[1:]} == {f"/repos/octo/wasm-lib/check-runs/{run['id']}"}

    # published again: one update, no annotation sent twice
    done = publish(document, _args(workspace), context, False, paced=False)
    assert done["check_run"]["updated"]
    assert len(run["annotations"]) == 120 and len(fake_github.check_runs) == 1
    assert len(fake_github.comments) == 1  # and the comment was edited, not posted again


def test_a_jobs_own_check_run_of_the_same_name_is_left_alone(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = tmp_path / "checkout"
    theirs = fake_github.add_check_run("wasitest", HEAD, external_id="", annotations=3)
    context = context_from_environ(_env(fake_github, workspace))
    publish(_big_document(workspace, 2), _args(workspace, no_comment=True), context, False, paced=False)
    assert len(fake_github.check_runs) == 2
    assert not fake_github.writes("PATCH", f"/check-runs/{theirs}")
    (listing,) = [c for c in fake_github.calls if c.path.endswith(f"/commits/{HEAD}/check-runs")]
    assert listing.query["check_name"] == "wasitest"


def test_no_comment_when_the_runtimes_agree_and_nothing_fails(fake_github: FakeGitHub, tmp_path: Path) -> None:
    workspace = tmp_path / "checkout"
    (workspace / "suite").mkdir(parents=True)
    document = ResultsDocument(
        cells=[Cell("wasmtime"), Cell("node")],
        results=[Result("unit/a", "ok", c, Outcome.PASSED, exit_code=0) for c in ("wasmtime", "node")],
    )
    context = context_from_environ(_env(fake_github, workspace))
    done = publish(document, _args(workspace), context, False, paced=False)
    assert done["comment"] == "" and not fake_github.comments
    assert fake_github.writes("POST", "/check-runs")[0].body["conclusion"] == "success"
    # an earlier comment of ours is brought up to date; someone else's is not touched
    other = fake_github.add_comment(7, "LGTM")
    ours = fake_github.add_comment(7, marker("wasitest") + "\nold divergences")
    done = publish(document, _args(workspace), context, False, paced=False)
    assert done["comment"] == "updated"
    assert fake_github.comments[other]["body"] == "LGTM"
    assert "No divergences" in fake_github.comments[ours]["body"]


def test_a_push_gets_a_check_run_on_its_commit_and_no_comment(
    fake_github: FakeGitHub, workspace: Path, run_cli: RunCli
) -> None:
    env = _env(fake_github, workspace, {"ref": "refs/heads/main"}, "push", GITHUB_REF="refs/heads/main")
    said = _publish(run_cli, workspace, env, "--check-name", "wasitest (linux)")
    assert "not a pull request: no comment" in said
    (create,) = fake_github.writes("POST", "/check-runs")
    assert create.body["head_sha"] == MERGE and create.body["name"] == "wasitest (linux)"
    assert not [c for c in fake_github.calls if "/issues" in c.path]


def test_without_a_token_or_outside_github_nothing_is_sent(
    fake_github: FakeGitHub, workspace: Path, run_cli: RunCli
) -> None:
    said = _publish(run_cli, workspace, {**_env(fake_github, workspace), "GITHUB_TOKEN": ""})
    assert said.count("\n") == 1 and "no GitHub token" in said
    said = _publish(run_cli, workspace, {**_env(fake_github, workspace), "GITHUB_REPOSITORY": ""})
    assert said.count("\n") == 1 and "not in a GitHub Actions job" in said
    # both parts (the default), with no GitHub variable at all: still one line
    proc = run_cli(
        "github",
        str(workspace / "quickstart" / "results.json"),
        "--project",
        str(workspace),
        env={k: "" for k in _env(fake_github, workspace)},
    )
    assert proc.returncode == 0 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "nothing published" in proc.stderr
    assert fake_github.calls == []


def test_a_read_only_token_is_reported_and_does_not_fail(
    fake_github: FakeGitHub, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_github.refuse = {("POST", r"/check-runs$"): 403, ("POST", r"/comments$"): 403}
    context = context_from_environ(_env(fake_github, workspace))
    args = _args(workspace, project=str(workspace / "quickstart"))
    assert publish(load_results(workspace / "quickstart" / "results.json"), args, context, False, paced=False) == {}
    said = capsys.readouterr().err
    assert said.count("\n") == 2 and "no check run" in said and "no comment" in said and "403" in said
    assert "pull-requests: write" in said
    assert not fake_github.check_runs and not fake_github.comments


def test_a_rejected_token_is_a_one_line_error(fake_github: FakeGitHub, workspace: Path, run_cli: RunCli) -> None:
    fake_github.refuse = {("GET", r"^/repos/octo/wasm-lib$"): 401}
    proc = run_cli("github", str(workspace / "quickstart" / "results.json"), "--api", env=_env(fake_github, workspace))
    assert proc.returncode == 8
    assert proc.stderr.startswith("wasitest: error: repository octo/wasm-lib: GitHub answered 401")
    assert proc.stderr.count("\n") == 1

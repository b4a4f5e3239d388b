"""Per-runtime expectations ([[tool.wasitest.expect]]) and --fail-on-divergence."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import RunCli, copy_example
from wasitest.errors import ExitCode

DIVERGENT = "files::excl_create_refuses_dangling_symlink"


def _with(project: Path, extra: str) -> Path:
    config = project / "pyproject.toml"
    config.write_text(config.read_text() + extra)
    return project


def test_xfail_expectation_marks_the_divergence_expected(tmp_path: Path, run_cli: RunCli) -> None:
    project = _with(
        copy_example("quickstart", tmp_path),
        f"""
[[tool.wasitest.expect]]
runtime = "node"
cases = ["{DIVERGENT}"]
action = "xfail"
reason = "uvwasi resolves symlinks itself"
""",
    )
    proc = run_cli("run", str(project), "--matrix", "--fail-on-divergence", "-q")
    assert proc.returncode == int(ExitCode.OK), proc.stderr  # expected, so neither a failure nor fatal
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    node = next(r for r in doc["results"] if r["cell"] == "node" and r["case"] == DIVERGENT.split("::")[1])
    assert node["outcome"] == "xfailed" and node["expectation"].startswith("xfail: uvwasi")
    (divergence,) = doc["divergences"]
    assert divergence["expected"] is True


def test_skip_expectation_does_not_run_the_job(tmp_path: Path, run_cli: RunCli) -> None:
    project = _with(
        copy_example("quickstart", tmp_path),
        f"""
[[tool.wasitest.expect]]
runtime = "node"
cases = ["{DIVERGENT}"]
action = "skip"
""",
    )
    proc = run_cli("run", str(project), "--matrix", "-q")
    assert proc.returncode == int(ExitCode.OK)
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    node = next(r for r in doc["results"] if r["cell"] == "node" and r["case"] == DIVERGENT.split("::")[1])
    assert node["outcome"] == "skipped" and node["exit_code"] is None


def test_unexpected_divergence_fails_only_when_asked(tmp_path: Path, run_cli: RunCli) -> None:
    project = _with(
        copy_example("quickstart", tmp_path),
        f"""
[[tool.wasitest.expect]]
runtime = "node"
cases = ["{DIVERGENT}"]
action = "skip"
[tool.wasitest.diff]
normalise = ["nothing-matches-this"]
""",
    )
    # a skip on one runtime and a pass on another is an outcome divergence, but an expected one
    proc = run_cli("run", str(project), "--matrix", "--fail-on-divergence", "-q")
    assert proc.returncode == int(ExitCode.OK)


def test_output_divergence_and_user_normalisers() -> None:
    from wasitest.config import parse_diff
    from wasitest.diff import find_divergences
    from wasitest.model import Outcome, Result

    def run(cell: str, out: str) -> Result:
        return Result("s/a", "t", cell, Outcome.PASSED, exit_code=0, stdout=out)

    results = [
        run("wasmtime", "took 12 units\nok\n"),
        run("node", "took 9 units\nok\n"),
        run("bun", "took 12 units\nok\n"),
    ]
    (divergence,) = find_divergences(results)
    assert divergence.kind == "output" and divergence.differing == ("node",)
    assert "line 1" in divergence.detail
    assert find_divergences(results, parse_diff({"normalise": [r"took \d+ units"]}, "diff")) == []
    # built-in normalisers: durations and addresses never make a divergence
    timed = [run("wasmtime", "done in 1.5ms at 0x7ffe12345678\n"), run("node", "done in 2ms at 0x55aa98765432\n")]
    assert find_divergences(timed) == []


def test_an_output_divergence_shows_where_the_lines_differ() -> None:
    """Two long lines that differ only at their end: the detail starts its excerpts a little
    before the first differing character, not at the start of each line."""
    from wasitest.diff import find_divergences
    from wasitest.model import Outcome, Result

    prefix = "open ../testdata/" + "deeply/nested/" * 8 + "file.txt: "
    results = [
        Result("s/a", "t", "wasmtime", Outcome.PASSED, exit_code=0, stdout=f"ok\n{prefix}Bad file number\n"),
        Result("s/a", "t", "node", Outcome.PASSED, exit_code=0, stdout=f"ok\n{prefix}Invalid argument\n"),
    ]
    (divergence,) = find_divergences(results)
    assert f"line 2, column {len(prefix) + 1}" in divergence.detail
    assert "Bad file number" in divergence.detail and "Invalid argument" in divergence.detail
    assert divergence.detail.count("…") == 2


RANDOM = '#include <stdio.h>\n#include <stdlib.h>\nint main(void){printf("%u\\n", arc4random()); return 0;}\n'


def test_output_that_changes_between_runs_is_no_runtime_divergence(tmp_path: Path, run_cli: RunCli) -> None:
    """A random number differs between cells and between runs of one cell: confirmed by a
    rerun, it is reported as nondeterministic output and fails no --fail-on-divergence run;
    unconfirmed (`rerun = 0`) it is a runtime divergence."""
    from tests.conftest import write_project

    suite = '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["r.c"]\n'
    project = write_project(tmp_path / "a", suite, {"r.c": RANDOM})
    proc = run_cli("run", str(project), "--runtimes", "wasmtime,node", "--fail-on-divergence")
    assert proc.returncode == int(ExitCode.OK), proc.stdout + proc.stderr
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    (divergence,) = doc["divergences"]
    assert (divergence["kind"], divergence["scope"]) == ("output", "nondeterministic")
    assert all(r.get("output_varies") for r in doc["results"])
    # the journal says so too: reports rebuilt from it compare as the run did
    rebuilt = tmp_path / "rebuilt.json"
    journal = project / ".wasitest" / "results.jsonl"
    proc = run_cli("report", str(journal), "--results", str(rebuilt), "--fail-on-divergence")
    assert proc.returncode == int(ExitCode.OK), proc.stdout + proc.stderr
    again = json.loads(rebuilt.read_text())
    assert [d["scope"] for d in again["divergences"]] == ["nondeterministic"]
    assert all(r.get("output_varies") for r in again["results"])

    strict = write_project(tmp_path / "b", suite + "[tool.wasitest.diff]\nrerun = 0\n", {"r.c": RANDOM})
    proc = run_cli("run", str(strict), "--runtimes", "wasmtime,node", "--fail-on-divergence")
    assert proc.returncode == int(ExitCode.DIVERGENCE), proc.stdout + proc.stderr
    (divergence,) = json.loads((strict / ".wasitest" / "results.json").read_text())["divergences"]
    assert divergence["scope"] == "runtime"

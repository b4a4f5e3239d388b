"""The README's main job, for real: the quickstart example on Wasmtime and Node."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import junitparser
import xmlschema

from tests.conftest import DATA

DIVERGENT = "excl_create_refuses_dangling_symlink"


def _results(project: Path) -> dict[str, object]:
    return json.loads((project / "results.json").read_text())


def test_matrix_runs_every_case_on_both_runtimes(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = quickstart_run
    assert proc.returncode == 1, proc.stderr  # Node fails the divergent case
    doc = json.loads((project / "results.json").read_text())
    assert doc["schema"] == "wasitest-results" and doc["version"] == 2
    assert [c["runtime"] for c in doc["cells"]] == ["wasmtime", "node"]
    by_cell: dict[str, set[str]] = {}
    for r in doc["results"]:
        by_cell.setdefault(r["cell"], set()).add(f"{r['artifact']}::{r['case']}")
    assert by_cell["wasmtime"] == by_cell["node"]
    assert len(by_cell["wasmtime"]) >= 10


def test_divergence_is_real_and_reported(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = quickstart_run
    doc = json.loads((project / "results.json").read_text())
    outcomes = {(r["case"], r["cell"]): r for r in doc["results"]}
    assert outcomes[(DIVERGENT, "wasmtime")]["outcome"] == "passed"
    node = outcomes[(DIVERGENT, "node")]
    assert node["outcome"] == "failed" and node["exit_code"] == 1
    assert "check failed" in node["message"]
    (divergence,) = [d for d in doc["divergences"] if d["case"] == DIVERGENT]
    assert divergence["kind"] == "outcome"
    assert divergence["cells"]["node"]["outcome"] == "failed"
    assert f"unit/files::{DIVERGENT}" in proc.stdout
    assert "divergent case" in proc.stdout


def test_expected_failure_and_skip(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = quickstart_run
    doc = json.loads((project / "results.json").read_text())
    for cell in ("wasmtime", "node"):
        outcomes = {r["case"]: r["outcome"] for r in doc["results"] if r["cell"] == cell}
        assert outcomes["known_bug"] == "xfailed"
        assert "skipped" in outcomes.values()


def test_env_grant_reaches_the_module_and_nothing_else(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    project, _ = quickstart_run
    doc = json.loads((project / "results.json").read_text())
    outcomes = {(r["case"], r["cell"]): r["outcome"] for r in doc["results"] if r["artifact"] == "unit/env"}
    for cell in ("wasmtime", "node"):
        assert outcomes[("greeting_is_granted", cell)] == "passed"
        assert outcomes[("host_env_is_hidden", cell)] == "passed"


def test_junit_validates_and_round_trips(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = quickstart_run
    junit = project / "junit.xml"
    xmlschema.XMLSchema(DATA / "junit-wasitest.xsd").validate(junit)  # the Jenkins schema plus file and line
    xml = junitparser.JUnitXml.fromfile(str(junit))
    suites = {s.name: s for s in xml}
    assert set(suites) == {"wasmtime", "node", "divergences"}
    (divergent,) = list(suites["divergences"])
    assert (divergent.classname, divergent.name) == ("unit/files", DIVERGENT)
    assert divergent.is_skipped  # reported, but the run was not asked to fail on divergences
    props = {p.name: p.value for p in suites["node"].properties()}
    assert props["runtime"] == "node" and props["host"] == "local" and props["runtime_version"].startswith("node ")
    failing = [c for c in suites["node"] if c.name == f"{DIVERGENT}[node]"]
    assert failing and isinstance(failing[0].result[0], junitparser.Failure)
    assert failing[0].classname == "unit/files"
    assert suites["wasmtime"].failures == 0
    assert suites["node"].failures == 1
    # round trip: what junitparser writes back parses to the same counts
    again = project / "again.xml"
    xml.write(str(again))
    reread = junitparser.JUnitXml.fromfile(str(again))
    assert [(s.name, s.tests, s.failures, s.skipped) for s in reread] == [
        (s.name, s.tests, s.failures, s.skipped) for s in xml
    ]


def test_journal_has_every_result(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = quickstart_run
    lines = (project / ".wasitest" / "results.jsonl").read_text().splitlines()
    header, *rows, end = (json.loads(line) for line in lines)
    assert header["journal"] == "wasitest"
    assert end == {"end": True, "interrupted": False}
    assert len(rows) == len(_results(project)["results"])  # type: ignore[arg-type]


def test_a_run_leaves_no_job_files_behind(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    """The sessions of every process (parent, workers) keep their pipes and runner logs in
    `cache/jobs/PID`; each removes its own when it closes, or run after run they pile up."""
    project, _ = quickstart_run
    cache = project / ".wasitest" / "cache"
    assert (cache / "build").is_dir()
    assert not (cache / "jobs").exists(), sorted(str(p.relative_to(cache)) for p in (cache / "jobs").rglob("*"))


def test_second_run_builds_nothing(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], run_cli) -> None:  # type: ignore[no-untyped-def]
    project, _ = quickstart_run
    proc = run_cli("run", str(project), "--results", str(project / "second.json"), "-q")
    assert proc.returncode == 0, proc.stderr  # wasmtime only: everything passes
    stats = json.loads((project / "second.json").read_text())["stats"]
    assert stats["artifacts_built"] == 0 and stats["artifacts_cached"] == 4

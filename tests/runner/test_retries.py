"""--retries: a case that fails and then passes is flaky, reported as such."""

from __future__ import annotations

import json
from pathlib import Path

import junitparser
import xmlschema

from tests.conftest import DATA, RunCli, write_project
from wasitest.errors import ExitCode

HERE = Path(__file__).resolve().parent


def test_retries_turn_coin_flips_into_flaky_passes(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path,
        '[tool.wasitest.suites.coins]\nbuilder="zig"\nsources=["coins.c"]\nharness="clist"\n',
        {"coins.c": (HERE / "flaky" / "coins.c").read_text()},
    )
    junit = tmp_path / "junit.xml"
    proc = run_cli("run", str(project), "--retries", "25", "--junit", str(junit), "-j", "2")
    # P(a case fails 26 times) = 2^-26 each; P(no case is flaky) = 2^-20
    assert proc.returncode == int(ExitCode.OK), proc.stdout + proc.stderr
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    outcomes = [r["outcome"] for r in doc["results"]]
    assert len(outcomes) == 20 and set(outcomes) <= {"passed", "flaky"} and "flaky" in outcomes
    for result in doc["results"]:
        if result["outcome"] == "flaky":
            assert result["attempts"] and all(a["outcome"] == "failed" for a in result["attempts"])
            assert result["message"].startswith(f"failed {len(result['attempts'])} time(s), then passed")
        else:
            assert "attempts" not in result
    xmlschema.XMLSchema(DATA / "junit-10.xsd").validate(junit)
    flaky_cases = [
        c
        for s in junitparser.JUnitXml.fromfile(str(junit))
        for c in s
        if c.is_passed and c._elem.find("flakyFailure") is not None
    ]
    assert len(flaky_cases) == outcomes.count("flaky")


def test_without_retries_the_same_suite_fails(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path,
        '[tool.wasitest.suites.coins]\nbuilder="zig"\nsources=["coins.c"]\nharness="clist"\n',
        {"coins.c": (HERE / "flaky" / "coins.c").read_text()},
    )
    proc = run_cli("run", str(project), "-q")
    assert proc.returncode == int(ExitCode.TESTS_FAILED)  # P(all 20 heads) = 2^-20

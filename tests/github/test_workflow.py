"""Workflow commands: escaping, step outputs, the step's annotation budget, and
`wasitest github --workflow-outputs` on the results of a real quickstart run."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import RunCli
from tests.github.runner_files import parse_commands, parse_output_file
from wasitest.github.annotations import Annotation, for_step
from wasitest.github.workflow import command, escape_data, escape_property, format_outputs
from wasitest.results import load_results


def test_message_and_properties_are_escaped_by_the_runner_rules() -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", "line 1\nline 2 :: 50%", {"file": "src/a,b.c", "line": 12, "title": "x::y, z"})
    assert "\n" not in line
    (parsed,) = parse_commands(line)
    assert parsed.name == "error"
    assert parsed.properties == {"file": "src/a,b.c", "line": "12", "title": "x::y, z"}
    assert parsed.message == "line 1\nline 2 :: 50%"


def test_an_unescaped_property_would_be_read_wrong() -> None:
    """The parser really splits properties as the runner does: without escaping, a comma
    in a title becomes a bogus property (so the test above can fail)."""
    (parsed,) = parse_commands("::error title=x, z,line=3::m")
    assert parsed.properties != {"title": "x, z", "line": "3"}


def test_empty_properties_are_left_out() -> None:
    assert command("warning", "m", {"file": None, "line": None, "title": "t"}) == "::warning title=t::m"
    assert command("notice", "m") == "::notice::m"


def test_outputs_survive_multiline_values_that_look_like_commands() -> None:
    values = {"one": "1", "cases": "a::b\nc<<EOF\nd=e\n", "empty": ""}
    text = format_outputs(values)
    assert parse_output_file(text) == values
    delimiters = {line.split("<<", 1)[1] for line in text.splitlines() if line.startswith(("one<<", "cases<<"))}
    assert len(delimiters) == 2  # a fresh random delimiter per value


def test_a_step_shows_ten_annotations_per_level_and_sums_up_the_rest() -> None:
    errors = [Annotation("error", f"suite/a::case{i} failed on node (failed)", "boom") for i in range(25)]
    warnings = [Annotation("warning", f"w{i}", "differs") for i in range(3)]
    shown = for_step(errors + warnings)
    shown_errors = [a for a in shown if a.level == "error"]
    assert len(shown_errors) == 10
    assert shown_errors[:9] == errors[:9]
    assert shown_errors[9].title.startswith("16 more error annotation(s)")
    assert shown_errors[9].message.splitlines() == [a.title for a in errors[9:]]
    assert [a for a in shown if a.level == "warning"] == warnings
    assert for_step(errors[:10]) == errors[:10]


@pytest.fixture(scope="module")
def quickstart(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> Path:
    project, proc = quickstart_run
    assert proc.returncode == 1, proc.stderr  # the Node divergence fails the run, on purpose
    return project


def _actions_env(workspace: Path, tmp_path: Path) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }


def test_workflow_outputs_of_a_real_run(quickstart: Path, tmp_path: Path, run_cli: RunCli) -> None:
    env = _actions_env(quickstart.parent, tmp_path)
    (tmp_path / "summary.md").write_text("earlier step\n")
    proc = run_cli(
        "github",
        str(quickstart / "results.json"),
        "--workflow-outputs",
        "--project",
        str(quickstart),
        "--junit",
        str(quickstart / "junit.xml"),
        "--html",
        str(quickstart / "absent.html"),
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    document = load_results(quickstart / "results.json")

    outputs = parse_output_file((tmp_path / "output").read_text())
    counts = json.loads(outputs["counts"])
    for outcome, number in counts.items():
        assert outputs[outcome] == str(number)
        assert number == sum(r.outcome.value == outcome for r in document.results)
    assert int(outputs["total"]) == len(document.results) == sum(counts.values())
    assert outputs["failed"] == "1" and outputs["failures"] == "1"
    assert outputs["divergences"] == "1"
    assert outputs["divergent-cases"] == "unit/files::excl_create_refuses_dangling_symlink"
    assert outputs["conclusion"] == "failure"
    assert outputs["results"] == str((quickstart / "results.json").resolve())
    assert outputs["junit"] == str((quickstart / "junit.xml").resolve())
    assert "html" not in outputs  # not written, so not named

    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("earlier step\n## wasitest\n")  # appended, not overwritten
    assert "| `unit/files::excl_create_refuses_dangling_symlink` | runtime outcome |" in summary

    commands = parse_commands(proc.stdout)
    errors = [c for c in commands if c.name == "error"]
    warnings = [c for c in commands if c.name == "warning"]
    assert len(errors) == 1 and len(warnings) == 1
    # clist prints `tests/files.c:55: check failed`: the annotation lands on that line
    assert errors[0].properties["file"] == "quickstart/tests/files.c"
    assert errors[0].properties["line"] == "55"
    assert errors[0].properties["title"] == "unit/files::excl_create_refuses_dangling_symlink failed on node (failed)"
    assert errors[0].message.startswith("tests/files.c:55: check failed: fd == -1")
    assert warnings[0].properties["title"].endswith("runtime divergence (outcome)")
    assert warnings[0].properties["file"] == "quickstart/tests/files.c"


def test_outside_github_actions_it_says_so_and_writes_nothing(
    quickstart: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    env = {**_actions_env(quickstart.parent, tmp_path), "GITHUB_ACTIONS": ""}
    proc = run_cli(
        "github", str(quickstart / "results.json"), "--workflow-outputs", "--project", str(quickstart), env=env
    )
    assert proc.returncode == 0
    assert proc.stderr.strip().count("\n") == 0 and "not in a GitHub Actions step" in proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "output").exists() and not (tmp_path / "summary.md").exists()


def test_a_missing_results_file_is_a_one_line_error(tmp_path: Path, run_cli: RunCli) -> None:
    proc = run_cli(
        "github", str(tmp_path / "nope.json"), "--project", str(tmp_path), env=_actions_env(tmp_path, tmp_path)
    )
    assert proc.returncode == 7
    assert proc.stderr.startswith("wasitest: error: cannot read") and proc.stderr.count("\n") == 1


def test_annotation_places(tmp_path: Path) -> None:
    """A harness's file and line first; else a FILE:LINE: the output names, if that file
    exists; else the suite's table in the config file."""
    from tests.conftest import write_project
    from wasitest.github.annotations import Locator, collect
    from wasitest.model import Cell, Outcome, Result
    from wasitest.results import ResultsDocument

    project = write_project(
        tmp_path / "repo" / "proj",
        '[tool.wasitest]\nruntimes = ["wasmtime"]\n\n'
        '[tool.wasitest.suites.other]\nbuilder = "zig"\nsources = ["x/*.c"]\n\n'
        '[tool.wasitest.suites.unit]\nbuilder = "zig"\nsources = ["t/*.c"]\n',
        {"t/a.c": "int main(void) { return 1; }\n"},
    )
    locator = Locator(project, tmp_path / "repo")
    fail = Result("unit/a", "c", "wasmtime", Outcome.FAILED, "t/a.c:1: check failed", exit_code=1)
    assert locator.locate([fail]) == ("proj/t/a.c", 1)
    assert locator.locate([replace(fail, file="t/a.c", line=9)]) == ("proj/t/a.c", 9)
    assert locator.locate([replace(fail, message="t/gone.c:3: check failed")]) == ("proj/pyproject.toml", 8)
    assert Locator(project, tmp_path / "elsewhere").locate([fail]) == ("", 0)  # outside the workspace

    document = ResultsDocument(cells=[Cell("wasmtime")], results=[fail, replace(fail, case="d", message="")])
    titles = [(a.level, a.title, a.path, a.line) for a in collect(document, locator)]
    assert titles == [
        ("error", "unit/a::c failed on wasmtime (failed)", "proj/t/a.c", 1),
        ("error", "unit/a::d failed on wasmtime (failed)", "proj/pyproject.toml", 8),
    ]

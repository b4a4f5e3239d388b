"""The Markdown summary and the console summary, rendered from a real run's results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import RunCli
from wasitest.markdown import MAX_BYTES, render_markdown
from wasitest.model import Cell, Outcome, Result
from wasitest.results import ResultsDocument, load_results

DIVERGENT = "excl_create_refuses_dangling_symlink"


def test_markdown_of_the_quickstart(quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = quickstart_run
    text = render_markdown(load_results(project / "results.json"))
    assert "| `wasmtime` |" in text and "| `node` |" in text
    assert f"| `unit/files::{DIVERGENT}` | runtime outcome | ✅ passed | ❌ failed exit 1 |" in text
    assert "<details>" in text and "tests/files.c:55: check failed" in text


def test_markdown_is_cut_under_a_megabyte_with_a_note() -> None:
    cell = Cell("wasmtime")
    noisy = "x" * 400 + "\n"
    results = [
        Result("s/a", f"case_{i}", "wasmtime", Outcome.FAILED, "boom | <b>", exit_code=1, stderr=noisy * 30)
        for i in range(2000)
    ]
    text = render_markdown(ResultsDocument(cells=[cell], results=results))
    assert len(text.encode()) <= MAX_BYTES
    assert "Summary cut at 1 MB" in text
    assert text.count("<details>") == text.count("</details>")
    assert "boom \\| &lt;b&gt;" in text  # table-safe, HTML-safe


def test_report_rebuilds_everything_from_the_journal(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], run_cli: RunCli, tmp_path: Path
) -> None:
    project, _ = quickstart_run
    journal = project / ".wasitest" / "results.jsonl"
    out, junit, md = tmp_path / "r.json", tmp_path / "j.xml", tmp_path / "s.md"
    proc = run_cli("report", str(journal), "--results", str(out), "--junit", str(junit), "--markdown", str(md))
    assert proc.returncode == 1  # node's failure is in the journal too
    rebuilt, original = load_results(out), load_results(project / "results.json")
    assert sorted(r.job_id for r in rebuilt.results) == sorted(r.job_id for r in original.results)
    assert [d.case for d in rebuilt.divergences] == [d.case for d in original.divergences]
    assert not rebuilt.interrupted
    assert junit.exists() and DIVERGENT in md.read_text()


def test_console_summary_is_plain_without_a_terminal_and_honours_no_color(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], run_cli: RunCli
) -> None:
    project, proc = quickstart_run
    assert "\x1b[" not in proc.stdout  # not a terminal: no colour codes
    assert "cases that did not simply pass" in proc.stdout
    assert f"unit/files::{DIVERGENT}" in proc.stdout
    import re

    colour = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|38;)")  # a foreground colour, not bold/italic
    forced = run_cli("report", str(project / "results.json"), env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert colour.search(forced.stdout)
    plain = run_cli("report", str(project / "results.json"), env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert not colour.search(plain.stdout)  # NO_COLOR wins: emphasis, but no colours


def test_baseline_compares_every_cell_with_one(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], run_cli: RunCli, tmp_path: Path
) -> None:
    project, _ = quickstart_run
    out = tmp_path / "b.json"
    run_cli("report", str(project / "results.json"), "--baseline", "node", "--results", str(out), "-q")
    (divergence,) = json.loads(out.read_text())["divergences"]
    assert divergence["differing"] == ["wasmtime"]


def test_hard_killed_run_is_reported_as_interrupted(tmp_path: Path, run_cli: RunCli) -> None:
    from tests.conftest import write_project

    project = write_project(
        tmp_path,
        '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["*.c"]\ntimeout=30\n',
        {
            "fast.c": "int main(void){return 0;}",
            "slow.c": "int main(void){volatile unsigned long n=0; for(;;) n++;}",
        },
    )
    journal = project / ".wasitest" / "results.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasitest", "run", str(project), "-j", "2", "-q"],
        env={**os.environ, "NO_COLOR": "1"},
        start_new_session=True,
    )
    import signal
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and '"case":"fast"' in journal.read_text():
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    report = run_cli("report", str(journal), "--results", str(tmp_path / "r.json"))
    doc = load_results(tmp_path / "r.json")
    assert doc.interrupted and [r.case for r in doc.results] == ["fast"]
    assert report.returncode == 130
    assert "interrupted" in report.stdout

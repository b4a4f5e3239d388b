"""What a new user meets first (issue 16), on the real command and real projects: progress
from the first second, reports that are never lost, reasons on the console, the harness a
source needs without asking, and the smaller points of a first run."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import junitparser
import pytest

from tests.conftest import ROOT, RunCli, copy_example, write_project
from wasitest.errors import ExitCode

TESTS_C = """#include "wasitest.h"
#include <stdio.h>
TEST(adds) { CHECK(1 + 1 == 2); }
TEST(writes_a_file) { FILE *f = fopen("out.txt", "w"); CHECK(f != NULL); if (f) fclose(f); }
TEST(compares) { CHECK_EQ_INT(3, 3); }
"""
SLEEPS_C = """#include "wasitest.h"
#include <time.h>
TEST(sleeps) { struct timespec t = {3, 0}; nanosleep(&t, NULL); CHECK(1); }
"""


def _stderr_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return proc.stderr.splitlines()


# 1. No silence


def test_a_cold_build_says_what_it_does_from_the_first_second_and_ctrl_c_stops_it(tmp_path: Path) -> None:
    """A cold Zig (its global cache empty, as on a new machine) compiles wasi-libc first:
    the build says so within seconds, and Ctrl-C, here sent to wasitest alone (not to the
    compilers, as a terminal would), stops everything within a second or two."""
    project = copy_example("quickstart", tmp_path)
    env = {**os.environ, "ZIG_GLOBAL_CACHE_DIR": str(tmp_path / "cold-zig"), "NO_COLOR": "1"}
    env.pop("WASITEST_DEBUG", None)
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "wasitest", "run", str(project)], env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    lines: list[tuple[float, str]] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend((time.monotonic() - started, ln.rstrip())
                                                          for ln in proc.stderr or ()))
    reader.start()
    try:
        deadline = started + 120
        while time.monotonic() < deadline and not any("wasi-libc" in line for _, line in lines):
            time.sleep(0.1)
        first = lines[0] if lines else (0.0, "")
        assert first[1].startswith("wasitest: compiling unit/") and first[0] < 3, lines
        assert any(line.startswith("wasitest: still compiling unit/") for _, line in lines), lines
        notes = [line for _, line in lines if "wasi-libc" in line]
        assert notes == ["wasitest: note: Zig's first build for wasm32-wasi compiles wasi-libc and its runtime "
                         "(about 30 s, once per machine); later builds are cached"]  # once, not per artifact
        interrupted = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=10) == int(ExitCode.INTERRUPTED)
        assert time.monotonic() - interrupted < 2.5
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(10)
    assert lines[-1][1] == "wasitest: interrupted"
    time.sleep(0.5)
    assert not _running_with(f"ZIG_GLOBAL_CACHE_DIR={tmp_path / 'cold-zig'}")  # no compiler outlives the run


def _running_with(variable: str) -> list[str]:
    """The processes still running (not zombies) whose environment has `variable`."""
    if not Path("/proc/self/environ").exists():
        pytest.skip("needs Linux's /proc")
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if variable.encode() in environ and state != "Z":
            found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_a_run_says_each_step_then_the_jobs_and_where_each_report_went(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("quickstart", tmp_path)
    cold = run_cli("run", str(project), "--junit", str(tmp_path / "junit.xml"))
    steps = [line for line in _stderr_lines(cold) if line.startswith("wasitest: ")]
    artifacts = ["unit/env", "unit/files", "unit/parser", "unit/strings"]
    assert sorted(line.split()[-1] for line in steps if line.startswith("wasitest: compiling ")) == artifacts, steps
    assert sorted(line.split()[2] for line in steps if line.startswith("wasitest: built ")) == artifacts
    warm = run_cli("run", str(project), "--junit", str(tmp_path / "junit.xml"))
    steps = [line for line in _stderr_lines(warm) if line.startswith("wasitest: ")]
    assert sorted(line.split()[-1] for line in steps[:4]) == artifacts and all(" cached " in s for s in steps[:4])
    assert steps[4:] == [
        "wasitest: listing the cases of 4 artifact(s) on wasmtime",
        "wasitest: found 14 case(s) in 4 artifact(s)",
        "wasitest: running 14 jobs in 1 cell(s)",
        "wasitest: note: ran on wasmtime only (the default runtime); --matrix runs all 2 configured cells: "
        "wasmtime, node",
        f"wasitest: wrote results: {project.resolve() / '.wasitest' / 'results.json'}",
        f"wasitest: wrote junit: {tmp_path.resolve() / 'junit.xml'}",
    ]


def _run_in_terminal(*args: str, timeout: float = 120) -> tuple[int, str]:
    """`wasitest ARGS` with a terminal (a pseudo-terminal) as its stdout and stderr."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes wasitest
        try:
            os.environ.pop("NO_COLOR", None)
            os.environ.pop("WASITEST_DEBUG", None)
            os.environ["COLUMNS"] = "120"
            os.execv(sys.executable, [sys.executable, "-m", "wasitest", *args])
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def test_on_a_terminal_the_steps_are_a_live_display(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("quickstart", tmp_path)
    assert run_cli("build", str(project)).returncode == 0
    code, screen = _run_in_terminal("run", str(project))
    assert code == 0, screen
    assert "\x1b[?25l" in screen  # the live display hides the cursor while it redraws its line
    assert "cached    unit/env" in screen and "found 14 case(s) in 4 artifact(s)" in screen
    assert "wasitest: cached" not in screen  # the log lines are for logs, not terminals
    assert "wasitest results" in screen


# 2. No lost reports


def test_every_output_is_checked_before_anything_is_built(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path / "p", '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["t.c"]\n',
                            {"t.c": TESTS_C})
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    for option, path, reason in (
        ("--html", "/proc/report.html", "its folder is not writable"),  # root may write anywhere, but not there
        ("--markdown", str(blocker / "summary.md"), f"its folder is not writable ({blocker} is a file, not a folder)"),
        ("--matrix-md", str(blocker / "deeper" / "m.md"), f"({blocker} is a file, not a folder)"),
    ):
        proc = run_cli("run", str(project), option, path, "--junit", str(tmp_path / "junit.xml"))
        assert proc.returncode == int(ExitCode.OUTPUT), proc.stderr
        assert len(proc.stderr.splitlines()) == 1  # the error, and no build step before it
        assert proc.stderr.startswith(f"wasitest: error: cannot write {path}: ")
        assert reason in proc.stderr and "File exists" not in proc.stderr
    assert not (project / ".wasitest").exists()  # nothing was built, no job ran
    assert not (tmp_path / "junit.xml").exists()


def test_a_report_that_fails_at_the_end_costs_only_itself(tmp_path: Path, run_cli: RunCli) -> None:
    """The `--html` folder is writable when the run starts and is a file when it ends: the
    summary, JUnit, Markdown and results.json are still written, the error says which
    report failed, and the exit code is the output error's."""
    project = write_project(tmp_path / "p", '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["*.c"]\n'
                            'harness = "clist"\n', {"sleeps.c": SLEEPS_C})
    out = tmp_path / "out"
    out.mkdir()
    html = out / "report.html"
    command = [sys.executable, "-m", "wasitest", "run", str(project), "--html", str(html),
               "--junit", str(tmp_path / "junit.xml"), "--markdown", str(tmp_path / "summary.md")]
    proc = subprocess.Popen(command, env={**os.environ, "NO_COLOR": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    journal = project / ".wasitest" / "results.jsonl"
    deadline = time.monotonic() + 120
    while not journal.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    shutil.rmtree(out)
    out.write_text("the folder became a file")
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == int(ExitCode.OUTPUT), stderr
    assert "wasitest results" in stdout  # the console summary
    errors = [line for line in stderr.splitlines() if line.startswith("wasitest: error: ")]
    assert len(errors) == 1 and str(html) in errors[0]
    (suite,) = junitparser.JUnitXml.fromfile(str(tmp_path / "junit.xml"))
    assert [case.name.split("[")[0] for case in suite] == ["sleeps"]
    assert "| `wasmtime` |" in (tmp_path / "summary.md").read_text()
    assert json.loads((project / ".wasitest" / "results.json").read_text())["results"][0]["outcome"] == "passed"
    assert f"wasitest: wrote junit: {tmp_path / 'junit.xml'}" in stderr
    assert f"wasitest: wrote markdown: {tmp_path / 'summary.md'}" in stderr
    assert "wrote html" not in stderr


# 5. Reasons on the console, and 9. a cell where every job is unsupported


def test_jobs_that_did_not_run_are_grouped_with_their_reason(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["t.c"]\n',
                            {"t.c": TESTS_C})
    proc = run_cli("run", str(project), "--runtimes", "wasmtime,pywasm")
    if "runtime 'pywasm' is not available" in proc.stderr:
        pytest.skip("pywasm is not installed")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "jobs that did not run, by reason:" in proc.stdout
    (line,) = [ln for ln in proc.stdout.splitlines() if ln.startswith("  pywasm: ")]
    assert line.startswith("  pywasm: 3 job(s) unsupported: pywasm cannot enforce or provide: fs_containment")
    assert 'allow_unsafe = ["pywasm"]' in line
    # every case passed where it ran: pywasm's unsupported column makes no row
    assert "cases that did not simply pass" not in proc.stdout
    assert "pywasm: every job unsupported" in proc.stdout


# 6. The right harness without asking


def test_each_source_gets_the_harness_it_needs(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path, '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["src/*.c*", "src/*.zig"]\n',
        {
            "src/cases.c": TESTS_C,
            "src/cases_too.cpp": '#include "helpers.h"\nTEST(in_cpp) { CHECK(true); }\n',
            "src/helpers.h": '#pragma once\n#include "wasitest.h"\n',
            "src/plain.c": '#define WASITEST_NO_MAIN\n#include "wasitest.h"\nint main(void) { CHECK(1); return 0; }\n',
            "src/blocks.zig": 'const std = @import("std");\ntest "one" {}\n'
                              'test "two" { try std.testing.expect(true); }\n',
            "src/program.zig": "pub fn main() void {}\n",
        },
    )
    proc = run_cli("list", str(project))
    assert proc.returncode == 0, proc.stderr
    assert {line for line in proc.stderr.splitlines() if ": harness " in line} == {
        "s/blocks: harness zigtest, 2 case(s)",
        "s/cases: harness clist, 3 case(s)",
        "s/cases_too: harness clist, 1 case(s)",
        "s/plain: harness exitcode, 1 case(s)",
        "s/program: harness exitcode, 1 case(s)",
    }
    run = run_cli("run", str(project))
    assert run.returncode == 0, run.stdout + run.stderr
    named = write_project(tmp_path / "named", '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["*.c"]\n'
                          'harness = "exitcode"\n', {"cases.c": TESTS_C})
    assert "s/cases: harness exitcode, 1 case(s)" in run_cli("list", str(named)).stderr  # the suite's word wins


# 9. Smaller points


def test_the_divergence_table_keeps_the_cell_order_and_says_what_the_mark_means(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    project, proc = quickstart_run
    if shutil.which("node") is None:
        pytest.skip("node is not installed: no divergence to show")
    out = proc.stdout
    assert "≠ marks a divergent case: its cells disagree" in out
    panel = out[out.index("divergent case(s):"):]
    header = next(line for line in panel.splitlines() if "wasmtime" in line and "node" in line)
    assert header.index("wasmtime") < header.index("node")  # as in the counts: wasmtime, then node
    assert not list((project / ".wasitest" / "scratch").glob("worker-*"))  # empty worker folders are gone


def test_a_truncated_journal_says_so(tmp_path: Path, run_cli: RunCli,
                                     quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = quickstart_run
    text = (project / ".wasitest" / "results.jsonl").read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) // 2])
    proc = run_cli("report", str(cut), "--results", str(tmp_path / "r.json"))
    assert proc.returncode == int(ExitCode.INPUT)
    assert proc.stderr.splitlines()[-1].startswith(f"wasitest: error: {cut} is truncated: its last line is cut short")
    assert "interrupted" not in proc.stdout
    assert (tmp_path / "r.json").exists()  # the reports still hold what it has


def test_paths_that_are_files_say_so(tmp_path: Path, run_cli: RunCli,
                                     quickstart_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = quickstart_run
    as_project = run_cli("run", str(project / "pyproject.toml"))
    assert as_project.returncode == int(ExitCode.CONFIG)
    assert f"{project / 'pyproject.toml'} is a file, not a project folder" in as_project.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    report = run_cli("report", str(project / "results.json"), "--results", str(blocker / "r.json"))
    assert report.returncode == int(ExitCode.OUTPUT)
    assert f"({blocker} is a file, not a folder)" in report.stderr and "File exists" not in report.stderr


def test_build_out_counts_the_cache_and_a_bundle_run_keeps_its_state_beside_it(
    tmp_path: Path, run_cli: RunCli
) -> None:
    project = write_project(tmp_path / "p", '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["*.c"]\n',
                            {"a.c": TESTS_C, "b.c": SLEEPS_C.replace("{3, 0}", "{0, 1}")})
    first = run_cli("build", str(project), "--out", str(tmp_path / "bundle"))
    assert "built 2 artifact(s) with 4 case(s) (2 compiled, 0 from the cache)" in first.stderr
    second = run_cli("build", str(project), "--out", str(tmp_path / "bundle"))
    assert "built 2 artifact(s) with 4 case(s) (0 compiled, 2 from the cache)" in second.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli("run", "--bundle", str(tmp_path / "bundle"), cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "bundle" / ".wasitest" / "results.json").is_file()
    assert not (elsewhere / ".wasitest").exists()


# 10. A Zig example


def test_the_zig_example(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("zig-test", tmp_path)
    proc = run_cli("run", str(project), "--matrix")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counts = {cell["id"]: {} for cell in json.loads((project / ".wasitest" / "results.json").read_text())["cells"]}
    for result in json.loads((project / ".wasitest" / "results.json").read_text())["results"]:
        counts[result["cell"]][result["outcome"]] = counts[result["cell"]].get(result["outcome"], 0) + 1
    expected = {"passed": 5, "skipped": 1, "xfailed": 1}
    assert counts == {"wasmtime": expected, "node": expected} or counts == {"wasmtime": expected}
    assert "warning" not in proc.stderr  # its xfail pattern names its case
    assert "[examples/zig-test/](examples/zig-test/)" in (ROOT / "README.md").read_text()

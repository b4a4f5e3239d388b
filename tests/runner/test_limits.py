"""Every job's limits are really enforced, on every runtime the core ships."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import write_project

HERE = Path(__file__).resolve().parent
CONFIG = """
[tool.wasitest]
runtimes = ["wasmtime", "node"]
[tool.wasitest.suites.limits]
builder = "zig"
sources = ["limits.c"]
harness = "clist"
timeout = 1.5
memory = "32MiB"
output_cap = "64KiB"
"""


@pytest.fixture(scope="module")
def limits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[tuple[str, str], dict[str, object]], str]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    project = write_project(
        tmp_path_factory.mktemp("limits"), CONFIG, {"limits.c": (HERE / "limits" / "limits.c").read_text()}
    )
    import os
    import sys

    proc = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", "--matrix", str(project), "-j", "2"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    return {(r["case"], r["cell"]): r for r in doc["results"]}, proc.stdout + proc.stderr


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
def test_timeout_is_enforced(limits_run, cell: str) -> None:  # type: ignore[no-untyped-def]
    result = limits_run[0][("spin", cell)]
    assert result["outcome"] == "timeout"
    assert 1.4 <= result["duration_s"] < 5.0
    assert "1.5 s" in result["message"]


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
def test_memory_limit_is_enforced(limits_run, cell: str) -> None:  # type: ignore[no-untyped-def]
    result = limits_run[0][("hog", cell)]
    assert result["outcome"] == "passed", result
    assert "allocated" in result["stdout"]


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
def test_every_job_gets_a_fresh_scratch_dir(limits_run, cell: str) -> None:  # type: ignore[no-untyped-def]
    assert limits_run[0][("fresh_scratch", cell)]["outcome"] == "passed"


@pytest.mark.parametrize(("case", "trap"), [("trap", "unreachable"), ("recurse", "stack_overflow")])
@pytest.mark.parametrize("cell", ["wasmtime", "node"])
def test_traps_are_normalised(limits_run, cell: str, case: str, trap: str) -> None:  # type: ignore[no-untyped-def]
    result = limits_run[0][(case, cell)]
    assert result["outcome"] == "trapped"
    assert result["trap"] == trap


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
def test_output_is_capped_while_captured(limits_run, cell: str) -> None:  # type: ignore[no-untyped-def]
    result = limits_run[0][("flood", cell)]
    if result["outcome"] == "timeout":
        pytest.skip(f"{cell} could not drain 256 MiB within 1.5 s on this machine")
    assert result["outcome"] == "passed", result
    assert result["stdout_truncated"] is True
    assert len(result["stdout"]) == 64 * 1024 and set(result["stdout"]) == {"x"}
    assert result["stderr"] == "flooded\n"


def test_journal_streams_results_while_the_run_goes_on(tmp_path: Path) -> None:
    """A fast case is in results.jsonl while a slow one is still running."""
    import os
    import sys
    import time

    project = write_project(
        tmp_path,
        '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["*.c"]\ntimeout=20\n',
        {
            "fast.c": "int main(void){return 0;}",
            "slow.c": "int main(void){volatile unsigned long n=0; for(;;) n++;}",
        },
    )
    journal = project / ".wasitest" / "results.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wasitest", "run", str(project), "-j", "2", "-q"], env={**os.environ, "NO_COLOR": "1"}
    )
    try:
        deadline = time.monotonic() + 60
        seen: list[dict[str, object]] = []
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists():
                seen = [json.loads(line) for line in journal.read_text().splitlines()[1:] if line.strip()]
                if any(r["case"] == "fast" for r in seen):
                    break
            time.sleep(0.1)
        assert proc.poll() is None, "the run ended before the slow case could time out"
        assert [r["case"] for r in seen] == ["fast"]
    finally:
        proc.kill()
        proc.wait()


def test_cli_reports_divergent_traps(limits_run) -> None:  # type: ignore[no-untyped-def]
    _, output = limits_run
    assert "timeout" in output


def test_a_bigger_wasm_stack_still_traps_cleanly(tmp_path: Path) -> None:
    """`max_wasm_stack` above Wasmtime's 2 MiB async stack used to abort the process; now the
    option raises the async stack too, and an impossible value is an unavailable cell."""
    import os
    import sys

    config = CONFIG.replace('runtimes = ["wasmtime", "node"]', "").replace(
        "[tool.wasitest.suites.limits]",
        '[tool.wasitest.matrix]\nruntime = ["wasmtime"]\nmax_wasm_stack = ["6291456", "99999999"]\n'
        "[tool.wasitest.suites.limits]",
    )
    project = write_project(tmp_path, config, {"limits.c": (HERE / "limits" / "limits.c").read_text()})
    proc = subprocess.run([sys.executable, "-m", "wasitest", "run", "--matrix", str(project), "--cells", "*"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    recurse = {r["cell"]: r for r in doc["results"] if r["case"] == "recurse"}
    assert recurse["wasmtime+max_wasm_stack=6291456"]["trap"] == "stack_overflow"
    assert "max_wasm_stack must be between" in doc["unavailable"]["wasmtime+max_wasm_stack=99999999"]
    assert "Traceback" not in proc.stderr


DEEP = """#include <stdio.h>
#include <stdlib.h>
static int deep(int n);
static int (*volatile next)(int) = deep; /* an indirect call: no loop, no tail call */
static int deep(int n) { if (n == 0) return 0; return next(n - 1) + (n & 1); }
int main(int argc, char **argv) { printf("%d\\n", deep(atoi(argv[1]))); return 0; }
"""


def test_a_wasm_stack_bigger_than_the_main_threads_runs_on_a_thread_of_its_own(tmp_path: Path) -> None:
    """200,000 frames need more than 6 MiB of wasm stack: the main thread's native stack
    cannot hold that, so a 16 MiB cell runs its guests on a thread whose stack fits; the
    recursion that traps at 6 MiB passes at 16 MiB, and 64 MiB still traps cleanly."""
    import os
    import sys

    project = write_project(
        tmp_path,
        '[tool.wasitest.matrix]\nruntime = ["wasmtime"]\nmax_wasm_stack = ["6291456", "16777216", "67108864"]\n'
        '[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["deep.c"]\nargs = ["200000"]\ntimeout = 30\n'
        '[tool.wasitest.suites.endless]\nbuilder = "zig"\nsources = ["endless/deep.c"]\nargs = ["2000000000"]\n'
        "timeout = 30\n",
        {"deep.c": DEEP, "endless/deep.c": DEEP},
    )
    proc = subprocess.run([sys.executable, "-m", "wasitest", "run", "--matrix", str(project)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert "Traceback" not in proc.stderr
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    got = {(r["artifact"], r["cell"]): (r["outcome"], r["trap"], r["stdout"]) for r in doc["results"]}
    assert got[("s/deep", "wasmtime+max_wasm_stack=6291456")][:2] == ("trapped", "stack_overflow")
    assert got[("s/deep", "wasmtime+max_wasm_stack=16777216")] == ("passed", None, "100000\n")
    assert got[("endless/deep", "wasmtime+max_wasm_stack=67108864")][:2] == ("trapped", "stack_overflow")

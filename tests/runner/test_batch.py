"""`batch` isolation: one instance per artifact and cell; anything but a pass or a skip,
and every case the instance never reported on, runs again alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunCli, copy_example, write_project
from wasitest.runner.journal import batch_id, journal_durations

HERE = Path(__file__).resolve().parent

TRAPS_MIDWAY = """#include "wasitest.h"
TEST(first) { CHECK(1); }
TEST(second_traps) { __builtin_trap(); }
TEST(third) { CHECK(2 > 1); }
TEST(fourth_fails) { CHECK_EQ_INT(2 + 2, 5); }
"""


def _results(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    doc = json.loads(path.read_text())
    return {(r["case"], r["cell"]): r for r in doc["results"]}


def test_batch_gives_the_same_outcomes_as_case_isolation(
    quickstart_run: tuple[Path, subprocess.CompletedProcess[str]], run_cli: RunCli, tmp_path: Path
) -> None:
    project = copy_example("quickstart", tmp_path)
    out = tmp_path / "batch.json"
    proc = run_cli("run", str(project), "--matrix", "--isolation", "batch", "--results", str(out), "-q")
    assert proc.returncode == 1
    batch, case = _results(out), _results(quickstart_run[0] / "results.json")
    assert {k: v["outcome"] for k, v in batch.items()} == {k: v["outcome"] for k, v in case.items()}
    # the passes came from the batch; the failures were confirmed alone, with their own message
    assert batch[("reverse", "wasmtime")]["batched"] is True
    node_failure = batch[("excl_create_refuses_dangling_symlink", "node")]
    assert "batched" not in node_failure and "check failed" in str(node_failure["message"])
    assert json.loads(out.read_text())["stats"]["batched"] >= 20


def test_a_trap_in_a_batch_hides_no_case(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path,
        '[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["t.c"]\nharness="clist"\nisolation="batch"\n',
        {"t.c": TRAPS_MIDWAY},
    )
    proc = run_cli("run", str(project), "--runtimes", "wasmtime,node", "-q")
    assert proc.returncode == 1
    results = _results(project / ".wasitest" / "results.json")
    for cell in ("wasmtime", "node"):
        assert results[("first", cell)]["outcome"] == "passed" and results[("first", cell)]["batched"] is True
        assert results[("second_traps", cell)]["outcome"] == "trapped"
        assert results[("third", cell)]["outcome"] == "passed"  # never reported by the batch: ran alone
        assert "batched" not in results[("third", cell)]
        assert results[("fourth_fails", cell)]["outcome"] == "failed"
        assert "(4 != 5)" in str(results[("fourth_fails", cell)]["message"])


def test_zig_tests_in_a_batch(tmp_path: Path, run_cli: RunCli) -> None:
    sample = (HERE.parent / "harnesses" / "zig" / "sample.zig").read_text()
    project = write_project(
        tmp_path, '[tool.wasitest.suites.z]\nbuilder="zig"\nsources=["sample.zig"]\n', {"sample.zig": sample}
    )
    case_run = tmp_path / "case.json"
    run_cli("run", str(project), "--results", str(case_run), "-q")
    batch_run = tmp_path / "batch.json"
    run_cli("run", str(project), "--results", str(batch_run), "--isolation", "batch", "-q")
    case, batch = _results(case_run), _results(batch_run)
    assert {k: v["outcome"] for k, v in batch.items()} == {k: v["outcome"] for k, v in case.items()}
    assert any(r.get("batched") for r in batch.values())
    assert any(r["outcome"] != "passed" for r in batch.values())


def test_a_batch_of_zig_tests_reports_every_one(tmp_path: Path, run_cli: RunCli) -> None:
    """The test runner stops at the first `exit` it reads: a batch sends one, after all of its
    `run_test` messages, so one instance reports every test (none reruns alone)."""
    blocks = "".join(f'test "t{i}" {{ try @import("std").testing.expect({i} >= 0); }}\n' for i in range(6))
    blocks += 'test "skipped" { return error.SkipZigTest; }\n'
    project = write_project(
        tmp_path, '[tool.wasitest.suites.z]\nbuilder="zig"\nsources=["many.zig"]\nisolation="batch"\n',
        {"many.zig": blocks},
    )
    out = tmp_path / "batch.json"
    proc = run_cli("run", str(project), "--runtimes", "wasmtime,node", "--results", str(out), "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = _results(out)
    assert len(results) == 14
    assert all(r.get("batched") is True for r in results.values()), results
    assert {r["outcome"] for (case, _), r in results.items() if case.endswith("skipped")} == {"skipped"}
    assert json.loads(out.read_text())["stats"]["batched"] == 14


@pytest.mark.parametrize("mode", ["bogus"])
def test_unknown_isolation_is_refused(tmp_path: Path, run_cli: RunCli, mode: str) -> None:
    project = write_project(
        tmp_path,
        f'[tool.wasitest.suites.s]\nbuilder="zig"\nsources=["t.c"]\nisolation="{mode}"\n',
        {"t.c": "int main(void){return 0;}"},
    )
    proc = run_cli("run", str(project))
    assert proc.returncode == 4 and "expected 'case' or 'batch'" in proc.stderr


def test_go_tests_and_subtests_in_a_batch(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("go-test", tmp_path)
    case_run, batch_run = tmp_path / "case.json", tmp_path / "batch.json"
    run_cli("run", str(project), "--results", str(case_run), "-q")
    run_cli("run", str(project), "--results", str(batch_run), "--isolation", "batch", "-q")
    case, batch = _results(case_run), _results(batch_run)
    assert {k: v["outcome"] for k, v in batch.items()} == {k: v["outcome"] for k, v in case.items()}
    subtests = [r for (name, _), r in batch.items() if "/" in name]
    assert subtests
    for sub in subtests:  # a subtest comes from wherever its parent's result came from
        parent = batch[(sub["case"].split("/")[0], sub["cell"])]
        assert sub.get("batched", False) == parent.get("batched", False)
    assert any(r.get("batched") for r in batch.values())


QUICK = """#include "wasitest.h"
TEST(one) { CHECK(1); }
TEST(two) { CHECK(2 > 1); }
"""
SLOW = """#include <unistd.h>
#include "wasitest.h"
TEST(naps) { usleep(400000); CHECK(1); }
TEST(quick) { CHECK(1); }
"""


def test_the_batch_that_took_longest_last_time_goes_first(tmp_path: Path, run_cli: RunCli) -> None:
    """A batch's time is in the journal (its cases' shares), so the next run starts the
    slowest batches first, as it does the slowest jobs, and no worker waits on one at the
    end. Two workers: with one, the order changes nothing, and the run does not read it."""
    suite = 'builder="zig"\nharness="clist"\nisolation="batch"\n'
    project = write_project(
        tmp_path,
        "".join(f'[tool.wasitest.suites.{name}]\nsources=["{name}.c"]\n{suite}' for name in ("a", "y", "z")),
        {"a.c": QUICK, "y.c": SLOW, "z.c": SLOW},
    )
    journal = project / ".wasitest" / "results.jsonl"

    def order() -> list[str]:
        lines = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
        return [f"{r['artifact']}::{r['case']}" for r in lines if "case" in r]

    for _ in range(2):
        proc = run_cli("run", str(project), "--runtimes", "wasmtime", "-j", "2", "-q")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        if _ == 0:
            first = order()
            # plan order: a and y start together, and a's quick batch ends first
            assert first[0].startswith("a/"), first
            durations = journal_durations(journal)
            assert durations[batch_id("z/z", "wasmtime")] >= 0.4, durations
    # the slow batches first: a waits for a free worker, after one of them ends
    assert not order()[0].startswith("a/"), order()

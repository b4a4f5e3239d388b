"""What keeps a run's memory and time per job flat as it grows: the pool pulls its work
items as workers need them, results.json is written a result at a time, the previous
journal is read for its durations only, and the JUnit file is written as text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import junitparser
import pytest

from tests.conftest import zig_cc
from wasitest.diff import find_divergences
from wasitest.model import Cell, Invocation, Outcome, Result
from wasitest.plugins.reporters.junit import write_junit
from wasitest.results import ResultsDocument, load_results, write_results
from wasitest.runner.job import WorkItem
from wasitest.runner.journal import Journal, journal_durations
from wasitest.runner.pool import WorkerPool


@pytest.fixture(scope="module")
def exit_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real WASI command module that exits with its argument count minus one."""
    folder = tmp_path_factory.mktemp("module")
    (folder / "t.c").write_text("int main(int argc, char **argv) { (void)argv; return argc - 1; }\n")
    return zig_cc(folder / "t.c", folder / "t.wasm")


def test_the_pool_pulls_items_as_workers_need_them(exit_module: Path, tmp_path: Path) -> None:
    pulled: list[int] = []

    def items() -> Iterator[WorkItem]:
        for index in range(40):
            pulled.append(index)
            argv = ("t",) * (1 + index % 3)
            yield WorkItem(index, Cell("wasmtime"), Invocation(module=exit_module, argv=argv), scratch=False)

    pool = WorkerPool(1, tmp_path / "cache", tmp_path / "scratch", batch_size=4, max_batch=4)
    answered: list[int] = []
    retry = WorkItem(99, Cell("wasmtime"), Invocation(module=exit_module, argv=("t", "t")), scratch=False)
    for item, execution in pool.run(items(), total=40):
        answered.append(item.index)
        assert execution.exit_code == item.index % 3 if item.index < 40 else execution.exit_code == 1
        # at most two batches of 4 are with the worker, and the answers to at most two more
        # are being handed out (the next batches go first): never the whole list
        assert len(pulled) - len([i for i in answered if i < 40]) <= 16, (len(pulled), answered)
        if len(answered) == 1:
            pool.submit(retry)
    assert sorted(answered) == [*range(40), 99]
    # a submitted item goes before the items not pulled yet: after the batches in flight
    assert answered.index(99) <= 1 + 16


def test_batches_grow_while_jobs_are_quick(exit_module: Path, tmp_path: Path) -> None:
    """Quick jobs go in bigger batches than the first (fewer round trips), within `max_batch`."""
    pulled = 0

    def items() -> Iterator[WorkItem]:
        nonlocal pulled
        for index in range(600):
            pulled += 1
            yield WorkItem(index, Cell("wasmtime"), Invocation(module=exit_module, argv=("t",)), scratch=False)

    pool = WorkerPool(1, tmp_path / "cache", tmp_path / "scratch", batch_size=4, max_batch=32)
    in_flight = []
    for answered, (_item, execution) in enumerate(pool.run(items(), total=600), 1):
        assert execution.exit_code == 0
        in_flight.append(pulled - answered)
    assert in_flight[0] <= 16  # batches of 4 (two with the worker, two answered)
    assert 16 < max(in_flight) <= 4 * 32, in_flight  # grown, to batches of at most 32


def _document() -> ResultsDocument:
    results = [
        Result("u/a", "adds", "wasmtime", Outcome.PASSED, stdout="ok\n", duration_s=0.25),
        Result(
            "u/a", "adds", "node", Outcome.FAILED, message="a.c:3: check failed: x\nmore", exit_code=1,
            stderr="<&>\"\x01", file="a.c", line=3,
        ),
        Result("u/a", "subs", "node", Outcome.SKIPPED, message="SKIP: no\tway"),
    ]
    return ResultsDocument(cells=[Cell("wasmtime"), Cell("node")], results=results,
                           divergences=find_divergences(results), started="2026-12-06T00:00:00+00:00")  # fmt: skip


def test_results_json_is_written_a_result_a_line_and_reads_back(tmp_path: Path) -> None:
    document = _document()
    path = tmp_path / "out" / "results.json"
    write_results(document, path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == document.to_json()
    lines = text.splitlines()
    assert [json.loads(line.rstrip(",")) for line in lines if line.startswith('  {"artifact"')] == [
        r.to_json() for r in document.results
    ]
    again = load_results(path)
    assert again.results == document.results and [d.case for d in again.divergences] == ["adds"]
    empty = ResultsDocument(cells=[], results=[])
    write_results(empty, path)
    assert json.loads(path.read_text(encoding="utf-8")) == empty.to_json()
    assert not list(path.parent.glob(".*tmp*"))  # the file beside it was put in place


def test_the_previous_journal_gives_durations_only(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    journal = Journal(path, {"cells": []})
    results = [
        Result("u/a", "adds", "node", Outcome.PASSED, duration_s=0.5),
        Result("u/a", "subs", "node", Outcome.PASSED, duration_s=0.1, batched=True),
        Result("u/a", "muls", "wasmtime", Outcome.FAILED, duration_s=2.0),
    ]
    for result in results:
        journal.append(result)
    journal.close()
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"artifact": "u/a", "case": "cut sh')  # a line a hard kill cut short
    # a result read from a batch has a share of the batch's time, not its own
    # and a batch is known by its artifact and cell, with the sum of its cases' shares
    assert journal_durations(path) == {"u/a::adds[node]": 0.5, "u/a::muls[wasmtime]": 2.0, "u/a[node]": 0.1}
    assert {r.job_id for r in results if not r.batched} <= set(journal_durations(path))  # the jobs' own ids


def test_junit_text_escapes_what_tests_print(tmp_path: Path) -> None:
    document = _document()
    for fail_on_divergence in (False, True):
        path = tmp_path / f"junit-{fail_on_divergence}.xml"
        write_junit(document, path, fail_on_divergence)
        xml = junitparser.JUnitXml.fromfile(str(path))
        cases = {(suite.name, case.name): case for suite in xml for case in suite}
        failed = cases[("node", "adds[node]")]
        assert failed.system_err == '<&>"\\x01'  # a control character XML cannot carry, spelled out
        assert failed.result[0].message == "a.c:3: check failed: x"
        assert (failed._elem.get("file"), failed._elem.get("line")) == ("a.c", "3")
        assert cases[("node", "subs[node]")].result[0].message == "SKIP: no\tway"  # a tab in an attribute
        assert cases[("wasmtime", "adds[wasmtime]")].system_out == "ok"
        divergence = cases[("divergences", "adds")]
        assert isinstance(divergence.result[0], junitparser.Failure) is fail_on_divergence
        assert (xml.tests, xml.failures) == (4, 1 + fail_on_divergence)

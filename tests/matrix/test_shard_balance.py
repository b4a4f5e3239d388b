"""`--shard K/N --durations FILE`: slices balanced by time still partition the jobs exactly,
every shard computes the same split from the same inputs, and the split is balanced; the
durations come from any record of an earlier run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wasitest.errors import InputError
from wasitest.matrix.durations import DURATIONS_FILE, load_durations, write_durations
from wasitest.matrix.merge import merge_documents
from wasitest.matrix.shard import Shard, balance, hash_slot, select
from wasitest.model import Artifact, Case, Cell, Job, Outcome, Result
from wasitest.plugins.reporters.junit import write_junit
from wasitest.results import ResultsDocument, write_results
from wasitest.runner.journal import Journal

ARTIFACT = Artifact("s", "a", Path("a.wasm"), "exitcode", "0" * 64)


def _jobs(names: list[str], cells: list[str]) -> list[Job]:
    return [Job(Case(ARTIFACT, n, (n,)), Cell.from_json({"runtime": c})) for n in names for c in cells]


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=40, unique=True),
    cells=st.lists(st.sampled_from(["wasmtime", "node", "wamr"]), min_size=1, unique=True),
    count=st.integers(min_value=1, max_value=9),
    known=st.floats(min_value=0.0, max_value=1.0),
    seconds=st.lists(st.floats(min_value=0.0, max_value=100.0, allow_nan=False), min_size=1, max_size=50),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_balanced_shards_partition_the_jobs(
    names: list[str], cells: list[str], count: int, known: float, seconds: list[float], seed: int
) -> None:
    jobs = _jobs(names, cells)
    rng = random.Random(seed)
    durations = {job.id: rng.choice(seconds) for job in jobs if rng.random() < known}
    durations["s/a::gone[node]"] = 5.0  # a job of the earlier run that is not planned now
    slices = [select(jobs, Shard(k, count, durations)) for k in range(1, count + 1)]
    flat = [job.id for part in slices for job in part]
    assert sorted(flat) == sorted(job.id for job in jobs)  # the union is everything...
    assert len(flat) == len(set(flat))  # ...and no job is in two shards
    shuffled = jobs[:]
    rng.shuffle(shuffled)  # another machine may plan in another order: the same split
    assert {j.id for j in select(shuffled, Shard(1, count, dict(durations)))} == {j.id for j in slices[0]}
    assert [j.id for j in slices[0]] == [j.id for j in jobs if j in slices[0]]  # plan order kept
    unknown = [j for j in jobs if j.id not in durations]
    for job in unknown:  # no history: the stable hash, as without durations
        assert job in slices[hash_slot(job.case.id, job.cell.id, count)]


@settings(max_examples=200, deadline=None)
@given(
    seconds=st.lists(st.floats(min_value=0.001, max_value=100.0, allow_nan=False), min_size=1, max_size=60),
    count=st.integers(min_value=1, max_value=8),
)
def test_longest_first_is_within_the_bound(seconds: list[float], count: int) -> None:
    """Every job known: the slowest slice is at most the mean plus one job (Graham's bound
    for the greedy rule), so with many jobs the split is near even."""
    jobs = _jobs([f"c{i}" for i in range(len(seconds))], ["wasmtime"])
    durations = {job.id: s for job, s in zip(jobs, seconds, strict=True)}
    slots = balance(jobs, count, durations)
    loads = [sum(durations[j] for j, s in slots.items() if s == k) for k in range(count)]
    assert max(loads) <= sum(seconds) / count + max(seconds) + 1e-9


def test_a_skewed_suite_balances_where_the_hash_does_not() -> None:
    rng = random.Random(7)
    jobs = _jobs([f"c{i:03d}" for i in range(120)], ["wasmtime", "node"])
    durations = {job.id: rng.lognormvariate(0, 1.5) for job in jobs}
    mean = sum(durations.values()) / 4

    def slowest(shards: list[list[Job]]) -> float:
        return max(sum(durations[j.id] for j in part) for part in shards) / mean

    hashed = slowest([select(jobs, Shard(k, 4)) for k in range(1, 5)])
    balanced = slowest([select(jobs, Shard(k, 4, durations)) for k in range(1, 5)])
    assert balanced <= 1.05 < hashed


def _results() -> list[Result]:
    return [
        Result("unit/files", "reads", "wasmtime", Outcome.PASSED, duration_s=1.5),
        Result("unit/files", "reads", "node", Outcome.FAILED, duration_s=2.25, file="tests/files.c", line=5),
        Result("unit/strings", "trim", "node", Outcome.PASSED, duration_s=0.5),
    ]


EXPECTED = {"unit/files::reads[wasmtime]": 1.5, "unit/files::reads[node]": 2.25, "unit/strings::trim[node]": 0.5}


def test_durations_from_results_journal_junit_and_a_bundle(tmp_path: Path) -> None:
    document = ResultsDocument(cells=[Cell("wasmtime"), Cell("node")], results=_results(), bundle_id="b")
    write_results(document, tmp_path / "results.json")
    journal = Journal(tmp_path / "results.jsonl", {"cells": [c.to_json() for c in document.cells], "bundle_id": "b"})
    for result in document.results:
        journal.append(result)
    journal.close(False)
    write_junit(document, tmp_path / "junit.xml")
    for name in ("results.json", "results.jsonl", "junit.xml"):
        assert load_durations(tmp_path / name) == EXPECTED, name
    write_durations(tmp_path / DURATIONS_FILE, EXPECTED, "results.json")
    assert json.loads((tmp_path / DURATIONS_FILE).read_text())["schema"] == "wasitest-durations"
    assert load_durations(tmp_path / DURATIONS_FILE) == EXPECTED


def test_junit_of_the_old_naming_reads_too(tmp_path: Path) -> None:
    old = tmp_path / "old.xml"
    old.write_text(
        '<testsuites><testsuite name="node" tests="1" failures="0" errors="0">'
        '<testcase name="reads" classname="unit/files" time="2.25"/></testsuite>'
        '<testsuite name="divergences" tests="1" failures="0" errors="0">'
        '<testcase name="reads" classname="unit/files" time="0"/></testsuite></testsuites>'
    )
    assert load_durations(old) == {"unit/files::reads[node]": 2.25}


def test_a_merged_run_counts_under_the_plain_cell_too(tmp_path: Path) -> None:
    """`merge` renames a cell seen on two platforms; the next run's cells have no platform."""

    def doc(platform: str, seconds: float) -> tuple[str, ResultsDocument]:
        cell = Cell("wasmtime", platform=platform)
        result = Result("s/a", "t", "wasmtime", Outcome.PASSED, duration_s=seconds)
        return platform, ResultsDocument(cells=[cell], results=[result], bundle_id="x")

    write_results(merge_documents([doc("linux-x86_64", 1.0), doc("macos-arm64", 3.0)]), tmp_path / "merged.json")
    durations = load_durations(tmp_path / "merged.json")
    assert durations["s/a::t[wasmtime@linux-x86_64]"] == 1.0
    assert durations["s/a::t[wasmtime]"] == 2.0  # the mean of its platforms


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<testsuites><testsuite", "not well-formed XML"),
        ('{"schema": "wasitest-durations", "durations": {"a": "slow"}}', "table of seconds"),
        ("not json\nat all\n", "not a wasitest journal"),
    ],
)
def test_a_malformed_durations_file_is_an_input_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        load_durations(path)

"""Sharding covers every job exactly once; merge joins shards and refuses what does not belong."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import RunCli, copy_example
from wasitest.errors import ExitCode
from wasitest.matrix.merge import merge_documents
from wasitest.matrix.shard import Shard, select
from wasitest.model import Artifact, Case, Cell, Job
from wasitest.results import ResultsDocument, load_results

ARTIFACT = Artifact("s", "a", Path("a.wasm"), "exitcode", "0" * 64)


@settings(max_examples=200, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=40, unique=True),
    cells=st.lists(st.sampled_from(["wasmtime", "node", "wamr", "wasmtime@linux-aarch64"]), min_size=1, unique=True),
    count=st.integers(min_value=1, max_value=9),
)
def test_shards_partition_the_jobs(names: list[str], cells: list[str], count: int) -> None:
    jobs = [Job(Case(ARTIFACT, n, (n,)), Cell(c)) for n in names for c in cells]
    slices = [select(jobs, Shard(k, count)) for k in range(1, count + 1)]
    flat = [job.id for part in slices for job in part]
    assert sorted(flat) == sorted(job.id for job in jobs)  # the union is everything...
    assert len(flat) == len(set(flat))  # ...and no job is in two shards
    assert select(jobs, Shard(1, count)) == slices[0]  # deterministic


def test_sharded_runs_merge_into_the_full_run(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("quickstart", tmp_path)
    bundle = tmp_path / "bundle"
    assert run_cli("build", str(project), "--out", str(bundle)).returncode == 0
    outputs = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}.json"
        run_cli(
            "run", str(project), "--bundle", str(bundle), "--matrix", "--shard", f"{k}/3", "--results", str(out), "-q"
        )
        outputs.append(out)
    full = tmp_path / "full.json"
    run_cli("run", str(project), "--bundle", str(bundle), "--matrix", "--results", str(full), "-q")
    merged_path = tmp_path / "merged.json"
    junit = tmp_path / "merged.xml"
    proc = run_cli("merge", *map(str, outputs), "--results", str(merged_path), "--junit", str(junit))
    assert proc.returncode == int(ExitCode.TESTS_FAILED)  # node's divergent case fails
    merged, whole = load_results(merged_path), load_results(full)
    assert merged.bundle_id and merged.bundle_id == whole.bundle_id == load_results(outputs[0]).bundle_id
    assert sorted(r.job_id for r in merged.results) == sorted(r.job_id for r in whole.results)
    assert [d.case for d in merged.divergences] == [d.case for d in whole.divergences]
    assert all(load_results(o).results for o in outputs)  # every shard had work
    assert junit.exists()

    twice = run_cli("merge", str(outputs[0]), str(outputs[0]))
    assert twice.returncode == int(ExitCode.INPUT) and "is in both" in twice.stderr


def test_merge_refuses_different_bundles(tmp_path: Path) -> None:
    doc = ResultsDocument(cells=[Cell("wasmtime")], results=[], bundle_id="aaa")
    other = replace(doc, bundle_id="bbb")
    try:
        merge_documents([("a.json", doc), ("b.json", other)])
    except Exception as exc:  # noqa: BLE001
        assert "different builds" in str(exc)
    else:
        raise AssertionError("merge accepted documents of two builds")


def test_merge_splits_a_cell_seen_on_two_platforms(tmp_path: Path, run_cli: RunCli) -> None:
    """The same runtime on two machines becomes two cells, and a difference is a host divergence."""
    from wasitest.model import Outcome, Result

    def doc(platform: str, outcome: Outcome) -> ResultsDocument:
        cell = Cell("wasmtime", platform=platform)
        return ResultsDocument(cells=[cell], results=[Result("s/a", "t", "wasmtime", outcome)], bundle_id="x")

    merged = merge_documents(
        [("linux.json", doc("linux-x86_64", Outcome.PASSED)), ("mac.json", doc("macos-arm64", Outcome.FAILED))]
    )
    assert sorted(c.id for c in merged.cells) == ["wasmtime@linux-x86_64", "wasmtime@macos-arm64"]
    (divergence,) = merged.divergences
    assert divergence.kind == "outcome"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(merged.to_json()))
    assert load_results(path).cells[0].platform == "linux-x86_64"

"""`--shard auto` on every CI: each one's parallel-job variables give this job's slice; the
real CLI, run once per slice with a CI's variables set, gives shards whose merge is the
full run; outside any CI everything runs and the CLI says so; contradicting variables are
one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest
import xmlschema

from tests.conftest import DATA, RunCli, copy_example
from wasitest.errors import ExitCode, UsageError
from wasitest.matrix.providers import PROVIDERS, detect
from wasitest.matrix.shard import Shard
from wasitest.plugins.reporters.junit_read import LocatedTestCase
from wasitest.results import load_results

#: every variable `--shard auto` reads, so that the CI these tests run in (if any) stays out
ALL_VARIABLES = {name for p in PROVIDERS for name in (p.index, p.total)}

#: each CI's variables for copy `k` (1-based) of `n`, as the CI sets them
PARALLEL = {
    "GitLab CI": lambda k, n: {"CI_NODE_INDEX": str(k), "CI_NODE_TOTAL": str(n)},
    "Buildkite": lambda k, n: {"BUILDKITE_PARALLEL_JOB": str(k - 1), "BUILDKITE_PARALLEL_JOB_COUNT": str(n)},
    "CircleCI": lambda k, n: {"CIRCLE_NODE_INDEX": str(k - 1), "CIRCLE_NODE_TOTAL": str(n)},
    "Semaphore": lambda k, n: {"SEMAPHORE_JOB_INDEX": str(k), "SEMAPHORE_JOB_COUNT": str(n)},
    "Azure Pipelines": lambda k, n: {"SYSTEM_JOBPOSITIONINPHASE": str(k), "SYSTEM_TOTALJOBSINPHASE": str(n)},
    "a Kubernetes Indexed Job": lambda k, n: {"JOB_COMPLETION_INDEX": str(k - 1), "JOB_COMPLETIONS": str(n)},
}


def test_every_provider_is_covered() -> None:
    assert {p.name for p in PROVIDERS} == set(PARALLEL)


@pytest.mark.parametrize("provider", sorted(PARALLEL))
def test_each_ci_gives_every_slice_once(provider: str) -> None:
    for n in (1, 2, 5):
        seen = [detect(PARALLEL[provider](k, n)) for k in range(1, n + 1)]
        assert all(d.provider is not None and d.provider.name == provider for d in seen)
        if n == 1:
            assert seen[0].shard is None and "running every job" in seen[0].describe()
        else:
            assert [d.shard for d in seen] == [Shard(k, n) for k in range(1, n + 1)]
            assert seen[1].describe().startswith(f"--shard auto: shard 2/{n} from {provider} (")


def test_outside_any_ci_every_job_runs() -> None:
    detection = detect({"CI": "true", "HOME": "/root"})
    assert detection.shard is None and detection.provider is None
    assert detection.describe().startswith("--shard auto: no CI parallel-job variables (GitLab CI, Buildkite")


def test_gitlab_without_parallel_sets_a_total_alone() -> None:
    detection = detect({"CI_NODE_TOTAL": "1"})
    assert detection.shard is None and "GitLab CI runs this job once" in detection.describe()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"CI_NODE_INDEX": "2"}, "CI_NODE_INDEX is set but CI_NODE_TOTAL is not"),
        ({"CI_NODE_TOTAL": "4"}, "CI_NODE_TOTAL is set but CI_NODE_INDEX is not"),
        ({"CI_NODE_INDEX": "0", "CI_NODE_TOTAL": "4"}, "out of range (GitLab CI counts from 1 to 4)"),
        ({"CIRCLE_NODE_INDEX": "4", "CIRCLE_NODE_TOTAL": "4"}, "out of range (CircleCI counts from 0 to 3)"),
        ({"BUILDKITE_PARALLEL_JOB": "x", "BUILDKITE_PARALLEL_JOB_COUNT": "2"}, "is not a whole number"),
        ({"SYSTEM_JOBPOSITIONINPHASE": "1", "SYSTEM_TOTALJOBSINPHASE": "0"}, "out of range"),
        ({"JOB_COMPLETION_INDEX": "3"}, "JOB_COMPLETIONS equal to the Job's spec.completions"),
        (
            {"CI_NODE_INDEX": "1", "CI_NODE_TOTAL": "2", "CIRCLE_NODE_INDEX": "1", "CIRCLE_NODE_TOTAL": "2"},
            "GitLab CI says 1/2 (CI_NODE_INDEX=1, CI_NODE_TOTAL=2) but CircleCI says 2/2",
        ),
    ],
)
def test_contradicting_variables_are_an_error(environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        detect(environ)
    assert message in caught.value.one_line() and "\n" not in caught.value.one_line()


def test_two_cis_that_agree_are_fine() -> None:
    both = {**PARALLEL["CircleCI"](2, 3), **PARALLEL["GitLab CI"](2, 3)}
    assert detect(both).shard == Shard(2, 3)


# --- the real CLI ------------------------------------------------------------------------------


def _wasitest(*args: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ALL_VARIABLES and not k.startswith("WASITEST_")}
    proc = subprocess.run([sys.executable, "-m", "wasitest", *args], env={**env, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The quickstart built once into a bundle, and the full run of it on wasmtime (the
    reference every CI's merged shards are compared with)."""
    work = tmp_path_factory.mktemp("providers")
    project = copy_example("quickstart", work)
    _wasitest("build", str(project), "--out", str(work / "bundle"))
    (work / "full").mkdir()
    _wasitest("run", str(work / "full"), "--bundle", str(work / "bundle"), "--runtimes", "wasmtime",
              "--results", str(work / "full.json"), "-q")
    return work / "bundle", work / "full.json"


@pytest.mark.parametrize("provider", sorted(PARALLEL))
def test_shards_of_every_ci_merge_into_the_full_run(
    provider: str, bundle: tuple[Path, Path], tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    folder, full = bundle
    shards = []
    for k in (1, 2, 3):
        out = tmp_path / f"shard{k}.json"
        proc = run_cli("run", str(tmp_path), "--bundle", str(folder), "--runtimes", "wasmtime", "--shard", "auto",
                       "--results", str(out), "-q", env=PARALLEL[provider](k, 3))
        assert proc.returncode == 0, proc.stderr
        assert f"--shard auto: shard {k}/3 from {provider} (" in proc.stderr
        assert load_results(out).stats["shard"] == f"{k}/3"
        shards.append(out)
    junit = tmp_path / "merged.xml"
    proc = run_cli("merge", *map(str, shards), "--results", str(tmp_path / "merged.json"), "--junit", str(junit))
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    merged, whole = load_results(tmp_path / "merged.json"), load_results(full)
    assert sorted(r.job_id for r in merged.results) == sorted(r.job_id for r in whole.results)
    assert all(load_results(s).results for s in shards)  # every slice had work
    assert merged.stats["shards"] == ["1/3", "2/3", "3/3"]
    xml = junitparser.JUnitXml.fromfile(str(junit))
    pairs = [(c.classname, c.name) for suite in xml for c in suite]
    assert len(pairs) == len(set(pairs)) == len(whole.results)
    xmlschema.XMLSchema(DATA / "junit-wasitest.xsd").validate(junit)
    (known_bug,) = [c for suite in xml for c in suite if c.name == "known_bug[wasmtime]"]  # xfailed, located
    assert LocatedTestCase.fromelem(known_bug).file == "tests/strings.c" and LocatedTestCase.fromelem(known_bug).line


def test_a_lost_shard_is_named_by_merge(bundle: tuple[Path, Path], tmp_path: Path, run_cli: RunCli) -> None:
    folder, _ = bundle
    outs = []
    for k in (1, 3):
        outs.append(tmp_path / f"s{k}.json")
        proc = run_cli("run", str(tmp_path), "--bundle", str(folder), "--runtimes", "wasmtime", "--shard", f"{k}/3",
                       "--results", str(outs[-1]), "-q")
        assert proc.returncode == 0, proc.stderr
    proc = run_cli("merge", *map(str, outs), "--results", str(tmp_path / "m.json"))
    assert proc.returncode == 0
    assert "wasitest: warning: no results of shard 2/3 among the files merged\n" in proc.stderr


def test_auto_outside_any_ci_runs_everything_and_says_so(
    bundle: tuple[Path, Path], tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    folder, full = bundle
    out = tmp_path / "all.json"
    proc = run_cli("run", str(tmp_path), "--bundle", str(folder), "--runtimes", "wasmtime", "--shard", "auto",
                   "--results", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    assert "wasitest: --shard auto: no CI parallel-job variables (" in proc.stderr
    assert len(load_results(out).results) == len(load_results(full).results)
    assert load_results(out).stats["shard"] is None


def test_list_shows_the_slice(
    bundle: tuple[Path, Path], tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    project = copy_example("quickstart", tmp_path)
    _, full = bundle
    every = {r.job_id for r in load_results(full).results}
    listed: set[str] = set()
    for k in (1, 2):
        proc = run_cli("list", str(project), "--runtimes", "wasmtime", "--shard", "auto",
                       env=PARALLEL["Semaphore"](k, 2))
        assert proc.returncode == 0, proc.stderr
        jobs = proc.stdout.splitlines()
        assert jobs and not listed & set(jobs)
        assert f"{len(jobs)} job(s) in shard {k}/2; cells: wasmtime" in proc.stderr
        listed |= set(jobs)
    assert listed == every
    as_json = run_cli("list", str(project), "--runtimes", "wasmtime", "--shard", "1/2", "--json")
    data = json.loads(as_json.stdout)
    assert data["shard"] == "1/2" and set(data["jobs"]) <= every


def test_contradicting_variables_are_one_line_on_the_cli(tmp_path: Path, run_cli: RunCli,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    proc = run_cli("list", str(tmp_path), "--shard", "auto", env={"JOB_COMPLETION_INDEX": "1"})
    assert proc.returncode == int(ExitCode.USAGE)
    assert proc.stderr.startswith("wasitest: error: --shard auto: JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS")
    assert proc.stderr.count("\n") == 1

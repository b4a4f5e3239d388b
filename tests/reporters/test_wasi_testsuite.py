"""The `wasi-testsuite` reporter: wasi-testsuite's runner JSON result format, from a results
document. The structure is checked against the reference runner's (the checker lives with
the real-runtime tests, in tests/harnesses/test_spec_operations.py); here, every outcome."""

from __future__ import annotations

from tests.harnesses.test_spec_operations import check_reference_format
from wasitest.model import Cell, Outcome, Result
from wasitest.plugins.reporters.wasi_testsuite import render_wasi_testsuite, timestamp
from wasitest.results import ResultsDocument


def _result(case: str, outcome: Outcome, message: str = "", cell: str = "wasmtime", artifact: str = "") -> Result:
    return Result(artifact or f"wasi/{case}", case, cell, outcome, message, duration_s=0.25)


def test_every_outcome_maps_to_the_reference_counts() -> None:
    document = ResultsDocument(
        cells=[Cell("wasmtime", runtime_version="wasmtime-py 51.0.0"), Cell("node", host="linux-aarch64")],
        results=[
            _result("ok", Outcome.PASSED),
            _result("flaky", Outcome.FLAKY, "failed 1 time(s), then passed"),
            _result("known", Outcome.XFAILED, "stdout line 1: expected 'a', got 'b'"),
            _result("fixed", Outcome.XPASSED, "declared as expected to fail (xfail), but passed"),
            _result("wrong", Outcome.FAILED, "exit code 1, expected 0"),
            _result("trap", Outcome.TRAPPED, "unreachable"),
            _result("slow", Outcome.TIMEOUT, "exceeded the 10 s time limit"),
            _result("gone", Outcome.CRASHED, "worker died"),
            _result("refused", Outcome.ERROR, ""),
            _result("off", Outcome.SKIPPED, "skip: expectations/wasmtime.toml"),
            _result("p3", Outcome.UNSUPPORTED, "needs a p3 component runtime"),
            _result("TestSplit/empty", Outcome.PASSED, artifact="go/strings"),
            _result("ok", Outcome.PASSED, cell="node@linux-aarch64"),
        ],
        artifacts=[{"id": f"wasi/{n}", "suite": "wasi", "name": n} for n in ("ok", "known", "p3")]
        + [{"id": "go/strings", "suite": "go", "name": "strings"}],
        started="2026-12-06T10:00:00+00:00",
        finished="2026-12-06T11:00:00.123456+01:00",
    )
    doc = render_wasi_testsuite(document)
    check_reference_format(doc)
    assert doc["execution"] == {
        "start_timestamp": "2026-12-06T10:00:00.000Z",
        "finish_timestamp": "2026-12-06T10:00:00.123Z",
    }
    wasi, go, other_cell = doc["results"]
    assert (wasi["name"], wasi["runtime"]) == ("wasi", {"name": "wasmtime", "version": "wasmtime-py 51.0.0"})
    assert (wasi["passed"], wasi["failed"], wasi["skipped"]) == (3, 6, 2)
    tests = {t["name"]: t for t in wasi["tests"]}
    assert tests["ok"]["failures"] == [] and tests["flaky"]["failures"] == []
    assert tests["known"]["failures"] == ["xfailed: stdout line 1: expected 'a', got 'b'"]
    assert tests["wrong"]["failures"] == ["exit code 1, expected 0"]
    assert tests["refused"]["failures"] == ["error: error"]
    assert tests["p3"] == {"name": "p3", "executed": False, "duration_s": 0, "wasi_functions": [], "failures": []}
    assert [t["name"] for t in go["tests"]] == ["strings::TestSplit/empty"]
    assert other_cell["runtime"]["name"] == "node@linux-aarch64"


def test_timestamps_are_utc_with_milliseconds() -> None:
    assert timestamp("2026-01-02T03:04:05+00:00") == "2026-01-02T03:04:05.000Z"
    assert timestamp("2026-01-02T03:04:05.9876-02:00") == "2026-01-02T05:04:05.987Z"
    assert len(timestamp("")) == 24  # a document without times gets the current one

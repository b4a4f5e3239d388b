"""wasi-testsuite's current spec format (the operations form) in the `spec` builder and
harness: C modules built by the project's own builder, run for real on Wasmtime and Node;
the checks the reference runner's validator makes; what is `unsupported` and why."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import RunCli, copy_example, write_project
from tests.test_fuzz_parsers import JSON
from wasitest.config import SuiteConfig
from wasitest.errors import InputError, WasitestError
from wasitest.model import Execution, Outcome, Twin
from wasitest.plugins.builders.spec import SpecBuilder
from wasitest.plugins.harnesses.spec import SpecHarness, case_unsupported
from wasitest.plugins.harnesses.spec_format import script, spec_from_json, unsupported_reason
from wasitest.runner.build import BuildSession

#: args one per line, then stdin copied to stdout; "bye" on stderr; exit status $CODE
ECHO = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) puts(argv[i]);
    char buf[256];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    fprintf(stderr, "bye\n");
    const char *code = getenv("CODE");
    return code ? atoi(code) : 0;
}
"""
CELLS = ("wasmtime", "node")
PYPROJECT = (
    '[tool.wasitest]\nruntimes = ["wasmtime", "node"]\n'
    '[tool.wasitest.suites.ops]\nbuilder = "spec"\nsources = ["t/*.c"]\ntimeout = 10\n'
)


def ops(*operations: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**top, "operations": list(operations)}


RUN: dict[str, Any] = {"type": "run"}
WAIT: dict[str, Any] = {"type": "wait"}


def read(stream: str, payload: str) -> dict[str, Any]:
    return {"type": "read", "id": stream, "payload": payload}


def write(payload: str) -> dict[str, Any]:
    return {"type": "write", "id": "stdin", "payload": payload}


def project_of(root: Path, specs: dict[str, object], extra: str = "", files: dict[str, str] | None = None) -> Path:
    """ECHO built once per spec: `t/NAME.c` and `t/NAME.json`."""
    content: dict[str, str | bytes] = dict(files or {})
    for name, spec in specs.items():
        content[f"t/{name}.c"] = ECHO
        content[f"t/{name}.json"] = spec if isinstance(spec, str) else json.dumps(spec)
    return write_project(root, PYPROJECT + extra, content)


def results(doc_path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    doc = json.loads(doc_path.read_text())
    return {(r["case"], r["cell"]): r for r in doc["results"]}


def check_reference_format(doc: object) -> None:
    """The structure wasi-testsuite's runner writes (`test-runner/wasi_test_runner/reporters/
    json.py`, and the daily result files on its `prod/daily-test-results` branch): exactly
    these keys, of these types, with counts that add up (xfail counts as a pass, xpass as
    a failure, as its `test_suite.py` counts them)."""
    assert isinstance(doc, dict) and set(doc) == {"execution", "results"}
    execution = doc["execution"]
    assert set(execution) == {"start_timestamp", "finish_timestamp"}
    for stamp in execution.values():
        assert isinstance(stamp, str) and len(stamp) == 24 and stamp.endswith("Z") and stamp[19] == "."
    assert isinstance(doc["results"], list)
    for suite in doc["results"]:
        assert set(suite) == {"name", "runtime", "duration_s", "failed", "skipped", "passed", "tests"}
        assert isinstance(suite["name"], str) and isinstance(suite["duration_s"], (int, float))
        assert set(suite["runtime"]) == {"name", "version"}
        assert all(isinstance(v, str) for v in suite["runtime"].values())
        for test in suite["tests"]:
            assert set(test) == {"name", "executed", "duration_s", "wasi_functions", "failures"}
            assert isinstance(test["name"], str) and isinstance(test["executed"], bool)
            assert isinstance(test["duration_s"], (int, float)) and test["wasi_functions"] == []
            assert isinstance(test["failures"], list) and all(isinstance(f, str) for f in test["failures"])
        assert all(isinstance(suite[k], int) for k in ("failed", "skipped", "passed"))
        assert suite["failed"] + suite["skipped"] + suite["passed"] == len(suite["tests"])
        assert suite["skipped"] == sum(not t["executed"] for t in suite["tests"])


# ---- the example, on the matrix ------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = copy_example("wasi-spec", tmp_path_factory.mktemp("ops")) / "operations"
    proc = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", "--matrix", str(project), "--results", str(project / "r.json"),
         "--wasi-testsuite", str(project / "wasi-testsuite.json")],
        capture_output=True, text=True, timeout=600,
        env={**{k: v for k, v in os.environ.items() if k != "WASITEST_DEBUG"}, "NO_COLOR": "1"},
    )
    return project, proc


def test_example_runs_stdin_reads_dirs_and_exit_codes(example: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = example
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = results(project / "r.json")
    for cell in CELLS:
        for case in ("stdio_roundtrip", "conversation", "read_notes"):
            assert got[(case, cell)]["outcome"] == "passed", got[(case, cell)]
        assert got[("stdio_roundtrip", cell)]["stdout"] == "Hello, world!"
        assert got[("stdio_roundtrip", cell)]["stderr"] == "Hello, world!"
        conversation = got[("conversation", cell)]
        assert conversation["exit_code"] == 2
        assert conversation["stdout"] == "name? bonjour, Ada\ncity? bonjour, Paris\n"
        server = got[("echo_server", cell)]
        assert server["outcome"] == "unsupported"
        assert server["message"] == (
            "needs the WASI sockets proposal, which a core module cannot use: needs a p2 component runtime"
        )


def test_example_writes_the_reference_runners_result_format(
    example: tuple[Path, subprocess.CompletedProcess[str]], run_cli: RunCli, tmp_path: Path
) -> None:
    project, _ = example
    doc = json.loads((project / "wasi-testsuite.json").read_text())
    check_reference_format(doc)
    assert [(s["name"], s["runtime"]["name"]) for s in doc["results"]] == [("operations", c) for c in CELLS]
    for suite in doc["results"]:
        assert (suite["passed"], suite["skipped"], suite["failed"]) == (3, 1, 0)
        tests = {t["name"]: t for t in suite["tests"]}
        assert tests["echo_server"]["executed"] is False and tests["conversation"]["failures"] == []
    # rendered again from results.json, by `report`: the same document
    again = tmp_path / "again.json"
    proc = run_cli("report", str(project / "r.json"), "--wasi-testsuite", str(again))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(again.read_text()) == doc


# ---- verdicts ----------------------------------------------------------------------------


def test_operation_verdicts_on_both_runtimes(tmp_path: Path, run_cli: RunCli) -> None:
    project = project_of(
        tmp_path / "p",
        {
            "ok": ops({**RUN, "args": ["a", "b"]}, write("in\n"), read("stdout", "a\nb\nin\n"),
                      read("stderr", "bye\n"), WAIT),
            "stdin_in_parts": ops(RUN, write("x"), read("stdout", "x"), write("y\n"), read("stdout", "y\n"), WAIT),
            "reads_a_prefix": ops({**RUN, "args": ["a", "b"]}, read("stdout", "a\n"), WAIT),
            "wrong_read": ops({**RUN, "args": ["a", "c"]}, read("stdout", "a\nb\n"), WAIT),
            "short_read": ops({**RUN, "args": ["a"]}, read("stdout", "a\nb\n"), WAIT),
            "wrong_stderr": ops(RUN, read("stderr", "bye!"), WAIT),
            "wrong_exit": ops({**RUN, "env": {"CODE": "1"}}, {"type": "wait", "exit_code": 3}),
            "expected_exit": ops(
                {**RUN, "env": {"CODE": "3"}}, read("stderr", "bye\n"), {"type": "wait", "exit_code": 3}
            ),
            "default_operations": {"world": "wasi:cli/command", "proposals": []},
        },
    )
    proc = run_cli("run", "--matrix", str(project), "--results", str(project / "r.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = results(project / "r.json")
    expected = {
        "ok": ("passed", ""),
        "stdin_in_parts": ("passed", ""),
        "reads_a_prefix": ("passed", ""),
        "default_operations": ("passed", ""),
        "expected_exit": ("passed", ""),
        "wrong_read": ("failed", "stdout line 2: expected 'b\\n', got 'c\\n'"),
        "short_read": ("failed", "stdout line 2: expected 'b\\n', got end of output"),
        "wrong_stderr": ("failed", "stderr line 1: expected 'bye!', got 'bye\\n'"),
        "wrong_exit": ("failed", "exit code 1, expected 3 (stderr: bye)"),
    }
    for cell in CELLS:
        assert {case: (got[(case, cell)]["outcome"], got[(case, cell)]["message"]) for case in expected} == expected
    assert got[("ok", "node")]["stdout"] == "a\nb\nin\n"


def test_what_cannot_be_honoured_is_unsupported_with_its_reason(tmp_path: Path, run_cli: RunCli) -> None:
    http = {"method": "GET", "path": "/", "response": {"status": 200}}
    project = project_of(
        tmp_path / "p",
        {
            "service": ops(RUN, {"type": "request", **http}, {"type": "kill", "signal": "SIGINT"}, WAIT,
                           proposals=["http"], world="wasi:http/service"),
            "http_client": ops(RUN, WAIT, proposals=["http"],
                               endpoints=[{"method": "GET", "path": "/x", "response": {"body": "x"}}]),
            "twice": ops(RUN, WAIT, RUN, WAIT),
            "talks": ops(RUN, {"type": "connect", "id": "s"}, {"type": "send", "id": "s", "payload": "hi"},
                         {"type": "recv", "id": "s", "payload": "hi"}, WAIT),
            "needs_a_server": ops(RUN, WAIT, endpoints=[{"method": "POST", "path": "/echo"}]),
        },
    )
    proc = run_cli("run", "--matrix", str(project), "--results", str(project / "r.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr  # unsupported fails nothing
    got = results(project / "r.json")
    expected = {
        "service": "its spec names the world wasi:http/service: needs a p2 component runtime, "
        "and this artifact is a core module",
        "http_client": "needs the WASI http proposal, which a core module cannot use: needs a p2 component runtime",
        "twice": "runs the module 2 times in one test, and a wasitest case is one instance",
        "talks": "talks to the module while it runs (connect, send, recv): a wasitest job is one instance "
        "whose input is given up front",
        "needs_a_server": "needs an HTTP server with its `endpoints`, which wasitest does not start for a job",
    }
    for cell in CELLS:
        assert {case: (got[(case, cell)]["outcome"], got[(case, cell)]["message"]) for case in expected} == {
            case: ("unsupported", reason) for case, reason in expected.items()
        }


def test_the_case_records_world_proposals_and_the_decision_follows_the_artifacts_worlds(tmp_path: Path) -> None:
    """What the spec names is on the case (`Case.meta`); whether it can be honoured is decided
    per artifact, by `unsupported_reason`: a component form lifts the core-module reasons."""
    spec = ops(RUN, write("x"), read("stdout", "x"), WAIT, proposals=["sockets"])
    manifest = {"t/manifest.json": '{"name": "n", "version": "wasm32-wasip1"}'}
    project = project_of(tmp_path / "p", {"s": spec}, files=manifest)
    suite = SuiteConfig("ops", "spec", ("t/*.c",), "", project)
    (artifact,) = SpecBuilder().build(suite, BuildSession(project, tmp_path / "cache"))
    assert artifact.extra["wasi_version"] == "wasm32-wasip1" and artifact.world == "p1"
    (case,) = SpecHarness().discover(artifact, lambda invocation: Execution())
    assert case.stdin == b"x" and case.argv == ("s",) and not case.default_preopens
    assert {k: case.meta[k] for k in ("world", "proposals", "runs", "interactive", "read_stdout", "exit_code")} == {
        "world": "wasi:cli/command", "proposals": ["sockets"], "runs": 1, "interactive": [], "read_stdout": "x",
        "exit_code": 0,
    }
    assert case_unsupported(case).startswith("needs the WASI sockets proposal, which a core module cannot use")
    with_component = replace(artifact, twins=(Twin("p2", artifact.path, artifact.sha256),))
    assert unsupported_reason(case.meta, with_component.worlds) == (
        "needs the WASI sockets proposal enabled in the runtime, which wasitest does not do yet"
    )
    # asked before the job runs: such a case is unsupported without running
    assert SpecHarness().refuse(case) == case_unsupported(case)


def test_a_wasip3_folder_needs_a_p3_form(tmp_path: Path) -> None:
    """The suite's WASI version comes from its folder's name (wasm32-wasip3/), as
    wasi-testsuite's runner takes it: a core module there is reported, not run as p1."""
    project = write_project(tmp_path / "p", "", {"wasm32-wasip3/t.c": ECHO})
    suite = SuiteConfig("p3", "spec", ("wasm32-wasip3/*.c",), "", project)
    (artifact,) = SpecBuilder().build(suite, BuildSession(project, tmp_path / "cache"))
    (case,) = SpecHarness().discover(artifact, lambda invocation: Execution())
    assert SpecHarness().refuse(case) == (
        "the suite is wasm32-wasip3: needs a p3 component runtime, and this artifact has no p3 form"
    )
    as_p3 = replace(case, artifact=replace(artifact, world="p3"))
    assert SpecHarness().refuse(as_p3) == ""
    assert SpecHarness().verdict(as_p3, Execution(exit_code=0)).outcome is Outcome.PASSED


# ---- the format --------------------------------------------------------------------------


def test_the_script_of_one_instance() -> None:
    spec = spec_from_json(
        ops({**RUN, "args": ["a"], "env": {"K": "V"}, "dirs": ["d"]}, read("stdout", "p"), write("1\n"),
            read("stdout", "q"), write("2\n"), read("stderr", "e"), {"type": "wait", "exit_code": 4}),
        "x.json",
    )
    first = script(spec)
    assert (first.args, first.env, first.dirs, first.stdin, first.stdout, first.stderr, first.exit_code) == (
        ("a",), (("K", "V"),), ("d",), "1\n2\n", "pq", "e", 4,
    )
    assert spec.folders() == ["d"]
    assert spec_from_json(spec.to_json(), "again") == spec  # what the builder stores reads back the same


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"args": ["x"], "operations": [RUN, WAIT]},
         "x.json: a spec cannot mix the flat form (args) with the operations form (operations)"),
        (ops(RUN, {"type": "launch"}, WAIT), "x.json: operation 2: unknown operation type 'launch'"),
        (ops(RUN, {"type": "wait", "code": 1}), "x.json: operation 2 (wait): unknown key 'code'"),
        (ops(RUN, read("stdin", "x"), WAIT), "x.json: operation 2 (read): cannot read 'stdin'"),
        (ops(RUN, {"type": "write", "payload": "x"}, WAIT), "x.json: operation 2 (write): cannot write 'write'"),
        (ops(RUN, {"type": "send", "id": "s"}, WAIT), "x.json: operation 2 (send): no connection 's'"),
        (ops(RUN, {"type": "send"}, WAIT), "x.json: operation 2 (send): needs the `id` of a connection"),
        (ops(RUN, {"type": "connect", "id": "stdout"}, WAIT), "operation 2 (connect): the id 'stdout' is taken"),
        (ops(RUN), "x.json: the last `run` has no `wait`"),
        (ops(RUN, RUN, WAIT), "x.json: operation 2 (run): the module from the `run` before still runs"),
        (ops(WAIT, RUN, WAIT), "x.json: operation 1 (wait): no module runs here"),
        (ops(RUN, WAIT, read("stdout", "x")), "x.json: operation 3 (read): no module runs here"),
        (ops(RUN, WAIT, proposals=["threads"]), "x.json: `proposals` must be a list of http, sockets"),
        (ops(RUN, WAIT, world="wasi:cli/imports"), "x.json: unknown world 'wasi:cli/imports'"),
        (ops(RUN, {"type": "kill", "signal": "SIGNOPE"}, WAIT), "x.json: operation 2 (kill): unknown signal"),
        (ops({**RUN, "dirs": ["../up"]}, WAIT), "x.json: operation 1 (run): dirs: '../up' is not a folder"),
        (ops(RUN, {"type": "connect", "protocol_type": "sctp"}, WAIT), "operation 2 (connect): unknown protocol_type"),
        ({"operations": "run"}, "x.json: `operations` must be a list of operations"),
        (ops(RUN, WAIT, endpoints=[{"path": 1}]), "x.json: endpoint 1: `path` must be a string"),
        (ops(RUN, {"type": "request", "response": {"status": "200"}}, WAIT), "response: `status` must be a whole"),
    ],
)
def test_a_spec_the_reference_validator_refuses_is_one_input_error(spec: object, message: str) -> None:
    with pytest.raises(InputError) as info:
        spec_from_json(spec, "x.json")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_malformed_operations_spec_stops_the_build(tmp_path: Path, run_cli: RunCli) -> None:
    project = project_of(tmp_path / "p", {"bad": ops(RUN, read("stdin", "x"), WAIT)})
    proc = run_cli("run", str(project))
    assert proc.returncode == 7, proc.stdout + proc.stderr
    assert proc.stderr.strip() == (
        "wasitest: error: t/bad.json: operation 2 (read): cannot read 'stdin' (`id` must be stdout or stderr)"
    )


OPERATION = st.fixed_dictionaries(
    {"type": st.sampled_from(["run", "wait", "read", "write", "connect", "send", "recv", "request", "kill", "x"])},
    optional={k: JSON | st.text(max_size=8) for k in ("id", "payload", "args", "env", "dirs", "exit_code", "signal",
                                                       "protocol_type", "method", "path", "response")},
)


@settings(max_examples=300, deadline=None)
@given(
    spec=st.fixed_dictionaries(
        {"operations": st.lists(OPERATION, max_size=6) | JSON},
        optional={"proposals": JSON, "world": JSON, "endpoints": JSON, "args": JSON},
    )
)
def test_any_operations_spec_is_read_or_refused_in_one_line(spec: dict[str, Any]) -> None:
    try:
        parsed = spec_from_json(spec, "x.json")
    except WasitestError as exc:
        assert "\n" not in str(exc)
    else:
        script(parsed)  # a spec that reads has a first instance
        assert spec_from_json(parsed.to_json(), "again") == parsed

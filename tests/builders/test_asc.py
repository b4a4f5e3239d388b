"""The `asc` builder and wasitest's AssemblyScript helper.

`examples/assemblyscript` is built for real (AssemblyScript 0.28 and the WASI shim, which the
builder installs from npm into wasitest's cache folder on first use and then reuses) and run
through the CLI on both runtimes of its matrix. `tests/builders/asc/*.ts` exercise the
helper's protocol case by case on the real runtimes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, copy_example, write_project
from wasitest.config import SuiteConfig
from wasitest.errors import ExitCode
from wasitest.model import Artifact, Execution, Invocation, TrapKind
from wasitest.plugin import load_registry
from wasitest.plugins.builders.asc import AscBuilder, _inputs, first_error, local_imports
from wasitest.runner.build import BuildSession

HERE = Path(__file__).resolve().parent / "asc"

EXAMPLE_OUTCOMES = {
    ("as/calc", "adds"): "passed",
    ("as/calc", "clamps"): "passed",
    ("as/calc", "fibonacci"): "passed",
    ("as/calc", "greets"): "passed",
    ("as/text", "reverses"): "passed",
    ("as/text", "slugifies"): "failed",
    ("as/text", "local_time"): "skipped",
}
SLUGIFY_FAILURE = (
    'tests/text.ts:12: check failed: slugify("Hello, World") == "hello-world" ("hello--world" != "hello-world")'
)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("WASITEST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "wasitest", *args], env=full_env, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = copy_example("assemblyscript", tmp_path_factory.mktemp("asc"))
    proc = _cli("run", "--matrix", str(project), "--results", str(project / "results.json"))
    return project, proc


def _doc(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_example_runs_every_case_on_both_runtimes(example_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = example_run
    assert proc.returncode == ExitCode.TESTS_FAILED, proc.stderr  # `slugifies` fails on purpose
    doc = _doc(project / "results.json")
    assert [c["runtime"] for c in doc["cells"]] == ["wasmtime", "node"]
    for cell in ("wasmtime", "node"):
        got = {(r["artifact"], r["case"]): r["outcome"] for r in doc["results"] if r["cell"] == cell}
        assert got == EXAMPLE_OUTCOMES, cell
    assert not doc["divergences"]
    artifacts = {a["id"]: a for a in doc["artifacts"]}
    assert set(artifacts) == {"as/calc", "as/text"}
    for artifact in artifacts.values():
        assert artifact["harness"] == "clist"
        assert artifact["toolchain"].startswith("asc 0.28.") and "wasi-shim" in artifact["toolchain"]
        assert artifact["flags"] == ["-O3"]


def test_example_failure_and_skip_messages(example_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = example_run
    doc = _doc(project / "results.json")
    for cell in ("wasmtime", "node"):
        results = {r["case"]: r for r in doc["results"] if r["cell"] == cell}
        failed = results["slugifies"]
        assert failed["exit_code"] == 1
        assert failed["message"] == SLUGIFY_FAILURE
        skipped = results["local_time"]
        assert skipped["exit_code"] == 77 and skipped["message"] == "TZ is not granted to this suite"
    assert SLUGIFY_FAILURE in proc.stdout


def test_second_run_builds_nothing(example_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = example_run
    proc = _cli("run", str(project), "--results", str(project / "second.json"), "-q")
    assert proc.returncode == ExitCode.TESTS_FAILED, proc.stderr
    stats = _doc(project / "second.json")["stats"]
    assert stats["artifacts_built"] == 0 and stats["artifacts_cached"] == 2


# --------------------------------------------------------------------------- the helper


class Runner:
    """Runs one built test program's invocations on a real runtime session."""

    def __init__(self, artifacts: dict[str, Artifact], runtime: str, cache_dir: Path) -> None:
        self.artifacts = artifacts
        self.session = load_registry().runtimes.get(runtime).open_session(cache_dir)

    def __call__(self, artifact: str, *args: str) -> Execution:
        path = self.artifacts[artifact].path
        return self.session.run(Invocation(module=path, argv=(artifact, *args), timeout_s=30))


@pytest.fixture(scope="module")
def protocol_build(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Artifact]:
    root = tmp_path_factory.mktemp("asc-protocol")
    for source in HERE.glob("*.ts"):
        (root / "tests").mkdir(exist_ok=True)
        (root / "tests" / source.name).write_bytes(source.read_bytes())
    # -O0: these files test the helper, not the optimiser, and it halves the compile time
    suite = SuiteConfig("p", "asc", ("tests/*.ts",), "", root, flags=("-O0",))
    session = BuildSession(root, root / ".wasitest" / "cache" / "build")
    artifacts = AscBuilder().build(suite, session)
    assert session.built == 3
    return {a.name: a for a in artifacts}


@pytest.fixture(scope="module")
def wasmtime_run(protocol_build: dict[str, Artifact], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    runner = Runner(protocol_build, "wasmtime", tmp_path_factory.mktemp("wasmtime-cache"))
    yield runner
    runner.session.close()


def _stderr_lines(execution: Execution) -> list[str]:
    return execution.stderr.decode().splitlines()


def test_helper_artifacts_and_default_harness(protocol_build: dict[str, Artifact]) -> None:
    assert protocol_build["protocol"].harness == "clist"
    assert protocol_build["dupes"].harness == "clist"
    assert protocol_build["plain"].harness == "exitcode"  # imports nothing from "wasitest"
    assert protocol_build["protocol"].flags == ("-O0",)


def test_list_prints_cases_in_order(wasmtime_run: Runner) -> None:
    execution = wasmtime_run("protocol", "--list")
    assert execution.exit_code == 0, execution.stderr
    assert execution.stdout.decode().splitlines() == [
        "passes",
        "checks_go_on",
        "strings_are_quoted",
        "arrays_and_null",
        "renamed_and_namespaced",
        "fail_ends_the_case",
        "skips",
        "fails_then_skips",
        "check_returns_whether_it_held",
        "aborts",
    ]


def test_passing_case(wasmtime_run: Runner) -> None:
    execution = wasmtime_run("protocol", "passes")
    assert (execution.exit_code, execution.stderr, execution.stdout) == (0, b"", b"")


@pytest.mark.parametrize(
    ("case", "lines"),
    [
        (
            "checks_go_on",
            [
                "tests/protocol.ts:17: check failed: double(1) == 3",
                "tests/protocol.ts:18: check failed: double(2) == 5 (4 != 5): doubles",
            ],
        ),
        (
            "strings_are_quoted",
            ['tests/protocol.ts:23: check failed: "h\\u00e9\\n\\"x\\"" == "he" ("h\\u00e9\\n\\"x\\"" != "he")'],
        ),
        (
            "arrays_and_null",
            [
                'tests/protocol.ts:27: check failed: ["a", "b"] == ["a", "c"] (["a", "b"] != ["a", "c"])',
                'tests/protocol.ts:29: check failed: nothing == "x" (null != "x")',
            ],
        ),
        (
            "renamed_and_namespaced",
            [
                "tests/protocol.ts:34: check failed: double(0) == 1",
                "tests/protocol.ts:35: check failed: double(1) == 3 (2 != 3)",  # two lines of source, one line here
                "tests/protocol.ts:37: check failed: false: through the namespace",
            ],
        ),
        (
            "fail_ends_the_case",
            ["tests/protocol.ts:41: check failed: false", "tests/protocol.ts:42: failed: the widget is broken"],
        ),
        ("fails_then_skips", ["tests/protocol.ts:52: check failed: false", "SKIP: too late"]),
        ("check_returns_whether_it_held", ["tests/protocol.ts:57: check failed: double(2) == 5"]),
    ],
)
def test_failing_cases_name_file_line_and_expression(wasmtime_run: Runner, case: str, lines: list[str]) -> None:
    execution = wasmtime_run("protocol", case)
    assert execution.exit_code == 1
    assert _stderr_lines(execution) == lines


def test_skip_ends_the_case(wasmtime_run: Runner) -> None:
    execution = wasmtime_run("protocol", "skips")
    assert execution.exit_code == 77
    assert _stderr_lines(execution) == ["SKIP: not on this platform"]


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (("nope",), "protocol: no test case named 'nope' (`protocol --list` lists them)"),
        ((), "protocol: expected one argument"),
        (("passes", "skips"), "protocol: expected one argument"),
        (("-v",), "protocol: unknown option -v"),
    ],
)
def test_bad_command_lines_exit_2(wasmtime_run: Runner, args: tuple[str, ...], first_line: str) -> None:
    execution = wasmtime_run("protocol", *args)
    assert execution.exit_code == 2
    assert _stderr_lines(execution)[0] == first_line


def test_duplicate_names_fail_the_listing(wasmtime_run: Runner) -> None:
    execution = wasmtime_run("dupes", "--list")
    assert execution.exit_code == 2 and execution.stdout == b""
    assert _stderr_lines(execution)[0] == 'dupes: two test cases are named "twice"'


def test_program_without_the_helper_keeps_its_exit_code(wasmtime_run: Runner) -> None:
    execution = wasmtime_run("plain")
    assert execution.exit_code == 3 and execution.stderr == b"plain program\n"


def test_an_abort_is_exit_255_which_wasmtime_refuses(
    protocol_build: dict[str, Artifact], wasmtime_run: Runner, tmp_path: Path
) -> None:
    """The WASI shim's `abort` (an out-of-range index, a `throw`) calls proc_exit(255).

    Node exits 255; Wasmtime allows only exit statuses below 126 and traps instead. Both
    keep the shim's message on stderr. A real runtime difference, left for wasitest to report.
    """
    message = "abort: Index out of range in ~lib/array.ts"
    on_wasmtime = wasmtime_run("protocol", "aborts")
    assert on_wasmtime.trap is TrapKind.OTHER and "invalid exit status" in on_wasmtime.trap_message
    assert on_wasmtime.stderr.decode().startswith(message)
    node = Runner(protocol_build, "node", tmp_path)
    try:
        on_node = node("protocol", "aborts")
    finally:
        node.session.close()
    assert on_node.exit_code == 255 and on_node.trap is None
    assert on_node.stderr.decode().startswith(message)


def test_an_empty_environment_aborts_on_node(
    protocol_build: dict[str, Artifact], wasmtime_run: Runner, tmp_path: Path
) -> None:
    """Node's `environ_get` answers EINVAL when no variable is granted, and the WASI shim
    aborts on it while setting up `process.env`; Wasmtime hands over the empty list."""
    assert wasmtime_run("plain").exit_code == 3
    node = Runner(protocol_build, "node", tmp_path)
    try:
        empty = node("plain")
        granted = node.session.run(
            Invocation(module=protocol_build["plain"].path, argv=("plain",), env=(("A", "1"),), timeout_s=30)
        )
    finally:
        node.session.close()
    assert empty.exit_code == 255
    assert _stderr_lines(empty)[0] == "plain program"
    assert _stderr_lines(empty)[1].startswith("abort: INVAL in ~lib/wasi_process.ts")
    assert granted.exit_code == 3 and granted.stderr == b"plain program\n"


# --------------------------------------------------------------------------- errors


def test_compile_error_is_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest.suites.s]\nbuilder = "asc"\nsources = ["tests/*.ts"]\n',
        {"tests/broken.ts": 'import { test, run } from "wasitest";\ntest("x", () => { nothing(); });\nrun();\n'},
    )
    proc = run_cli("run", str(project))
    assert proc.returncode == ExitCode.BUILD
    # the build's progress lines come first; the error is one line, the last
    lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith("wasitest: compiling ")]
    assert len(lines) == 1
    assert "tests/broken.ts failed to build: ERROR TS2304: Cannot find name 'nothing'." in lines[0]
    assert "(in tests/broken.ts(2,19))" in lines[0]


def test_missing_node_is_toolchain_missing(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest.suites.s]\nbuilder = "asc"\nsources = ["t.ts"]\n',
        {"t.ts": "process.exit(0);\n"},
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = run_cli("run", str(project), env={"PATH": str(empty)})
    assert proc.returncode == ExitCode.BUILD
    assert proc.stderr.strip() == (
        "wasitest: error: the asc builder needs Node.js, which is not on PATH"
        " (install Node.js 20 or newer, which ships npm)"
    )


def test_non_typescript_source_is_refused(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path / "p", '[tool.wasitest.suites.s]\nbuilder = "asc"\nsources = ["t.*"]\n', {"t.d.ts": "", "t.js": ""}
    )
    proc = run_cli("run", str(project))
    assert proc.returncode == ExitCode.BUILD
    assert "the asc builder cannot build t.d.ts" in proc.stderr


def test_first_error_picks_the_diagnostic_and_its_place() -> None:
    stderr = (
        "WARNING AS201: Conversion from type 'f64' to 'i32' will require an explicit cast.\n"
        "   :\n 3 │ let x: i32 = 1.5;\n   └─ in tests/a.ts(3,14)\n\n"
        "ERROR TS2304: Cannot find name 'y'.\n   :\n 4 │ y();\n   │ ~\n   └─ in tests/a.ts(4,1)\n\n"
        "FAILURE 1 compile error(s)\n"
    )
    assert first_error(stderr) == "ERROR TS2304: Cannot find name 'y'. (in tests/a.ts(4,1))"
    assert first_error("FAILURE something odd\n") == "FAILURE something odd"


# --------------------------------------------------------------------------- cache key


def test_cache_key_inputs_follow_relative_imports(tmp_path: Path) -> None:
    files = {
        "tests/a.ts": 'import { b } from "../src/b";\nimport { test } from "wasitest";\n',
        "src/b.ts": 'export { c } from "./c";\nexport function b(): i32 { return 1; }\n',
        "src/c.ts": "export function c(): i32 { return 2; }\n",
        "src/unused.ts": "export function u(): i32 { return 3; }\n",
    }
    root = write_project(tmp_path / "p", "", files)
    source = root / "tests" / "a.ts"
    assert local_imports(source) == [(root / "src" / "b.ts").resolve(), (root / "src" / "c.ts").resolve()]
    before = _inputs(source, root)
    (root / "src" / "unused.ts").write_text("changed\n")
    assert _inputs(source, root) == before
    (root / "src" / "c.ts").write_text("export function c(): i32 { return 4; }\n")
    assert _inputs(source, root) != before

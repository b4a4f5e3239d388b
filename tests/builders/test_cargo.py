"""The cargo builder and the libtest harness.

`examples/rust-libtest` is built for real with the Rust toolchain that has the WASI standard
library (Debian's `rustc cargo libstd-rust-dev-wasm32`) and run through the CLI on every
runtime of its matrix (wasmtime and node). Beside that: toolchain detection, the build
cache, one-line errors, and libtest's output as both Rust panic formats print it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, copy_example, write_project
from wasitest.config import SuiteConfig
from wasitest.errors import ExitCode, ToolchainMissing
from wasitest.model import Artifact, Case, Cell, Execution, Job, Outcome, TrapKind
from wasitest.plugin import load_registry
from wasitest.plugins.builders.cargo import (
    INSTALL_HINT,
    WASI_TARGETS,
    Binary,
    Toolchain,
    artifact_names,
    binaries_in,
    candidates,
    crate_dirs,
    crate_key,
    find_toolchain,
    first_error,
    has_std,
    package_name,
    wasi_targets,
)
from wasitest.plugins.harnesses.libtest import (
    SHOULD_PANIC_REASON,
    LibtestHarness,
    Panic,
    ResultLine,
    Summary,
    failure_outputs,
    find_panics,
    parse_list,
    parse_results,
    parse_summary,
    read_verdict,
)
from wasitest.runner.build import sha256_file
from wasitest.runner.discover import discovery_execute
from wasitest.runner.verdicts import runner_verdict

ROOT = Path(__file__).resolve().parents[2]
APT_PACKAGES = "apt-get install rustc cargo libstd-rust-dev-wasm32"


@pytest.fixture(scope="session")
def toolchain() -> Toolchain:
    try:
        return find_toolchain(os.environ.get("PATH", ""), None, ROOT)
    except ToolchainMissing as exc:
        if os.environ.get("CI"):
            raise  # CI installs it (.ci/run): a missing toolchain there is a failure, not a skip
        pytest.skip(exc.one_line())


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full_env.pop("WASITEST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "wasitest", *args], env=full_env, capture_output=True, text=True, timeout=600
    )


def _results(project: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((project / ".wasitest" / "results.json").read_text())
    return doc


@pytest.fixture(scope="module")
def example_run(
    toolchain: Toolchain, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, subprocess.CompletedProcess[str], dict[str, Any]]:
    """One real build and `wasitest run --matrix` of the example crate."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    project = copy_example("rust-libtest", tmp_path_factory.mktemp("rust"))
    proc = _cli("run", str(project), "--matrix")
    return project, proc, _results(project)


def _by_case(doc: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["artifact"], r["case"], r["cell"]): r for r in doc["results"]}


EXPECTED = {
    ("rust/textkit", "tests::counts_words"): ("passed", ""),
    ("rust/textkit", "tests::capitalizes"): ("passed", ""),
    ("rust/textkit", "tests::parses_pairs"): ("passed", ""),
    ("rust/textkit", "tests::counts_letters"): ("failed", "panicked at src/lib.rs:70:9: "),
    ("rust/textkit", "tests::counts_many_words"): ("skipped", "#[ignore]"),
    ("rust/textkit", "tests::rejects_an_empty_key"): ("skipped", SHOULD_PANIC_REASON),
    ("rust/integration", "saves_and_loads_a_file"): ("passed", ""),
    ("rust/integration", "reads_the_granted_environment"): ("passed", ""),
    ("rust/integration", "prints_while_it_runs"): ("passed", ""),
}


def test_the_run_builds_two_binaries_and_fails_once(example_run) -> None:  # type: ignore[no-untyped-def]
    _, proc, doc = example_run
    assert proc.returncode == 1, proc.stderr
    assert [a["name"] for a in doc["artifacts"]] == ["textkit", "integration"]
    assert {a["harness"] for a in doc["artifacts"]} == {"libtest"}
    assert all(re.search(r"\((wasm32-wasip1|wasm32-wasi)\)$", a["toolchain"]) for a in doc["artifacts"])
    assert doc["stats"]["artifacts_built"] == 2
    assert [c["id"] for c in doc["cells"]] == ["wasmtime", "node"]
    assert len(doc["results"]) == len(EXPECTED) * 2


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
@pytest.mark.parametrize(("artifact", "case"), list(EXPECTED))
def test_each_case(example_run, cell: str, artifact: str, case: str) -> None:  # type: ignore[no-untyped-def]
    result = _by_case(example_run[2])[(artifact, case, cell)]
    outcome, message = EXPECTED[(artifact, case)]
    assert result["outcome"] == outcome, result
    assert result["message"].startswith(message), result
    assert result["case"] == case


@pytest.mark.parametrize("cell", ["wasmtime", "node"])
def test_a_panic_is_a_failure_with_the_panic_text(example_run, cell: str) -> None:  # type: ignore[no-untyped-def]
    """panic=abort: the instance traps right after the panic hook printed the message."""
    result = _by_case(example_run[2])[("rust/textkit", "tests::counts_letters", cell)]
    assert result["trap"] == "unreachable"
    assert result["exit_code"] is None
    message = result["message"]
    # 1.63: assertion failed: `(left == right)`\n  left: `12`,\n right: `10`: letters, not bytes
    # 1.73+: assertion `left == right` failed: letters, not bytes\n  left: 12\n right: 10
    assert re.fullmatch(r"panicked at src/lib\.rs:70:9: assertion.*left.*12.*right.*10.*", message, re.S), message
    assert "letters, not bytes" in message
    assert "test tests::counts_letters ... " in result["stdout"]


def test_discovery_on_the_built_binary(example_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The harness lists the tests (not the should_panic note, not benches) and marks #[ignore]."""
    project, _, doc = example_run
    entry = next(a for a in doc["artifacts"] if a["name"] == "textkit")
    wasm = next(
        p for p in (project / ".wasitest" / "cache" / "build").glob("*.wasm") if sha256_file(p) == entry["sha256"]
    )
    artifact = Artifact(suite="rust", name="textkit", path=wasm, harness="libtest", sha256=entry["sha256"])
    session = load_registry().runtimes.get("wasmtime").open_session(tmp_path / "cache")
    try:
        cases = LibtestHarness().discover(artifact, discovery_execute(session, tmp_path / "scratch"))
    finally:
        session.close()
    assert [c.name for c in cases] == [
        "tests::capitalizes",
        "tests::counts_letters",
        "tests::counts_many_words",
        "tests::counts_words",
        "tests::parses_pairs",
        "tests::rejects_an_empty_key",
    ]
    assert [c.name for c in cases if c.meta["ignored"]] == ["tests::counts_many_words"]
    assert cases[0].argv == (
        "textkit",
        "tests::capitalizes",
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "--color=never",
    )


def test_output_and_scratch_dir(example_run) -> None:  # type: ignore[no-untyped-def]
    results = _by_case(example_run[2])
    printed = results[("rust/integration", "prints_while_it_runs", "wasmtime")]
    assert "capitalized: From The Test" in printed["stdout"]
    assert printed["stderr"] == "to stderr\n"


def test_a_second_build_does_nothing(example_run, run_cli: RunCli) -> None:  # type: ignore[no-untyped-def]
    project = example_run[0]
    proc = run_cli("run", str(project), "--runtimes", "wasmtime")
    assert proc.returncode == 1, proc.stderr
    stats = _results(project)["stats"]
    assert (stats["artifacts_built"], stats["artifacts_cached"]) == (0, 2)


def test_include_ignored_through_args(example_run, tmp_path: Path, run_cli: RunCli) -> None:  # type: ignore[no-untyped-def]
    """`args = ["--include-ignored"]` runs the #[ignore] test; a copy of the project (with its
    cache) builds nothing, since the cache key is the crate's content, not its place."""
    project = tmp_path / "copy"
    shutil.copytree(example_run[0], project)
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('# args = ["--include-ignored"]', 'args = ["--include-ignored"]'))
    proc = run_cli("run", str(project), "--runtimes", "wasmtime")
    assert proc.returncode == 1, proc.stderr
    doc = _results(project)
    results = _by_case(doc)
    assert results[("rust/textkit", "tests::counts_many_words", "wasmtime")]["outcome"] == "passed"
    should_panic = results[("rust/textkit", "tests::rejects_an_empty_key", "wasmtime")]
    assert (should_panic["outcome"], should_panic["message"]) == ("skipped", SHOULD_PANIC_REASON)
    assert doc["stats"]["artifacts_built"] == 0


# --- toolchain detection --------------------------------------------------------------------


def test_target_detection(toolchain: Toolchain) -> None:
    target_list = subprocess.run(
        [str(toolchain.rustc), "--print", "target-list"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert toolchain.target in WASI_TARGETS
    assert toolchain.target in target_list
    assert has_std(toolchain.rustc, toolchain.target, ROOT)
    # the newer name wins whenever its std is there; the old one only when the new one is missing
    if "wasm32-wasip1" in target_list and has_std(toolchain.rustc, "wasm32-wasip1", ROOT):
        assert toolchain.target == "wasm32-wasip1"
    else:
        assert toolchain.target == "wasm32-wasi"
    assert not has_std(toolchain.rustc, "wasm64-unknown-unknown", ROOT)


def test_wasi_targets_from_target_lists() -> None:
    assert wasi_targets("wasm32-unknown-unknown\nwasm32-wasi\nx86_64-unknown-linux-gnu\n") == ["wasm32-wasi"]
    assert wasi_targets("wasm32-wasip1\nwasm32-wasip1-threads\nwasm32-wasip2\n") == ["wasm32-wasip1"]
    assert wasi_targets("wasm32-wasi\nwasm32-wasip1\nwasm32-wasip2\n") == ["wasm32-wasip1", "wasm32-wasi"]
    assert wasi_targets("x86_64-unknown-linux-gnu\nwasm32-wasi-preview1-threads\n") == []


def test_candidates_follow_path_order(toolchain: Toolchain, tmp_path: Path) -> None:
    """Every PATH folder with a cargo and a rustc is a candidate, in PATH order; a folder with
    only one of them is not."""
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    (lonely / "cargo").symlink_to(toolchain.cargo)
    folder = toolchain.cargo.parent
    path = os.pathsep.join([str(tmp_path / "missing"), str(lonely), str(folder), str(folder)])
    assert candidates(path) == [(folder / "cargo", folder / "rustc")]
    assert candidates("", explicit=folder) == [(folder / "cargo", folder / "rustc")]
    assert find_toolchain(path, None, ROOT).cargo == toolchain.cargo


def test_no_toolchain_is_one_line_naming_the_packages(tmp_path: Path, run_cli: RunCli) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    project = copy_example("rust-libtest", tmp_path)
    proc = run_cli("run", str(project), env={"PATH": str(empty)})
    _assert_one_line_error(proc, ExitCode.BUILD, "needs a Rust toolchain with the WASI standard library", APT_PACKAGES)
    with pytest.raises(ToolchainMissing, match="no cargo and rustc in"):
        find_toolchain("", empty, ROOT)
    assert APT_PACKAGES in INSTALL_HINT


def test_a_compile_error_is_one_line(toolchain: Toolchain, tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path / "broken",
        '[tool.wasitest.suites.r]\nbuilder = "cargo"\nsources = ["."]\n',
        {
            "Cargo.toml": '[package]\nname = "broken"\nversion = "0.1.0"\nedition = "2021"\n',
            "src/lib.rs": "pub fn f() -> i32 { nope }\n",
        },
    )
    proc = run_cli("run", str(project))
    _assert_one_line_error(proc, ExitCode.BUILD, "cargo test --no-run failed", "nope", "src/lib.rs:1:")


def test_sources_must_name_a_crate(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(tmp_path, '[tool.wasitest.suites.r]\nbuilder = "cargo"\nsources = ["crate"]\n', {})
    (project / "crate").mkdir()
    proc = run_cli("run", str(project))
    _assert_one_line_error(proc, ExitCode.BUILD, "'crate' is not a crate folder", 'sources = ["."]')


def _assert_one_line_error(proc, code: ExitCode, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode == int(code), (proc.returncode, proc.stdout, proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("wasitest: error: ")]
    assert len(errors) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


# --- sources, keys, names -------------------------------------------------------------------


def test_crate_key_sees_sources_and_nothing_else(toolchain: Toolchain, tmp_path: Path) -> None:
    crate = copy_example("rust-libtest", tmp_path)
    key = crate_key(crate, toolchain, (), {})
    (crate / "README.md").write_text("docs do not change a build\n")
    (crate / "target").mkdir()
    (crate / "target" / "junk.rs").write_text("// build output\n")
    (crate / ".wasitest").mkdir()
    (crate / ".wasitest" / "x.rs").write_text("// cache\n")
    assert crate_key(crate, toolchain, (), {}) == key
    assert crate_key(crate, toolchain, ("--release",), {}) != key
    assert crate_key(crate, toolchain, (), {"RUSTFLAGS": "-C opt-level=1"}) != key
    (crate / "tests" / "data.txt").write_text("read by include_str!\n")
    changed = crate_key(crate, toolchain, (), {})
    assert changed != key
    (crate / "src" / "lib.rs").write_text((crate / "src" / "lib.rs").read_text() + "\n// edit\n")
    assert crate_key(crate, toolchain, (), {}) != changed


def test_crate_dirs(tmp_path: Path) -> None:
    for name in ("a", "b", "notes"):
        (tmp_path / "crates" / name).mkdir(parents=True)
    for name in ("a", "b"):
        (tmp_path / "crates" / name / "Cargo.toml").write_text("")

    def suite(*sources: str) -> SuiteConfig:
        return SuiteConfig("s", "cargo", sources, "", tmp_path)

    assert crate_dirs(suite("crates/*")) == [tmp_path / "crates" / "a", tmp_path / "crates" / "b"]
    assert crate_dirs(suite("crates/b/Cargo.toml", "crates/b")) == [tmp_path / "crates" / "b"]


def _binary(package: str, target: str, kind: str) -> Binary:
    return Binary(package, target, kind, Path(f"{target}.wasm"), Path(package))


def test_artifact_names_are_unique_and_stable() -> None:
    plain = [_binary("p", "mycrate", "lib"), _binary("p", "integration", "test")]
    assert artifact_names(plain) == ["mycrate", "integration"]
    lib_and_bin = [_binary("p", "tool", "lib"), _binary("p", "tool", "bin"), _binary("p", "cli", "test")]
    assert artifact_names(lib_and_bin) == ["tool", "tool-bin", "cli"]
    workspace = [
        _binary("a", "a", "lib"),
        _binary("a", "it", "test"),
        _binary("b", "b", "lib"),
        _binary("b", "it", "test"),
    ]
    assert artifact_names(workspace) == ["a", "a.it-test", "b", "b.it-test"]


def test_package_names() -> None:
    assert package_name("textkit 0.1.0 (path+file:///src/textkit)") == "textkit"
    assert package_name("path+file:///src/textkit#0.1.0") == "textkit"
    assert package_name("path+file:///src/ws/crates/x#textkit@0.1.0") == "textkit"


def test_test_binaries_from_cargo_messages() -> None:
    def artifact(name: str, kind: str, test: bool, exe: str | None) -> dict[str, Any]:
        return {
            "reason": "compiler-artifact",
            "package_id": "k 0.1.0 (path+file:///w/k)",
            "manifest_path": "/w/k/Cargo.toml",
            "target": {"kind": [kind], "name": name},
            "profile": {"test": test},
            "executable": exe,
        }

    messages = [
        artifact("k", "lib", False, None),
        artifact("it", "test", True, "/t/it-1.wasm"),
        artifact("k", "lib", True, "/t/k-2.wasm"),
        artifact("k", "bin", False, "/t/k.wasm"),  # the binary itself, not its tests
        {"reason": "build-finished", "success": True},
    ]
    assert binaries_in(messages) == [
        Binary("k", "k", "lib", Path("/t/k-2.wasm"), Path("/w/k")),
        Binary("k", "it", "test", Path("/t/it-1.wasm"), Path("/w/k")),
    ]


def test_first_error() -> None:
    message = {
        "reason": "compiler-message",
        "message": {
            "level": "error",
            "message": "cannot find value `nope` in this scope",
            "code": {"code": "E0425"},
            "spans": [{"is_primary": True, "file_name": "src/lib.rs", "line_start": 1, "column_start": 21}],
        },
    }
    warning = {"reason": "compiler-message", "message": {"level": "warning", "message": "unused", "spans": []}}
    stdout = "\n".join(json.dumps(m) for m in (warning, message))
    assert first_error(stdout, "") == "error[E0425]: cannot find value `nope` in this scope at src/lib.rs:1:21"
    stderr = "    Updating crates.io index\nerror: no matching package named `rand` found\n"
    assert first_error("", stderr) == "error: no matching package named `rand` found"


# --- libtest's output -------------------------------------------------------------------------


def test_parse_list() -> None:
    terse = "tests::a: test\ntests::b: test\nbenches::c: bench\n"
    assert parse_list(terse) == ["tests::a", "tests::b"]
    plain = terse + "\n2 tests, 1 benchmark\n"
    assert parse_list(plain) == ["tests::a", "tests::b"]
    assert parse_list("") == []


# As rustc 1.63's libtest printed them for the example (`--exact --nocapture --test-threads=1`).
SUMMARY = "\ntest result: ok. {} passed; 0 failed; {} ignored; 0 measured; {} filtered out\n\n"
OUT_OK = "\nrunning 1 test\ntest tests::a ... ok\n" + SUMMARY.format(1, 0, 5)
OUT_PRINTS = "\nrunning 1 test\ntest prints ... capitalized: x\nmore\nok\n" + SUMMARY.format(1, 0, 2)
OUT_SHOULD_PANIC = "\nrunning 1 test\ntest tests::sp - should panic ... ignored\n" + SUMMARY.format(0, 1, 5)
OUT_PANICKED = "\nrunning 1 test\ntest tests::counts_letters ... "
ERR_OLD = (
    "thread 'main' panicked at 'assertion failed: `(left == right)`\n  left: `12`,\n right: `10`: letters, not bytes',"
    " src/lib.rs:70:9\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
)
# Rust >= 1.73 (and >= 1.92 with the thread id)
ERR_NEW = (
    "\nthread 'main' panicked at src/lib.rs:70:9:\nassertion `left == right` failed: letters, not bytes\n"
    "  left: 12\n right: 10\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n"
)
NAME = "tests::counts_letters"
ERR_NEW_ID = "\nthread 'tests::x' (1) panicked at src/lib.rs:3:5:\nboom\n"


def test_parse_results() -> None:
    assert parse_results(OUT_OK) == [ResultLine("tests::a", "ok")]
    assert parse_results(OUT_PRINTS) == [ResultLine("prints", "ok")]
    assert parse_results(OUT_SHOULD_PANIC) == [ResultLine("tests::sp", "ignored", "should panic")]
    assert parse_results(OUT_PANICKED) == [ResultLine("tests::counts_letters", None)]
    batch = (
        "running 4 tests\ntest a ... ok\ntest b ... ignored, needs a network\ntest c ... FAILED\n"
        "test d ... ok <0.002s>\ntest e ... "
    )
    assert parse_results(batch) == [
        ResultLine("a", "ok"),
        ResultLine("b", "ignored", detail="needs a network"),
        ResultLine("c", "FAILED"),
        ResultLine("d", "ok"),
        ResultLine("e", None),
    ]


def test_parse_summary() -> None:
    assert parse_summary(OUT_OK) == Summary(True, 1, 0, 0, 0, 5)
    assert parse_summary(
        "test result: FAILED. 2 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n"
    ) == Summary(False, 2, 1, 0, 0, 0)
    assert parse_summary(OUT_PANICKED) is None


def test_find_panics_in_both_formats() -> None:
    old = find_panics(ERR_OLD)
    assert old == [
        Panic(
            "main",
            "src/lib.rs:70:9",
            "assertion failed: `(left == right)`\n  left: `12`,\n right: `10`: letters, not bytes",
        )
    ]
    new = find_panics(ERR_NEW)
    assert new == [
        Panic("main", "src/lib.rs:70:9", "assertion `left == right` failed: letters, not bytes\n  left: 12\n right: 10")
    ]
    assert find_panics(ERR_NEW_ID) == [Panic("tests::x", "src/lib.rs:3:5", "boom")]
    assert find_panics("hello\n") == []
    assert new[0].describe().startswith("panicked at src/lib.rs:70:9: assertion `left == right` failed")


def test_failure_outputs_of_a_captured_run() -> None:
    """What an unwinding, capturing run prints (a native `cargo test`): the batch mode's input."""
    stdout = (
        "running 2 tests\ntest a ... ok\ntest b ... FAILED\n\nfailures:\n\n---- b stdout ----\nsome output\n"
        "thread 'b' panicked at src/lib.rs:9:9:\nboom\n\n\nfailures:\n    b\n\n"
        "test result: FAILED. 1 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out\n"
    )
    sections = failure_outputs(stdout)
    assert list(sections) == ["b"]
    assert sections["b"].startswith("some output\nthread 'b' panicked")
    assert find_panics(sections["b"]) == [Panic("b", "src/lib.rs:9:9", "boom")]
    verdict = read_verdict("b", Execution(exit_code=101, stdout=stdout.encode()))
    assert (verdict.outcome, verdict.message) == (Outcome.FAILED, "panicked at src/lib.rs:9:9: boom")


@pytest.mark.parametrize(
    ("execution", "outcome", "message"),
    [
        (Execution(exit_code=0, stdout=OUT_OK.replace("tests::a", NAME).encode()), Outcome.PASSED, ""),
        (
            Execution(exit_code=0, stdout=OUT_SHOULD_PANIC.replace("tests::sp", NAME).encode()),
            Outcome.SKIPPED,
            SHOULD_PANIC_REASON,
        ),
        (
            Execution(trap=TrapKind.UNREACHABLE, stdout=OUT_PANICKED.encode(), stderr=ERR_OLD.encode()),
            Outcome.FAILED,
            "panicked at src/lib.rs:70:9: assertion failed: `(left == right)`\n  left: `12`,\n right: `10`: "
            "letters, not bytes",
        ),
        (
            Execution(trap=TrapKind.UNREACHABLE, stdout=OUT_PANICKED.encode(), stderr=ERR_NEW.encode()),
            Outcome.FAILED,
            "panicked at src/lib.rs:70:9: assertion `left == right` failed: letters, not bytes\n  left: 12\n right: 10",
        ),
        (
            Execution(trap=TrapKind.STACK_OVERFLOW, trap_message="call stack exhausted", stdout=OUT_PANICKED.encode()),
            Outcome.TRAPPED,
            "stack_overflow: call stack exhausted",
        ),
        (
            Execution(
                exit_code=0,
                stdout=b"\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; "
                b"0 measured; 6 filtered out\n\n",
            ),
            Outcome.SKIPPED,
            "not run: the suite's args filter it out",
        ),
        (
            Execution(exit_code=101, stderr=b"error: Unrecognized option: 'bogus'\n"),
            Outcome.ERROR,
            "libtest did not run tests::counts_letters (exit code 101)\nerror: Unrecognized option: 'bogus'",
        ),
        (Execution(trap=TrapKind.TIMEOUT, trap_message="timed out"), Outcome.TIMEOUT, "exceeded the 60 s time limit"),
        (Execution(error="bad module"), Outcome.ERROR, "bad module"),
    ],
)
def test_read_verdict(execution: Execution, outcome: Outcome, message: str) -> None:
    """As the runner reads a job: its own verdict on outcomes no harness judges, then the harness."""
    case = Case(Artifact(suite="s", name="k", path=Path("k.wasm"), harness="libtest", sha256=""), NAME, ())
    verdict = runner_verdict(Job(case, Cell("wasmtime")), execution, 60.0) or read_verdict(NAME, execution)
    assert (verdict.outcome, verdict.message) == (outcome, message)


def test_the_harness_reads_the_case_it_ran() -> None:
    artifact = Artifact(suite="s", name="k", path=Path("k.wasm"), harness="libtest", sha256="")
    case = Case(artifact, "tests::sp", ("k", "tests::sp", "--exact"), meta={"ignored": False})
    verdict = LibtestHarness().verdict(case, Execution(exit_code=0, stdout=OUT_SHOULD_PANIC.encode()))
    assert verdict.outcome is Outcome.SKIPPED
    # another test's result is no result for this case, even though "1 passed"
    other = LibtestHarness().verdict(case, Execution(exit_code=0, stdout=OUT_OK.encode()))
    assert (other.outcome, other.message.splitlines()[0]) == (Outcome.FAILED, "no result for tests::sp (exit code 0)")
    glued = OUT_OK.replace("tests::a ... ok", "tests::sp ... no newlineok")  # print!() without a newline
    assert LibtestHarness().verdict(case, Execution(exit_code=0, stdout=glued.encode())).outcome is Outcome.PASSED

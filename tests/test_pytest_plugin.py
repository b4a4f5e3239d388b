"""The pytest plugin, for real: pytest runs (through pytester) over the quickstart example on
Wasmtime and Node, and the `wasi_run` fixture over a module the zig builder makes here.

The quickstart is copied and built once for the module; every inner pytest run points at it
with `--wasi-project`, so it finds every artifact and case list in the build cache.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import junitparser
import pytest
import xmlschema

import wasitest.pytest_plugin  # noqa: F401 - imported once here, not again by every inner run
from tests.conftest import DATA, copy_example
from wasitest.config import SuiteConfig, load_settings
from wasitest.matrix.shard import Shard
from wasitest.plugin import load_registry
from wasitest.runner.build import BuildSession
from wasitest.runner.run import build_and_discover

pytest_plugins = ["pytester"]

PLUGIN = ("-p", "wasitest.pytest_plugin", "-W", "ignore::pytest.PytestAssertRewriteWarning")
CELLS = ("wasmtime", "node")
DIVERGENT = "unit/files::excl_create_refuses_dangling_symlink"
#: per cell, the cases that do not pass (see examples/quickstart/README.md)
SKIPPED = "unit/env::slow_checks"
XFAILED = "unit/strings::known_bug"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
#: Zig's cache of this machine: pytester gives inner runs a HOME of their own, where Zig would
#: build wasi-libc again for the tests that compile (taken before any test changes HOME)
ZIG_CACHE = os.environ.get("ZIG_GLOBAL_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zig")


@pytest.fixture(autouse=True)
def only_the_plugins_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs load this plugin (and xdist where a test asks) and nothing else installed:
    faster (no Hypothesis import per run) and the same on every machine."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@dataclass(frozen=True)
class Quickstart:
    project: Path
    cases: tuple[str, ...]  # case ids in plan order

    def ids(self, cells: tuple[str, ...] = CELLS) -> list[str]:
        """Node ids in the order the plan runs them: cases outside, cells inside."""
        return [f"{case}[{cell}]" for case in self.cases for cell in cells]


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Quickstart:
    project = copy_example("quickstart", tmp_path_factory.mktemp("pytest-plugin"))
    built = build_and_discover(load_settings(project, os.environ), load_registry(os.environ))
    cases = tuple(case.id for artifact in built.artifacts for case in built.cases[artifact.id])
    assert DIVERGENT in cases and len(cases) >= 13
    return Quickstart(project, cases)


def run(pytester: pytest.Pytester, quickstart: Quickstart, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*PLUGIN, f"--wasi-project={quickstart.project}", *args)


def collected(result: pytest.RunResult) -> list[str]:
    """The node ids `--collect-only -q` printed."""
    return [line for line in result.outlines if "::" in line and " " not in line]


def test_collects_every_case_per_cell_with_job_ids(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    matrix = run(pytester, quickstart, "--wasi", "--wasi-matrix", "--collect-only", "-q")
    assert collected(matrix) == quickstart.ids()
    default = run(pytester, quickstart, "--wasi", "--collect-only", "-q")
    assert collected(default) == quickstart.ids(("wasmtime",))  # the project's default runtime only
    explicit = run(pytester, quickstart, "--wasi", "--wasi-runtimes", "node", "--collect-only", "-q")
    assert collected(explicit) == quickstart.ids(("node",))
    assert collected(run(pytester, quickstart, "--collect-only", "-q")) == []  # off unless asked


def test_ini_option_makes_it_the_default(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    pytester.makeini(f"[pytest]\nwasi = true\nwasi_matrix = true\nwasi_project = {quickstart.project}\n")
    result = pytester.runpytest(*PLUGIN, "--collect-only", "-q")
    assert collected(result) == quickstart.ids()
    assert collected(pytester.runpytest(*PLUGIN, "--no-wasi", "--collect-only", "-q")) == []


def test_markers_select_by_runtime(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    result = run(
        pytester, quickstart, "--wasi", "--wasi-matrix", "--strict-markers", "-m", "wasi_node", "--collect-only", "-q"
    )
    assert collected(result) == quickstart.ids(("node",))
    markers = run(pytester, quickstart, "--wasi", "--wasi-matrix", "--markers")
    declared = {line.split(":")[0] for line in markers.outlines if line.startswith("@pytest.mark.wasi")}
    assert {"@pytest.mark.wasi", "@pytest.mark.wasi_node", "@pytest.mark.wasi_wasmtime"} <= declared


def test_run_reports_outcomes_detail_divergence_junit_then_lf(
    pytester: pytest.Pytester, quickstart: Quickstart
) -> None:
    junit = pytester.path / "junit.xml"
    result = run(pytester, quickstart, "--wasi", "--wasi-matrix", f"--junitxml={junit}", "-rfsx")
    total = len(quickstart.ids())
    result.assert_outcomes(passed=total - 5, failed=1, skipped=2, xfailed=2)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            f"*_ {DIVERGENT} on node _*",
            "tests/files.c:55: check failed: fd == -1 (5 != -1)",
            "cell: * node (node *)",
            "outcome: * failed",
            "exit code: * 1",
            "trap: * -",
            "stderr (last 3 of 3 line(s)):",
            '  tests/files.c:57: check failed: access("target.txt", F_OK) != 0',
            "*Captured stderr call*",
            "*= wasitest: 1 divergent case(s) =*",
            f"{DIVERGENT} [outcome]",
            "    node: failed (exit 1) tests/files.c:55: check failed: fd == -1 (5 != -1)",
            "    wasmtime: passed (exit 0)",
            "*short test summary info*",
            f"FAILED {DIVERGENT}[[]node] - tests/files.c*",  # the message's first line, cut to the width
            "SKIPPED [[]2] *pyproject.toml:1: *QUICKSTART_SLOW*",
            f"XFAIL {XFAILED}[[]wasmtime] - tests/strings.c:27: check failed*",
        ]
    )

    xmlschema.XMLSchema(DATA / "junit-10.xsd").validate(junit)
    cases = {
        f"{c.classname.replace('.', '/')}::{c.name}": c
        for suite in junitparser.JUnitXml.fromfile(str(junit))
        for c in suite
    }
    assert sorted(cases) == sorted(quickstart.ids())
    failing = cases[f"{DIVERGENT}[node]"]
    assert isinstance(failing.result[0], junitparser.Failure)
    assert "fd == -1 (5 != -1)" in (failing.result[0].message or "")
    assert not cases[f"{DIVERGENT}[wasmtime]"].result
    for case_id in (f"{SKIPPED}[node]", f"{XFAILED}[wasmtime]"):
        assert isinstance(cases[case_id].result[0], junitparser.Skipped)

    again = run(pytester, quickstart, "--wasi", "--wasi-matrix", "--lf")
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure*", f"FAILED {DIVERGENT}[[]node]*"])


def test_k_selects_and_x_stops(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    selected = run(pytester, quickstart, "--wasi", "--wasi-matrix", "-k", "strings and node", "-v")
    selected.assert_outcomes(passed=3, xfailed=1)
    selected.stdout.fnmatch_lines(["unit/strings::reverse[[]node] PASSED*"])
    assert "wasmtime]" not in selected.stdout.str()
    assert "divergen" not in selected.stdout.str()  # one cell: nothing to compare

    agreeing = run(pytester, quickstart, "--wasi", "--wasi-matrix", "-k", "parser")
    agreeing.assert_outcomes(passed=8)
    agreeing.stdout.fnmatch_lines(["*- wasitest: no divergence between wasmtime, node -*"])

    stopped = run(pytester, quickstart, "--wasi", "--wasi-matrix", "-x")
    outcomes = stopped.parseoutcomes()
    ran_before = quickstart.ids().index(f"{DIVERGENT}[node]")
    assert outcomes["failed"] == 1
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) + outcomes.get("xfailed", 0) == ran_before
    stopped.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_shards_split_the_items_the_way_the_core_does(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    first = collected(run(pytester, quickstart, "--wasi", "--wasi-matrix", "--wasi-shard", "1/2", "--co", "-q"))
    second = collected(run(pytester, quickstart, "--wasi", "--wasi-matrix", "--wasi-shard", "2/2", "--co", "-q"))
    assert first and second and not set(first) & set(second)
    assert sorted(first + second) == sorted(quickstart.ids())
    shard = Shard(1, 2)
    assert all(shard.holds(*node_id[:-1].split("[")) for node_id in first)


def test_xdist_workers_run_their_own_items(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    pytest.importorskip("xdist")
    result = run(pytester, quickstart, "-p", "xdist.plugin", "--wasi", "--wasi-matrix", "-n", "2", "-rf")
    result.assert_outcomes(passed=len(quickstart.ids()) - 5, failed=1, skipped=2, xfailed=2)
    result.stdout.fnmatch_lines(
        [
            f"*2 workers [[]{len(quickstart.ids())} items]*",
            "*= wasitest: 1 divergent case(s) =*",
            f"{DIVERGENT} [outcome]",
            "    node: failed (exit 1)*",
            f"FAILED {DIVERGENT}[[]node]*",
        ]
    )


def test_bad_input_is_one_line(pytester: pytest.Pytester, quickstart: Quickstart) -> None:
    shard = run(pytester, quickstart, "--wasi", "--wasi-shard", "3/2")
    assert shard.ret == pytest.ExitCode.USAGE_ERROR
    shard.stderr.fnmatch_lines(["ERROR: wasitest: --wasi-shard 3/2: K must be between 1 and N*"])

    unknown = run(pytester, quickstart, "--wasi", "--wasi-runtimes", "wasmtme")
    assert unknown.ret == pytest.ExitCode.INTERRUPTED
    unknown.stdout.fnmatch_lines(
        ["*ERROR collecting wasitest*", "wasitest: unknown runtime 'wasmtme' (did you mean 'wasmtime'?)*"]
    )

    pytester.makepyfile(test_plain="def test_ok(): pass")
    unconfigured = pytester.runpytest(*PLUGIN, "--wasi")
    unconfigured.stdout.fnmatch_lines(["wasitest: --wasi: no wasitest configuration in *[[]tool.wasitest]*"])
    assert unconfigured.ret == pytest.ExitCode.INTERRUPTED


PROBE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *cmd = argv[1];
    if (!strcmp(cmd, "echo")) {
        for (int i = 2; i < argc; i++) printf("%s\n", argv[i]);
        return 0;
    }
    if (!strcmp(cmd, "env")) {
        const char *v = getenv(argv[2]);
        printf("%s\n", v ? v : "(unset)");
        return 0;
    }
    if (!strcmp(cmd, "upper")) {  /* upper IN OUT: copy a file of the scratch dir, upper-cased */
        FILE *in = fopen(argv[2], "r"), *out = fopen(argv[3], "w");
        if (!in || !out) { perror("fopen"); return 3; }
        for (int c; (c = fgetc(in)) != EOF;) fputc(toupper(c), out);
        fclose(in); fclose(out);
        return 0;
    }
    if (!strcmp(cmd, "stdin")) {
        for (int c; (c = getchar()) != EOF;) putchar(toupper(c));
        return 0;
    }
    if (!strcmp(cmd, "exit")) { fprintf(stderr, "exiting with %s\n", argv[2]); return atoi(argv[2]); }
    if (!strcmp(cmd, "alloc")) {  /* touched, so the compiler cannot drop the allocation */
        size_t n = (size_t)atoi(argv[2]) << 20;
        char *p = malloc(n);
        if (!p) { puts("null"); return 0; }
        memset(p, 7, n);
        printf("ok %d\n", p[n - 1]);
        return 0;
    }
    if (!strcmp(cmd, "spin")) { for (volatile unsigned long i = 0;; i++) {} }
    if (!strcmp(cmd, "trap")) __builtin_trap();
    return 2;
}
"""

FIXTURE_TESTS = """
import pytest
from wasitest.model import TrapKind

MODULE = {module!r}

def test_argv_and_stdout(wasi_run, wasi_runtime):
    ex = wasi_run(MODULE, "echo", "a b", "c")
    assert (ex.exit_code, ex.stdout, ex.trap) == (0, b"a b\\nc\\n", None)
    assert wasi_run.runtime == wasi_runtime

def test_only_the_given_environment(wasi_run):
    assert wasi_run(MODULE, "env", "GREETING", env={{"GREETING": "hi"}}).stdout == b"hi\\n"
    assert wasi_run(MODULE, "env", "HOME").stdout == b"(unset)\\n"

def test_files_in_a_fresh_preopened_scratch_dir(wasi_run):
    ex = wasi_run(MODULE, "upper", "data/in.txt", "out.txt", files={{"data/in.txt": "hello"}})
    assert ex.exit_code == 0, ex.stderr
    assert (wasi_run.scratch / "out.txt").read_text() == "HELLO"
    again = wasi_run(MODULE, "upper", "data/in.txt", "out.txt")
    assert again.exit_code == 3 and b"fopen" in again.stderr  # nothing of the first run is left
    assert wasi_run(MODULE, "upper", "x", "y", preopen=False).exit_code == 3  # no directory at all
    assert wasi_run(MODULE, "echo", "z", preopen=False).stdout == b"z\\n"

def test_stdin(wasi_run):
    assert wasi_run(MODULE, "stdin", stdin=b"abc").stdout == b"ABC"

def test_limits_and_traps(wasi_run):
    assert wasi_run(MODULE, "spin", timeout=1).trap is TrapKind.TIMEOUT
    assert wasi_run(MODULE, "alloc", "128", memory="64MiB").stdout == b"null\\n"
    assert wasi_run(MODULE, "alloc", "4", memory="64MiB").stdout == b"ok 7\\n"
    assert wasi_run(MODULE, "trap").trap is TrapKind.UNREACHABLE

def test_fails_on_purpose(wasi_run):
    ex = wasi_run(MODULE, "exit", "7")
    assert ex.exit_code == 0, ex.stderr.decode()
"""


@pytest.fixture(scope="module")
def probe_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """probe.c built to a WASI command module by the zig builder, as a suite would be."""
    folder = tmp_path_factory.mktemp("probe")
    (folder / "probe.c").write_text(PROBE_C)
    suite = SuiteConfig(name="probe", builder="zig", sources=("probe.c",), harness="exitcode", root=folder)
    builder = load_registry(os.environ).builders.get("zig")
    (artifact,) = builder.build(suite, BuildSession(folder, folder / ".wasitest" / "cache" / "build"))
    return Path(artifact.path)


def test_wasi_run_fixture_on_each_runtime(pytester: pytest.Pytester, probe_module: Path) -> None:
    pytester.makepyfile(test_probe=FIXTURE_TESTS.format(module=str(probe_module)))
    # In a process of its own: Wasmtime's trap handlers are process-wide, and an in-process
    # pytest run's faulthandler.disable() at its end would take them out of this process.
    result = pytester.runpytest_subprocess(*PLUGIN, "--wasi-runtimes", "wasmtime,node", "-v", timeout=300)
    result.assert_outcomes(passed=10, failed=2)
    result.stdout.fnmatch_lines(
        [
            "test_probe.py::test_argv_and_stdout[[]wasmtime] PASSED*",
            "test_probe.py::test_argv_and_stdout[[]node] PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(["E * AssertionError: exiting with 7", "E * assert 7 == 0*"])
    only_node = pytester.runpytest(*PLUGIN, "--wasi-runtimes", "wasmtime,node", "-m", "wasi_node", "--co", "-q")
    assert [line for line in collected(only_node) if line.startswith("test_probe")] == [
        f"test_probe.py::{name}[node]"
        for name in (
            "test_argv_and_stdout",
            "test_only_the_given_environment",
            "test_files_in_a_fresh_preopened_scratch_dir",
            "test_stdin",
            "test_limits_and_traps",
            "test_fails_on_purpose",
        )
    ]


def test_wasi_run_defaults_to_the_available_runtimes(pytester: pytest.Pytester, probe_module: Path) -> None:
    registry = load_registry(os.environ)
    available = [name for name in registry.runtimes.names() if registry.runtimes.get(name).info().available]
    pytester.makepyfile(
        test_probe=f"""
def test_echo(wasi_run):
    assert wasi_run({str(probe_module)!r}, "echo", "x").stdout == b"x\\n"
"""
    )
    result = pytester.runpytest(*PLUGIN, "--co", "-q")
    assert collected(result) == [f"test_probe.py::test_echo[{name}]" for name in available]


def test_entry_point_and_dash_p_load_one_plugin(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `pytest11` entry point as pyproject.toml declares it: named after the module, so
    `-p wasitest.pytest_plugin` next to it is the same plugin, not a second registration."""
    site = pytester.mkdir("site")
    dist = site / "wasitest_entry_point_probe-0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: wasitest-entry-point-probe\nVersion: 0.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nwasitest.pytest_plugin = wasitest.pytest_plugin\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), *sys.path]))
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    pytester.makepyfile(test_plain="def test_ok(): pass")
    for args in ((), ("-p", "wasitest.pytest_plugin")):
        result = pytester.runpytest_subprocess(*args, "-p", "no:hypothesispytest", "--no-wasi", "-q")
        result.assert_outcomes(passed=1)
        assert "already registered" not in result.stderr.str()


def _test_lines(result: pytest.RunResult) -> list[str]:
    """The `-v` lines of the items that ran, in the order they ran."""
    words = (" PASSED", " FAILED", " SKIPPED", " XFAIL", " XPASS", " ERROR")
    return [line for line in result.outlines if "::" in line and any(word in line for word in words)]


def test_the_nearest_project_and_the_rerun_options(
    pytester: pytest.Pytester, quickstart: Quickstart, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project inside a bigger repository whose pyproject.toml holds the pytest settings
    (so it is pytest's rootdir) and a wasitest configuration of its own: from the project's
    folder, or given its path, `pytest --wasi` uses the project's. Then pytest's habits:
    `--lf`, `--ff`, `--sw` and `--nf`."""
    monkeypatch.setenv("ZIG_GLOBAL_CACHE_DIR", ZIG_CACHE)
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\naddopts = "-ra"\n'
                               '[tool.wasitest.suites.other]\nbuilder = "zig"\nsources = ["nothing/*.c"]\n')
    project = pytester.path / "quickstart"
    shutil.copytree(quickstart.project, project)  # with its build cache
    given = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix", "quickstart", "--co", "-q")
    assert collected(given) == quickstart.ids()
    monkeypatch.chdir(project)
    total = len(quickstart.ids())
    failing = f"{DIVERGENT}[node]"
    first = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix")
    first.assert_outcomes(passed=total - 5, failed=1, skipped=2, xfailed=2)

    last_failed = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix", "--lf", "-v")
    last_failed.assert_outcomes(failed=1, deselected=total - 1)
    assert [failing in line for line in _test_lines(last_failed)] == [True]

    failed_first = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix", "--ff", "-v")
    failed_first.assert_outcomes(passed=total - 5, failed=1, skipped=2, xfailed=2)
    ran = _test_lines(failed_first)
    assert failing in ran[0] and len(ran) == total

    before = quickstart.ids().index(failing)
    stepwise = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix", "--sw", "-v")
    assert failing in _test_lines(stepwise)[-1] and len(_test_lines(stepwise)) == before + 1
    again = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix", "--sw", "-v")
    again.assert_outcomes(failed=1, deselected=before)  # it starts at the failure, and stops there again

    (project / "tests" / "extra.c").write_text('#include "wasitest.h"\nTEST(added_later) { CHECK(1); }\n')
    new_first = pytester.runpytest(*PLUGIN, "--wasi", "--wasi-matrix", "--nf", "-v")
    ran = _test_lines(new_first)
    assert ["unit/extra::added_later" in line for line in ran[:2]] == [True, True] and len(ran) == total + 2


def test_a_compile_error_in_full_with_the_option_that_works_in_pytest(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More errors than fit: the diagnostics are cut, and the hint names WASITEST_DEBUG=1
    (pytest's own --debug writes pytest's debug log); with it, every line is shown."""
    monkeypatch.setenv("ZIG_GLOBAL_CACHE_DIR", ZIG_CACHE)
    body = "".join(f"int f{i}(void) {{ return missing_{i}; }}\n" for i in range(30))
    pytester.makepyprojecttoml('[tool.wasitest.suites.s]\nbuilder = "zig"\nsources = ["t/*.c"]\n'
                               'flags = ["-ferror-limit=0"]\n')
    (pytester.path / "t").mkdir()
    (pytester.path / "t" / "a.c").write_text(body + "int main(void) { return 0; }\n")
    result = pytester.runpytest(*PLUGIN, "--wasi")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines([
        "t/a.c:1:*: error: use of undeclared identifier 'missing_0'",
        "    1 | int f0(void) { return missing_0; }",
        "t/a.c:2:*: error: use of undeclared identifier 'missing_1'",
        "... * more line(s)",
        "wasitest: t/a.c failed to build: t/a.c:1:*: error: use of undeclared identifier 'missing_0' "
        "(fix the compile error; WASITEST_DEBUG=1 shows every line of the compiler's output)",
    ])
    assert "--debug" not in result.stdout.str()
    monkeypatch.setenv("WASITEST_DEBUG", "1")
    everything = pytester.runpytest(*PLUGIN, "--wasi")
    everything.stdout.fnmatch_lines(["*'missing_29'", "30 errors generated.",
                                     "wasitest: t/a.c failed to build: *(fix the compile error)"])

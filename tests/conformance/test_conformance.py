"""The conformance battery (examples/conformance) on every runtime installed here.

These tests assert wasitest's contract, not the runtimes' quirks: each trap probe ends
`trapped` with its normalised kind (or `unsupported` where the runtime says it cannot run
the job), limits are enforced or the job is unsupported, output is captured in full up to
the cap and flagged as cut above it, a module sees only the environment granted and an
empty stdin unless given one. Where a runtime breaks the specification itself (pywasm's
UTF-8 arguments, say), docs/runtimes.md reports it; these tests look past it.

One real `wasitest run --matrix` of a subset of the battery's probes is shared by the
contract tests (the probes that sleep, touch files or exercise clocks, whose outcomes are the
runtimes' own business, are left out to keep the run short). Adapter gaps known today are
strict xfails: the day an adapter is fixed, the test says so.

The same probes run again as p2 components, in a `RUNTIME:p2` cell of every available
runtime whose info lists p2 (`P2_CELLS`), made by wasitest's own `component` plugin (jco):
the contract is the same for a component. Where a component really behaves differently
from its module (its exit status is ok or err only), the whole example is run in both
worlds and the differences are pinned (`WORLD_DIFFERENCES`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, ROOT
from wasitest.config import load_settings
from wasitest.model import Invocation
from wasitest.plugin import load_registry
from wasitest.plugins.harnesses.spec import read_spec
from wasitest.runner.build import expand_sources

EXAMPLE = EXAMPLES / "conformance"
PROBES = EXAMPLE / "probes"
DOC = ROOT / "docs" / "runtimes.md"
#: the limits the probes are written for (memory_limit.c, limit_memory_initial.c, output_*.c)
OUTPUT_CAP = 64 * 1024
MEMORY = "32MiB"
TRAP_TIMEOUT_S = 1.5

#: probe -> the normalised trap kind it must end with
TRAPS = {
    "trap_unreachable": "unreachable",
    "trap_oob_load": "memory_out_of_bounds",
    "trap_oob_store": "memory_out_of_bounds",
    "trap_stack_overflow": "stack_overflow",
    "trap_div_zero": "other",
    "trap_int_overflow": "other",
    "trap_indirect_mismatch": "other",
    "trap_indirect_null": "other",
}
TIMEOUTS = ("limit_timeout_spin", "limit_timeout_sleep")
#: (probe, runtime) -> why the adapter does not meet the contract yet
KNOWN_GAPS = {
    ("trap_stack_overflow", "wamr"): "WAMR's iwasm has no guard page for the native stack: it dies of SIGSEGV",
    ("trap_unreachable", "wamr"): "the WAMR port reports every trap as error.WasmTrap: the kind is lost",
    ("limit_timeout_sleep", "wasmtime"): (
        "epoch interruption cannot stop a guest blocked in a host call (poll_oneoff): the pool kills the "
        "worker after its grace period"
    ),
    ("limit_timeout_sleep", "wasmtime:p2"): (
        "epoch interruption cannot stop a component blocked in a host call (wasi:io/poll) either: the pool "
        "kills the worker after its grace period"
    ),
}


def _available(world: str = "p1") -> list[str]:
    """The available runtimes that run `world` (the battery's modules: p1)."""
    try:
        registry = load_registry()
        infos = [registry.runtimes.get(name).info() for name in registry.runtimes.names()]
        return [info.name for info in infos if info.available and world in info.worlds]
    except Exception:  # noqa: BLE001 - collection must not die of one broken adapter
        return ["wasmtime"]


RUNTIMES = _available()
#: the Wasmtime cells of the components' run: under CI they must run, not skip
CI_P2_CELLS = ("wasmtime:p2", "wasmtime-cli:p2")


def _p2_cells() -> list[str]:
    """`RUNTIME:p2` for every available runtime that runs p2 components; none where jco
    cannot make them (no Node), except under CI, where the Wasmtime ones must run."""
    cells = [f"{name}:p2" for name in _available("p2")] if shutil.which("node") is not None else []
    if os.environ.get("CI"):
        cells += [cell for cell in CI_P2_CELLS if cell not in cells]
    return cells


P2_CELLS = _p2_cells()
CELLS = RUNTIMES + P2_CELLS


def _cases(probes: Any) -> list[Any]:
    params = []
    for probe in probes:
        for runtime in CELLS:
            gap = KNOWN_GAPS.get((probe, runtime))
            marks = [pytest.mark.xfail(strict=True, reason=gap)] if gap else []
            params.append(pytest.param(probe, runtime, marks=marks, id=f"{probe}-{runtime}"))
    return params


CONTRACT_CONFIG = """
[tool.wasitest]
runtimes = {runtimes}
timeout = 20
memory = "{memory}"
output_cap = "{cap}"

[tool.wasitest.suites.contract]
builder = "spec"
sources = ["probes/output_*.c", "probes/env_*.c", "probes/stdin_read.c", "probes/memory_limit.c",
           "probes/sandbox_no_dirs.c"]

[tool.wasitest.suites.traps]
builder = "spec"
sources = ["probes/trap_*.c", "probes/limit_*.c"]
timeout = {trap_timeout}
"""

Results = dict[tuple[str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def contract_run(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """One `wasitest run --matrix` of the contract probes on every available runtime."""
    pytest.importorskip("ziglang")
    project = tmp_path_factory.mktemp("conformance")
    shutil.copytree(PROBES, project / "probes")
    (project / "pyproject.toml").write_text(
        CONTRACT_CONFIG.format(
            runtimes=json.dumps(RUNTIMES), memory=MEMORY, cap=f"{OUTPUT_CAP // 1024}KiB", trap_timeout=TRAP_TIMEOUT_S
        )
    )
    results = project / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", "--matrix", str(project), "-j", "2", "-q", "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert results.is_file(), proc.stdout + proc.stderr
    document = json.loads(results.read_text())
    found = {(r["artifact"].rsplit("/", 1)[-1], r["cell"]): r for r in document["results"]}
    if P2_CELLS:  # the same probes as components, in the same project (the modules are built)
        components = _run_cells(project, P2_CELLS, project / "results-p2.json")
        found |= {(r["artifact"].rsplit("/", 1)[-1], r["cell"]): r for r in components["results"]}
    return found


def _run_cells(project: Path, cells: list[str], results: Path) -> dict[str, Any]:
    """`wasitest run PROJECT --runtimes CELLS`: its results.json."""
    command = [sys.executable, "-m", "wasitest", "run", str(project), "--runtimes", ",".join(cells)]
    proc = subprocess.run(
        [*command, "-j", "2", "-q", "--results", str(results)],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert results.is_file(), proc.stdout + proc.stderr
    document: dict[str, Any] = json.loads(results.read_text())
    return document


def _result(run: Results, probe: str, runtime: str) -> dict[str, Any]:
    assert (probe, runtime) in run, f"no result for {probe} on {runtime}"
    return run[(probe, runtime)]


# ----------------------------------------------------------------------------- traps and limits


@pytest.mark.parametrize(("probe", "runtime"), _cases(TRAPS))
def test_trap_probes_trap_with_their_kind(contract_run: Results, probe: str, runtime: str) -> None:
    result = _result(contract_run, probe, runtime)
    if result["outcome"] == "unsupported":
        assert result["message"], "an unsupported job says why"
        return
    assert (result["outcome"], result["trap"]) == ("trapped", TRAPS[probe]), result["message"]
    assert "survived" not in result["stdout"]


@pytest.mark.parametrize(("probe", "runtime"), _cases(TIMEOUTS))
def test_time_limit_is_enforced_on_time(contract_run: Results, probe: str, runtime: str) -> None:
    """Busy or blocked in a WASI call, the module is stopped at the limit, not much later."""
    result = _result(contract_run, probe, runtime)
    if result["outcome"] == "unsupported":
        return
    assert result["outcome"] == "timeout", result
    assert TRAP_TIMEOUT_S * 0.9 <= result["duration_s"] <= TRAP_TIMEOUT_S * 2 + 2, result["duration_s"]


@pytest.mark.parametrize("runtime", CELLS)
def test_memory_limit_refuses_a_module_too_big_to_start(contract_run: Results, runtime: str) -> None:
    result = _result(contract_run, "limit_memory_initial", runtime)
    if result["outcome"] == "unsupported":
        return
    assert (result["outcome"], result["trap"]) == ("trapped", "memory_limit"), result


@pytest.mark.parametrize("runtime", CELLS)
def test_memory_limit_makes_growth_fail_softly(contract_run: Results, runtime: str) -> None:
    """memory.grow past the limit returns -1, malloc NULL, and the module goes on."""
    result = _result(contract_run, "memory_limit", runtime)
    if result["outcome"] == "unsupported":
        return
    assert result["outcome"] == "passed", result["message"]
    assert "grow by 64 MiB: refused" in result["stdout"]


# ----------------------------------------------------------------------------- output and input

#: probe -> (the stream it floods, how many bytes); it then reports the count on the other stream
OUTPUTS = {
    "output_below_cap": ("stdout", OUTPUT_CAP - 1),
    "output_at_cap": ("stdout", OUTPUT_CAP),
    "output_over_cap": ("stdout", OUTPUT_CAP + 1),
    "output_flood": ("stdout", 8 << 20),
    "output_stderr_over_cap": ("stderr", OUTPUT_CAP + 1),
}


@pytest.mark.parametrize(("probe", "runtime"), _cases(OUTPUTS))
def test_output_is_kept_up_to_the_cap_and_flagged_above(contract_run: Results, probe: str, runtime: str) -> None:
    result = _result(contract_run, probe, runtime)
    stream, written = OUTPUTS[probe]
    other = "stderr" if stream == "stdout" else "stdout"
    assert result["outcome"] == "passed", result["message"]
    assert result[stream] == "x" * min(written, OUTPUT_CAP)
    assert result.get(f"{stream}_truncated", False) is (written > OUTPUT_CAP)
    assert result[other] == f"wrote {written} bytes to {stream}\n"
    assert result.get(f"{other}_truncated", False) is False


@pytest.mark.parametrize("runtime", CELLS)
def test_environment_is_only_what_was_granted(contract_run: Results, runtime: str) -> None:
    none = _result(contract_run, "env_none", runtime)
    assert none["stdout"] == "variables: 0\n", none["stdout"]
    granted = _result(contract_run, "env_granted", runtime)
    lines = granted["stdout"].splitlines()
    assert lines[0] == "variables: 4"
    names = [re.match(r'entry: "([^=]*)=', line) for line in lines[1:]]
    assert sorted(m.group(1) for m in names if m) == ["WT_EMPTY", "WT_EQUALS", "WT_ONE", "WT_UNICODE"]


@pytest.mark.parametrize("runtime", CELLS)
def test_no_host_file_is_reachable_without_a_preopen(contract_run: Results, runtime: str) -> None:
    result = _result(contract_run, "sandbox_no_dirs", runtime)
    assert result["outcome"] == "passed", result["message"]
    assert "OPENED" not in result["stdout"]


@pytest.mark.parametrize("runtime", CELLS)
def test_stdin_is_empty_unless_given(contract_run: Results, runtime: str) -> None:
    result = _result(contract_run, "stdin_read", runtime)
    assert result["outcome"] == "passed", result["message"]
    assert "bytes: 0\n" in result["stdout"]


def _fnv1a(data: bytes) -> str:
    value = 1469598103934665603
    for byte in data:
        value = ((value ^ byte) * 1099511628211) % (1 << 64)
    return f"{value:016x}"


@pytest.fixture(scope="module")
def stdin_module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("ziglang")
    out = tmp_path_factory.mktemp("stdin") / "stdin_read.wasm"
    cmd = [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        "--target=wasm32-wasi",
        "-O2",
        "-s",
        f"-I{PROBES}",
        "-o",
        str(out),
        str(PROBES / "stdin_read.c"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(params=RUNTIMES)
def session(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    name = str(request.param)
    opened = load_registry().runtimes.get(name).open_session(tmp_path / "cache")
    yield name, opened
    opened.close()


def test_stdin_small_and_large_arrive_whole(session: tuple[str, Any], stdin_module: Path) -> None:
    """Given bytes on stdin, the module reads exactly them (or the job is unsupported)."""
    name, opened = session
    # 9 bytes, then 300 KiB (pywasm, which interprets the probe's checksum loop in Python, gets
    # 66 KiB: still more than one 64 KiB read)
    large = bytes(range(256)) * (264 if name == "pywasm" else 1200)
    for data in (b"hello\n\x00\xff", large):
        execution = opened.run(
            Invocation(module=stdin_module, argv=("stdin_read", str(len(data))), stdin=data, timeout_s=60)
        )
        if execution.unsupported:
            assert "stdin" in execution.unsupported
            continue
        assert execution.exit_code == 0, (name, execution)
        assert f"bytes: {len(data)}\nfnv1a: {_fnv1a(data)}\n" in execution.stdout.decode()


# ----------------------------------------------------------------------------- p1 against p2

#: the runtimes that run both worlds, whose modules and components are compared
WORLD_RUNTIMES = ("wasmtime", "wasmtime-cli")
#: probe -> how it differs as a p2 component from the p1 module it is made of, on one runtime
WORLD_DIFFERENCES = {
    "wasi/exit_3": "exit(3) arrives as 1: a component's wasi:cli/run ends ok or err (the example xfails it on p2)",
    "wasi/exit_126": "exit(126) is 1; Wasmtime refuses the module's proc_exit(126) (a trap)",
    "wasi/exit_255": "exit(255) is 1; Wasmtime refuses the module's proc_exit(255) (a trap)",
    "exit_range/exit_over_256": "exit(256) is 1; the module's status is refused (a trap): xfailed both ways",
    "exit_range/exit_over_2pow30": "exit(1 << 30) is 1; the module's status is refused (a trap): xfailed both ways",
    "exit_range/exit_over_minus1": "exit(-1) is 1; the module's status is refused (a trap): xfailed both ways",
}


def _world_project(folder: Path) -> Path:
    """The example without its traps suite (the contract run covers those in both worlds),
    with its settings and expectations."""
    tool = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["tool"]["wasitest"]

    def table(header: str, keys: dict[str, Any]) -> str:  # JSON strings, numbers and lists are TOML
        return "\n".join([header, *(f"{key} = {json.dumps(value)}" for key, value in keys.items())]) + "\n"

    tables = [table("[tool.wasitest]", {key: tool[key] for key in ("timeout", "memory", "output_cap")})]
    tables += [table(f"[tool.wasitest.suites.{name}]", tool["suites"][name]) for name in ("wasi", "exit_range")]
    tables += [table("[[tool.wasitest.expect]]", entry) for entry in tool.get("expect", [])]
    shutil.copytree(PROBES, folder / "probes")
    (folder / "pyproject.toml").write_text("\n".join(tables))
    return folder


def test_components_differ_from_their_modules_only_in_exit_status(tmp_path: Path) -> None:
    """Every probe of the example as a module and as a p2 component, on both Wasmtimes: the
    diff's `world` divergences are exactly `WORLD_DIFFERENCES`, each an exit status of 1 on
    p2; every other probe has the same outcome, exit status and output in both worlds."""
    missing = [cell for cell in (*WORLD_RUNTIMES, *(f"{r}:p2" for r in WORLD_RUNTIMES)) if cell not in CELLS]
    if missing:
        pytest.skip(f"cannot run {', '.join(missing)} here")
    pytest.importorskip("ziglang")
    cells = [*WORLD_RUNTIMES, *(f"{runtime}:p2" for runtime in WORLD_RUNTIMES)]
    document = _run_cells(_world_project(tmp_path / "project"), cells, tmp_path / "results.json")
    world = {d["artifact"] for d in document["divergences"] if d["scope"] == "world"}
    assert world == set(WORLD_DIFFERENCES), [d for d in document["divergences"] if d["scope"] == "world"]
    results = {(r["artifact"], r["cell"]): r for r in document["results"]}
    for runtime in WORLD_RUNTIMES:
        for (artifact, cell), module in results.items():
            if cell != runtime:
                continue
            component = results[(artifact, f"{runtime}:p2")]
            if artifact in WORLD_DIFFERENCES:
                assert (component["outcome"], component["exit_code"]) == ("xfailed", 1), component
            else:
                fields = ("outcome", "exit_code", "trap", "stdout", "stderr")
                assert {f: component[f] for f in fields} == {f: module[f] for f in fields}, (artifact, runtime)


# ----------------------------------------------------------------------------- the example itself


def test_example_runs_every_probe_in_exactly_one_suite() -> None:
    settings = load_settings(EXAMPLE, {})
    assert settings.memory == 32 * 1024 * 1024 and settings.output_cap == OUTPUT_CAP
    owners: dict[str, list[str]] = {}
    for suite in settings.suites:
        for source in expand_sources(suite):
            owners.setdefault(source.stem, []).append(suite.name)
    probes = {p.stem for p in PROBES.glob("*.c")}
    assert {name: suites for name, suites in owners.items() if len(suites) != 1} == {}
    assert set(owners) == probes
    assert set(TRAPS) | set(TIMEOUTS) <= probes
    for spec in PROBES.glob("*.json"):
        assert (PROBES / f"{spec.stem}.c").is_file(), f"{spec.name} has no probe"
        read_spec(spec, spec.name)


def test_runtimes_doc_is_the_battery_run() -> None:
    """docs/runtimes.md holds a matrix generated from a run of this battery: a row for every
    probe, a column for every runtime of the example, and the command that regenerates it."""
    text = DOC.read_text(encoding="utf-8")
    from wasitest.plugins.reporters.matrix_md import END_MARKER, START_MARKER

    block = text[text.index(START_MARKER) : text.index(END_MARKER)]
    header = next(line for line in block.splitlines() if line.startswith("| case |"))
    runtimes = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["tool"]["wasitest"]["runtimes"]
    assert [c.strip().replace("\\_", "_") for c in header.strip("|").split("|")[1:]] == runtimes
    rows = {m.group(1).replace("\\_", "_") for m in re.finditer(r"^\| [\w\\-]+/([\w\\]+) \|", block, re.MULTILINE)}
    assert rows == {p.stem for p in PROBES.glob("*.c")}
    assert "wasitest run examples/conformance --matrix" in text


# ----------------------------------------------------------------------------- the matrix reporter


def _document() -> Any:
    from wasitest.model import Cell, Outcome, Result
    from wasitest.results import ResultsDocument

    cells = [Cell("alpha", runtime_version="alpha 1.0", platform="linux-x86_64"), Cell("beta"), Cell("gamma")]

    def result(case: str, cell: str, outcome: Outcome, artifact: str = "", **fields: Any) -> Result:
        return Result(artifact=artifact or f"s/{case}", case=case, cell=cell, outcome=outcome, **fields)

    results = [
        result("same", "alpha", Outcome.PASSED, exit_code=0, stdout="a\n"),
        result("same", "beta", Outcome.PASSED, exit_code=0, stdout="a\n"),
        result("same", "gamma", Outcome.PASSED, exit_code=0, stdout="a\n"),
        result("piped", "alpha", Outcome.PASSED, exit_code=0, stdout="x: 1\ny: 2\n"),
        result("piped", "beta", Outcome.PASSED, exit_code=0, stdout="x: 1\ny: 2\n"),
        result("piped", "gamma", Outcome.PASSED, exit_code=0, stdout="x: 1\ny: a|b <c>\n"),
        result(
            "broke",
            "alpha",
            Outcome.FAILED,
            exit_code=1,
            message='exit code 1, expected 0 (stderr: FAIL t.c:9: argv[1] is "a|b"\nsecond line)',
        ),
        result("broke", "beta", Outcome.TRAPPED, trap="other", message="other: wasm trap: integer divide by zero"),
        result("broke", "gamma", Outcome.UNSUPPORTED, message="gamma cannot enforce or provide: preopen"),
        result(
            "slow", "alpha", Outcome.TIMEOUT, trap="timeout", duration_s=3.04, message="exceeded the 3 s time limit"
        ),
        result("slow", "beta", Outcome.XFAILED, trap="timeout", duration_s=13.2),
        result("slow", "gamma", Outcome.XPASSED, exit_code=0),
        result("adds", "alpha", Outcome.PASSED, artifact="s/prog", exit_code=3),
    ]
    return ResultsDocument(cells=cells, results=results, started="2025-01-02T03:04:05+00:00")


def _rows(text: str) -> dict[str, list[str]]:
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| ---"):
            parts = [p.strip() for p in re.split(r"(?<!\\)\|", line)[1:-1]]
            rows[parts[0]] = parts[1:]
    return rows


def test_matrix_has_a_row_per_case_and_a_column_per_cell() -> None:
    from wasitest.plugins.reporters.matrix_md import END_MARKER, START_MARKER, render_matrix_markdown

    text = render_matrix_markdown(_document())
    assert text.startswith(START_MARKER) and text.rstrip().endswith(END_MARKER)
    assert "2025-01-02 03:04:05 UTC" in text and "| alpha | alpha 1.0 | linux-x86\\_64 |" in text
    rows = _rows(text)
    assert rows["case"] == ["alpha", "beta", "gamma"]
    for case in ("s/same", "s/piped", "s/broke", "s/slow", "s/prog::adds"):
        assert len(rows[case]) == 3, (case, rows[case])
    assert rows["s/same"] == ["✅ passed"] * 3
    assert rows["s/prog::adds"] == ["✅ passed: exit 3", "—", "—"]


def test_matrix_entries_say_why_in_a_few_words() -> None:
    from wasitest.plugins.reporters.matrix_md import render_matrix_markdown

    rows = _rows(render_matrix_markdown(_document()))
    # the first line of output that differs from the majority, escaped: no raw pipe or HTML
    assert rows["s/piped"][2] == "✅ passed: stdout: y: a\\|b &lt;c&gt;"
    assert rows["s/piped"][:2] == ["✅ passed", "✅ passed"]
    failed, trapped, unsupported = rows["s/broke"]
    assert failed == '❌ failed: exit 1 · argv\\[1\\] is "a\\|b"'
    assert trapped == "💥 trapped: other: integer divide by zero"
    assert unsupported == "🚫 unsupported: needs preopen"
    assert rows["s/slow"] == ["⏱️ timeout: after 3.0 s", "☑️ xfailed: timeout after 13.2 s", "❗ xpassed: exit 0"]


def test_matrix_details_never_break_the_table() -> None:
    """Pipes, newlines and markup in messages stay inside their cell."""
    from wasitest.model import Outcome, Result
    from wasitest.plugins.reporters.matrix_md import entry, escape

    assert escape("a|b\nc\r\nd  e") == "a\\|b c d e"
    assert escape("*x* `y` [z] <b> _u_ \\") == "\\*x\\* \\`y\\` \\[z\\] &lt;b&gt; \\_u\\_ \\\\"
    long = Result("s/a", "a", "c", Outcome.ERROR, message="boom | " * 40 + "\nnext line")
    text = entry(long)
    assert "\n" not in text and len(text) < 200 and text.endswith("…")
    assert all(part.endswith("\\") for part in text.split("|")[:-1])


def test_matrix_is_written_between_the_markers_of_an_existing_file(tmp_path: Path) -> None:
    from wasitest.plugins.reporters.matrix_md import END_MARKER, START_MARKER, write_matrix_markdown

    fresh = tmp_path / "fresh.md"
    write_matrix_markdown(_document(), fresh)
    assert fresh.read_text().startswith(START_MARKER)
    kept = tmp_path / "doc.md"
    kept.write_text(f"# Title\n\nbefore\n\n{START_MARKER}\nold table\n{END_MARKER}\n\nafter, by hand\n")
    write_matrix_markdown(_document(), kept)
    text = kept.read_text()
    assert text.startswith("# Title\n\nbefore\n\n" + START_MARKER)
    assert text.endswith(f"{END_MARKER}\n\nafter, by hand\n")
    assert "old table" not in text and "| s/piped |" in text
    assert text.count(START_MARKER) == 1


def test_matrix_reporter_is_registered_and_follows_its_setting(tmp_path: Path) -> None:
    from wasitest.config import Settings

    factory = load_registry().reporters["matrix-md"]
    assert factory(Settings(project_dir=tmp_path)) is None
    reporter = factory(Settings(project_dir=tmp_path, extra={"matrix_md": str(tmp_path / "m.md")}))
    assert reporter is not None and reporter.path == tmp_path / "m.md"

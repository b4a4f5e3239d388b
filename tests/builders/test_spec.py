"""The `spec` builder and harness (the wasi-testsuite layout): modules built from C sources
in the repo, run for real through the CLI; verdicts, folders and malformed specs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, copy_example, write_project
from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, InputError
from wasitest.plugins.builders import spec as spec_builder
from wasitest.plugins.builders.spec import SpecBuilder
from wasitest.plugins.harnesses.spec import first_difference
from wasitest.runner.build import BuildSession, sha256_file

SPEC_SUITE = '[tool.wasitest.suites.spec]\nbuilder = "spec"\nsources = ["t/*.c"]\ntimeout = 10\n'

SAY = r"""
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) puts(argv[i]);
    const char *code = getenv("CODE");
    fprintf(stderr, "bye\n");
    if (code && code[0] == 't') __builtin_trap();
    return code ? atoi(code) : 0;
}
"""


def results(project: Path) -> dict[tuple[str, str], dict[str, Any]]:
    doc = json.loads((project / "results.json").read_text())
    return {(r["case"], r["cell"]): r for r in doc["results"]}


def spec_project(root: Path, specs: dict[str, object]) -> Path:
    """One C program (`say`) built once per spec: `t/NAME.c` is SAY, `t/NAME.json` the spec."""
    files: dict[str, str | bytes] = {}
    for name, spec in specs.items():
        files[f"t/{name}.c"] = SAY
        files[f"t/{name}.json"] = spec if isinstance(spec, str) else json.dumps(spec)
    return write_project(root, SPEC_SUITE, files)


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = copy_example("wasi-spec", tmp_path_factory.mktemp("spec"))
    proc = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", "--matrix", str(project), "--results", str(project / "results.json")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**{k: v for k, v in os.environ.items() if k != "WASITEST_DEBUG"}, "NO_COLOR": "1"},
    )
    return project, proc


def test_example_passes_on_the_matrix(example_run: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, proc = example_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = results(project)
    names = {"args", "env", "exit_code", "fizzbuzz", "read_dir", "root", "no_spec"}
    assert set(got) == {(n, cell) for n in names for cell in ("wasmtime", "node")}
    assert {r["outcome"] for r in got.values()} == {"passed"}
    assert got[("exit_code", "node")]["exit_code"] == 3
    assert got[("args", "wasmtime")]["stdout"] == "hello wasi world\n"


def test_example_folders_are_copies_without_cleanup_files(
    example_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    project, _ = example_run
    got = results(project)
    for cell in ("wasmtime", "node"):
        assert "stale.cleanup: absent" in got[("read_dir", cell)]["stdout"]
        assert "preopen fs-tests.dir: yes" in got[("read_dir", cell)]["stdout"]
        assert got[("root", cell)]["stdout"] == "welcome to a tiny root\n/tmp absent\n"
    data = project / "tests" / "fs-tests.dir"
    # the test wrote into its copy; the project's folder is as it was, leftover included
    assert sorted(p.name for p in data.iterdir()) == ["hello.txt", "stale.cleanup"]


def test_verdicts_compare_exit_code_and_output(tmp_path: Path, run_cli: RunCli) -> None:
    project = spec_project(
        tmp_path / "p",
        {
            "ok": {"args": ["a", "b"], "stdout": "a\nb\n", "stderr": "bye\n"},
            "wrong_stdout": {"args": ["a", "c"], "stdout": "a\nb\n"},
            "short_stdout": {"args": ["a"], "stdout": "a\nb\n"},
            "wrong_exit": {"env": {"CODE": "1"}, "exit_code": 3},
            "expected_exit": {"env": {"CODE": "3"}, "exit_code": 3, "stdout": ""},
            "wrong_stderr": {"stderr": "bye"},
            "unchecked_output": {"args": ["anything"]},
            "traps": {"env": {"CODE": "trap"}},
        },
    )
    proc = run_cli("run", str(project), "--results", str(project / "results.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    got = {case: (r["outcome"], r["message"]) for (case, _), r in results(project).items()}
    outcome, message = got.pop("traps")
    assert outcome == "trapped" and message.startswith("unreachable: ")
    assert got == {
        "ok": ("passed", ""),
        "expected_exit": ("passed", ""),
        "unchecked_output": ("passed", ""),
        "wrong_stdout": ("failed", "stdout line 2: expected 'b\\n', got 'c\\n'"),
        "short_stdout": ("failed", "stdout line 2: expected 'b\\n', got end of output"),
        "wrong_exit": ("failed", "exit code 1, expected 3 (stderr: bye)"),
        "wrong_stderr": ("failed", "stderr line 1: expected 'bye', got 'bye\\n'"),
    }
    assert "spec/wrong_stdout::wrong_stdout" in proc.stdout


def test_editing_a_spec_changes_the_next_run(tmp_path: Path, run_cli: RunCli) -> None:
    project = spec_project(tmp_path / "p", {"say": {"args": ["x"], "stdout": "x\n"}})
    assert run_cli("run", str(project)).returncode == 0
    (project / "t" / "say.json").write_text(json.dumps({"args": ["x"], "stdout": "y\n"}))
    proc = run_cli("run", str(project), "--results", str(project / "results.json"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert results(project)[("say", "wasmtime")]["message"] == "stdout line 1: expected 'y\\n', got 'x\\n'"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ('{"args": ["x"],}', "t/bad.json: invalid JSON: "),
        ('["x"]', "t/bad.json: a spec must be a JSON object"),
        ('{"exitcode": 3}', "t/bad.json: unknown key 'exitcode' (did you mean 'exit_code'?)"),
        ('{"args": "x"}', "t/bad.json: `args` must be a list of strings"),
        ('{"exit_code": "3"}', "t/bad.json: `exit_code` must be a whole number"),
        ('{"dirs": ["../outside"]}', "t/bad.json: dirs: '../outside' is not a folder beside the spec"),
        ('{"dirs": ["missing.dir"]}', "t/bad.json: the folder 'missing.dir' it names does not exist beside it"),
        ('{"operations": []}', "t/bad.json: the `operations` form of wasi-testsuite specs is not supported"),
    ],
)
def test_a_malformed_spec_is_one_input_error_naming_the_file(
    tmp_path: Path, run_cli: RunCli, spec: str, expected: str
) -> None:
    project = spec_project(tmp_path / "p", {"bad": spec})
    proc = run_cli("run", str(project))
    assert proc.returncode == 7, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"wasitest: error: {expected}")


def zig_cc(source: Path, output: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(output), str(source)],
        check=True,
        capture_output=True,
    )


def test_a_folder_of_prebuilt_modules_with_specs_and_manifest(tmp_path: Path, run_cli: RunCli) -> None:
    """The layout wasi-testsuite ships: `.wasm` files, JSON beside them, a manifest."""
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest]\nruntimes = ["wasmtime", "node"]\n'
        '[tool.wasitest.suites.wasi]\nbuilder = "spec"\nsources = ["testsuite/*"]\n',
        {
            "src/say.c": SAY,
            "testsuite/say.json": json.dumps({"args": ["hi"], "stdout": "hi\n", "dirs": ["data.dir"]}),
            "testsuite/data.dir/file.txt": "x",
            "testsuite/data.dir/old.cleanup": "left over",
            "testsuite/manifest.json": json.dumps({"name": "my WASI tests"}),
            "testsuite/out.cleanup": "left by an earlier run of another runner",
        },
    )
    zig_cc(project / "src" / "say.c", project / "testsuite" / "say.wasm")
    zig_cc(project / "src" / "say.c", project / "testsuite" / "plain.wasm")
    suite = SuiteConfig(name="wasi", builder="spec", sources=("testsuite/*",), harness="", root=project)
    session = BuildSession(project, tmp_path / "cache")
    say, plain = sorted(SpecBuilder().build(suite, session), key=lambda a: a.name, reverse=True)
    assert (say.name, say.harness, say.toolchain, say.path) == (
        "say",
        "spec",
        "prebuilt",
        project / "testsuite" / "say.wasm",
    )
    assert say.extra["title"] == "my WASI tests" and say.extra["spec_file"] == "testsuite/say.json"
    assert say.source_dir is None  # the module's folder is never granted in place
    staged = Path(say.extra["data"]["data.dir"])
    assert sorted(p.name for p in staged.iterdir()) == ["file.txt"]  # *.cleanup left behind
    assert plain.extra["spec"] == {"args": [], "env": {}, "dirs": [], "exit_code": 0}
    proc = run_cli("run", "--matrix", str(project), "--results", str(project / "results.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = {key: r["outcome"] for key, r in results(project).items()}
    assert got == {(case, cell): "passed" for case in ("say", "plain") for cell in ("wasmtime", "node")}


def test_a_second_build_reads_only_what_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Specs and modules are remembered by their files' stamps: a suite of thousands of
    modules does not re-read and re-hash them all every run, and an edit is still seen."""
    project = write_project(tmp_path / "p", "", {"src/say.c": SAY, "t/manifest.json": json.dumps({"name": "n"})})
    for name in ("a", "b"):
        zig_cc(project / "src" / "say.c", project / "t" / f"{name}.wasm")
        (project / "t" / f"{name}.json").write_text(json.dumps({"args": [name]}))
    suite = SuiteConfig(name="s", builder="spec", sources=("t/*.wasm",), harness="", root=project)
    session = BuildSession(project, tmp_path / "cache")
    first = {a.name: a for a in SpecBuilder().build(suite, session)}
    assert first["a"].extra["spec"]["args"] == ["a"] and first["a"].sha256 == first["b"].sha256

    read: list[Path] = []
    real_read_spec = spec_builder.read_spec
    monkeypatch.setattr(spec_builder, "read_spec", lambda path, label: read.append(path) or real_read_spec(path, label))
    monkeypatch.setattr(spec_builder, "sha256_file", lambda path: pytest.fail(f"{path} hashed again"))
    assert {a.name: a for a in SpecBuilder().build(suite, session)} == first
    assert read == []

    (project / "t" / "b.json").write_text(json.dumps({"args": ["b", "again"]}))
    monkeypatch.setattr(spec_builder, "sha256_file", sha256_file)
    again = {a.name: a for a in SpecBuilder().build(suite, session)}
    assert read == [project / "t" / "b.json"]
    assert again["b"].extra["spec"]["args"] == ["b", "again"] and again["a"] == first["a"]

    (project / "t" / "a.wasm").write_bytes((project / "t" / "a.wasm").read_bytes()[:100])
    with pytest.raises(InputError, match=r"a\.wasm is not a valid module"):  # a changed module is read again
        SpecBuilder().build(suite, session)
    (project / "t" / "manifest.json").write_text(json.dumps({"name": "renamed"}))
    zig_cc(project / "src" / "say.c", project / "t" / "a.wasm")
    assert {a.extra["title"] for a in SpecBuilder().build(suite, session)} == {"renamed"}


def test_spec_builder_refuses_other_files_and_a_broken_manifest(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "", {"t/a.txt": "x", "t/m/x.c": SAY, "t/m/manifest.json": "{"})
    session = BuildSession(project, tmp_path / "cache")
    with pytest.raises(BuildError, match=r"cannot use a\.txt"):
        SpecBuilder().build(SuiteConfig("s", "spec", ("t/*",), "", project), session)
    with pytest.raises(InputError, match=r"t/m/manifest\.json: invalid JSON"):
        SpecBuilder().build(SuiteConfig("s", "spec", ("t/m/*.c",), "", project), session)


@pytest.mark.skipif(
    shutil.which("clang-14") is None,
    reason="clang-14 is not installed (apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32)",
)
def test_example_built_by_clang_passes_too(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("wasi-spec", tmp_path)
    config = project / "pyproject.toml"
    config.write_text(config.read_text().replace('builder = "spec"', 'builder = "spec"\ntoolchain = "clang"'))
    proc = run_cli("run", str(project), "--results", str(project / "results.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((project / "results.json").read_text())
    assert {a["toolchain"].split(" version")[0] for a in doc["artifacts"]} == {"Debian clang"}
    assert len(doc["results"]) == 7


def test_first_difference_shows_line_endings() -> None:
    assert first_difference("stdout", "a\nb", "a\nb\n") == "stdout line 2: expected 'b', got 'b\\n'"
    assert first_difference("stderr", "", "oops\n") == "stderr line 1: expected end of output, got 'oops\\n'"
    message = first_difference("stdout", "x" * 500, "y")
    assert message.endswith("got 'y'") and len(message) < 200


def test_a_bundle_carries_the_spec_folders(
    example_run: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path, run_cli: RunCli
) -> None:
    """Built once (the example's build is cached), run from the bundle alone: the folders the
    specs name travel inside it."""
    project, _ = example_run
    bundle = tmp_path / "bundle"
    proc = run_cli("build", "--out", str(bundle), str(project))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    away = tmp_path / "away"
    shutil.move(project, away)  # neither the sources nor the build cache are there for the run
    try:
        out = tmp_path / "out"
        out.mkdir()
        args = ("run", "--bundle", str(bundle), "--runtimes", "wasmtime", str(out), "--results", str(out / "r.json"))
        proc = run_cli(*args)
    finally:
        shutil.move(away, project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads((out / "r.json").read_text())
    outcomes = {r["case"]: (r["outcome"], r["stdout"]) for r in doc["results"]}
    assert outcomes["read_dir"][0] == "passed" and "hello from a data folder" in outcomes["read_dir"][1]
    assert outcomes["root"] == ("passed", "welcome to a tiny root\n/tmp absent\n")

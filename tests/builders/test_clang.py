"""The `clang` builder (Debian clang 14 + wasi-libc) and the `c` builder that picks zig or
clang per suite: real compilers, real modules, run for real through the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import RunCli, copy_example, write_project
from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ConfigError, ToolchainMissing
from wasitest.plugin import load_registry
from wasitest.plugins.builders import clang as clang_builder
from wasitest.plugins.builders.c import CBuilder
from wasitest.plugins.builders.clang import ClangBuilder, find_clang, missing_part, probe
from wasitest.runner.build import BuildSession, sha256_file
from wasitest.wasmbin import inspect

APT = "apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32"
needs_clang = pytest.mark.skipif(shutil.which("clang-14") is None, reason=f"clang-14 is not installed ({APT})")

C_TEST = r"""
#include "wasitest.h"
#include "helper.h"
TEST(adds) { CHECK_EQ_INT(twice(21), 42); }
TEST(fails) { CHECK_EQ_INT(twice(2), 5); }
"""
CXX_TEST = r"""
#include <string>
#include <vector>
#include "wasitest.h"
TEST(strings) {
    std::vector<std::string> v{"a", "b"};
    CHECK_EQ_INT(v.size(), 2);
    CHECK_EQ_STR((v[0] + v[1]).c_str(), "ab");
}
"""
HELPER = "static int twice(int x) { return 2 * x; }\n"


def suite_for(
    root: Path, builder: str = "clang", toolchain: str = "", sources: tuple[str, ...] = ("t/*.c", "t/*.cpp")
) -> SuiteConfig:
    return SuiteConfig(name="s", builder=builder, sources=sources, harness="clist", root=root, toolchain=toolchain)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "p", "", {"t/calc.c": C_TEST, "t/helper.h": HELPER, "t/words.cpp": CXX_TEST})


@needs_clang
def test_builds_c_and_cxx_into_wasi_commands_and_caches_them(project: Path) -> None:
    session = BuildSession(project, project / ".wasitest" / "cache" / "build")
    artifacts = ClangBuilder().build(suite_for(project), session)
    assert [a.name for a in artifacts] == ["calc", "words"]
    assert session.built == 2 and session.reused == 0
    for artifact in artifacts:
        assert artifact.toolchain.startswith("Debian clang version 14")
        assert artifact.harness == "clist"
        assert artifact.sha256 == sha256_file(artifact.path)
        info = inspect(artifact.path.read_bytes())
        assert info.exports_start and not info.is_component
    # __FILE__ is project-relative (-fmacro-prefix-map): the binary holds no path of this machine
    data = artifacts[0].path.read_bytes()
    assert b"t/calc.c" in data and str(project).encode() not in data

    again = BuildSession(project, session.cache_dir)
    assert [a.path for a in ClangBuilder().build(suite_for(project), again)] == [a.path for a in artifacts]
    assert (again.built, again.reused) == (0, 2)

    (project / "t" / "helper.h").write_text("static int twice(int x) { return x + x; }\n")  # a header beside it
    third = BuildSession(project, session.cache_dir)
    ClangBuilder().build(suite_for(project), third)
    assert (third.built, third.reused) == (2, 0)  # every source of the folder may include it
    fourth = BuildSession(project, session.cache_dir)
    ClangBuilder().build(replace(suite_for(project), flags=("-O1",)), fourth)
    assert (fourth.built, fourth.reused) == (2, 0)


@needs_clang
def test_compile_error_is_one_build_error_naming_the_file(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "", {"t/bad.c": "int main(void) { return undefined_name; }\n"})
    with pytest.raises(BuildError) as err:
        ClangBuilder().build(suite_for(project), BuildSession(project, tmp_path / "cache"))
    line = err.value.one_line()
    assert "\n" not in line
    assert line.startswith("t/bad.c failed to build: ") and "undefined_name" in line


def test_missing_clang_is_toolchain_missing_with_the_apt_packages(tmp_path: Path) -> None:
    with pytest.raises(ToolchainMissing) as err:
        find_clang(search_path=str(tmp_path))
    assert err.value.hint == APT
    assert "\n" not in err.value.one_line()


@needs_clang
def test_a_missing_wasi_libc_or_libcxx_is_named_from_clangs_own_errors(tmp_path: Path) -> None:
    cc, version = find_clang()
    assert "clang version" in version
    empty = tmp_path / "empty-sysroot"
    empty.mkdir()
    # the real errors of a clang whose wasm32-wasi sysroot is empty, and one without libc++ headers
    errors = probe((cc, f"--sysroot={empty}"), clang_builder.PROBE_C, ".c")
    assert errors and missing_part(errors) == "wasi-libc"
    errors = probe((cc, "--driver-mode=g++", "-nostdinc++"), clang_builder.PROBE_CXX, ".cpp")
    assert errors and missing_part(errors) == "libc++ for wasm32"
    assert probe((cc,), clang_builder.PROBE_C, ".c") == ""


def test_clang_builder_refuses_other_sources(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "", {"t/x.zig": "test {}\n"})
    with pytest.raises(BuildError, match=r"cannot build x\.zig"):
        ClangBuilder().build(suite_for(project, sources=("t/*",)), BuildSession(project, tmp_path / "cache"))


@needs_clang
def test_c_builder_dispatches_on_the_suite_toolchain(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "", {"t/calc.c": C_TEST, "t/helper.h": HELPER})
    session = BuildSession(project, tmp_path / "cache")
    (by_zig,) = CBuilder().build(suite_for(project, "c", "zig"), session)
    (by_default,) = CBuilder().build(suite_for(project, "c", ""), session)
    (by_clang,) = CBuilder().build(suite_for(project, "c", "clang"), session)
    assert by_zig.toolchain.startswith("zig ") and by_default.toolchain == by_zig.toolchain
    assert by_clang.toolchain.startswith("Debian clang version 14")
    assert by_zig.sha256 != by_clang.sha256  # two compilers, two different modules


def test_c_builder_rejects_an_unknown_toolchain_and_zig_sources(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", "", {"t/calc.c": C_TEST, "t/x.zig": "test {}\n"})
    session = BuildSession(project, tmp_path / "cache")
    with pytest.raises(ConfigError) as err:
        CBuilder().build(suite_for(project, "c", "clnag", ("t/*.c",)), session)
    assert "unknown toolchain 'clnag'" in err.value.message and "did you mean 'clang'" in err.value.message
    with pytest.raises(BuildError, match=r"builds C and C\+\+, not x\.zig"):
        CBuilder().build(suite_for(project, "c", "zig", ("t/*",)), session)


def test_builders_and_harness_are_registered() -> None:
    registry = load_registry({"WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert {"c", "clang", "spec"} <= set(registry.builders.names())
    assert "spec" in registry.harnesses.names()


@needs_clang
def test_c_cpp_example_on_the_matrix(tmp_path: Path, run_cli: RunCli) -> None:
    project = copy_example("c-cpp", tmp_path)
    results = project / "results.json"
    proc = run_cli("run", "--matrix", str(project), "--results", str(results), timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(results.read_text())
    assert [c["runtime"] for c in doc["cells"]] == ["wasmtime", "node"]
    toolchains = {a["id"]: a["toolchain"] for a in doc["artifacts"]}
    assert set(toolchains) == {f"{s}/{n}" for s in ("zig", "clang") for n in ("ring", "text", "shapes")}
    assert all(t.startswith("zig ") for i, t in toolchains.items() if i.startswith("zig/"))
    assert all(t.startswith("Debian clang") for i, t in toolchains.items() if i.startswith("clang/"))
    outcomes = {(r["artifact"], r["case"], r["cell"]): r["outcome"] for r in doc["results"]}
    # every case of each toolchain's build, on each runtime, and the same cases for both toolchains
    cases = {(a.split("/")[1], c) for a, c, _ in outcomes}
    assert ("shapes", "virtual_dispatch") in cases and ("ring", "wraps_around") in cases and len(cases) == 11
    assert len(outcomes) == 2 * 2 * len(cases)
    assert set(outcomes.values()) == {"passed"}
    assert not doc["divergences"]


@needs_clang
def test_a_failing_clang_built_case_reports_the_project_relative_line(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest.suites.s]\nbuilder = "c"\ntoolchain = "clang"\nsources = ["t/*.c"]\nharness = "clist"\n',
        {"t/calc.c": C_TEST, "t/helper.h": HELPER},
    )
    results = project / "results.json"
    proc = run_cli("run", str(project), "--results", str(results))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    by_case = {r["case"]: r for r in json.loads(results.read_text())["results"]}
    assert by_case["adds"]["outcome"] == "passed"
    line = next(n for n, text in enumerate(C_TEST.splitlines(), 1) if "twice(2), 5" in text)
    assert by_case["fails"]["message"] == f"t/calc.c:{line}: check failed: twice(2) == 5 (4 != 5)"


def test_toolchain_missing_reaches_the_cli_as_exit_5(tmp_path: Path, run_cli: RunCli) -> None:
    project = write_project(
        tmp_path / "p",
        '[tool.wasitest.suites.s]\nbuilder = "clang"\nsources = ["t/*.c"]\n',
        {"t/calc.c": C_TEST, "t/helper.h": HELPER},
    )
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = run_cli("run", str(project), env={"PATH": str(empty)})  # no clang on PATH
    assert proc.returncode == 5, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "needs clang" in line and APT in line


@needs_clang
def test_clang_version_is_what_the_cache_key_and_manifest_see() -> None:
    found = clang_builder.clang()
    proc = subprocess.run([found.cc[0], "--version"], capture_output=True, text=True, check=True)
    assert found.version == proc.stdout.splitlines()[0].strip()
    assert found.sysroot_id.startswith("/") and "libc.a" in found.sysroot_id


@needs_clang
def test_what_clang_says_of_itself_is_remembered_by_its_stamp(tmp_path: Path) -> None:
    asked = clang_builder.clang.__wrapped__(tmp_path)  # past the process's cache
    memo = tmp_path / "clang-facts.json"
    data = json.loads(memo.read_text())
    assert data["entries"]["clang"][2] == {"cc": asked.cc[0], "version": asked.version,
                                           "libc": asked.sysroot_id.split(":")[0]}
    # a remembered answer is used as it is: clang is not run for it
    data["entries"]["clang"][2]["version"] = "clang version 99.0.0 (remembered)"
    memo.write_text(json.dumps(data))
    remembered = clang_builder.clang.__wrapped__(tmp_path)
    assert (remembered.version, remembered.major) == ("clang version 99.0.0 (remembered)", "99")
    # a libc that is gone, or a binary of another stamp, is asked again
    for entry in ([data["entries"]["clang"][0], data["entries"]["clang"][1], {
            **data["entries"]["clang"][2], "libc": str(tmp_path / "gone" / "libc.a")}],
                  [data["entries"]["clang"][0], "1,2,3,4", data["entries"]["clang"][2]]):
        memo.write_text(json.dumps({**data, "entries": {"clang": entry}}))
        assert clang_builder.clang.__wrapped__(tmp_path) == asked

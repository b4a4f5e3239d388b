"""The `jco` runtime: WASI preview 2 components transpiled by jco and run on
@bytecodealliance/preview2-shim in the JS runner, against real components.

The components are built from C sources here by the project's own builders (the `c`
builder with Zig, made into p2 command components by the suite key `world = "p2"`) and
run through the real `wasitest` command on the `jco` cell, next to every Wasmtime adapter
that runs p2 (their verdicts must agree). The hostile escape cases are
`tests/hostile/escapes.c` and `exits.c`, unchanged. What only a session shows (stdin, a
component jco cannot transpile, a library component) runs through `JcoRuntime`'s session
on the same built components.

Skipped with the reason when jco is not installed (`wasitest runtimes install jco`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wasitest import npm
from wasitest.model import TIMEOUT_GRACE_S, Capability, Invocation, TrapKind
from wasitest.plugin import load_registry
from wasitest.plugins.builders.component import JCO_ENTRY, PACKAGES, TOOL
from wasitest.plugins.runtimes.jco import JcoRuntime
from wasitest.plugins.runtimes.kit.js import JsSession
from wasitest.runtime_install import installable

HOSTILE = Path(__file__).resolve().parents[1] / "hostile"
MIB = 1024 * 1024
TIMEOUT_S = 3.0
MEMORY = 64 * MIB
OUTPUT_CAP = 64 * 1024
#: Wasmtime adapters whose p2 verdicts the jco cell is compared with (those that run p2)
WASMTIMES = ("wasmtime", "wasmtime-cli")

PROBE = r"""
/* The jco runtime's probe: one case per behaviour a runtime must get right. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasitest.h"

extern char **environ;

TEST(env_exact) {
    int count = 0;
    for (char **entry = environ; *entry != NULL; entry++, count++) printf("env %s\n", *entry);
    CHECK_EQ_INT(count, 2);
    CHECK_EQ_STR(getenv("GRANTED"), "yes");
    CHECK(getenv("PATH") == NULL);
}

/* stdin to stdout; through the CLI stdin is empty */
TEST(echo_stdin) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
    fprintf(stderr, "echoed\n");
}

TEST(exit_3) {
    printf("leaving with 3\n");
    fflush(stdout);
    exit(3);
}

TEST(trap) { __builtin_trap(); }

TEST(spin) {
    volatile unsigned long n = 0;
    for (;;) n++;
}

/* 1 MiB blocks, each page written to and each kept (so the compiler cannot drop the
 * allocations), until malloc fails */
static char *hoard[4096];
TEST(hog) {
    long mib = 0;
    while (mib < 4096) {
        char *block = malloc(1 << 20);
        if (block == NULL) break;
        for (int i = 0; i < (1 << 20); i += 4096) block[i] = (char)(i | 1);
        hoard[mib++] = block;
    }
    printf("allocated %ld MiB\n", mib);
    CHECK(mib > 0 && mib < 4096);
}

/* 4 MiB to each of stdout and stderr */
TEST(flood) {
    static char block[1 << 16];
    memset(block, 'o', sizeof block);
    for (int i = 0; i < 64; i++) {
        fwrite(block, 1, sizeof block, stdout);
        fwrite(block, 1, sizeof block, stderr);
    }
}

/* the scratch dir is preopened at "." and at "/tmp": one host folder under two names */
TEST(scratch) {
    FILE *f = fopen("made.txt", "w");
    REQUIRE(f != NULL);
    fputs("made in the guest\n", f);
    fclose(f);
    CHECK(mkdir("sub", 0755) == 0);
    CHECK(rename("made.txt", "sub/moved.txt") == 0);
    char buf[64] = {0};
    f = fopen("/tmp/sub/moved.txt", "r");
    REQUIRE(f != NULL);
    fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    CHECK_EQ_STR(buf, "made in the guest\n");
    CHECK(unlink("/tmp/sub/moved.txt") == 0);
    CHECK(rmdir("sub") == 0);
}

/* A folder opened, moved away and replaced by a relative link up to `/`: the descriptor
 * still names the old place. A WASI that resolves paths by the folder's host path (as
 * preview2-shim does) follows the link out; CANARY_DIR/secret.txt must stay out of reach,
 * and the old folder (empty) must list nothing. */
TEST(swap_escape) {
    const char *canary = getenv("CANARY_DIR");
    REQUIRE(canary != NULL && canary[0] == '/');
    char rel[1024];
    snprintf(rel, sizeof rel, "%s/secret.txt", canary + 1);
    REQUIRE(mkdir("d", 0755) == 0);
    int dir_fd = open("d", O_RDONLY | O_DIRECTORY);
    REQUIRE(dir_fd >= 0);
    REQUIRE(rename("d", "d-moved") == 0);
    int made = symlink("../../../../../../../../../../../../../../../..", "d");
    printf("symlink d -> ../..: %s\n", made == 0 ? "planted" : strerror(errno));
    int fd = openat(dir_fd, rel, O_RDONLY);
    if (fd >= 0) {
        char buf[100] = {0};
        read(fd, buf, sizeof buf - 1);
        printf("read %s: OPENED: %s\n", rel, buf);
        close(fd);
    } else {
        printf("read %s: refused (%s)\n", rel, strerror(errno));
    }
    CHECK(fd < 0);
    int listed = 0;
    DIR *dir = fdopendir(dir_fd);
    if (dir == NULL) {
        printf("list: refused (%s)\n", strerror(errno));
    } else {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
                printf("list: OPENED %s\n", entry->d_name);
                listed++;
            }
        }
        closedir(dir);
    }
    CHECK_EQ_INT(listed, 0);
}
"""

ARGV = r"""
/* exit 0 when argv[1..] is exactly the suite's `args`, printing each */
#include <stdio.h>
#include <string.h>

static const char *want[] = {"one", "two words", "\xc3\xbc" "n" "\xc3\xaf" "code", "", "--list"};

int main(int argc, char **argv) {
    int bad = argc - 1 != (int)(sizeof want / sizeof want[0]);
    for (int i = 0; i < argc; i++) {
        printf("arg %d [%s]\n", i, argv[i]);
        if (i > 0 && !bad && strcmp(argv[i], want[i - 1]) != 0) bad = 1;
    }
    return bad;
}
"""
ARGS = ["one", "two words", "ünïcode", "", "--list"]

#: a library: no main, one exported function (built as a reactor, then a component)
LIBRARY = r"""
__attribute__((export_name("add"))) int add(int a, int b) { return a + b; }
"""


def _toml(value: Any) -> str:
    return json.dumps(value)  # a JSON string or list of strings is valid TOML


def _suite(name: str, builder: str, sources: str, **keys: Any) -> str:
    lines = [f"[tool.wasitest.suites.{name}]", f"builder = {_toml(builder)}", f"sources = {_toml([sources])}"]
    for key, value in keys.items():
        if isinstance(value, dict):
            lines.append(f"{key} = {{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }")
        else:
            lines.append(f"{key} = {_toml(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class Canary:
    """A folder outside every scratch dir, with the files the escape cases aim at."""

    folder: Path
    secret: str

    def files(self) -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(self.folder.iterdir())}


def _plant(folder: Path) -> Canary:
    folder.mkdir(parents=True)
    secret = f"CANARY-{secrets.token_hex(8)}"
    for name in ("escape_read", "escape_write", "escape_delete", "escape_planted", "secret"):
        (folder / f"{name}.txt").write_text(f"{secret}-{name}\n")
    return Canary(folder, secret)


def _make_project(root: Path, canary: Path) -> Path:
    project = root / "project"
    project.mkdir()
    (project / "probe.c").write_text(PROBE)
    (project / "argv.c").write_text(ARGV)
    for source in ("escapes.c", "exits.c"):
        shutil.copy(HOSTILE / source, project / source)
    planted = project / "spec" / "planted"
    (planted / "planted.dir").mkdir(parents=True)
    (planted / "escape_planted.c").write_text('#include "../../escapes.c"\n')
    (planted / "escape_planted.json").write_text(json.dumps({"args": ["escape_planted"], "dirs": ["planted.dir"]}))
    up = "../" * 16
    links = planted / "planted.dir"
    (links / "file-abs").symlink_to(canary / "escape_planted.txt")
    (links / "file-rel").symlink_to(up + str(canary / "escape_planted.txt").lstrip("/"))
    (links / "dir-abs").symlink_to(canary, target_is_directory=True)
    (links / "dir-rel").symlink_to(up + str(canary).lstrip("/"), target_is_directory=True)
    limits = {"timeout": TIMEOUT_S, "memory": f"{MEMORY // MIB}MiB", "output_cap": f"{OUTPUT_CAP // 1024}KiB"}
    escapes = {"env": {"CANARY_DIR": str(canary), "HOSTILE_GRANTED": "yes"}, "timeout": 20}
    (project / "pyproject.toml").write_text(
        "\n".join(
            [
                _suite(
                    "probe",
                    "c",
                    "probe.c",
                    harness="clist",
                    world="p2",
                    env={"GRANTED": "yes", "CANARY_DIR": str(canary)},
                    **limits,
                ),
                _suite("argv", "c", "argv.c", harness="exitcode", world="p2", args=ARGS, timeout=10),
                _suite("escapes", "c", "escapes.c", harness="clist", world="p2", **escapes),
                _suite("exits", "c", "exits.c", harness="clist", world="p2", timeout=10),
                _suite("planted", "spec", "spec/planted/*.c", world="p2", **escapes),
                # a p1 module: no job of it on the jco cell
                _suite("p1_argv", "c", "argv.c", harness="exitcode", args=ARGS, timeout=10),
            ]
        )
    )
    return project


def _wasitest(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", **(env or {})}
    full.pop("WASITEST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "wasitest", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full,
        check=False,
    )


def _jco() -> JcoRuntime:
    runtime = JcoRuntime()
    info = runtime.info()
    if not info.available:
        pytest.skip(f"jco is not available: {info.reason} ({info.install_hint})")
    return runtime


def _p2_wasmtimes() -> list[str]:
    """The Wasmtime adapters that run p2 components here."""
    registry = load_registry()
    found = []
    for name in WASMTIMES:
        info = registry.runtimes.get(name).info()
        if info.available and "p2" in info.worlds:
            found.append(name)
    return found


@dataclass
class Run:
    """One real `wasitest run` of the project on the jco cell and the p2 Wasmtimes."""

    project: Path
    canary: Canary
    canary_before: dict[str, tuple[bytes, int]]
    host_secret: str
    returncode: int
    output: str
    #: (cell, artifact, case) -> result
    results: dict[tuple[str, str, str], dict[str, Any]]
    bundle: Path
    wasmtimes: list[str]

    def jco(self, artifact: str, case: str) -> dict[str, Any]:
        return self.results[("jco", artifact, case)]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    _jco()
    pytest.importorskip("ziglang")
    root = tmp_path_factory.mktemp("jco")
    canary = _plant(root / "canary")
    project = _make_project(root, canary.folder)
    bundle = root / "bundle"
    built = _wasitest("build", str(project), "--out", str(bundle))
    assert built.returncode == 0, built.stdout + built.stderr
    before = canary.files()
    host_secret = f"HOST-{secrets.token_hex(8)}"
    wasmtimes = _p2_wasmtimes()
    cells = ",".join(["jco", *wasmtimes])
    done = _wasitest("run", str(project), "-q", "--runtimes", cells, "-j", "2", env={"JCO_HOST_SECRET": host_secret})
    assert done.returncode in (0, 1), done.stdout + done.stderr
    document = json.loads((project / ".wasitest" / "results.json").read_text())
    results = {(r["cell"].split(":")[0], r["artifact"], r["case"]): r for r in document["results"]}
    yield Run(project, canary, before, host_secret, done.returncode, done.stdout, results, bundle, wasmtimes)


def _output(result: dict[str, Any]) -> str:
    return "\n".join(str(result.get(key, "")) for key in ("stdout", "stderr", "message"))


# ------------------------------------------------------------------------------ the adapter


def test_info_worlds_capabilities_and_install() -> None:
    runtime = _jco()
    info = runtime.info()
    assert info.worlds == ("p2",)
    assert info.capabilities == frozenset(Capability)
    assert info.version.startswith("jco 1.") and "preview2-shim" in info.version
    # installable like the other npm runtimes, into the component builder's folder
    assert installable()["jco"].npm_tool == TOOL == "jco"
    assert JcoRuntime.npm_packages == PACKAGES


def test_info_when_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASITEST_CACHE_DIR", str(tmp_path / "empty-cache"))
    info = JcoRuntime().info()
    assert not info.available
    assert "not installed" in info.reason
    assert info.install_hint == "wasitest runtimes install jco"


# --------------------------------------------------------------------------- through the CLI


def test_argv_arrives_exactly(run: Run) -> None:
    result = run.jco("argv/argv", "argv")
    assert result["outcome"] == "passed", result
    assert "arg 2 [two words]" in result["stdout"] and "arg 3 [ünïcode]" in result["stdout"]
    assert "arg 4 []" in result["stdout"] and "arg 5 [--list]" in result["stdout"]


def test_env_is_exactly_the_jobs(run: Run) -> None:
    result = run.jco("probe/probe", "env_exact")
    assert result["outcome"] == "passed", result
    assert run.host_secret not in json.dumps(list(run.results.values()))


def test_output_floods_are_cut_at_the_cap(run: Run) -> None:
    result = run.jco("probe/probe", "flood")
    assert result["outcome"] == "passed", result
    assert len(result["stdout"]) == OUTPUT_CAP and result["stdout_truncated"] is True
    assert len(result["stderr"]) == OUTPUT_CAP and result["stderr_truncated"] is True


def test_exit_statuses(run: Run) -> None:
    """A p2 component ends ok or err: exit(3) and every exit code over a byte arrive as 1,
    never as 0 (a pass)."""
    result = run.jco("probe/probe", "exit_3")
    assert (result["outcome"], result["exit_code"]) == ("failed", 1), result
    assert result["stdout"] == "leaving with 3\n"
    for case in ("exit_256", "exit_minus_1", "exit_1_shl_30"):
        result = run.jco("exits/exits", case)
        assert (result["outcome"], result["exit_code"]) == ("failed", 1), result
    assert run.jco("probe/probe", "scratch")["exit_code"] == 0


def test_a_trap_is_a_trap(run: Run) -> None:
    result = run.jco("probe/probe", "trap")
    assert (result["outcome"], result["trap"]) == ("trapped", "unreachable"), result


def test_an_endless_loop_times_out(run: Run) -> None:
    result = run.jco("probe/probe", "spin")
    assert result["outcome"] == "timeout", result
    assert TIMEOUT_S * 0.9 <= result["duration_s"] <= TIMEOUT_S + TIMEOUT_GRACE_S, result


def test_memory_stays_within_the_limit(run: Run) -> None:
    result = run.jco("probe/probe", "hog")
    assert result["outcome"] == "passed", result
    allocated = int(result["stdout"].split()[1])
    assert 0 < allocated * MIB <= MEMORY, result


def test_the_scratch_dir_is_writable_under_both_names(run: Run) -> None:
    result = run.jco("probe/probe", "scratch")
    assert result["outcome"] == "passed", _output(result)


@pytest.mark.parametrize("case", ["escape_read", "escape_write", "escape_delete", "escape_planted", "env_probe"])
def test_hostile_escapes_are_refused(run: Run, case: str) -> None:
    result = run.jco("escapes/escapes", case)
    assert result["outcome"] == "passed", _output(result)
    assert " OPENED" not in result["stdout"]
    assert run.canary.secret not in _output(result)


def test_links_in_the_test_data_lead_nowhere(run: Run) -> None:
    result = run.jco("planted/escape_planted", "escape_planted")
    assert result["outcome"] == "passed", _output(result)
    assert "refused" in result["stdout"] and " OPENED" not in result["stdout"]


def test_a_moved_folders_descriptor_does_not_follow_a_link_out(run: Run) -> None:
    """The hole preview2-shim has on its own (see jco_worker.mjs): closed by the engine."""
    result = run.jco("probe/probe", "swap_escape")
    assert result["outcome"] == "passed", _output(result)
    assert "symlink d -> ../..: planted" in result["stdout"]
    assert "refused" in result["stdout"] and " OPENED" not in result["stdout"]


def test_nothing_outside_the_scratch_dirs_changed(run: Run) -> None:
    assert run.canary.files() == run.canary_before
    scratch = run.project / ".wasitest" / "scratch"
    for folder in [scratch, *list(scratch.parents)[:5]]:
        assert not list(folder.glob("hostile-escape-*")), folder


def test_a_core_module_is_unsupported_on_jco(run: Run) -> None:
    result = run.jco("p1_argv/argv", "argv")
    assert result["outcome"] == "unsupported", result
    assert "p2" in result["message"]


def test_verdicts_match_wasmtime(run: Run) -> None:
    """Every job of the jco cell ends as on each Wasmtime adapter that runs p2: the same
    outcome, exit code and trap kind."""
    if not run.wasmtimes:
        pytest.skip("no Wasmtime adapter runs p2 components here yet")
    compared = 0
    for (cell, artifact, case), result in run.results.items():
        if cell != "jco" or result["outcome"] == "unsupported":
            continue
        for other in run.wasmtimes:
            theirs = run.results[(other, artifact, case)]
            ours = (result["outcome"], result.get("exit_code"), result.get("trap"))
            assert ours == (theirs["outcome"], theirs.get("exit_code"), theirs.get("trap")), (other, artifact, case)
            compared += 1
    assert compared >= 15


# ------------------------------------------------------------------------ through a session


@pytest.fixture(scope="module")
def session(run: Run, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JsSession]:
    opened = _jco().open_session(tmp_path_factory.mktemp("jco-cache"))
    assert isinstance(opened, JsSession)
    yield opened
    opened.close()


def _probe(run: Run) -> Path:
    return run.bundle / "artifacts" / "probe" / "probe.wasm"


def test_stdin_reaches_the_component(run: Run, session: JsSession) -> None:
    data = bytes(range(256)) * 300
    execution = session.run(Invocation(_probe(run), ("probe", "echo_stdin"), stdin=data, world="p2"))
    assert execution.exit_code == 0, execution
    assert execution.stdout == data
    assert execution.stderr == b"echoed\n"


def test_transpiled_once_per_component(run: Run, session: JsSession) -> None:
    env = (("GRANTED", "yes"), ("CANARY_DIR", "/nowhere"))
    for _ in range(3):
        assert session.run(Invocation(_probe(run), ("probe", "env_exact"), env=env, world="p2")).exit_code == 0
    digest = hashlib.sha256(_probe(run).read_bytes()).hexdigest()[:32]
    transpiled = list((session.cache_dir / "jco").glob(f"{digest}-jco*"))
    assert len(transpiled) == 1
    assert len(list(transpiled[0].glob("memory-*/component.json"))) == 1


def _one_line(message: str) -> None:
    assert message and "\n" not in message and "    at " not in message, message


def test_a_truncated_component_is_a_one_line_error(run: Run, session: JsSession, tmp_path: Path) -> None:
    truncated = tmp_path / "truncated.wasm"
    truncated.write_bytes(_probe(run).read_bytes()[:1000])
    execution = session.run(Invocation(truncated, ("probe",), world="p2"))
    _one_line(execution.error)
    assert "cannot load truncated.wasm" in execution.error
    # through the CLI, the prebuilt builder refuses it before any job
    project = tmp_path / "bad"
    project.mkdir()
    shutil.copy(truncated, project / "truncated.wasm")
    (project / "pyproject.toml").write_text(_suite("bad", "prebuilt", "truncated.wasm", harness="exitcode"))
    done = _wasitest("run", str(project), "--runtimes", "jco")
    assert done.returncode not in (0, 1)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and "truncated.wasm is not a valid module" in lines[0], done.stderr


def test_a_component_jco_cannot_transpile_is_a_one_line_error(run: Run, session: JsSession, tmp_path: Path) -> None:
    """Its top-level sections read well (so only jco finds out): its first core module
    says it is of an unknown version of the format."""
    data = bytearray(_probe(run).read_bytes())
    nested = data.index(b"\0asm\x01\0\0\0", 8)
    data[nested + 4 : nested + 8] = b"\xff\xff\xff\xff"
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(bytes(data))
    execution = session.run(Invocation(broken, ("probe",), world="p2"))
    _one_line(execution.error)
    assert execution.error.startswith("jco cannot transpile broken.wasm: "), execution.error
    # the session goes on
    assert session.run(Invocation(_probe(run), ("probe", "trap"), world="p2")).trap is TrapKind.UNREACHABLE
    # through the CLI: the prebuilt builder takes it, its job on jco is an error saying why
    project = tmp_path / "broken"
    project.mkdir()
    shutil.copy(broken, project / "broken.wasm")
    (project / "pyproject.toml").write_text(_suite("broken", "prebuilt", "broken.wasm", harness="exitcode"))
    done = _wasitest("run", str(project), "--runtimes", "jco")
    assert done.returncode == 1, done.stdout + done.stderr
    [result] = json.loads((project / ".wasitest" / "results.json").read_text())["results"]
    assert result["outcome"] == "error", result
    _one_line(result["message"])
    assert "jco cannot transpile broken.wasm" in result["message"]


def _library_component(tmp_path: Path) -> Path:
    """A component that is a library: a reactor module (no main) made into a component by
    jco itself, as the component builder only makes commands."""
    source = tmp_path / "library.c"
    source.write_text(LIBRARY)
    module = tmp_path / "library.core.wasm"
    command = [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        "--target=wasm32-wasi",
        "-mexec-model=reactor",
        "-O2",
        "-s",
        "-o",
        str(module),
        str(source),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    component = tmp_path / "library.wasm"
    node = shutil.which("node")
    assert node is not None
    jco = npm.tool_dir(TOOL) / JCO_ENTRY
    made = subprocess.run(
        [node, str(jco), "new", str(module), "--wasi-reactor", "-o", str(component)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    return component


def test_a_library_component_is_a_one_line_error(run: Run, session: JsSession, tmp_path: Path) -> None:
    component = _library_component(tmp_path)
    execution = session.run(Invocation(component, ("library",), world="p2"))
    _one_line(execution.error)
    assert "without a wasi:cli/run export" in execution.error
    project = tmp_path / "lib"
    project.mkdir()
    shutil.copy(component, project / "library.wasm")
    (project / "pyproject.toml").write_text(_suite("lib", "prebuilt", "library.wasm", harness="exitcode"))
    done = _wasitest("run", str(project), "--runtimes", "jco")
    assert done.returncode not in (0, 1)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines and "does not export wasi:cli/run" in lines[0], done.stderr


def test_a_core_module_given_to_the_session_is_an_error(run: Run, session: JsSession) -> None:
    module = run.bundle / "artifacts" / "probe" / "probe.p1.wasm"
    execution = session.run(Invocation(module, ("probe",), world="p2"))
    _one_line(execution.error)
    assert "is a core module; jco runs components only" in execution.error

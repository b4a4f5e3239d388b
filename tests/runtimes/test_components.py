"""Components on the runtimes that run them: p2 command components on embedded Wasmtime and
the Wasmtime CLI (and on every other runtime whose info lists p2), p3 on the CLI.

The components are made the way a user outside wasitest makes them: a C program built by
Zig's C compiler into a p1 command module, wrapped by `jco new --wasi-command` (the jco in
wasitest's npm cache, installed there on first use as the `component` builder does). The
runtime probe (`probes/probe.c`, one mode per argv[1]) becomes `probe.p2.wasm`, and each
behaviour a module job has (argv, env, stdin, preopens, capped output, limits, traps) is
checked on it, next to what the same probe does as a module. A p2 component ends ok or err
only: C's `exit(3)` is exit code 1 (`P2_EXIT`).

No toolchain here emits p3; the p3 component is written by hand (`P3_ARGS`): it asks
`wasi:cli/environment@0.3.0` for its arguments and ends ok with exactly three, err otherwise.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, write_project, zig_cc
from wasitest import npm
from wasitest.model import Invocation, TrapKind
from wasitest.plugin import load_registry
from wasitest.plugins.builders.component import JCO_ENTRY, PACKAGE, PACKAGES, TOOL

PROBES = Path(__file__).with_name("probes")
MIB = 1024 * 1024
#: the runtimes this test file is about: under CI they must run, not skip
WASMTIMES = ("wasmtime", "wasmtime-cli")
REGISTRY = load_registry()


def _p2_runtimes() -> list[str]:
    """Every registered runtime whose info lists p2."""
    found = []
    for name in sorted(REGISTRY.runtimes.names()):
        try:
            if "p2" in REGISTRY.runtimes.get(name).info().worlds:
                found.append(name)
        except Exception:  # noqa: BLE001 - collection must not die of one broken adapter
            continue
    return found


P2_RUNTIMES = _p2_runtimes()


def _runtime(name: str) -> Any:
    runtime = REGISTRY.runtimes.get(name)
    info = runtime.info()
    if not info.available:
        if os.environ.get("CI") and name in WASMTIMES:
            pytest.fail(f"CI must run {name}: {info.reason}")
        pytest.skip(f"{name}: {info.reason}")
    return runtime


@pytest.fixture(scope="session")
def jco() -> list[str]:
    """The command line of the jco in wasitest's npm cache (installed there if missing)."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("CI must make components: node is not on PATH")
        pytest.skip("making components needs Node.js for jco")
    entry = npm.tool_dir(TOOL) / JCO_ENTRY
    if not entry.is_file():
        with npm.install_lock(TOOL):
            if npm.installed_version(TOOL, PACKAGE) is None or not entry.is_file():
                npm.install(TOOL, PACKAGES)
    return [node, str(entry)]


def jco_new(jco: list[str], module: Path, out: Path) -> Path:
    """`jco new MODULE --wasi-command`: the p1 command module as a p2 command component."""
    done = subprocess.run([*jco, "new", str(module), "--wasi-command", "-o", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "probe.c", tmp_path_factory.mktemp("components") / "probe.wasm")


@pytest.fixture(scope="session")
def component(probe: Path, jco: list[str]) -> Path:
    return jco_new(jco, probe, probe.with_name("probe.p2.wasm"))


P3_ARGS = """
(component
  (import "wasi:cli/environment@0.3.0" (instance $env
    (export "get-arguments" (func (result (list string))))))
  (core module $memory
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (i32.and (i32.add (global.get $next) (i32.sub (local.get 2) (i32.const 1)))
                              (i32.sub (i32.const 0) (local.get 2))))
      (global.set $next (i32.add (local.get $at) (local.get 3)))
      (local.get $at)))
  (core instance $mem (instantiate $memory))
  (alias export $env "get-arguments" (func $get-arguments))
  (core func $get-arguments-lowered
    (canon lower (func $get-arguments) (memory (core memory $mem "memory")) (realloc (core func $mem "realloc"))))
  (core module $main
    (import "host" "get-arguments" (func $get-arguments (param i32)))
    (import "mem" "memory" (memory 1))
    ;; ok (0) with exactly three arguments (argv[0] and two more), err (1) otherwise
    (func (export "run") (result i32)
      (call $get-arguments (i32.const 16))
      (i32.ne (i32.load (i32.const 20)) (i32.const 3))))
  (core instance $instance (instantiate $main
    (with "host" (instance (export "get-arguments" (func $get-arguments-lowered))))
    (with "mem" (instance $mem))))
  (type $run-type (func async (result (result))))
  (func $run (type $run-type) (canon lift (core func $instance "run")))
  (instance $run-instance (export "run" (func $run)))
  (export "wasi:cli/run@0.3.0" (instance $run-instance))
)
"""

#: a component that is a library: no `wasi:cli/run` export
LIBRARY = '(component (core module $m (func (export "f"))) (core instance $i (instantiate $m)))'


def _wat(tmp_path: Path, name: str, text: str) -> Path:
    wasmtime = pytest.importorskip("wasmtime")
    path = tmp_path / name
    path.write_bytes(wasmtime.wat2wasm(text))
    return path


# ----------------------------------------------------------------- one session per runtime


@pytest.fixture(scope="module", params=WASMTIMES)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def session(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    opened = _runtime(name).open_session(tmp_path_factory.mktemp(f"{name}-cache"))
    yield opened
    opened.close()


def run(session: Any, module: Path, *args: str, **fields: Any) -> Any:
    fields.setdefault("timeout_s", 30.0)
    fields.setdefault("world", "p2" if module.name.endswith(".p2.wasm") else "p1")
    return session.run(Invocation(module=module, argv=("probe", *args), **fields))


def test_both_wasmtimes_list_the_component_worlds() -> None:
    assert REGISTRY.runtimes.get("wasmtime").info().worlds == ("p1", "p2")
    assert REGISTRY.runtimes.get("wasmtime-cli").info().worlds == ("p1", "p2", "p3")
    assert {"wasmtime", "wasmtime-cli"} <= set(P2_RUNTIMES)


def test_argv_and_env_arrive_as_given(session: Any, component: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = ("args", "two words", "", "a=b", "ünïcödé", "*")
    result = run(session, component, *args)
    assert (result.exit_code, result.error) == (0, ""), result
    assert result.stdout.decode().split("\n")[:-1] == ["probe", *args]
    env = (("B", "1"), ("A", "x=y"), ("EMPTY", ""), ("U", "ü"))
    monkeypatch.setenv("WASITEST_HOST_SECRET", "leaked")
    result = run(session, component, "env", env=env)
    assert result.stdout.decode().split("\n")[:-1] == [f"{k}={v}" for k, v in env]
    assert run(session, component, "env").stdout == b""  # nothing of the host's


#: exit status as a p1 module -> as a p2 component (ok or err only)
P2_EXIT = {0: 0, 1: 1, 3: 1, 125: 1}


@pytest.mark.parametrize("code", sorted(P2_EXIT))
def test_a_component_exits_ok_or_err(session: Any, probe: Path, component: Path, code: int) -> None:
    as_module = run(session, probe, "exit", str(code))
    as_component = run(session, component, "exit", str(code))
    assert as_module.exit_code == code, as_module
    assert (as_component.exit_code, as_component.trap, as_component.error) == (P2_EXIT[code], None, ""), as_component


def test_an_exit_status_a_module_may_not_have_is_err(session: Any, probe: Path, component: Path) -> None:
    """Wasmtime refuses a module's proc_exit of 126 and over (a trap); the component's
    adapter turns every non-zero status into err first."""
    assert run(session, probe, "exit", "255").trap is TrapKind.OTHER
    assert run(session, component, "exit", "255").exit_code == 1


def test_output_is_captured_and_capped(session: Any, component: Path) -> None:
    small = run(session, component, "write", "5", output_cap=10)
    assert (small.stdout, small.stderr, small.stdout_truncated) == (b"ooooo", b"eeeee", False)
    big = run(session, component, "write", "300000", output_cap=10)
    assert (big.exit_code, big.stdout, big.stderr) == (0, b"o" * 10, b"e" * 10), big
    assert big.stdout_truncated and big.stderr_truncated


def test_stdin_is_read_whole_or_empty(session: Any, component: Path) -> None:
    data = bytes(range(256)) * 1200  # 300 KiB: many reads
    assert run(session, component, "cat", stdin=data).stdout == data
    assert run(session, component, "cat").stdout == b""


def test_preopens_are_the_only_folders(session: Any, component: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "in.txt").write_text("from the host")
    (tmp_path / "secret").write_text("no")
    (scratch / "link").symlink_to(tmp_path)
    preopens = ((scratch, "."), (scratch, "/tmp"))
    assert run(session, component, "touch", "/tmp/out.txt", "from the guest", preopens=preopens).exit_code == 0
    assert (scratch / "out.txt").read_text() == "from the guest"
    assert run(session, component, "read", "in.txt", preopens=preopens).stdout == b"from the host"
    for path in ("/tmp/../secret", str(tmp_path / "secret"), "/tmp/link/secret"):
        escaped = run(session, component, "read", path, preopens=preopens)
        assert (escaped.exit_code, escaped.stdout) == (1, b""), (path, escaped)  # err: the probe's exit(2)


def test_time_limit_ends_a_busy_component(session: Any, component: Path) -> None:
    result = run(session, component, "loop", timeout_s=1.0)
    assert (result.trap, result.exit_code) == (TrapKind.TIMEOUT, None), result
    assert 0.9 <= result.duration_s < 3.0
    assert run(session, component, "exit", "0").exit_code == 0  # the next job runs normally


def test_memory_limit_fails_growth_softly(session: Any, component: Path) -> None:
    result = run(session, component, "membomb", memory_limit=64 * MIB, timeout_s=60)
    assert result.exit_code == 1, result  # the probe's exit(42): malloc returned NULL
    assert 10 < int(result.stdout) < 64


def test_memory_limit_refuses_a_component_too_big_to_start(session: Any, component: Path) -> None:
    result = run(session, component, "exit", "0", memory_limit=1 * MIB)  # the module starts with 257 pages
    assert result.trap is TrapKind.MEMORY_LIMIT, result
    assert result.trap_message and "\n" not in result.trap_message


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("trap", TrapKind.UNREACHABLE), ("oob", TrapKind.MEMORY_OUT_OF_BOUNDS), ("recurse", TrapKind.STACK_OVERFLOW)],
)
def test_traps_keep_their_kind(session: Any, probe: Path, component: Path, mode: str, kind: TrapKind) -> None:
    as_module = run(session, probe, mode)
    as_component = run(session, component, mode)
    assert (as_component.trap, as_component.exit_code, as_component.error) == (kind, None, ""), as_component
    assert as_component.trap_message == as_module.trap_message
    assert "\n" not in as_component.trap_message


def test_a_compiled_component_is_cached_on_disk(name: str, component: Path, tmp_path: Path) -> None:
    """The second session of the same cache folder compiles nothing."""
    runtime = _runtime(name)
    for expected in (1, 0):
        opened = runtime.open_session(tmp_path / "cache")
        try:
            assert run(opened, component, "exit", "0").exit_code == 0
            assert run(opened, component, "exit", "0").exit_code == 0
            assert opened.compiled == expected
        finally:
            opened.close()


def test_a_library_component_is_an_error(session: Any, tmp_path: Path) -> None:
    result = run(session, _wat(tmp_path, "library.wasm", LIBRARY), world="p2")
    assert "wasi:cli/run" in result.error and "\n" not in result.error, result
    assert result.exit_code is None and result.trap is None


def test_a_truncated_component_is_an_error(session: Any, component: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.p2.wasm"
    cut.write_bytes(component.read_bytes()[:5000])
    result = run(session, cut, "exit", "0")
    assert result.error and "\n" not in result.error, result
    assert result.exit_code is None and result.trap is None


def test_p3_runs_on_the_cli_and_is_unsupported_embedded(session: Any, name: str, tmp_path: Path) -> None:
    p3 = _wat(tmp_path, "p3.wasm", P3_ARGS)
    two = run(session, p3, "a", "b", world="p3")
    one = run(session, p3, "a", world="p3")
    if name == "wasmtime":
        assert two.unsupported == "wasmtime-py's C API has no component-model async (p3)"
        assert one.unsupported == two.unsupported and two.exit_code is None
    else:
        assert (two.exit_code, one.exit_code) == (0, 1), (two, one)


# ----------------------------------------------------------------- through wasitest run

GUEST = r"""
#include <dirent.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("argv[%d] = %s\n", i, argv[i]);
    FILE *f = fopen("note.txt", "w"); /* "." is the job's scratch dir */
    if (!f) { perror("note.txt"); return 2; }
    fputs(argv[argc - 1], f);
    fclose(f);
    char back[64] = "";
    f = fopen("/tmp/note.txt", "r"); /* the same folder, preopened at /tmp too */
    if (!f || !fgets(back, sizeof back, f)) { perror("/tmp/note.txt"); return 2; }
    fclose(f);
    printf("via /tmp: %s\n", back);
    int entries = 0;
    DIR *dir = opendir(".");
    for (struct dirent *e; dir && (e = readdir(dir));) entries += e->d_name[0] != '.';
    printf("scratch entries: %d\n", entries);
    return argc > 1 && strcmp(argv[1], "pass") == 0 ? 0 : 3;
}
"""

PREBUILT = """
[tool.wasitest]
timeout = 60

[tool.wasitest.suites.pass]
builder = "prebuilt"
sources = ["bin/guest.wasm"]
args = ["pass", "zwei wörter"]

[tool.wasitest.suites.fail]
builder = "prebuilt"
sources = ["bin/guest.wasm"]
args = ["fail"]
"""


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory, jco: list[str]) -> Path:
    """A p2 component made outside wasitest: Zig's C compiler, then `jco new`."""
    folder = tmp_path_factory.mktemp("guest")
    (folder / "guest.c").write_text(GUEST)
    module = zig_cc(folder / "guest.c", folder / "guest.p1.wasm")
    return jco_new(jco, module, folder / "guest.wasm")


def _results(project: Path) -> dict[tuple[str, str], dict[str, Any]]:
    document = json.loads((project / ".wasitest" / "results.json").read_text())
    return {(r["artifact"].split("/")[0], r["cell"]): r for r in document["results"]}


@pytest.mark.parametrize("runtime", P2_RUNTIMES)
def test_a_prebuilt_p2_component_runs_with_argv_scratch_dir_and_exit_status(
    runtime: str, guest: Path, tmp_path: Path, run_cli: RunCli
) -> None:
    _runtime(runtime)
    project = write_project(tmp_path / "project", PREBUILT, {"bin/guest.wasm": guest.read_bytes()})
    proc = run_cli("run", str(project), "--runtimes", runtime, timeout=600)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the `fail` suite fails
    results = _results(project)
    passed, failed = results[("pass", runtime)], results[("fail", runtime)]
    assert (passed["outcome"], passed["exit_code"]) == ("passed", 0), passed
    assert passed["stdout"] == (
        "argv[0] = guest\nargv[1] = pass\nargv[2] = zwei wörter\nvia /tmp: zwei wörter\nscratch entries: 1\n"
    )
    # exit(3) in C: a p2 component carries err only, exit status 1
    assert (failed["outcome"], failed["exit_code"]) == ("failed", 1), failed
    assert failed["stdout"] == "argv[0] = guest\nargv[1] = fail\nvia /tmp: fail\nscratch entries: 1\n"
    assert not list(project.rglob("note.txt"))  # the scratch dirs are gone


P3_PROJECT = """
[tool.wasitest.suites.p3]
builder = "prebuilt"
sources = ["p3.wasm"]
args = ["one", "two"]
"""


def test_a_p3_job_is_unsupported_on_embedded_wasmtime_at_plan_time(tmp_path: Path, run_cli: RunCli) -> None:
    _runtime("wasmtime")
    _runtime("wasmtime-cli")
    wat = _wat(tmp_path, "p3.wasm", P3_ARGS)
    project = write_project(tmp_path / "project", P3_PROJECT, {"p3.wasm": wat.read_bytes()})
    proc = run_cli("run", str(project), "--runtimes", "wasmtime,wasmtime-cli", timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = {r["cell"]: r for r in json.loads((project / ".wasitest" / "results.json").read_text())["results"]}
    assert results["wasmtime-cli"]["outcome"] == "passed", results["wasmtime-cli"]
    assert results["wasmtime"]["outcome"] == "unsupported"
    assert "p1, p2 only, not p3" in results["wasmtime"]["message"]


EMULATED = """
[tool.wasitest.matrix]
runtime = ["wasmtime-cli"]
host = ["local", "linux-aarch64"]

[tool.wasitest.suites.pass]
builder = "prebuilt"
sources = ["bin/guest.wasm"]
args = ["pass", "arm"]
timeout = 120
"""


def test_a_p2_component_runs_on_the_emulated_aarch64_host(guest: Path, tmp_path: Path, run_cli: RunCli) -> None:
    host = REGISTRY.hosts.get("linux-aarch64")
    available, reason = host.available()
    emulated_cli = host.runtime(REGISTRY.runtimes.get("wasmtime-cli")) if available else None
    if emulated_cli is not None and not emulated_cli.info().available:  # e.g. no arm64 cross libc
        available, reason = False, emulated_cli.info().reason
    if not available:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to emulate aarch64: {reason}")
        pytest.skip(reason)
    project = write_project(tmp_path / "project", EMULATED, {"bin/guest.wasm": guest.read_bytes()})
    proc = run_cli("run", str(project), "--matrix", timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = _results(project)
    local, emulated = results[("pass", "wasmtime-cli")], results[("pass", "wasmtime-cli@linux-aarch64")]
    assert emulated["outcome"] == local["outcome"] == "passed", emulated
    assert emulated["stdout"] == local["stdout"]

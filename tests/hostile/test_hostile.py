"""The hostile battery: test modules that try to break out of their job or exhaust the
runner, built from `tests/hostile/*.c` and run with `wasitest run` on every installed
runtime, measured from outside (SECURITY.md states the contract these tests check).

Each runtime gets one real run of the whole battery (`run_on`), watched while it runs: the
peak memory of the run's process tree (sampled from /proc, and exactly from `wait4`), the
disk used under the project's `.wasitest` folder, and afterwards the canary files the
escape cases aim at (content, mtime, the folder's listing) and the folders above the
scratch directory. The tests then assert the contract per runtime and case.

A job the runtime is not allowed to run (`unsupported`) keeps the contract too: the escape
tests pass on it, the others skip (nothing ran to check). Where a runtime does not contain
a behaviour today, the pair is marked `xfail(strict=True)` with what was measured (`KNOWN`),
so the test turns into a failure the day the runtime is fixed, or wasitest stops running
such jobs there, and the mark must go. Runtimes without preopens (Wasmer) cannot run `clist` cases (every one
gets the scratch dir at "." and "/tmp"); they run the same cases as `spec` tests with no
preopen, through wrappers that include the same sources.

Every component runtime (its info lists `p2`) runs the battery a second time as p2
components, in a `RUNTIME:p2` cell (`P2_CELLS`): the same modules, made into command
components by wasitest's own `component` plugin (jco), made before any measured run. A
component ends ok or err only, so the exit cases are 1 there, never 0. The network case has
no p2 form: it imports WASIX, which no component world provides, so jco refuses to make it
a component (`test_a_module_with_wasix_imports_has_no_p2_form`), and the p2 project leaves
it out.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from wasitest.model import TIMEOUT_GRACE_S as GRACE_S
from wasitest.model import Capability, RuntimeInfo
from wasitest.plugin import load_registry

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024
TIMEOUT_S = 2.0
ESCAPE_TIMEOUT_S = 20.0  # pywasm interprets the escape cases' many calls slowly
MEMORY = 64 * MIB
OUTPUT_CAP = 64 * 1024
#: the largest process of a run may use this much: the biggest runtime's is ~375 MiB with the
#: memory bomb held to 64 MiB, while under a 2 GiB limit the bomb takes a worker to 1.06 GiB
RSS_BUDGET = 1024 * MIB
#: what a run may add under .wasitest (compiled modules, logs): a flood written to disk
#: before being cut adds hundreds of MiB a second
DISK_BUDGET = 128 * MIB
#: the disk suite's limit: each of its hostile cases writes 3 GiB into the scratch dir
DISK_LIMIT = 16 * MIB
#: argv: (suite, count, size): under Linux's ARG_MAX, and well over it
ARGVS = (("argv_1mib", 16, 64 * 1024), ("argv_16mib", 16, MIB))
ARGV_COUNT = {name: count for name, count, _ in ARGVS}
GRANTED = {"CANARY_DIR", "HOSTILE_GRANTED"}
#: each suite's time limit, by name (a spec copy has its original's)
SUITE_TIMEOUT = {
    "time": TIMEOUT_S,
    "memory": 10.0,  # a memory bomb needs no time, but Wasmer's sandboxes take a second to start
    "disk": 10.0,
    "escapes": ESCAPE_TIMEOUT_S,
    "planted": ESCAPE_TIMEOUT_S,
    "exits": 10.0,
    "net": 10.0,
}
SUITE_TIMEOUT |= {name: 10.0 for name, _, _ in ARGVS}

TIME_CASES = ("spin", "flood_stdout", "flood_stderr")
MEMORY_CASES = ("memory_bomb", "recursion", "recursion_frames")
ESCAPE_CASES = ("escape_read", "escape_write", "escape_delete", "env_probe")
EXIT_CASES = ("exit_256", "exit_minus_1", "exit_1_shl_30")
DISK_CASES = ("disk_fill", "disk_many_files")
#: the artifact (source stem) of each clist suite whose name differs from it
ARTIFACT = {"time": "limits_time", "memory": "limits_memory", "disk": "limits_disk"}
#: the spec suites that repeat a clist suite's cases without preopens, for runtimes that have none
SPEC_OF = {name: f"spec_{name}" for name in ("time", "memory", "escapes", "exits")}
CANARY_FILES = ("escape_read", "escape_write", "escape_delete", "escape_planted")

#: what each runtime does not contain today, as measured: (runtime, case) -> reason
KNOWN: dict[tuple[str, str], str] = {
    ("wamr", "recursion"): "wamr has no guard against native stack overflow: SIGSEGV, reported as crashed",
    ("wamr", "exit_256"): "wamr's exit status is one byte: proc_exit(256) reads as 0, a pass",
    ("wamr", "exit_1_shl_30"): "wamr's exit status is one byte: proc_exit(1<<30) reads as 0, a pass",
    ("wasmer", "exit_256"): "Wasmer cuts the exit status: proc_exit(256) reads as 0, a pass",
    ("wasmer", "exit_1_shl_30"): "Wasmer cuts the exit status: proc_exit(1<<30) reads as 0, a pass",
    ("wasmer_js", "exit_256"): "@wasmer/sdk cuts the exit status: proc_exit(256) reads as 0, a pass",
    ("wasmer_js", "exit_1_shl_30"): "@wasmer/sdk cuts the exit status: proc_exit(1<<30) reads as 0, a pass",
}
#: the preview-1 adapter inside a component made by `jco new` copies the arguments (and the
#: environment) into one 64 KiB bump allocator: past about 58 KiB it traps before `main`
#: (`wasm trap: cannot leave component instance`, its attempt to print why), where the
#: module itself gets them all (a trap, so contained, but not "whole or not at all")
ADAPTER_ARGV = "a p2 component's preview-1 adapter traps on more than ~58 KiB of arguments"
KNOWN |= {
    ("wasmtime:p2", "argv_1mib"): ADAPTER_ARGV,
    ("wasmtime:p2", "argv_16mib"): ADAPTER_ARGV,
    # 16 MiB is over the host's ARG_MAX: the CLI cannot even be started (an error, as for p1)
    ("wasmtime-cli:p2", "argv_1mib"): ADAPTER_ARGV,
    ("jco:p2", "argv_1mib"): ADAPTER_ARGV,
    ("jco:p2", "argv_16mib"): ADAPTER_ARGV,
}


REGISTRY = load_registry()
#: the Wasmtime cells of the components' run: under CI they must run, not skip
CI_P2_CELLS = ("wasmtime:p2", "wasmtime-cli:p2")


@functools.cache
def info(runtime: str) -> RuntimeInfo:
    """The info of a runtime, or of a cell's (`RUNTIME:p2`) runtime."""
    found: RuntimeInfo = REGISTRY.runtimes.get(runtime.partition(":")[0]).info()
    return found


def _world(cell: str) -> str:
    return cell.partition(":")[2] or "p1"


#: the battery's modules run on every runtime that runs core modules...
RUNTIMES = sorted(name for name in REGISTRY.runtimes.names() if "p1" in info(name).worlds)
#: ...and again as p2 components, on every runtime that runs them
P2_CELLS = [f"{name}:p2" for name in sorted(REGISTRY.runtimes.names()) if "p2" in info(name).worlds]
CELLS = RUNTIMES + P2_CELLS


def _params(cases: Any, cells: Any = tuple(CELLS)) -> list[Any]:
    """(cell, case) pairs, each with its `KNOWN` mark."""
    found = []
    for runtime in cells:
        for case in cases:
            reason = KNOWN.get((runtime, case))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            found.append(pytest.param(runtime, case, marks=marks, id=f"{runtime}-{case}"))
    return found


def _available(runtime: str) -> None:
    found = info(runtime)
    if not found.available:
        if os.environ.get("CI") and runtime in CI_P2_CELLS:
            pytest.fail(f"CI must run the battery as components on {runtime}: {found.reason}")
        pytest.skip(f"{runtime} is not available: {found.reason} ({found.install_hint})")


def _has_preopens(runtime: str) -> bool:
    return Capability.PREOPEN in info(runtime).capabilities


# ---------------------------------------------------------------------------- the project


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


def config(canary: Path, port: int, skip: dict[str, list[str]], network: bool = True) -> str:
    """The project's configuration: the canary folder, the port of the test's listener, and
    `skip`, runtime patterns and the case patterns each skips. `network=False` leaves the
    network suite out (it has no p2 form)."""
    cap = f"{OUTPUT_CAP // 1024}KiB"
    limits = {"timeout": TIMEOUT_S, "memory": f"{MEMORY // MIB}MiB", "output_cap": cap}
    memory = {**limits, "timeout": SUITE_TIMEOUT["memory"]}
    env = {"CANARY_DIR": str(canary), "HOSTILE_GRANTED": "yes"}
    escapes = {"env": env, "timeout": ESCAPE_TIMEOUT_S, "output_cap": f"{OUTPUT_CAP // 1024}KiB"}
    parts = [
        _suite("time", "c", "limits_time.c", harness="clist", **limits),
        _suite("memory", "c", "limits_memory.c", harness="clist", **memory),
        _suite("disk", "c", "limits_disk.c", harness="clist", **{**limits, "timeout": SUITE_TIMEOUT["disk"]},
               disk=f"{DISK_LIMIT // MIB}MiB"),
        _suite("escapes", "c", "escapes.c", harness="clist", **escapes),
        _suite("exits", "c", "exits.c", harness="clist", timeout=SUITE_TIMEOUT["exits"]),
        _suite("spec_time", "spec", "spec/time/*.c", **limits),
        _suite("spec_memory", "spec", "spec/memory/*.c", **memory),
        _suite("spec_escapes", "spec", "spec/escapes/*.c", **escapes),
        _suite("spec_exits", "spec", "spec/exits/*.c", timeout=SUITE_TIMEOUT["exits"]),
        _suite("planted", "spec", "spec/planted/*.c", **escapes),
    ]
    if network:
        parts.append(_suite("net", "spec", "spec/net/*.c", env={"PORT": str(port)}, timeout=10))
    for name, count, size in ARGVS:
        argv_env = {"ARGV_COUNT": str(count), "ARGV_SIZE": str(size)}
        keys = {"env": argv_env, "args": ["a" * size] * count, "timeout": SUITE_TIMEOUT[name], "memory": "256MiB"}
        parts.append(_suite(name, "c", "argv.c", harness="exitcode", **keys))
        parts.append(_suite(f"spec_{name}", "spec", "spec/argv/*.c", **keys))
    for runtime, cases in skip.items():
        parts.append(
            f'[[tool.wasitest.expect]]\nruntime = {_toml(runtime)}\ncases = {_toml(cases)}\naction = "skip"\n'
            'reason = "the hostile battery runs this elsewhere"\n'
        )
    return "\n".join(parts)


def skips_for(runtime: str) -> dict[str, list[str]]:
    """What `runtime` leaves out: the spec copies when it has preopens (the clist suites
    run there), and for pywasm the huge argvs (its interpreter reads 1 MiB of arguments in
    more than 20 s: a timeout that only costs time)."""
    if not _has_preopens(runtime):
        return {}
    cases = [f"{spec}/*::*" for spec in SPEC_OF.values()] + [f"spec_{name}/*::*" for name, _, _ in ARGVS]
    if runtime == "pywasm":
        cases += [f"{name}/*::*" for name, _, _ in ARGVS]
    return {runtime: cases}


def _wrappers(project: Path, suite: str, source: str, cases: Any, spec: dict[str, Any] | None = None) -> None:
    """`spec/SUITE/CASE.c` including the real source, with `CASE.json` running that case."""
    folder = project / "spec" / suite
    folder.mkdir(parents=True, exist_ok=True)
    for case in cases:
        (folder / f"{case}.c").write_text(f'#include "../../{source}"\n')
        (folder / f"{case}.json").write_text(json.dumps({"args": [case], **(spec or {})}))


def make_project(root: Path, canary: Path) -> Path:
    project = root / "project"
    project.mkdir()
    for source in ("limits_time.c", "limits_memory.c", "limits_disk.c", "escapes.c", "exits.c", "argv.c", "network.c"):
        shutil.copy(HERE / source, project / source)
    _wrappers(project, "time", "limits_time.c", TIME_CASES)
    _wrappers(project, "memory", "limits_memory.c", MEMORY_CASES)
    _wrappers(project, "escapes", "escapes.c", ESCAPE_CASES)
    _wrappers(project, "exits", "exits.c", EXIT_CASES)
    (project / "spec" / "argv").mkdir(parents=True)
    (project / "spec" / "argv" / "argv.c").write_text('#include "../../argv.c"\n')
    _wrappers(project, "planted", "escapes.c", ["escape_planted"], {"dirs": ["planted.dir"]})
    (project / "spec" / "net").mkdir(parents=True)
    (project / "spec" / "net" / "network.c").write_text('#include "../../network.c"\n')
    planted = project / "spec" / "planted" / "planted.dir"
    planted.mkdir()
    up = "../" * 16
    (planted / "file-abs").symlink_to(canary / "escape_planted.txt")
    (planted / "file-rel").symlink_to(up + str(canary / "escape_planted.txt").lstrip("/"))
    (planted / "dir-abs").symlink_to(canary, target_is_directory=True)
    (planted / "dir-rel").symlink_to(up + str(canary).lstrip("/"), target_is_directory=True)
    return project


# ----------------------------------------------------------------------- the canary files


@dataclass
class Canary:
    """Files outside every scratch dir, each holding a fresh secret, and how to tell
    whether anything touched them."""

    folder: Path
    secret: str = ""
    state: dict[str, tuple[bytes, int]] = field(default_factory=dict)

    def plant(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self.secret = f"CANARY-{secrets.token_hex(12)}"
        for name in CANARY_FILES:
            path = self.folder / f"{name}.txt"
            path.write_text(f"{self.secret}-{name}\n")
            os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))  # a fixed, past mtime
        self.state = self._snapshot()

    def _snapshot(self) -> dict[str, tuple[bytes, int]]:
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(self.folder.iterdir())}

    def changes(self) -> dict[str, str]:
        """file name -> what happened to it (changed, touched, missing, appeared)."""
        now = self._snapshot()
        found = {}
        for name, (data, mtime) in self.state.items():
            if name not in now:
                found[name] = "missing"
            elif now[name][0] != data:
                found[name] = f"changed to {now[name][0][:40]!r}"
            elif now[name][1] != mtime:
                found[name] = "mtime changed"
        for name in now.keys() - self.state.keys():
            found[name] = "appeared"
        return found


def _escaped_files(project: Path) -> list[Path]:
    """Files the escape cases try to create above the scratch dir, at up to six levels."""
    level = project / ".wasitest" / "scratch" / "job"
    found: list[Path] = []
    for folder in list(level.parents)[:6]:
        found += folder.glob("hostile-escape-*")
    return found


# -------------------------------------------------------------------- watching a real run


def _proc_table() -> dict[int, tuple[int, str, str, int]]:
    """pid -> (ppid, start time, state, resident bytes), from /proc."""
    page = os.sysconf("SC_PAGE_SIZE")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/statm") as statm:
                resident = int(statm.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
        table[int(entry)] = (int(fields[1]), fields[19], fields[0], resident)
    return table


def _tree(root: int, table: dict[int, tuple[int, str, str, int]]) -> set[int]:
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, *_rest) in table.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def _disk(folder: Path) -> int:
    total = 0
    for current, _dirs, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(current, name)).st_blocks * 512
            except OSError:
                pass
    return total


@dataclass
class Watched:
    """What one `wasitest run` did, seen from outside."""

    returncode: int
    wall_s: float
    #: the largest resident set of any process of the run (wait4 over the reaped tree)
    max_rss: int
    #: the largest sum of resident sets of the run's process tree, sampled
    peak_tree_rss: int
    #: the most bytes under .wasitest beyond what was there before, sampled
    peak_disk: int
    #: (pid, start time) -> command line of every process seen in the run's tree
    seen: dict[tuple[int, str], str]
    output: str


class Watcher:
    """Samples a running process tree every `interval` seconds from a thread."""

    def __init__(self, pid: int, work_dir: Path, interval: float = 0.05) -> None:
        self.pid = pid
        self.work_dir = work_dir
        self.base_disk = _disk(work_dir) if work_dir.exists() else 0
        self.peak_tree_rss = 0
        self.peak_disk = 0
        self.seen: dict[tuple[int, str], str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval,), daemon=True)
        self._thread.start()

    def _run(self, interval: float) -> None:
        while not self._stop.wait(interval):
            table = _proc_table()
            members = _tree(self.pid, table)
            self.peak_tree_rss = max(self.peak_tree_rss, sum(table[p][3] for p in members if p in table))
            for pid in members & table.keys():
                # read again every time: a child seen between its fork and its exec still
                # shows its parent's command line
                try:
                    self.seen[(pid, table[pid][1])] = (
                        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                    )
                except OSError:
                    pass
            if self.work_dir.exists():
                self.peak_disk = max(self.peak_disk, _disk(self.work_dir) - self.base_disk)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def start_run(project: Path, *args: str, host_secret: str = "") -> subprocess.Popen[bytes]:
    env = {**os.environ, "NO_COLOR": "1", "HOSTILE_HOST_SECRET": host_secret or "unset"}
    env.pop("WASITEST_DEBUG", None)
    return subprocess.Popen(
        [sys.executable, "-m", "wasitest", "run", str(project), "-q", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen[bytes], watcher: Watcher, started: float, timeout: float) -> Watched:
    """Wait for the run (killing its group at `timeout`), then read what the watcher saw."""
    assert proc.stdout is not None
    output: list[bytes] = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + timeout
    status, usage = 0, None
    while usage is None:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            usage = rusage
        elif time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    watcher.stop()
    reader.join(10)
    return Watched(
        returncode=proc.returncode,
        wall_s=wall,
        max_rss=usage.ru_maxrss * 1024,  # KiB on Linux
        peak_tree_rss=watcher.peak_tree_rss,
        peak_disk=watcher.peak_disk,
        seen=watcher.seen,
        output=b"".join(output).decode("utf-8", "replace"),
    )


@dataclass
class Battery:
    """One runtime's run of the whole battery."""

    runtime: str
    watched: Watched
    results: dict[tuple[str, str], dict[str, Any]]
    canary_secret: str
    canary_changes: dict[str, str]
    escaped: list[str]
    host_secret: str
    #: connections the test's listener accepted during the run
    connections: list[str]
    #: files left under the scratch folders when the run ended
    scratch_left: list[str] = field(default_factory=list)

    def result(self, suite: str, case: str) -> dict[str, Any]:
        """The result of `case` in `suite`, or in its spec copy on a runtime without preopens
        (a spec module is one artifact and one case, named after its wrapper)."""
        preopens = _has_preopens(self.runtime)
        if suite == "planted":
            return self.results[("planted/escape_planted", "escape_planted")]
        if suite in ARGV_COUNT:
            return self.results[(f"{suite if preopens else 'spec_' + suite}/argv", "argv")]
        if not preopens:
            return self.results[(f"{SPEC_OF[suite]}/{case}", case)]
        return self.results[(f"{suite}/{ARTIFACT.get(suite, suite)}", case)]

    def output_of(self, result: dict[str, Any]) -> str:
        return "\n".join(str(result.get(key, "")) for key in ("stdout", "stderr", "message"))


class Listener:
    """A TCP listener on 127.0.0.1 that records every connection it accepts."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.port: int = self.socket.getsockname()[1]
        self.connections: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                peer, address = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with peer:
                peer.settimeout(1)
                try:
                    data = peer.recv(100)
                except OSError:
                    data = b""
            self.connections.append(f"{address}: {data!r}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.socket.close()


@dataclass
class Setup:
    project: Path
    canary: Canary
    listener: Listener
    #: why the battery's p2 components could not be made ("" when they were)
    no_components: str = ""


def _make_components(project: Path, canary: Path, port: int) -> str:
    """Make the p2 components of the battery's modules before any measured run (listing
    the cases of a p2 cell builds them, with jco, into the build cache); "" when made, else
    why not. The first available component runtime's cell asks for them."""
    cells = [cell for cell in P2_CELLS if info(cell).available]
    if not cells:
        return "no component runtime is available"
    (project / "pyproject.toml").write_text(config(canary, port, {}, network=False))
    done = subprocess.run(
        [sys.executable, "-m", "wasitest", "list", str(project), "--runtimes", cells[0]],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_COLOR": "1"},
    )
    return "" if done.returncode == 0 else (done.stdout + done.stderr).strip()[-2000:]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """The battery's project, built once (so no build runs inside a measured run), its
    canary folder and the listener its network case aims at."""
    root = tmp_path_factory.mktemp("hostile")
    canary = Canary(root / "canary")
    project = make_project(root, canary.folder)
    listener = Listener()
    try:
        (project / "pyproject.toml").write_text(config(canary.folder, listener.port, {}))
        done = subprocess.run(
            [sys.executable, "-m", "wasitest", "build", str(project)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        yield Setup(project, canary, listener, _make_components(project, canary.folder, listener.port))
    finally:
        listener.close()


@pytest.fixture(scope="module")
def run_on(setup: Setup) -> Iterator[Callable[[str], Battery]]:
    """`run_on(runtime)`: the battery's run on that runtime, made once and remembered.

    With `HOSTILE_REPORT=FILE` in the environment, what every run measured is written to
    FILE as JSON at the end, and what the interrupted run left to `FILE.interrupt.json`
    (SECURITY.md's table comes from them)."""
    done: dict[str, Battery] = {}

    def go(runtime: str) -> Battery:
        _available(runtime)
        if _world(runtime) == "p2" and setup.no_components:
            if os.environ.get("CI") and runtime in CI_P2_CELLS:
                pytest.fail(f"CI must make the battery's components: {setup.no_components}")
            pytest.skip(f"the battery's components could not be made: {setup.no_components}")
        if runtime not in done:
            done[runtime] = _run_battery(setup, runtime)
        return done[runtime]

    yield go
    report = os.environ.get("HOSTILE_REPORT")
    if report:
        Path(report).write_text(json.dumps({name: _summary(b) for name, b in done.items()}, indent=1))


def _summary(battery: Battery) -> dict[str, Any]:
    watched = battery.watched
    return {
        "wall_s": round(watched.wall_s, 1),
        "max_rss_mib": round(watched.max_rss / MIB),
        "peak_tree_rss_mib": round(watched.peak_tree_rss / MIB),
        "peak_disk_mib": round(watched.peak_disk / MIB, 1),
        "canary_changes": battery.canary_changes,
        "escaped_files": battery.escaped,
        "connections": battery.connections,
        "canary_secret_printed_by": sorted(
            f"{a}::{c}" for (a, c), r in battery.results.items() if battery.canary_secret in battery.output_of(r)
        ),
        "results": {
            f"{a}::{c}": {
                "outcome": r["outcome"],
                "trap": r.get("trap"),
                "exit_code": r.get("exit_code"),
                "duration_s": r["duration_s"],
                "message": r["message"][:200],
                "stdout": r["stdout"][:120],
                "through": [line[:160] for line in r["stdout"].splitlines() if " OPENED" in line],
            }
            for (a, c), r in battery.results.items()
            if r["outcome"] != "skipped"
        },
    }


def _run_battery(setup: Setup, runtime: str) -> Battery:
    project, canary = setup.project, setup.canary
    network = _world(runtime) == "p1"
    (project / "pyproject.toml").write_text(config(canary.folder, setup.listener.port, skips_for(runtime), network))
    shutil.rmtree(project / ".wasitest" / "scratch", ignore_errors=True)
    for leftover in _escaped_files(project):
        leftover.unlink()
    canary.plant()
    host_secret = f"HOST-{secrets.token_hex(12)}"
    connections = len(setup.listener.connections)
    started = time.monotonic()
    proc = start_run(project, "--runtimes", runtime, "-j", "2", host_secret=host_secret)
    watched = finish(proc, Watcher(proc.pid, project / ".wasitest"), started, timeout=600)
    assert watched.returncode in (0, 1), watched.output
    document = json.loads((project / ".wasitest" / "results.json").read_text())
    return Battery(
        runtime=runtime,
        watched=watched,
        results={(r["artifact"], r["case"]): r for r in document["results"]},
        canary_secret=canary.secret,
        canary_changes=canary.changes(),
        escaped=[str(p) for p in _escaped_files(project)],
        host_secret=host_secret,
        connections=setup.listener.connections[connections:],
        scratch_left=[str(p) for p in (project / ".wasitest" / "scratch").rglob("*") if not p.is_dir()],
    )


# -------------------------------------------------------------------------------- limits


def _ran(result: dict[str, Any]) -> dict[str, Any]:
    """The result of a job that ran; a job the runtime was not allowed to run (`unsupported`,
    which the contract allows) has nothing to check: skipped, with the reason."""
    if result["outcome"] == "unsupported":
        pytest.skip(f"not run: {result['message']}")
    return result


@pytest.mark.parametrize(("runtime", "case"), _params(["spin"]))
def test_an_endless_loop_times_out(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    result = _ran(run_on(runtime).result("time", case))
    assert result["outcome"] == "timeout", result
    assert TIMEOUT_S * 0.9 <= result["duration_s"] <= TIMEOUT_S + GRACE_S, result


@pytest.mark.parametrize(("runtime", "case"), _params(["memory_bomb"]))
def test_a_memory_bomb_stays_within_the_limit(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    battery = run_on(runtime)
    result = _ran(battery.result("memory", case))
    if result["outcome"] == "trapped":
        assert result["trap"] == "memory_limit", result
    else:
        assert result["outcome"] == "passed", result  # malloc failed before the hoard was full
        allocated = int(result["stdout"].split()[1])
        assert 0 < allocated * MIB <= MEMORY, result
    assert battery.watched.max_rss < RSS_BUDGET, f"a process of the run reached {battery.watched.max_rss / MIB:.0f} MiB"


@pytest.mark.parametrize(("runtime", "case"), _params(["recursion", "recursion_frames"]))
def test_unbounded_recursion_traps(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    result = _ran(run_on(runtime).result("memory", case))
    assert result["outcome"] == "trapped", result
    # the C shadow stack (in linear memory) may run out before the runtime's own stack
    kinds = {"stack_overflow"} if case == "recursion" else {"stack_overflow", "memory_out_of_bounds"}
    assert result["trap"] in kinds, result


@pytest.mark.parametrize(("runtime", "case"), _params(["flood_stdout", "flood_stderr"]))
def test_an_output_flood_is_cut_at_the_cap(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    battery = run_on(runtime)
    result = _ran(battery.result("time", case))
    stream = "stdout" if case == "flood_stdout" else "stderr"
    assert result["outcome"] in ("passed", "timeout"), result  # 2 GiB need not drain in 2 s
    assert result[f"{stream}_truncated"] is True, result
    assert len(result[stream]) == OUTPUT_CAP, len(result[stream])
    assert battery.watched.peak_disk < DISK_BUDGET, f".wasitest grew by {battery.watched.peak_disk / MIB:.0f} MiB"
    assert battery.watched.max_rss < RSS_BUDGET, f"a process of the run reached {battery.watched.max_rss / MIB:.0f} MiB"


def _disk_result(battery: Battery, case: str) -> dict[str, Any]:
    """A disk case's result; runtimes without preopens have no scratch dir to fill."""
    if not _has_preopens(battery.runtime.partition(":")[0]):
        pytest.skip(f"{battery.runtime} grants no scratch dir: nothing to fill")
    return _ran(battery.result("disk", case))


@pytest.mark.parametrize(("runtime", "case"), _params(DISK_CASES))
def test_a_disk_bomb_is_stopped_at_the_disk_limit(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    """3 GiB in one file, or in 16 KiB files: a `disk_limit` trap, the run's disk near the
    limit, and nothing left behind in the scratch dir."""
    battery = run_on(runtime)
    result = _disk_result(battery, case)
    assert (result["outcome"], result["trap"]) == ("trapped", "disk_limit"), result
    assert f"past the {DISK_LIMIT // MIB} MiB disk limit" in result["message"], result
    assert battery.watched.peak_disk < DISK_BUDGET, f".wasitest grew by {battery.watched.peak_disk / MIB:.0f} MiB"
    assert not battery.scratch_left, battery.scratch_left


@pytest.mark.parametrize(("runtime", "case"), _params(["disk_within_limit"]))
def test_writing_within_the_disk_limit_is_untouched(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    result = _disk_result(run_on(runtime), case)
    assert result["outcome"] == "passed", result


@pytest.mark.parametrize("runtime", CELLS)
def test_every_job_ends_within_its_time_limit(run_on: Callable[[str], Battery], runtime: str) -> None:
    """No job of the battery outlives its time limit plus the pool's grace."""
    battery = run_on(runtime)
    for (artifact, case), result in battery.results.items():
        limit = SUITE_TIMEOUT[artifact.split("/")[0].removeprefix("spec_")]
        assert result["duration_s"] <= limit + GRACE_S, (artifact, case, result["duration_s"])


# ------------------------------------------------------------------------------- escapes


def _made_by(name: str) -> str:
    """The case whose work a file of the canary folder shows: its own target, or a file
    it tried to create there."""
    if name.startswith("hostile-escape-planted"):
        return "escape_planted"
    if name.startswith("hostile-escape-"):
        return "escape_write"
    return name.removesuffix(".txt")


@pytest.mark.parametrize(("runtime", "case"), _params(["escape_read", "escape_write", "escape_delete"]))
def test_the_guest_cannot_leave_its_scratch_dir(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    """`..`, absolute paths and links the guest plants in its scratch dir (absolute, relative,
    moved, chained through `x/..`) reach nothing outside it."""
    battery = run_on(runtime)
    result = battery.result("escapes", case)
    case_changes = {k: v for k, v in battery.canary_changes.items() if _made_by(k) == case}
    assert result["outcome"] in ("passed", "unsupported"), battery.output_of(result)[:4000]
    assert battery.canary_secret not in battery.output_of(result)
    assert not case_changes, case_changes
    if case == "escape_write":
        assert not battery.escaped, battery.escaped


@pytest.mark.parametrize(("runtime", "case"), _params(["escape_planted"]))
def test_links_in_the_test_data_lead_nowhere(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    """Links a spec's data folder brings (copied into the scratch dir as links) reach nothing
    outside it: refused, or the job is `unsupported` where data with links cannot be given."""
    battery = run_on(runtime)
    result = battery.result("planted", case)
    assert result["outcome"] in ("passed", "unsupported"), battery.output_of(result)[:4000]
    assert battery.canary_secret not in battery.output_of(result)
    case_changes = {k: v for k, v in battery.canary_changes.items() if _made_by(k) == case}
    assert not case_changes, case_changes


@pytest.mark.parametrize(("runtime", "case"), _params(["env_probe"]))
def test_the_host_environment_is_invisible(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    battery = run_on(runtime)
    result = _ran(battery.result("escapes", case))
    assert result["outcome"] == "passed", battery.output_of(result)
    names = {line.split()[1].split("=", 1)[0] for line in result["stdout"].splitlines() if line.startswith("env ")}
    assert names == GRANTED, names
    every_output = "\n".join(battery.output_of(r) for r in battery.results.values())
    assert battery.host_secret not in every_output
    for key in ("PATH", "HOME"):
        value = os.environ.get(key)
        if value and len(value) > 4:
            assert f"{key}={value}" not in every_output


@pytest.mark.parametrize(("runtime", "case"), _params(["network"], RUNTIMES))
def test_the_network_is_out_of_reach(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    """A module that imports WASIX's sockets: refused at instantiation (no such imports), or
    given a socket that connects nowhere; the test's listener sees no connection."""
    battery = run_on(runtime)
    result = battery.results[("net/network", "network")]
    # wamr dies of SIGSEGV calling an import it does not have (a crash: the job, nothing more)
    assert result["outcome"] in ("passed", "error", "crashed"), battery.output_of(result)
    assert "OPENED" not in result["stdout"]
    assert not battery.connections, battery.connections


@pytest.mark.parametrize("runtime", P2_CELLS)
def test_a_module_with_wasix_imports_has_no_p2_form(runtime: str, tmp_path: Path) -> None:
    """The network case as a component: no component world has WASIX, so its p2 form cannot
    be made; the run goes on, and the p2 cell reports the job unsupported with jco's reason
    (nothing reaches a runtime)."""
    _available(runtime)
    project = tmp_path / "project"
    (project / "spec" / "net").mkdir(parents=True)
    shutil.copy(HERE / "network.c", project / "network.c")
    (project / "spec" / "net" / "network.c").write_text('#include "../../network.c"\n')
    (project / "pyproject.toml").write_text(_suite("net", "spec", "spec/net/*.c"))
    done = subprocess.run(
        [sys.executable, "-m", "wasitest", "run", str(project), "--runtimes", runtime],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (result,) = json.loads((project / ".wasitest" / "results.json").read_text())["results"]
    assert result["outcome"] == "unsupported", result
    assert "jco cannot make" in result["message"] and "into a p2 component" in result["message"], result


# --------------------------------------------------------------------------- exit status


@pytest.mark.parametrize(("runtime", "case"), _params(EXIT_CASES))
def test_an_exit_status_out_of_a_byte_never_passes(run_on: Callable[[str], Battery], runtime: str, case: str) -> None:
    """proc_exit(256), (-1), (1<<30): a runtime may refuse the status (a trap) or report it;
    it must never become 0, a pass."""
    result = _ran(run_on(runtime).result("exits", case))
    assert result["outcome"] in ("failed", "trapped"), result
    if result["outcome"] == "failed":
        assert result["exit_code"] not in (None, 0), result


# ---------------------------------------------------------------------------------- argv


@pytest.mark.parametrize(("runtime", "suite"), _params([name for name, _, _ in ARGVS]))
def test_a_huge_argv_arrives_whole_or_not_at_all(run_on: Callable[[str], Battery], runtime: str, suite: str) -> None:
    """Megabytes of arguments: passed as sent, refused (an error), or more than the guest can
    hold (its libc exits 70 before `main`); never altered on the way, never a crash."""
    battery = run_on(runtime)
    result = _ran(battery.result(suite, "argv"))
    if result["outcome"] == "skipped":
        pytest.skip(result["message"])
    count = ARGV_COUNT[suite]
    if "argc" in result["stdout"]:
        assert result["stdout"].startswith(f"argc {count + 1},") and "0 not as sent" in result["stdout"], result
        assert result["outcome"] == "passed", result
    else:
        assert result["outcome"] in ("error", "timeout") or (
            result["outcome"] == "failed" and result["exit_code"] in (70, 71)
        ), result


# ------------------------------------------------------------------------------ interrupt


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One run of a never-ending case on every available runtime at once, interrupted with
    SIGINT to its process group (what a terminal's Ctrl-C does) once every job runs."""
    available = [r for r in RUNTIMES if info(r).available]
    if not available:
        pytest.skip("no runtime is available")
    project = tmp_path_factory.mktemp("interrupt") / "project"
    (project / "spec").mkdir(parents=True)
    shutil.copy(HERE / "hang.c", project / "hang.c")
    (project / "spec" / "hang.c").write_text('#include "../hang.c"\n')
    (project / "spec" / "hang.json").write_text(json.dumps({"args": ["hang"]}))
    with_preopens = [r for r in available if _has_preopens(r)]
    text = _suite("hang", "c", "hang.c", harness="clist", timeout=300) + _suite(
        "spec_hang", "spec", "spec/hang.c", timeout=300
    )
    for runtime in with_preopens:
        text += f'[[tool.wasitest.expect]]\nruntime = {_toml(runtime)}\ncases = ["spec_hang/*::*"]\naction = "skip"\n'
    (project / "pyproject.toml").write_text(text)
    build = subprocess.run([sys.executable, "-m", "wasitest", "build", str(project)], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    started = time.monotonic()
    proc = start_run(project, "--runtimes", ",".join(available), "-j", str(len(available)))
    watcher = Watcher(proc.pid, project / ".wasitest")
    # every job that runs with a scratch dir on the host leaves a marker (browser_shim's are
    # in memory); the others, and those, get a few seconds more
    marking = {r for r in with_preopens if r != "browser_shim"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        refused = {r["cell"] for r in _journal(project) if r.get("outcome") == "unsupported"}
        if len(list(project.glob(".wasitest/scratch/job-*/started"))) >= len(marking - refused):
            break
        time.sleep(0.1)
    time.sleep(3)
    interrupted_at = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    watched = finish(proc, watcher, started, timeout=60)
    stopped_after = time.monotonic() - interrupted_at
    time.sleep(2)
    table = _proc_table()
    survivors = {
        cmdline: pid
        for (pid, start), cmdline in watched.seen.items()
        if pid in table and table[pid][1] == start and table[pid][2] != "Z"
    }
    for pid in survivors.values():  # processes this run started: end them, so they cost no more
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    report = os.environ.get("HOSTILE_REPORT")
    if report:
        found = {"exit_code": watched.returncode, "stopped_after_s": round(stopped_after, 2), "survivors": survivors}
        Path(f"{report}.interrupt.json").write_text(json.dumps(found, indent=1))
    return {"watched": watched, "stopped_after": stopped_after, "survivors": survivors, "available": available}


def _journal(project: Path) -> list[dict[str, Any]]:
    """The results a running run has journalled so far (the first line is a header)."""
    try:
        lines = (project / ".wasitest" / "results.jsonl").read_text().splitlines()[1:]
    except OSError:
        return []
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            pass  # a line being written
    return found


#: how to tell which runtime a process belongs to, from its command line
PROCESS_OF: dict[str, str | tuple[str, ...]] = {
    "wasmtime-cli": "wasmtime_cli/wasmtime run",
    "wamr": "wamr run",
    "pywasm": "wasitest.plugins.runtimes.pywasm",
    "wasmer": "wasitest.plugins.runtimes.wasmer",
    "node": "node_worker.mjs",
    "bun": "bun_worker.mjs",
    "browser_shim": "browser_shim_worker.mjs",
    "wasmer_js": "wasmer_js_worker.mjs",
    # embedded: the worker process itself, spawned, or forked from the run (whose command
    # line it keeps; the run itself has ended by the time survivors are looked for)
    "wasmtime": ("multiprocessing.spawn", "-m wasitest run"),
}


@pytest.mark.parametrize(("runtime", "case"), _params(["interrupt"], RUNTIMES))
def test_an_interrupted_run_leaves_nothing_running(interrupted: dict[str, Any], runtime: str, case: str) -> None:
    _available(runtime)
    watched: Watched = interrupted["watched"]
    assert watched.returncode == 130, watched.output
    assert interrupted["stopped_after"] < 15, interrupted["stopped_after"]
    marks = PROCESS_OF[runtime]
    marks = (marks,) if isinstance(marks, str) else marks
    mine = [cmd for cmd in interrupted["survivors"] if any(mark in cmd for mark in marks)]
    assert not mine, mine

"""Runtimes that live in a JavaScript engine: one runner process, one session, and how they
are found.

Node's `node:wasi`, Bun's `node:wasi`, @bjorn3/browser_wasi_shim and @wasmer/sdk all run in
`js_runner.mjs`, one process per session, each as an engine module beside it
(`node_worker.mjs`, ...); the runner's protocol is described at its top, its answers are the
kit's helper-process protocol (`helper.py`). Here: the runner process (`JsRunner`), the
session that feeds it (`JsSession`), and what the adapters share to find their engine:
`node`, a program's version, npm packages in wasitest's own cache (`NodePackageAdapter`,
for packages that `node` runs).

Memory: no engine has a store-level limit, so the session gives the runner a copy of the
module whose memories' maximum is lowered to the job's limit (`modules.memory_capped`);
`memory.grow` past it then fails as it would under Wasmtime's `Store.set_limits`. A
runtime whose jobs are not core modules (components, which jco transpiles) gives the
session its own `prepare`: what the runner's engine loads for a module file and a limit.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any, ClassVar

from wasitest import npm
from wasitest.jsontext import compact
from wasitest.model import Execution, Invocation, RuntimeInfo, TrapKind
from wasitest.plugins.runtimes.kit.adapter import RuntimeAdapter
from wasitest.plugins.runtimes.kit.helper import HelperSession, execution_from_answer
from wasitest.plugins.runtimes.kit.modules import ModuleCache, Prepare, memory_capped
from wasitest.plugins.runtimes.kit.output import OutputCapture
from wasitest.plugins.runtimes.kit.process import die_with_parent, log_tail
from wasitest.plugins.runtimes.kit.traps import TrapTable
from wasitest.runner.job_files import private_tmp

#: the folder of the runner and its engine modules
RUNTIMES_DIR = Path(__file__).resolve().parent.parent
RUNNER = RUNTIMES_DIR / "js_runner.mjs"
#: how long the runner may take to start and greet
STARTUP_TIMEOUT_S = 30.0

#: V8's and JavaScriptCore's words for traps
JS_TRAPS = TrapTable.of(
    ("unreachable", TrapKind.UNREACHABLE),
    ("memory access out of bounds", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),  # JavaScriptCore (Bun)
    ("maximum call stack size exceeded", TrapKind.STACK_OVERFLOW),
    ("out of memory", TrapKind.MEMORY_LIMIT),
    ("disk limit", TrapKind.DISK_LIMIT),  # an engine's in-memory files grew past it (browser_shim)
    ignore_case=True,
)
#: what an engine throws when the guest traps; anything else thrown while the guest runs is
#: the WASI implementation failing, unless its message names a trap
WASM_ERRORS = frozenset({"RuntimeError", "RangeError", "Exception"})


def runner_env() -> dict[str, str]:
    """The host environment minus `NODE_*` (NODE_OPTIONS could load code into the runner) and
    `BUN_*` (Bun reads settings from them).

    Guests never see this: each job's WASI environment is exactly `invocation.env`. Runners
    also start in a folder of wasitest's own, so that no `bunfig.toml` of the project (whose
    `preload` would run code in the runner) is found.
    """
    return {key: value for key, value in os.environ.items() if not key.startswith(("NODE_", "BUN_"))}


def runner_command(
    interpreter: Sequence[str],
    engine: str,
    *,
    data: Mapping[str, str] | None = None,
    in_process: bool = False,
    terminate_grace_ms: int | None = None,
) -> tuple[str, ...]:
    """The command line of `js_runner.mjs` with the engine module `engine` (a file name
    beside it), run by `interpreter` (`node` or `bun`, with their flags)."""
    command = [*interpreter, str(RUNNER), str(RUNTIMES_DIR / engine)]
    if in_process:
        command.append("--in-process")
    if terminate_grace_ms is not None:
        command.append(f"--terminate-grace-ms={terminate_grace_ms}")
    if data:
        command.append("--engine-data=" + json.dumps(dict(data)))
    return tuple(command)


class RunnerGone(Exception):
    """The runner process ended, could not start, or spoke out of protocol."""


class JsRunner:
    """One `js_runner.mjs` process and a thread that reads its answers.

    `name` is what messages call it ("the runner exited ..."). Raises `RunnerGone` when it
    cannot be started or does not greet.
    """

    def __init__(
        self, command: Sequence[str], log: Path, name: str = "runner", startup_timeout_s: float = STARTUP_TIMEOUT_S
    ) -> None:
        self.name = name
        self.log = log
        #: the jobs it was sent
        self.jobs = 0
        try:
            with log.open("wb") as err:
                self.proc = subprocess.Popen(
                    list(command),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=err,
                    env=runner_env(),
                    cwd=log.parent,
                    preexec_fn=die_with_parent(),  # a killed worker never leaves a runner spinning
                )
        except OSError as exc:
            raise RunnerGone(f"cannot start {command[0]}: {exc}") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin: IO[bytes] = self.proc.stdin
        self._answers: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True, name="wasitest-js").start()
        greeting = self._next(startup_timeout_s)
        if greeting is None:
            raise RunnerGone(f"the {name} did not answer within {startup_timeout_s:.0f} s; killed it")
        if not greeting.get("ready"):
            self.kill()
            raise RunnerGone(f"unexpected greeting from the {name}: {greeting}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)

    def _next(self, timeout_s: float) -> dict[str, Any] | None:
        try:
            line = self._answers.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            self.kill()
            return None
        if line is None:
            raise RunnerGone(f"the {self.name} exited ({_status(self.proc.wait())}){self.log_tail()}")
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            self.kill()
            raise RunnerGone(f"the {self.name} wrote something that is not JSON: {line[:200]!r}") from None
        return answer

    def ask(self, job: Mapping[str, Any], timeout_s: float) -> dict[str, Any] | None:
        """Send a job and wait up to `timeout_s` for its answer; None when it took longer
        (the runner was killed). Raises `RunnerGone` when the runner died on its own."""
        self.jobs += 1
        try:
            self._stdin.write(compact(job).encode() + b"\n")
            self._stdin.flush()
        except OSError:
            raise RunnerGone(f"the {self.name} exited ({_status(self.proc.wait())}){self.log_tail()}") from None
        return self._next(timeout_s)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self) -> str:
        return log_tail(self.log, 2000)

    def close(self) -> None:
        """Close stdin (the runner exits when it reads EOF), then make sure it is gone."""
        try:
            self._stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _status(code: int) -> str:
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"


class JsSession:
    """Runs invocations through one long-lived `js_runner.mjs` (`command`); restarts it when
    it dies or asks to retire.

    `name` is the runtime's (the folder of its module copies, its log), `label` how messages
    name its WASI implementation ("node:wasi", "Bun's node:wasi", ...), `runner_name` how
    they name the runner. `refuse` may turn an invocation away before it reaches the runner
    (a capability the runtime lacks): it returns the reason, or "" to run it.
    `refuse_planted_links`: the engine follows a link in a preopened folder anywhere on the
    host (node:wasi does), so a job whose data holds a link that could lead out is refused.
    `prepare(module, memory_limit)` makes the file the runner loads for a job (or the
    `Execution` that ends it), once per module and limit; by default the memory-capped copy
    of a core module.
    """

    #: how long a runner may take to start and greet (an emulated Node takes seconds)
    startup_timeout_s: float = STARTUP_TIMEOUT_S
    #: a runner is replaced after this many jobs. Node's cost a job and its memory jump
    #: once, after about 35,000 instances of a 100,000-function module (in V8: the runner
    #: itself holds nothing per job), and a fresh runner costs a start and a compile,
    #: about 0.1-1 s, once every this many jobs
    retire_after_jobs: int = 20_000

    def __init__(
        self,
        command: Sequence[str],
        cache_dir: Path,
        name: str,
        *,
        label: str,
        runner_name: str = "runner",
        refuse: Callable[[Invocation], str] | None = None,
        refuse_planted_links: bool = False,
        prepare: Prepare[Path] | None = None,
    ) -> None:
        self.command = tuple(command)
        self.cache_dir = cache_dir
        self.name = name
        self.label = label
        self.runner_name = runner_name
        self.refuse = refuse
        self.refuse_planted_links = refuse_planted_links
        self.modules = memory_capped(cache_dir / name) if prepare is None else ModuleCache(prepare)
        self.jobs_dir = private_tmp(cache_dir)
        #: stdio, reused job after job (a folder per job costs more than the job)
        self.stdio = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.jobs_dir))
        self.capture = OutputCapture(self.stdio / "io")
        self._runner: JsRunner | None = None
        self._next_id = 0

    @property
    def pid(self) -> int | None:
        """The runner's process id, None before the first job."""
        return self._runner.pid if self._runner is not None else None

    def _started_runner(self) -> JsRunner:
        if self._runner is not None and not self._runner.alive():
            self._runner = None
        if self._runner is None:
            log = self.jobs_dir / f"{self.name}-runner.log"
            self._runner = JsRunner(self.command, log, self.runner_name, self.startup_timeout_s)
        return self._runner

    def run(self, invocation: Invocation) -> Execution:
        reason = self.refuse(invocation) if self.refuse is not None else ""
        if reason:
            return Execution(unsupported=reason)
        started = time.perf_counter()
        prepared = self.modules.get(invocation.module, invocation.memory_limit, invocation.module_sha256)
        if isinstance(prepared, Execution):
            return prepared
        planted = escaping_link(invocation.preopens) if self.refuse_planted_links else ""
        if planted:
            link = f"the preopened data holds a link {self.label} could follow out of it"
            return Execution(unsupported=f"{link}: {planted}")
        paths = self.capture.begin(invocation.stdin, invocation.output_cap)
        try:
            answer = self._ask(invocation, prepared, paths)
        except RunnerGone as exc:
            return Execution(error=str(exc), duration_s=time.perf_counter() - started)
        finally:
            # the output is capped while it is captured (pipes), and no later job can read it
            out, out_cut, err, err_cut = self.capture.end()
        captured: dict[str, Any] = {
            "stdout": out,
            "stderr": err,
            "stdout_truncated": out_cut,
            "stderr_truncated": err_cut,
            "duration_s": time.perf_counter() - started,
        }
        if answer is None:
            return Execution(trap=TrapKind.TIMEOUT, trap_message=HelperSession.killed_message, **captured)
        return execution_from_answer(self._judged(answer), JS_TRAPS, **captured)

    def _ask(self, invocation: Invocation, module: Path, paths: tuple[Path, Path, Path]) -> dict[str, Any] | None:
        """One job through the runner (started if need be), which is let go when it asks to
        retire or is killed; None when it did not answer in time."""
        self._next_id += 1
        stdin, stdout, stderr = (os.path.abspath(path) for path in paths)
        job = {
            "id": self._next_id,
            "module": os.path.abspath(module),
            "args": list(invocation.argv),
            "env": [list(pair) for pair in invocation.env],
            "preopens": [[guest, os.path.abspath(host)] for host, guest in invocation.preopens],
            "stdin": stdin,
            "stdout": stdout,
            "stderr": stderr,
            "timeout_ms": max(1, round(invocation.timeout_s * 1000)),
            "disk_limit": invocation.disk_limit,
        }
        runner = self._started_runner()
        try:
            answer = runner.ask(job, invocation.backstop_s)
        except RunnerGone:
            self._runner = None
            raise
        if answer is None:  # killed at the backstop
            self._runner = None
        elif runner.jobs >= self.retire_after_jobs and not answer.get("retire"):
            runner.close()
            self._runner = None
        elif answer.get("retire"):
            if answer["retire"] == "stuck":  # an engine blocked in a host call keeps its process alive
                runner.kill()
            else:
                runner.close()
            self._runner = None
        return answer

    def _judged(self, answer: dict[str, Any]) -> dict[str, Any]:
        """A trap the engine reported as a JavaScript throw that is no WebAssembly error and
        names no trap kind is the WASI implementation failing, not the guest: an error."""
        thrown = answer.get("thrown")
        message = str(answer.get("trap_message", ""))
        if (
            answer.get("status") == "trap"
            and thrown
            and thrown not in WASM_ERRORS
            and JS_TRAPS.kind(message) is TrapKind.OTHER
        ):
            return {**answer, "status": "error", "error": f"{self.label} failed: {thrown}: {message}"}
        return answer

    def interrupt(self) -> None:
        """End the running job now (the disk watch asks, from another thread): the runner
        is killed, the job reports its death, and the next job starts a new one."""
        runner = self._runner
        if runner is not None:
            runner.proc.kill()

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self.capture.close()
        shutil.rmtree(self.stdio, ignore_errors=True)
        # what a runner wrote to its stderr is read only when it dies, into that job's error
        (self.jobs_dir / f"{self.name}-runner.log").unlink(missing_ok=True)


# ------------------------------------------------------------------------ links out of preopens


def benign_link_target(target: str) -> bool:
    """Relative and made of plain names: a link that can only point down (node_worker.mjs's
    `path_symlink` guard applies the same rule to links a module makes)."""
    return bool(target) and not target.startswith("/") and all(p not in ("", ".", "..") for p in target.split("/"))


def escaping_link(preopens: Sequence[tuple[Path, str]]) -> str:
    """A link in a preopened folder (test data copied in) whose target is not benign, or ''."""
    for host, _ in preopens:
        for folder, dirs, files in os.walk(host):
            for name in dirs + files:
                path = os.path.join(folder, name)
                if os.path.islink(path) and not benign_link_target(os.readlink(path)):
                    return f"{name} -> {os.readlink(path)}"
    return ""


# ----------------------------------------------------------------------------- finding things


def tool_version(program: str) -> tuple[str, str]:
    """What `PROGRAM --version` says (without a leading "v"), or ("", why it does not run)."""
    try:
        done = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30, check=False, env=runner_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"cannot run {program}: {exc}"
    version = done.stdout.strip().lstrip("v")
    if done.returncode != 0 or not re.match(r"\d+\.", version):
        detail = (done.stderr or done.stdout).strip().splitlines()
        return "", f"{program} does not run: {detail[-1] if detail else f'exit code {done.returncode}'}"
    return version, ""


def package_entry(tool: str, package: str, entry: str) -> Path | None:
    """A file of an npm package installed for `tool` in wasitest's npm cache, if it is there."""
    path = npm.tool_dir(tool) / "node_modules" / package / entry
    return path if path.is_file() else None


class NodePackageAdapter(RuntimeAdapter):
    """A runtime that is an npm package run by `node` in the JS runner: available when the
    package is in wasitest's npm cache (`wasitest runtimes install NAME`) and `node` is
    recent enough.

    A subclass declares the package (`npm_tool`, `npm_packages`; `package`, whose version is
    the runtime's, and its `entry` file, which the engine loads: the engine gets
    `{"entry": PATH}`), its `engine` module, the `label` messages give it, and may
    `refuse` invocations.
    """

    package: ClassVar[str]
    entry: ClassVar[str]
    min_node: ClassVar[int] = 18
    engine: ClassVar[str]
    label: ClassVar[str]
    #: the engine runs in the runner's main thread (see js_runner.mjs)
    in_process: ClassVar[bool] = False

    def __init__(self, node: str | None = None) -> None:
        self._node = node
        #: `node` and the package's entry file, once found
        self._found: tuple[str, Path] | None = None
        #: the install hint when `node` is what is missing, not the package
        self._node_hint = ""

    def probe(self) -> tuple[str, str]:
        version = npm.installed_version(self.npm_tool, self.package)
        entry = package_entry(self.npm_tool, self.package, self.entry)
        if version is None or entry is None:
            return "", f"{self.package} is not installed in wasitest's npm cache"
        node = self._node or shutil.which("node")
        found, reason = tool_version(node) if node is not None else ("", "`node` is not on PATH")
        if not reason and int(found.split(".")[0]) < self.min_node:
            reason = f"node {found} is too old; {self.package} needs {self.min_node} or newer"
        if reason or node is None:
            self._node_hint = f"install Node.js {self.min_node} or newer and put `node` on PATH"
            return "", reason
        self._found = (node, entry)
        return f"{self.package} {version} (node {found})", ""

    def info(self) -> RuntimeInfo:
        info = super().info()
        return replace(info, install_hint=self._node_hint) if self._node_hint else info

    def refuse(self, invocation: Invocation) -> str:
        """Why this invocation must not run here ("" to run it)."""
        return ""

    def preparer(self, cache_dir: Path) -> Prepare[Path] | None:
        """What the session makes of each module for the engine (`JsSession`'s `prepare`);
        None for the memory-capped copy of a core module."""
        return None

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> JsSession:
        assert self._found is not None, "session() before a successful probe()"
        node, entry = self._found
        command = runner_command((node,), self.engine, data={"entry": str(entry)}, in_process=self.in_process)
        return JsSession(
            command, cache_dir, self.name, label=self.label, refuse=self.refuse, prepare=self.preparer(cache_dir)
        )

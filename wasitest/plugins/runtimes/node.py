"""Node.js `node:wasi`, through a persistent runner process (`node_runner.js`).

One `node` process per session, started at the first job and fed jobs as JSON lines (the
protocol is described at the top of `node_runner.js`). Inside it, modules are compiled once
and every job gets a fresh `WASI` object and instance in a Worker thread, which is
terminated when the job runs out of time.

Memory: `node:wasi` has no store-level limit, so the session gives Node a copy of the module
whose memories' maximum is lowered to the job's limit (`wasmbin.cap_memory`), written once
per module content and limit into the cache; `memory.grow` past it then fails as it would
under Wasmtime's `Store.set_limits`.

Not a sandbox in every respect: `node:wasi` follows symlinks inside a preopened directory
to anywhere on the host, and cannot preopen read-only.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from wasitest.model import Capability, Execution, Invocation, RuntimeInfo, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.capture import OutputCapture, private_tmp
from wasitest.plugins.runtimes.subprocess_run import capped_module, die_with_parent
from wasitest.protocols import Runtime

RUNNER = Path(__file__).with_name("node_runner.js")
#: `--no-turbo-fast-api-calls`: without it, many WASI instances in one process have crashed
#: Node 20. `--no-warnings`: WASI's ExperimentalWarning, once per Worker, is noise.
NODE_FLAGS = ("--no-turbo-fast-api-calls", "--no-warnings")
MIN_MAJOR = 18
INSTALL_HINT = "install Node.js 18 or newer (e.g. apt-get install nodejs) and put `node` on PATH"
CAPABILITIES = frozenset(
    {
        Capability.PREOPEN,
        Capability.STDIN,
        Capability.TIMEOUT,
        Capability.MEMORY_LIMIT,
        Capability.ENV_ISOLATION,
        Capability.FS_CONTAINMENT,
    }
)
#: How long the runner may take to start and greet.
STARTUP_TIMEOUT_S = 30.0
#: How long past a job's own timeout the session waits for an answer before it kills the
#: runner: the runner enforces the timeout itself, this only catches a runner that hangs.
ANSWER_GRACE_S = 30.0

_PROBE = (
    "const {WASI} = require('node:wasi'); require('node:worker_threads');"
    "new WASI({version: 'preview1', args: [], env: {}, returnOnExit: true});"
    "console.log(process.versions.node)"
)

_TRAPS = (
    ("unreachable", TrapKind.UNREACHABLE),
    ("memory access out of bounds", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("maximum call stack size exceeded", TrapKind.STACK_OVERFLOW),
    ("out of memory", TrapKind.MEMORY_LIMIT),
)


def trap_kind(message: str) -> TrapKind:
    """Map a V8 trap message ("unreachable", "Maximum call stack size exceeded", ...)."""
    text = message.lower()
    for needle, kind in _TRAPS:
        if needle in text:
            return kind
    return TrapKind.OTHER


def _runner_env() -> dict[str, str]:
    """The host environment minus `NODE_*` (NODE_OPTIONS could load code into the runner).

    Guests never see this: each job's WASI environment is exactly `invocation.env`.
    """
    return {key: value for key, value in os.environ.items() if not key.startswith("NODE_")}


class RunnerGone(Exception):
    """The runner process ended or stopped answering."""


class _Runner:
    """One `node node_runner.js` process and a thread that reads its answers."""

    def __init__(self, node: str, log: Path) -> None:
        self.log = log
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                [node, *NODE_FLAGS, str(RUNNER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=_runner_env(),
                preexec_fn=die_with_parent(),  # a killed worker never leaves a runner spinning
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin: IO[bytes] = self.proc.stdin
        self._answers: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True, name="wasitest-node").start()
        greeting = self._next(STARTUP_TIMEOUT_S)
        if not greeting.get("ready"):
            self.kill()
            raise RunnerGone(f"unexpected greeting from the node runner: {greeting}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self._answers.put(line)
        self._answers.put(None)

    def _next(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            raise RunnerGone(f"the node runner did not answer within {timeout:.0f} s; killed it") from None
        if line is None:
            code = self.proc.wait()
            raise RunnerGone(f"the node runner exited ({_status(code)}){self.log_tail()}")
        try:
            answer: dict[str, Any] = json.loads(line)
        except ValueError:
            self.kill()
            raise RunnerGone(f"the node runner wrote something that is not JSON: {line[:200]!r}") from None
        return answer

    def ask(self, job: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            self._stdin.write(json.dumps(job).encode() + b"\n")
            self._stdin.flush()
        except OSError:
            code = self.proc.wait()
            raise RunnerGone(f"the node runner exited ({_status(code)}){self.log_tail()}") from None
        return self._next(timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, limit: int = 2000) -> str:
        try:
            text = self.log.read_bytes()[-limit:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f": {text}" if text else ""

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


class NodeSession:
    """Runs invocations through one long-lived runner; restarts it if it dies."""

    #: node:wasi follows a link in a preopened folder anywhere: refuse data holding one
    refuse_planted_links = True

    def __init__(self, node: str, cache_dir: Path) -> None:
        self.node = node
        self.cache_dir = cache_dir
        self.jobs_dir = private_tmp(cache_dir)
        #: stdio, reused job after job (a folder per job costs more than the job)
        self.stdio = Path(tempfile.mkdtemp(prefix="node-", dir=self.jobs_dir))
        self.capture = OutputCapture(self.stdio / "io")
        self._runner: _Runner | None = None
        self._next_id = 0
        #: (path, mtime_ns, size, limit) -> the capped copy, or why there is none
        self._prepared: dict[tuple[str, int, int, int], Path | Execution] = {}

    @property
    def pid(self) -> int | None:
        """The runner's process id, None before the first job."""
        return self._runner.pid if self._runner is not None else None

    def _prepare(self, module: Path, limit: int) -> Path | Execution:
        """The memory-capped copy of `module` to run, or the execution that ends the job."""
        stat = module.stat()
        key = (str(module), stat.st_mtime_ns, stat.st_size, limit)
        prepared = self._prepared.get(key)
        if prepared is None:
            prepared = self._prepared[key] = self._cap(module, limit)
        return prepared

    def _cap(self, module: Path, limit: int) -> Path | Execution:
        return capped_module(self.cache_dir / "node", module, limit)

    def _ensure_runner(self) -> _Runner:
        if self._runner is not None and not self._runner.alive():
            self._runner = None
        if self._runner is None:
            try:
                self._runner = _Runner(self.node, self.jobs_dir / "node-runner.log")
            except OSError as exc:
                raise RunnerGone(f"cannot start {self.node}: {exc}") from None
        return self._runner

    def run(self, invocation: Invocation) -> Execution:
        started = time.perf_counter()
        try:
            prepared = self._prepare(invocation.module, invocation.memory_limit)
        except OSError as exc:
            return Execution(error=f"cannot read {invocation.module}: {exc}")
        if isinstance(prepared, Execution):
            return prepared
        planted = escaping_link(invocation.preopens) if self.refuse_planted_links else ""
        if planted:
            return Execution(unsupported=f"the preopened data holds a link node:wasi could follow out of it: {planted}")
        stdin, stdout, stderr = self.capture.begin(invocation.stdin, invocation.output_cap)
        self._next_id += 1
        job = {
            "id": self._next_id,
            "module": str(prepared),
            "args": list(invocation.argv),
            "env": [list(pair) for pair in invocation.env],
            "preopens": [[guest, str(host)] for host, guest in invocation.preopens],
            "stdin": str(stdin),
            "stdout": str(stdout),
            "stderr": str(stderr),
            "timeout_ms": max(1, round(invocation.timeout_s * 1000)),
        }
        try:
            try:
                runner = self._ensure_runner()
                answer = runner.ask(job, invocation.timeout_s + ANSWER_GRACE_S)
            except RunnerGone as exc:
                self._runner = None
                return Execution(error=str(exc), duration_s=time.perf_counter() - started)
            retire = answer.get("retire")
            if retire:
                if retire == "stuck":  # a Worker blocked in a host call keeps Node from exiting
                    runner.kill()
                else:
                    runner.close()
                self._runner = None
        finally:
            # the output is capped while it is captured (pipes), and no later job can read it
            out, out_cut, err, err_cut = self.capture.end()
        duration = answer.get("duration_ms")
        fields: dict[str, Any] = {
            "stdout": out,
            "stderr": err,
            "stdout_truncated": out_cut,
            "stderr_truncated": err_cut,
            "duration_s": duration / 1000 if duration is not None else time.perf_counter() - started,
        }
        return _execution(answer, fields)

    def close(self) -> None:
        if self._runner is not None:
            self._runner.close()
            self._runner = None
        self.capture.close()
        shutil.rmtree(self.stdio, ignore_errors=True)


def benign_link_target(target: str) -> bool:
    """Relative and made of plain names: a link that can only point down (the runner's
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


def _execution(answer: dict[str, Any], fields: dict[str, Any]) -> Execution:
    """Turn one runner answer into an `Execution`."""
    status = answer.get("status")
    message = str(answer.get("message", ""))
    if status == "exit":
        # node:wasi hands back proc_exit's argument as a signed i32; WASI's exit code is a u32
        return Execution(exit_code=int(answer["exit_code"]) & 0xFFFFFFFF, **fields)
    if status == "timeout":
        return Execution(trap=TrapKind.TIMEOUT, trap_message="timed out; the Worker was terminated", **fields)
    if status == "threw":
        name = str(answer.get("name", ""))
        if name == "LinkError" or (answer.get("phase") == "instantiate" and name not in ("RuntimeError", "RangeError")):
            return Execution(error=f"cannot instantiate: {name}: {message}", **fields)
        kind = trap_kind(message)
        if kind is TrapKind.OTHER and name not in ("RuntimeError", "RangeError", "Exception"):
            return Execution(error=f"node:wasi failed: {name}: {message}", **fields)
        return Execution(trap=kind, trap_message=message, **fields)
    return Execution(error=message or f"unexpected answer from the node runner: {answer}", **fields)


def _node_version(node: str) -> tuple[str, str]:
    """Node's version if `node:wasi` works there, else ("", the reason)."""
    try:
        done = subprocess.run(
            [node, *NODE_FLAGS, "-e", _PROBE],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
            env=_runner_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"cannot run {node}: {exc}"
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        detail = next((line for line in lines if "Error" in line), lines[-1] if lines else "")
        return "", f"node:wasi does not work with {node}: {detail.strip()}"
    version = done.stdout.strip()
    try:
        major = int(version.split(".")[0])
    except ValueError:
        return "", f"cannot read the version of {node}: {version!r}"
    if major < MIN_MAJOR:
        return "", f"node {version} is too old; node:wasi preview1 needs {MIN_MAJOR} or newer"
    return version, ""


class NodeRuntime:
    name = "node"

    def __init__(self, node: str | None = None) -> None:
        self._node = node
        self._info: RuntimeInfo | None = None

    def _executable(self) -> str | None:
        return self._node or shutil.which("node")

    def info(self) -> RuntimeInfo:
        if self._info is None:
            node = self._executable()
            if node is None:
                self._info = RuntimeInfo(self.name, False, reason="`node` is not on PATH", install_hint=INSTALL_HINT)
            else:
                version, reason = _node_version(node)
                self._info = RuntimeInfo(
                    self.name,
                    not reason,
                    version=f"node {version}" if version else "",
                    reason=reason,
                    install_hint=INSTALL_HINT,
                    capabilities=CAPABILITIES if not reason else frozenset(),
                )
        return self._info

    def open_session(self, cache_dir: Path) -> NodeSession:
        node = self._executable()
        if node is None:
            from wasitest.errors import RuntimeUnavailable

            raise RuntimeUnavailable("`node` is not on PATH", INSTALL_HINT)
        return NodeSession(node, cache_dir)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(NodeRuntime())

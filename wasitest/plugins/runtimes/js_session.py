"""What the runtimes from the npm registry (Bun, browser_wasi_shim, @wasmer/sdk) share.

Each runs in a long-lived JavaScript process per worker, fed jobs as JSON lines with the
protocol of `node_runner.js`, so the session is node.py's `NodeSession` (memory-capped
copies of modules, job files, restarts) with another command line. Until node.py's runner
takes a command line of its own, `CommandRunner` repeats the start-up of its `_Runner`.

Where to find things: packages live in wasitest's own npm cache folder (`wasitest.npm`),
installed by `wasitest runtimes install NAME`; `node` and a package's version are looked up
cheaply, without running a module.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO

from wasitest import npm
from wasitest.model import Capability, Execution, Invocation, RuntimeInfo, TrapKind
from wasitest.plugins.runtimes.node import (
    STARTUP_TIMEOUT_S,
    NodeSession,
    RunnerGone,
    _Runner,
    _runner_env,
)
from wasitest.plugins.runtimes.subprocess_run import die_with_parent

HERE = Path(__file__).parent
JS_RUNNER = HERE / "js_runner.mjs"
#: the runners mark an answer that means "must not run here" (not "could not run") so
UNSUPPORTED_MARK = "UNSUPPORTED: "

_TRAPS = (
    ("unreachable", TrapKind.UNREACHABLE),
    ("memory access out of bounds", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),  # JavaScriptCore (Bun)
    ("maximum call stack size exceeded", TrapKind.STACK_OVERFLOW),
    ("out of memory", TrapKind.MEMORY_LIMIT),
)


def trap_kind(message: str) -> TrapKind:
    """Map a V8 or JavaScriptCore trap message onto a `TrapKind`."""
    text = message.lower()
    for needle, kind in _TRAPS:
        if needle in text:
            return kind
    return TrapKind.OTHER


def runner_env() -> dict[str, str]:
    """node.py's runner environment, also without `BUN_*` (Bun reads settings from them).

    Runners also start in a folder of wasitest's own, so that no `bunfig.toml` of the
    project (whose `preload` would run code in the runner) is found.
    """
    return {key: value for key, value in _runner_env().items() if not key.startswith("BUN_")}


class CommandRunner(_Runner):
    """node.py's `_Runner`, started with any command line (it always starts node_runner.js)."""

    def __init__(self, command: Sequence[str], log: Path) -> None:
        self.log = log
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
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._stdin: IO[bytes] = self.proc.stdin
        self._answers: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True, name="wasitest-js").start()
        greeting = self._next(STARTUP_TIMEOUT_S)
        if not greeting.get("ready"):
            self.kill()
            raise RunnerGone(f"unexpected greeting from {command[0]}: {greeting}")


class JsSession(NodeSession):
    """A `NodeSession` whose runner is `command`, and whose messages name `label`.

    `refuse` may turn an invocation away before it reaches the runner (a capability the
    runtime lacks): it returns the reason, or "" to run it.
    """

    #: each JS runtime's own link rules apply (Bun refuses links out; the shim has none)
    refuse_planted_links = False

    def __init__(
        self,
        command: Sequence[str],
        cache_dir: Path,
        label: str,
        refuse: Callable[[Invocation], str] | None = None,
    ) -> None:
        super().__init__(command[0], cache_dir)
        self.command = tuple(command)
        self.label = label
        self.refuse = refuse

    def _ensure_runner(self) -> _Runner:
        if self._runner is not None and not self._runner.alive():
            self._runner = None
        if self._runner is None:
            log = self.jobs_dir / f"{re.sub(r'[^a-z0-9]+', '-', self.label.lower())}-runner.log"
            try:
                self._runner = CommandRunner(self.command, log)
            except OSError as exc:
                raise RunnerGone(f"cannot start {self.command[0]}: {exc}") from None
        return self._runner

    def run(self, invocation: Invocation) -> Execution:
        if self.refuse is not None:
            reason = self.refuse(invocation)
            if reason:
                return Execution(unsupported=reason)
        return self._relabel(super().run(invocation))

    def _relabel(self, execution: Execution) -> Execution:
        """Fix what node.py's reading of an answer says in Node's terms."""
        if execution.error:
            error = execution.error
            marked = error.find(UNSUPPORTED_MARK)
            if marked >= 0:
                return Execution(unsupported=error[marked + len(UNSUPPORTED_MARK) :], duration_s=execution.duration_s)
            return replace(execution, error=error.replace("node:wasi", self.label).replace("node runner", "runner"))
        if execution.trap is TrapKind.OTHER:
            return replace(execution, trap=trap_kind(execution.trap_message))
        return execution


# ----------------------------------------------------------------------------- finding things


def node_version(node: str | None = None) -> tuple[str, str, str]:
    """(path of node, its version, "") or ("", "", why not)."""
    found = node or shutil.which("node")
    if found is None:
        return "", "", "`node` is not on PATH"
    try:
        done = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=30, check=False, env=runner_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", "", f"cannot run {found}: {exc}"
    version = done.stdout.strip().lstrip("v")
    if done.returncode != 0 or not re.match(r"^\d+\.", version):
        return "", "", f"cannot read the version of {found}: {(done.stderr or done.stdout).strip()[:200]!r}"
    return found, version, ""


def node_major(version: str) -> int:
    return int(version.split(".")[0])


def package_entry(tool: str, package: str, entry: str) -> Path | None:
    """A file of an npm package installed for `tool`, if it is there."""
    path = npm.tool_dir(tool) / "node_modules" / package / entry
    return path if path.is_file() else None


def package_version(tool: str, package: str) -> str | None:
    return npm.installed_version(tool, package)


def worker_data(**values: str) -> str:
    return "--worker-data=" + json.dumps(values)


def npm_node_info(
    name: str,
    *,
    tool: str,
    package: str,
    entry: str,
    min_node: int,
    capabilities: frozenset[Capability],
    install_hint: str,
    node: str | None = None,
) -> RuntimeInfo:
    """The info of a runtime that is an npm package run by `node`: available when the
    package is in wasitest's npm cache and `node` is recent enough."""
    version = package_version(tool, package)
    if version is None or package_entry(tool, package, entry) is None:
        return RuntimeInfo(
            name, False, reason=f"{package} is not installed in wasitest's npm cache", install_hint=install_hint
        )
    _path, found, reason = node_version(node)
    node_hint = f"install Node.js {min_node} or newer and put `node` on PATH"
    if not reason and node_major(found) < min_node:
        reason = f"node {found} is too old; {package} needs {min_node} or newer"
    if reason:
        return RuntimeInfo(name, False, reason=reason, install_hint=node_hint)
    return RuntimeInfo(
        name, True, version=f"{package} {version} (node {found})", install_hint=install_hint, capabilities=capabilities
    )

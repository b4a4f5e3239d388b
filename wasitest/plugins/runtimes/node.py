"""Node.js `node:wasi`, through the JS runner (`js_runner.mjs` with `node_worker.mjs`).

One `node` process per session, started at the first job and fed jobs as JSON lines (the
session is `kit.js.JsSession`). Inside it, modules are compiled once and every job gets a
fresh `WASI` object and instance in a Worker thread, which is terminated when the job runs
out of time; the memory limit caps the module's memory maximum.

Not a sandbox in every respect: `node:wasi` follows symlinks inside a preopened directory
to anywhere on the host, and cannot preopen read-only. So the session refuses a job whose
preopened data holds a link that could lead out, and `node_worker.mjs` refuses to let a
module make one.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter
from wasitest.plugins.runtimes.kit.js import JsSession, runner_command, runner_env
from wasitest.protocols import Runtime

#: `--no-turbo-fast-api-calls`: without it, many WASI instances in one process have crashed
#: Node 20. `--no-warnings`: WASI's ExperimentalWarning, once per Worker, is noise.
NODE_FLAGS = ("--no-turbo-fast-api-calls", "--no-warnings")
MIN_MAJOR = 18

#: whether node:wasi is there and works; Node's version, and the CPU it says it runs on
_PROBE = (
    "const {WASI} = require('node:wasi'); require('node:worker_threads');"
    "new WASI({version: 'preview1', args: [], env: {}, returnOnExit: true});"
    "console.log(process.versions.node, process.arch, require('node:os').endianness())"
)


class NodeRuntime(RuntimeAdapter):
    """Node on this machine (`node` on PATH, or the `node` given).

    `launcher` is a command prefix that runs `node` (`qemu-s390x -L ROOT`, say): an
    emulated host's Node runs through the same runner, limits and containment, only
    started otherwise (`wasitest.plugins.hosts.emulated_node`).
    """

    name = "node"
    install_hint = "install Node.js 18 or newer (e.g. apt-get install nodejs) and put `node` on PATH"
    #: how long the probe may take (an emulated Node starts in seconds, not milliseconds)
    probe_timeout_s = 30.0
    #: the session that feeds the runner (an emulated Node's warms each new runner up)
    session_class: type[JsSession] = JsSession

    def __init__(self, node: str | None = None, launcher: Sequence[str] = ()) -> None:
        self._node = node
        self.launcher = tuple(launcher)
        #: what the probe's Node said of its CPU: `process.arch`, `os.endianness()`
        self.cpu: tuple[str, ...] = ()

    def _executable(self) -> str | None:
        return self._node or shutil.which("node")

    def command(self) -> tuple[str, ...]:
        """How `node` is started, with its flags; before the script and its arguments."""
        node = self._executable()
        assert node is not None, "command() before a successful probe()"
        return (*self.launcher, node, *NODE_FLAGS)

    def probe(self) -> tuple[str, str]:
        node = self._executable()
        if node is None:
            return "", "`node` is not on PATH"
        try:
            done = subprocess.run(
                [*self.command(), "-e", _PROBE],
                check=False,
                capture_output=True,
                text=True,
                timeout=self.probe_timeout_s,
                env=runner_env(),
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return "", f"cannot run {node}: {exc}"
        if done.returncode != 0:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            detail = next((line for line in lines if "Error" in line), lines[-1] if lines else "")
            return "", f"node:wasi does not work with {node}: {detail.strip()}"
        version, *cpu = done.stdout.split() or [""]
        self.cpu = tuple(cpu)
        try:
            major = int(version.split(".")[0])
        except ValueError:
            return "", f"cannot read the version of {node}: {version!r}"
        if major < MIN_MAJOR:
            return "", f"node {version} is too old; node:wasi preview1 needs {MIN_MAJOR} or newer"
        return f"node {version}", ""

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> JsSession:
        return self.session_class(
            runner_command(self.command(), "node_worker.mjs"),
            cache_dir,
            self.name,
            label="node:wasi",
            runner_name="node runner",
            refuse_planted_links=True,
        )


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(NodeRuntime())

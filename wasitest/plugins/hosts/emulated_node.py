"""The `node` runtime on another CPU: Debian's Node for the target, from wasitest's cache
folder (`wasitest hosts install NAME`), run under qemu user mode.

It is the local `node` adapter with another command: the same `js_runner.mjs` and
`node_worker.mjs`, one long-lived runner per worker fed job after job (an emulated Node
starts in seconds, so keeping it alive matters more here than anywhere), the same time and
memory limits, the same refusal of links out of the preopens. Debian 12's Node is 18, whose
`node:wasi` the worker already speaks (`wasiImport`, no `getImportObject()`).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace

from wasitest.model import RuntimeInfo
from wasitest.plugins.hosts import sysroot
from wasitest.plugins.hosts.debian import PackageError
from wasitest.plugins.hosts.targets import Target
from wasitest.plugins.runtimes.kit.js import JsRunner, JsSession, RunnerGone
from wasitest.plugins.runtimes.node import NodeRuntime

#: (module (memory (export "memory") 0) (func (export "_start"))): what a new runner runs first
EMPTY_COMMAND = bytes.fromhex(
    "0061736d01000000010401600000030201000503010000071302066d656d6f727902"
    "00065f737461727400000a040102000b"
)


class WarmedSession(JsSession):
    """A JS session for an emulated Node, which takes seconds to start (tens of them on a
    loaded machine: `startup_timeout_s`), and whose every new runner first runs an empty
    module, with that time as its limit, before it is given a job.

    The runner boots its `Worker` while the first job is on its way, and the job's time
    limit starts when the job is handed over: on the local Node the boot takes milliseconds,
    under emulation seconds, which the first job of every runner would otherwise spend out
    of its own time limit (a Worker replaced after a timeout still boots on the next job's).
    """

    startup_timeout_s = 120.0
    _warmed: JsRunner | None = None

    def _started_runner(self) -> JsRunner:
        runner = super()._started_runner()
        if runner is not self._warmed:
            self._warmed = runner
            empty = self.jobs_dir / "empty-command.wasm"
            if not empty.exists():
                empty.write_bytes(EMPTY_COMMAND)
            job = {"id": 0, "module": str(empty), "args": ["warm-up"], "env": [], "preopens": [],
                   "stdin": os.devnull, "stdout": os.devnull, "stderr": os.devnull,
                   "timeout_ms": round(self.startup_timeout_s * 1000)}
            answer = runner.ask(job, self.startup_timeout_s + 5)
            if answer is None:
                raise RunnerGone(f"the {self.runner_name} did not run an empty module within "
                                 f"{self.startup_timeout_s:.0f} s; killed it")
        return runner


class EmulatedNode(NodeRuntime):
    """`node` as it runs on `target`."""

    #: an emulated Node takes seconds to start, tens of them on a loaded machine
    probe_timeout_s = 120.0
    session_class = WarmedSession
    #: the record of a successful probe, in the unpacked root (a new install removes it)
    PROBED = "probed.json"

    def __init__(self, target: Target) -> None:
        super().__init__(node=str(sysroot.node(target)))
        self.target = target

    def probe(self) -> tuple[str, str]:
        if not sysroot.installed(self.target):
            # the fix in the reason itself: a run's one error line shows only the reason
            hint = sysroot.install_hint(self.target)
            return "", f"Debian's Node for {self.target.arch} is not in wasitest's cache folder (run: {hint})"
        try:
            self.launcher = sysroot.launcher(self.target)
        except PackageError as exc:
            return "", str(exc)
        version = self._probed()
        if not version:
            found, reason = super().probe()
            if reason:
                return "", reason
            # what the emulated Node says of its CPU, e.g. "node 18.20.4 (s390x BE, qemu-s390x)"
            version = f"{found} ({' '.join(self.cpu)}, {self.target.qemu})"
            self._remember(version)
        return version, ""

    def _probed(self) -> str:
        """The version an earlier probe of this root with this launcher found, or "".

        Every worker process probes its runtimes, and an emulated Node takes seconds to
        start: a root that worked with this emulator works again.
        """
        try:
            record = json.loads((sysroot.root(self.target) / self.PROBED).read_text())
        except (OSError, ValueError):
            return ""
        if not isinstance(record, dict) or record.get("command") != list(self.command()):
            return ""
        return str(record.get("version", ""))

    def _remember(self, version: str) -> None:
        path = sysroot.root(self.target) / self.PROBED
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        try:
            partial.write_text(json.dumps({"command": list(self.command()), "version": version}))
            partial.replace(path)
        except OSError:
            pass  # a read-only cache: the next process probes again

    def info(self) -> RuntimeInfo:
        """Every reason it is unavailable names its fix itself (not the local Node's hint)."""
        return replace(super().info(), install_hint="")


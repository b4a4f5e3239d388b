"""@bjorn3/browser_wasi_shim, a WASI written in JavaScript for browsers, run under Node.js
(`js_runner.mjs` + `browser_shim_worker.mjs`).

The package is installed into wasitest's own npm cache (`wasitest runtimes install
browser_shim`); it needs `node` (18 or newer) on PATH.

The shim has no host access: its file system is in memory. A preopened host directory is
copied into it before the module starts and the module's changes (files, folders,
deletions) are written back when it ends, so the job's scratch directory behaves as a
preopen; a directory holding a symlink or a special file cannot be copied faithfully, and
such a job is `unsupported` (see `browser_shim_worker.mjs`). Timeouts terminate the Worker,
losing that job's file changes; the memory limit caps the module's memory maximum.
The guest's environment is exactly the job's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasitest.errors import RuntimeUnavailable
from wasitest.model import Capability, RuntimeInfo
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes import js_session
from wasitest.plugins.runtimes.js_session import HERE, JS_RUNNER, JsSession
from wasitest.protocols import Runtime

NAME = "browser_shim"
NPM_TOOL = "browser_wasi_shim"
PACKAGE = "@bjorn3/browser_wasi_shim"
NPM_PACKAGES = (f"{PACKAGE}@0.4",)
ENTRY = "dist/index.js"
MIN_NODE = 18
INSTALL_HINT = "wasitest runtimes install browser_shim"
WORKER = HERE / "browser_shim_worker.mjs"
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


class BrowserShimRuntime:
    name = NAME

    def __init__(self, node: str | None = None) -> None:
        self._node = node
        self._info: RuntimeInfo | None = None

    def info(self) -> RuntimeInfo:
        if self._info is None:
            self._info = js_session.npm_node_info(
                NAME,
                tool=NPM_TOOL,
                package=PACKAGE,
                entry=ENTRY,
                min_node=MIN_NODE,
                capabilities=CAPABILITIES,
                install_hint=INSTALL_HINT,
                node=self._node,
            )
        return self._info

    def open_session(self, cache_dir: Path) -> JsSession:
        info = self.info()
        entry = js_session.package_entry(NPM_TOOL, PACKAGE, ENTRY)
        node, _version, _reason = js_session.node_version(self._node)
        if not info.available or entry is None or not node:
            raise RuntimeUnavailable(info.reason or f"{NAME} is not available", info.install_hint)
        command = (node, str(JS_RUNNER), str(WORKER), js_session.worker_data(shim=str(entry)))
        return JsSession(command, cache_dir, "browser_wasi_shim")


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(BrowserShimRuntime())

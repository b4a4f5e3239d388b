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

from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit.js import NodePackageAdapter
from wasitest.protocols import Runtime


class BrowserShimRuntime(NodePackageAdapter):
    name = "browser_shim"
    install_hint = "wasitest runtimes install browser_shim"
    npm_tool = "browser_wasi_shim"
    npm_packages = ("@bjorn3/browser_wasi_shim@0.4",)
    package = "@bjorn3/browser_wasi_shim"
    entry = "dist/index.js"
    engine = "browser_shim_worker.mjs"
    label = "browser_wasi_shim"


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(BrowserShimRuntime())

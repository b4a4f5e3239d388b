"""@wasmer/sdk (Wasmer and WASIX compiled to WebAssembly) under Node.js, through a
persistent runner (`wasmer_js_runner.mjs`).

The package is installed into wasitest's own npm cache (`wasitest runtimes install
wasmer_js`); it needs `node` 20 or newer on PATH. It runs WASI preview 1 command modules:
each job is a fresh sandbox (virtual file system, no network, empty environment) running
the module as a package command.

No PREOPEN: the sandbox's file system is virtual and its only host-reachable part is
`/workspace`; a guest's relative paths and `/tmp` are private to each process, so a host
directory cannot appear at "." and "/tmp" as a job's scratch directory must. Jobs with
preopens are `unsupported` here. It enforces the time limit (the SDK's own `timeoutMs`)
and the memory limit (the module's memory maximum is capped, as for Node), takes stdin,
and gives the guest exactly the job's environment, though in sorted order.

Also unlike the others: argv[0] is the name of a Wasmer command, so it may only hold ASCII
letters, digits, '-', '_', '.' and '+' (other jobs are `unsupported`); exit codes are cut
to one byte (`exit(256)` reads as 0), as a host process's would be.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from wasitest.errors import RuntimeUnavailable
from wasitest.model import Capability, Invocation, RuntimeInfo
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes import js_session
from wasitest.plugins.runtimes.js_session import HERE, JsSession
from wasitest.protocols import Runtime

NAME = "wasmer_js"
NPM_TOOL = "wasmer_js"
PACKAGE = "@wasmer/sdk"
#: 0.16 rewrote the API (sandboxes, packages.create); the runner is written against it
NPM_PACKAGES = (f"{PACKAGE}@0.16",)
ENTRY = "dist/node.js"
MIN_NODE = 20
INSTALL_HINT = "wasitest runtimes install wasmer_js"
RUNNER = HERE / "wasmer_js_runner.mjs"
CAPABILITIES = frozenset({Capability.STDIN, Capability.TIMEOUT, Capability.MEMORY_LIMIT, Capability.ENV_ISOLATION})


def refuse(invocation: Invocation) -> str:
    """Why this invocation cannot run on wasmer_js, or ""."""
    if invocation.preopens:
        guests = ", ".join(guest for _host, guest in invocation.preopens)
        return f"{NAME} cannot preopen host directories (asked for {guests}): its file system is virtual"
    return ""


class WasmerJsRuntime:
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
        return JsSession((node, str(RUNNER), str(entry)), cache_dir, "@wasmer/sdk", refuse=refuse)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(WasmerJsRuntime())

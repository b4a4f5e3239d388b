"""@wasmer/sdk (Wasmer and WASIX compiled to WebAssembly) under Node.js, through the JS
runner (`js_runner.mjs` + `wasmer_js_worker.mjs`, which runs in the runner's main thread:
the SDK has Worker threads of its own and enforces the time limit itself).

The package is installed into wasitest's own npm cache (`wasitest runtimes install
wasmer_js`); it needs `node` 20 or newer on PATH. It runs WASI preview 1 command modules:
each job is a fresh sandbox (virtual file system, no network, empty environment) running
the module as a package command.

No PREOPEN: the sandbox's file system is virtual and its only host-reachable part is
`/workspace`; a guest's relative paths and `/tmp` are private to each process, so a host
directory cannot appear at "." and "/tmp" as a job's scratch directory must. Jobs with
preopens are `unsupported` here. It enforces the time limit and the memory limit (the
module's memory maximum is capped, as for Node), takes stdin, and gives the guest exactly
the job's environment, though in sorted order.

Also unlike the others: argv[0] is the name of a Wasmer command, so it may only hold ASCII
letters, digits, '-', '_', '.' and '+' (other jobs are `unsupported`); exit codes are cut
to one byte (`exit(256)` reads as 0), as a host process's would be.
"""

from __future__ import annotations

from collections.abc import Callable

from wasitest.model import Capability, Invocation
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit.js import NodePackageAdapter
from wasitest.protocols import Runtime


class WasmerJsRuntime(NodePackageAdapter):
    name = "wasmer_js"
    install_hint = "wasitest runtimes install wasmer_js"
    capabilities = frozenset({Capability.STDIN, Capability.TIMEOUT, Capability.MEMORY_LIMIT, Capability.ENV_ISOLATION})
    npm_tool = "wasmer_js"
    #: 0.16 rewrote the API (sandboxes, packages.create); the engine is written against it
    npm_packages = ("@wasmer/sdk@0.16",)
    package = "@wasmer/sdk"
    entry = "dist/node.js"
    min_node = 20
    engine = "wasmer_js_worker.mjs"
    label = "@wasmer/sdk"
    in_process = True

    def refuse(self, invocation: Invocation) -> str:
        if invocation.preopens:
            guests = ", ".join(guest for _host, guest in invocation.preopens)
            return f"{self.name} cannot preopen host directories (asked for {guests}): its file system is virtual"
        return ""


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(WasmerJsRuntime())

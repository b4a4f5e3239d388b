"""Bun's `node:wasi`, through the JS runner run by `bun` (`js_runner.mjs` + `bun_worker.mjs`).

Bun comes from the npm package `bun` installed into wasitest's own cache
(`wasitest runtimes install bun`); its real binary is `node_modules/bun/bin/bun.exe`
(written by the package's postinstall script; `@oven/bun-<platform>/bin/bun` is the same
file). A `bun` on PATH is used when the cache has none.

Bun's `node:wasi` is its own JavaScript WASI (a port of wasi-js), not Node's uvwasi, and it
ignores Node's `stdin`/`stdout`/`stderr` and `returnOnExit` options: left alone, a guest
writes to the runner's own stdout, reads its stdin, and `proc_exit` ends the whole process.
`bun_worker.mjs` rewires all three (see there). `bun run x.wasm` is no sandbox (it gives
the guest the host's environment and file system) and is never used.

What it enforces: preopens (host directories; paths are resolved in JavaScript and checked
against the preopen's real path, so a symlink out of a preopen is refused, unlike in
Node), stdin, env (exactly the job's), the time limit and the memory limit (the module's
memory maximum is capped, as for Node). Bun cannot terminate a Worker that runs
WebAssembly, so the runner gets no grace to terminate one: a job past its time limit costs
the runner process, which is replaced.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from wasitest import npm
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter
from wasitest.plugins.runtimes.kit.js import JsSession, runner_command, tool_version
from wasitest.protocols import Runtime


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "windows", "freebsd": "freebsd"}.get(sys.platform, "")
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower(), ""
    )
    return f"@oven/bun-{system}-{machine}"


class BunRuntime(RuntimeAdapter):
    name = "bun"
    install_hint = "wasitest runtimes install bun"
    npm_tool = "bun"
    npm_packages = ("bun@1",)

    def __init__(self, bun: str | None = None) -> None:
        self._bun = bun

    def _executable(self) -> str | None:
        """The Bun binary: the one given, else wasitest's npm cache, else PATH."""
        if self._bun:
            return self._bun
        modules = npm.tool_dir(self.npm_tool) / "node_modules"
        for candidate in (modules / "bun" / "bin" / "bun.exe", modules / _platform_package() / "bin" / "bun"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return shutil.which("bun")

    def probe(self) -> tuple[str, str]:
        bun = self._executable()
        if bun is None:
            return "", "Bun is not installed (neither in wasitest's npm cache nor on PATH)"
        version, reason = tool_version(bun)
        return (f"bun {version}", "") if not reason else ("", reason)

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> JsSession:
        bun = self._executable()
        assert bun is not None, "session() before a successful probe()"
        command = runner_command((bun,), "bun_worker.mjs", terminate_grace_ms=0)
        return JsSession(command, cache_dir, self.name, label="Bun's node:wasi")


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(BunRuntime())

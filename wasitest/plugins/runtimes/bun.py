"""Bun's `node:wasi`, through a persistent `bun` process (`js_runner.mjs` + `bun_worker.mjs`).

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
WebAssembly, so a job past its time limit costs the runner process: it is replaced.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from wasitest import npm
from wasitest.errors import RuntimeUnavailable
from wasitest.model import Capability, RuntimeInfo
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.js_session import HERE, JS_RUNNER, JsSession, runner_env
from wasitest.protocols import Runtime

NAME = "bun"
NPM_TOOL = "bun"
NPM_PACKAGES = ("bun@1",)
INSTALL_HINT = "wasitest runtimes install bun"
WORKER = HERE / "bun_worker.mjs"
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


def _platform_package() -> str:
    system = {"linux": "linux", "darwin": "darwin", "win32": "windows", "freebsd": "freebsd"}.get(sys.platform, "")
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "aarch64", "arm64": "aarch64"}.get(
        platform.machine().lower(), ""
    )
    return f"@oven/bun-{system}-{machine}"


def find_bun() -> str | None:
    """The Bun binary: wasitest's npm cache first, then PATH."""
    modules = npm.tool_dir(NPM_TOOL) / "node_modules"
    for candidate in (modules / "bun" / "bin" / "bun.exe", modules / _platform_package() / "bin" / "bun"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("bun")


def bun_version(bun: str) -> tuple[str, str]:
    """Bun's version, or ("", why it does not run)."""
    try:
        done = subprocess.run(
            [bun, "--version"], capture_output=True, text=True, timeout=30, check=False, env=runner_env()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"cannot run {bun}: {exc}"
    version = done.stdout.strip()
    if done.returncode != 0 or not version[:1].isdigit():
        detail = (done.stderr or done.stdout).strip().splitlines()
        return "", f"{bun} does not run: {detail[-1] if detail else f'exit code {done.returncode}'}"
    return version, ""


class BunRuntime:
    name = NAME

    def __init__(self, bun: str | None = None) -> None:
        self._bun = bun
        self._info: RuntimeInfo | None = None

    def _executable(self) -> str | None:
        return self._bun or find_bun()

    def info(self) -> RuntimeInfo:
        if self._info is None:
            bun = self._executable()
            if bun is None:
                self._info = RuntimeInfo(
                    NAME,
                    False,
                    reason="Bun is not installed (neither in wasitest's npm cache nor on PATH)",
                    install_hint=INSTALL_HINT,
                )
            else:
                version, reason = bun_version(bun)
                self._info = RuntimeInfo(
                    NAME,
                    not reason,
                    version=f"bun {version}" if version else "",
                    reason=reason,
                    install_hint=INSTALL_HINT,
                    capabilities=CAPABILITIES if not reason else frozenset(),
                )
        return self._info

    def open_session(self, cache_dir: Path) -> JsSession:
        bun = self._executable()
        if bun is None:
            raise RuntimeUnavailable("Bun is not installed", INSTALL_HINT)
        command = (bun, str(JS_RUNNER), str(WORKER), "--terminate-grace-ms=0")
        return JsSession(command, cache_dir, "Bun's node:wasi")


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(BunRuntime())

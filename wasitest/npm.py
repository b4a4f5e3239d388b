"""npm packages in a cache folder of wasitest's own: never a global install, never the
user's project. Used by builders (AssemblyScript) and runtimes (Bun, browser_wasi_shim,
@wasmer/sdk) that come from the npm registry.

The folder is `$WASITEST_CACHE_DIR/npm/NAME` (default `~/.cache/wasitest`), one npm
project per tool so their dependency trees never clash.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from wasitest.errors import ToolchainMissing


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    base = environ.get("WASITEST_CACHE_DIR") or os.path.join(
        environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "wasitest"
    )
    return Path(base)


def tool_dir(tool: str, environ: Mapping[str, str] | None = None) -> Path:
    return cache_root(environ) / "npm" / tool


def installed_version(tool: str, package: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The version of `package` installed for `tool`, or None."""
    manifest = tool_dir(tool, environ) / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def install(tool: str, packages: Sequence[str], environ: Mapping[str, str] | None = None) -> Path:
    """`npm install` the packages into the tool's own folder; returns that folder."""
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainMissing("npm is not on PATH", "install Node.js (it ships npm)")
    folder = tool_dir(tool, environ)
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "package.json").exists():
        (folder / "package.json").write_text(json.dumps({"name": f"wasitest-{tool}", "private": True}) + "\n")
    proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent", *packages], cwd=folder,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["npm failed"])[-1]
        raise ToolchainMissing(f"npm install {' '.join(packages)} failed: {last}",
                               "check the network access to the npm registry")
    return folder


@contextlib.contextmanager
def install_lock(tool: str, environ: Mapping[str, str] | None = None) -> Iterator[None]:
    """Serialise first-use installs of a tool by concurrent wasitest processes (where flock
    exists): the second one waits, then finds the tool installed."""
    folder = tool_dir(tool, environ)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: no lock; a clash there is rare and npm reports it
        yield
        return
    with (folder / ".install.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

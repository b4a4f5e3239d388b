"""Making a p1 command module into a p2 command component, with jco.

`jco new MODULE --wasi-command` wraps a core module that imports `wasi_snapshot_preview1`
in a component of the `wasi:cli/command` world, through the preview-1 command adapter that
ships inside the jco package. jco comes from the npm registry into wasitest's own npm cache
folder on first use (like AssemblyScript for the `asc` builder); the component is cached by
the module's content and jco's version, so it is made once.

No toolchain here makes p3 components: a suite or cell that wants p3 gets nothing from this
plugin (prebuilt p3 components still run where a runtime supports them).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from wasitest import npm
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.cached_build import build_cached
from wasitest.protocols import BuildContext
from wasitest.runner.build import cache_key, sha256_file

TOOL = "jco"
PACKAGE = "@bytecodealliance/jco"
#: jco and the shim its transpiled components import (the `jco` runtime shares the folder)
PACKAGES = (f"{PACKAGE}@1", "@bytecodealliance/preview2-shim@0")
JCO_ENTRY = Path("node_modules") / PACKAGE / "dist" / "jco.js"
NODE_HINT = "install Node.js 18 or newer (it ships npm) and put `node` on PATH"


def jco(context: BuildContext) -> tuple[str, Path, str]:
    """`node`, jco's command-line entry and jco's version; jco is installed on first use."""
    node = shutil.which("node")
    if node is None:
        raise ToolchainMissing("making p2 components needs Node.js for jco, and `node` is not on PATH", NODE_HINT)
    entry = npm.tool_dir(TOOL) / JCO_ENTRY
    version = npm.installed_version(TOOL, PACKAGE)
    if version is None or not entry.is_file():
        with npm.install_lock(TOOL):
            version = npm.installed_version(TOOL, PACKAGE)
            if version is None or not entry.is_file():
                context.log(f"install jco with npm into {npm.tool_dir(TOOL)} (first p2 component; about 340 MB)")
                npm.install(TOOL, PACKAGES)
                version = npm.installed_version(TOOL, PACKAGE)
    if version is None or not entry.is_file():
        raise ToolchainMissing(
            f"npm installed {PACKAGE} but {JCO_ENTRY} is not there", f"delete {npm.tool_dir(TOOL)} and run again"
        )
    return node, entry, version


def jco_failure(stderr: str) -> str:
    """jco's error in one line: its first error line, and the root cause it gives after
    `Caused by:`."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    first = next((line for line in lines if "Error" in line), lines[-1] if lines else "no output")
    first = first.removeprefix("(jco transpileCmd)").strip().removeprefix("ComponentError:").strip()
    if "Caused by:" in lines:
        after = lines[lines.index("Caused by:") + 1 :]
        cause = next((line for line in after if not line.startswith("at ")), "")
        if cause:
            first = f"{first}: {cause}"
    return first


@hookimpl
def wasitest_make_component(module: Path, world: str, context: BuildContext) -> Path | None:
    if world != "p2":
        return None
    node, entry, version = jco(context)
    key = cache_key(["jco new --wasi-command", version, sha256_file(module)])

    def make(output: Path) -> subprocess.CompletedProcess[str]:
        command = [node, str(entry), "new", str(module), "--wasi-command", "-o", str(output)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    def failure(proc: subprocess.CompletedProcess[str]) -> BuildError:
        return BuildError(
            f"jco cannot make {module.name} into a p2 component: {jco_failure(proc.stderr or proc.stdout)}",
            "the module must be a WASI preview 1 command (it exports _start); WASITEST_DEBUG=1 shows jco's output",
        )

    return build_cached(context, key, f"p2 component of {module.name}", f"{module.stem}.p2.wasm", make, failure)

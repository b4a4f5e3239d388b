"""The `asc` builder: AssemblyScript test files to WASI command modules.

Each `.ts` file in `sources` becomes one artifact named after its stem, compiled with
AssemblyScript's `asc` and the `@assemblyscript/wasi-shim` configuration (WASI imports
instead of the browser's). Both come from npm and live in wasitest's own cache folder
(`wasitest.npm`), installed on first use, never globally and never into the project.

A test file imports wasitest's helper (`import { test, check, run } from "wasitest"`,
`wasitest/assemblyscript/wasitest/index.ts`), which speaks the `clist` protocol; a
compiler transform (`wasitest/assemblyscript/transform.mjs`) gives its checks their file,
line and expression text. See docs/assemblyscript.md.

asc runs with the project folder as its working directory and every path relative to it:
files are then named `tests/math.ts` in messages on every machine, and the shim's
configuration, whose `lib` folder asc resolves against its working directory (an absolute
one is not found), works from wherever the project is.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from wasitest import npm
from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.cached_build import build_cached
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, cached_sha256, expand_sources

TOOL = "asc"
#: npm specs: the 0.28 line of the compiler, the 0.1 line of the shim
PACKAGES = ("assemblyscript@0.28", "@assemblyscript/wasi-shim@0.1")
ASC_SERIES = "0.28."
MIN_NODE_MAJOR = 20  # assemblyscript 0.28's `engines`
HELPER_ROOT = Path(__file__).resolve().parents[2] / "assemblyscript"
HELPER = HELPER_ROOT / "wasitest" / "index.ts"
TRANSFORM = HELPER_ROOT / "transform.mjs"
#: the transform imports "assemblyscript", so it is copied beside the install's node_modules
TRANSFORM_COPY = "wasitest-transform.mjs"
DEFAULT_FLAGS = ("-O3",)

_RELATIVE_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["'](\.{1,2}/[^"']+)["']""")
_HELPER_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*["']wasitest["']""")


@dataclass(frozen=True)
class Toolchain:
    node: str
    folder: Path
    version: str
    shim_version: str

    @property
    def asc_js(self) -> Path:
        return self.folder / "node_modules" / "assemblyscript" / "bin" / "asc.js"

    @property
    def shim_config(self) -> Path:
        return self.folder / "node_modules" / "@assemblyscript" / "wasi-shim" / "asconfig.json"

    @property
    def transform(self) -> Path:
        return self.folder / TRANSFORM_COPY

    @property
    def label(self) -> str:
        return f"asc {self.version} (wasi-shim {self.shim_version})"


@functools.lru_cache(maxsize=1)
def _node() -> str:
    """The `node` on PATH, checked to be new enough for AssemblyScript 0.28."""
    node = shutil.which("node")
    hint = f"install Node.js {MIN_NODE_MAJOR} or newer, which ships npm"
    if node is None:
        raise ToolchainMissing("the asc builder needs Node.js, which is not on PATH", hint)
    proc = subprocess.run([node, "--version"], capture_output=True, text=True)
    match = re.match(r"v(\d+)\.", proc.stdout.strip())
    if proc.returncode != 0 or match is None:
        raise ToolchainMissing(f"`node --version` failed: {(proc.stderr or proc.stdout).strip()[:200]}", hint)
    if int(match.group(1)) < MIN_NODE_MAJOR:
        raise ToolchainMissing(
            f"AssemblyScript 0.28 needs Node.js {MIN_NODE_MAJOR}+, found {proc.stdout.strip()}", hint
        )
    return node


def _installed() -> Toolchain | None:
    version = npm.installed_version(TOOL, "assemblyscript")
    shim = npm.installed_version(TOOL, "@assemblyscript/wasi-shim")
    if version is None or shim is None or not version.startswith(ASC_SERIES):
        return None
    chain = Toolchain(_node(), npm.tool_dir(TOOL), version, shim)
    return chain if chain.asc_js.is_file() and chain.shim_config.is_file() else None


def _place_transform(chain: Toolchain) -> None:
    """Copy the transform beside the install when it is missing or differs (atomically)."""
    wanted = TRANSFORM.read_bytes()
    with contextlib.suppress(OSError):
        if chain.transform.read_bytes() == wanted:
            return
    tmp = chain.transform.with_name(f"{TRANSFORM_COPY}.tmp{os.getpid()}")
    tmp.write_bytes(wanted)
    os.replace(tmp, chain.transform)


def toolchain(context: BuildContext) -> Toolchain:
    """The AssemblyScript install in wasitest's cache folder, installed on first use."""
    _node()
    chain = _installed()
    if chain is None:
        with npm.install_lock(TOOL):
            chain = _installed()
            if chain is None:
                context.log(f"install AssemblyScript with npm into {npm.tool_dir(TOOL)} (first use of the asc builder)")
                npm.install(TOOL, PACKAGES)
                chain = _installed()
        if chain is None:
            raise ToolchainMissing(
                f"npm installed {' and '.join(PACKAGES)} but asc or the WASI shim is not where expected",
                f"delete {npm.tool_dir(TOOL)} and run again",
            )
    _place_transform(chain)
    return chain


def local_imports(source: Path) -> list[Path]:
    """The project files `source` imports by relative path, transitively (not itself).

    A regular expression, not a parser: an import in a comment only adds an input to the
    cache key, which costs a rebuild at worst.
    """
    found: dict[Path, None] = {}
    todo = [source]
    while todo:
        current = todo.pop()
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for spec in _RELATIVE_IMPORT.findall(text):
            base = current.parent / spec
            for candidate in (base, base.with_name(base.name + ".ts"), base / "index.ts"):
                if candidate.suffix == ".ts" and candidate.is_file():
                    resolved = candidate.resolve()
                    if resolved != source.resolve() and resolved not in found:
                        found[resolved] = None
                        todo.append(resolved)
                    break
    return sorted(found)


def _inputs(source: Path, root: Path) -> list[bytes]:
    """What an artifact depends on besides the toolchain and flags: the file, its local
    imports (with their paths, which the checks' messages name), the helper and transform."""
    parts = [_relative(source, root).encode(), source.read_bytes()]
    for path in local_imports(source):
        parts += [_relative(path, root).encode(), path.read_bytes()]
    return [*parts, HELPER.read_bytes(), TRANSFORM.read_bytes()]


def _relative(path: Path, root: Path) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


def command(chain: Toolchain, source: Path, output: Path, flags: Sequence[str], root: Path) -> list[str]:
    """The asc command line, to run with `root` as the working directory.

    `--enable-source-maps` is what asc.js would otherwise re-start itself with.
    """
    try:
        config = _relative(chain.shim_config, root)
    except ValueError:  # Windows: no relative path from one drive to another
        raise BuildError(
            f"asc needs its WASI shim on the project's drive, but it is in {chain.folder}",
            "set WASITEST_CACHE_DIR to a folder on the project's drive",
        ) from None
    return [
        chain.node,
        "--enable-source-maps",
        str(chain.asc_js),
        _relative(source, root),
        "--config",
        config,
        "--path",
        str(HELPER_ROOT),
        "--transform",
        str(chain.transform),
        *(flags or DEFAULT_FLAGS),
        "--noColors",
        "-o",
        str(output),
    ]


def first_error(stderr: str) -> str:
    """`ERROR TS2304: Cannot find name 'x'. (in tests/a.ts(3,5))` from asc's diagnostics."""
    lines = stderr.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("ERROR"):
            where = next((ln.split("in ", 1)[1] for ln in lines[index + 1 : index + 8] if "└─ in " in ln), "")
            return line.strip() + (f" (in {where.strip()})" if where else "")
    return next((ln.strip() for ln in reversed(lines) if ln.strip()), "asc failed without a message")


class AscBuilder:
    name = "asc"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        sources = expand_sources(suite)
        unknown = [s for s in sources if s.suffix != ".ts" or s.name.endswith(".d.ts")]
        if unknown:
            raise BuildError(
                f"suite {suite.name!r}: the asc builder cannot build {unknown[0].name}",
                "list only AssemblyScript .ts files (not .d.ts) in `sources`",
            )
        chain = toolchain(context)
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda s: self._build_one(suite, s, chain, context), sources))

    def _build_one(self, suite: SuiteConfig, source: Path, chain: Toolchain, context: BuildContext) -> Artifact:
        flags = suite.flags or DEFAULT_FLAGS
        key = cache_key(["asc", chain.version, chain.shim_version, *flags, *_inputs(source, suite.root)])
        target = build_cached(
            context,
            key,
            f"{suite.name}/{source.stem}",
            f"{source.stem}.wasm",
            lambda output: subprocess.run(
                command(chain, source, output, flags, suite.root), capture_output=True, text=True, cwd=suite.root
            ),
            lambda proc: BuildError(
                f"{_relative(source, suite.root)} failed to build: {first_error(proc.stderr)[:300]}",
                "fix the compile error; WASITEST_DEBUG=1 shows asc's full output",
            ),
        )
        uses_helper = _HELPER_IMPORT.search(source.read_text(encoding="utf-8", errors="replace")) is not None
        return Artifact(
            suite=suite.name,
            name=source.stem,
            path=target,
            harness=suite.harness or ("clist" if uses_helper else "exitcode"),
            sha256=cached_sha256(target),
            toolchain=chain.label,
            flags=tuple(flags),
            source_dir=source.parent,
        )


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(AscBuilder())

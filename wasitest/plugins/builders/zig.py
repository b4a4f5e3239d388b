"""The `zig` builder: C, C++ and Zig sources to wasm32-wasi through the `ziglang` package.

Each source file becomes one artifact named after its stem. C and C++ files get the
package's `wasitest.h` on the include path; `.zig` files are built as test binaries
(`zig test --test-no-exec`) and default to the `zigtest` harness.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.cached_build import build_cached
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, expand_sources, sha256_file

INCLUDE_DIR = Path(__file__).resolve().parents[2] / "include"
C_SUFFIXES = {".c"}
CXX_SUFFIXES = {".cc", ".cpp", ".cxx"}
ZIG_SUFFIXES = {".zig"}
DEFAULT_C_FLAGS = ("-O2",)


@functools.lru_cache(maxsize=1)
def zig_version() -> str:
    try:
        import ziglang  # noqa: F401
    except ImportError:
        raise ToolchainMissing(
            "the zig builder needs Zig, which is not installed", "pip install 'wasitest[zig]'"
        ) from None
    proc = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise ToolchainMissing(
            f"`python -m ziglang version` failed: {proc.stderr.strip()}",
            "reinstall with pip install --force-reinstall ziglang",
        )
    return proc.stdout.strip()


def _command(source: Path, output: Path, flags: Sequence[str], cache_dir: Path, root: Path) -> list[str]:
    zig = [sys.executable, "-m", "ziglang"]
    suffix = source.suffix.lower()
    if suffix in ZIG_SUFFIXES:
        return [
            *zig,
            "test",
            "-target",
            "wasm32-wasi",
            "--test-no-exec",
            f"-femit-bin={output}",
            "--cache-dir",
            str(cache_dir / "zig-local"),
            *flags,
            str(source),
        ]
    driver = "c++" if suffix in CXX_SUFFIXES else "cc"
    extra = ["-fno-exceptions"] if driver == "c++" else []
    # __FILE__ relative to the project, so messages (and hashes) agree across machines
    extra.append(f"-fmacro-prefix-map={root}/=")
    return [
        *zig,
        driver,
        "--target=wasm32-wasi",
        *(flags or DEFAULT_C_FLAGS),
        *extra,
        "-s",
        f"-I{INCLUDE_DIR}",
        f"-I{source.parent}",
        "-o",
        str(output),
        str(source),
    ]


def source_inputs(source: Path) -> list[bytes]:
    """What a build depends on: the source, its folder's headers and wasitest's header."""
    headers = sorted(p for p in source.parent.iterdir() if p.suffix in {".h", ".hpp", ".zig"} and p != source)
    return [
        source.read_bytes(),
        *(h.name.encode() + h.read_bytes() for h in headers),
        (INCLUDE_DIR / "wasitest.h").read_bytes(),
    ]


class ZigBuilder:
    name = "zig"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        sources = expand_sources(suite)
        unknown = [s for s in sources if s.suffix.lower() not in C_SUFFIXES | CXX_SUFFIXES | ZIG_SUFFIXES]
        if unknown:
            raise BuildError(
                f"suite {suite.name!r}: the zig builder cannot build {unknown[0].name}",
                "list only .c, .cc/.cpp/.cxx and .zig files in `sources`",
            )
        version = zig_version()
        with ThreadPoolExecutor(max_workers=2) as pool:
            return list(pool.map(lambda s: self._build_one(suite, s, version, context), sources))

    def _build_one(self, suite: SuiteConfig, source: Path, version: str, context: BuildContext) -> Artifact:
        flags = suite.flags
        key = cache_key(["zig", version, source.suffix, *flags, *source_inputs(source)])
        target = build_cached(
            context,
            key,
            f"{suite.name}/{source.stem}",
            f"{source.stem}.wasm",
            lambda output: subprocess.run(
                _command(source, output, flags, context.cache_dir, suite.root),
                capture_output=True,
                text=True,
                cwd=source.parent,
            ),
            lambda proc: BuildError(
                f"{source.relative_to(suite.root)} failed to build: {_first_error_line(proc.stderr)[:300]}",
                "fix the compile error; run with --debug to see the full compiler output",
            ),
        )
        default_harness = "zigtest" if source.suffix in ZIG_SUFFIXES else "exitcode"
        return Artifact(
            suite=suite.name,
            name=source.stem,
            path=target,
            harness=suite.harness or default_harness,
            sha256=sha256_file(target),
            toolchain=f"zig {version}",
            flags=tuple(suite.flags),
            source_dir=source.parent,
        )


def _first_error_line(stderr: str) -> str:
    return next((ln for ln in stderr.splitlines() if "error" in ln), stderr.strip())


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(ZigBuilder())

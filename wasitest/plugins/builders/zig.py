"""The `zig` builder: C, C++ and Zig sources to wasm32-wasi through the `ziglang` package.

Each source file becomes one artifact named after its stem. C and C++ files get the
package's `wasitest.h` on the include path; `.zig` files with `test` blocks are built as
test binaries (`zig test --test-no-exec`), other `.zig` files as programs.

Unless the suite names a `harness`, each artifact gets the one its source needs
(`default_harness`): `clist` for C/C++ that writes `TEST(...)` cases with `wasitest.h`,
`zigtest` for Zig test blocks, else `exitcode`. Forgetting `harness = "clist"` must not
silently turn forty cases into one.
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.cached_build import Compilers, build_cached, build_each, compile_failure
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, cached_sha256, expand_sources
from wasitest.runner.stamps import StampMemo

INCLUDE_DIR = Path(__file__).resolve().parents[2] / "include"
C_SUFFIXES = {".c"}
CXX_SUFFIXES = {".cc", ".cpp", ".cxx"}
ZIG_SUFFIXES = {".zig"}
DEFAULT_C_FLAGS = ("-O2",)
#: logged when a compile is slow: almost always Zig building wasi-libc for the first time
SLOW_NOTE = (
    "Zig's first build for wasm32-wasi compiles wasi-libc and its runtime (about 30 s, once per machine); "
    "later builds are cached"
)
_ZIG_TEST_BLOCK = re.compile(r"^\s*test\s*(\"|\{|[A-Za-z_@])", re.MULTILINE)
_INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.MULTILINE)
_TEST_MACRO = re.compile(r"\bTEST\s*\(")


@functools.lru_cache(maxsize=4)
def zig_version(cache_dir: Path | None = None) -> str:
    """The version the `ziglang` package's Zig reports. With a `cache_dir`, remembered
    there while the binary keeps its stamp: asking runs an interpreter and Zig, 35 ms of
    every run of a project built with Zig, though its sources are built and cached."""
    try:
        import ziglang
    except ImportError:
        raise ToolchainMissing(
            "the zig builder needs Zig, which is not installed", "pip install 'wasitest[zig]'"
        ) from None
    folder = Path(ziglang.__file__).parent
    binary = next((folder / name for name in ("zig", "zig.exe") if (folder / name).is_file()), None)
    if cache_dir is None or binary is None:
        return _asked_zig_version()
    memo = StampMemo(cache_dir / "zig-facts.json", (Path(__file__),))
    version: str = memo.remembered("version", [binary], _asked_zig_version, keep=lambda known: isinstance(known, str))
    memo.save()
    return version


def _asked_zig_version() -> str:
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
        tests = has_zig_tests(source)
        return [
            *zig,
            *(("test", "--test-no-exec") if tests else ("build-exe",)),
            "-target",
            "wasm32-wasi",
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


def has_zig_tests(source: Path) -> bool:
    """Whether a Zig file declares `test` blocks (then it is built as a test binary)."""
    return bool(_ZIG_TEST_BLOCK.search(source.read_text(encoding="utf-8", errors="replace")))


def writes_test_cases(source: Path) -> bool:
    """Whether a C/C++ source writes `TEST(...)` cases with `wasitest.h`: it includes the
    header (itself, or through a header of its own folder) and uses the `TEST` macro."""
    text = source.read_text(encoding="utf-8", errors="replace")
    if not _TEST_MACRO.search(text):
        return False
    seen: set[Path] = set()
    pending = [(source, text)]
    while pending:
        path, body = pending.pop()
        seen.add(path)
        for match in _INCLUDE.finditer(body):
            name = match.group(2)
            if Path(name).name == "wasitest.h":
                return True
            local = path.parent / name
            if match.group(1) == '"' and local not in seen and local.is_file():
                pending.append((local, local.read_text(encoding="utf-8", errors="replace")))
    return False


def default_harness(source: Path) -> str:
    """The harness a source needs when its suite names none."""
    if source.suffix.lower() in ZIG_SUFFIXES:
        return "zigtest" if has_zig_tests(source) else "exitcode"
    return "clist" if writes_test_cases(source) else "exitcode"


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
        version = zig_version(context.cache_dir)
        return build_each(sources, lambda source, compilers: self._build_one(suite, source, version, context,
                                                                            compilers))

    def _build_one(
        self, suite: SuiteConfig, source: Path, version: str, context: BuildContext, compilers: Compilers
    ) -> Artifact:
        flags = suite.flags
        # a Zig file without test blocks is built as a program, which its key says
        program = source.suffix.lower() in ZIG_SUFFIXES and not has_zig_tests(source)
        key = cache_key(["zig", version, source.suffix, *(["exe"] if program else []), *flags,
                         *source_inputs(source)])
        target = build_cached(
            context,
            key,
            f"{suite.name}/{source.stem}",
            f"{source.stem}.wasm",
            lambda output: compilers.run(
                _command(source, output, flags, context.cache_dir, suite.root), cwd=source.parent
            ),
            lambda proc: compile_failure(source, suite.root, proc),
            slow_note=SLOW_NOTE,
        )
        return Artifact(
            suite=suite.name,
            name=source.stem,
            path=target,
            harness=suite.harness or default_harness(source),
            sha256=cached_sha256(target),
            toolchain=f"zig {version}",
            flags=tuple(suite.flags),
            source_dir=source.parent,
        )


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(ZigBuilder())

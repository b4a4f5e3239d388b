"""The `clang` builder: C and C++ sources to wasm32-wasi with a system clang and wasi-libc.

On Debian that is `apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32`
(and `libc++-14-dev-wasm32 libc++abi-14-dev-wasm32` for C++). Debian's clang finds the
wasi-libc sysroot by itself, so no `--sysroot` is passed. Everything else is the `zig`
builder's contract: one artifact per source file, `wasitest.h` on the include path,
`__FILE__` relative to the project, and a build cache keyed by the inputs, the compiler
version and the flags.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.cached_build import Compilers, build_cached, build_each, compile_failure
from wasitest.plugins.builders.zig import (
    C_SUFFIXES,
    CXX_SUFFIXES,
    DEFAULT_C_FLAGS,
    INCLUDE_DIR,
    default_harness,
    source_inputs,
)
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, cached_sha256, expand_sources
from wasitest.runner.stamps import StampMemo

#: the compiler names tried, in order, on PATH
CLANG_NAMES = ("clang-14", "clang")
TARGET = "--target=wasm32-wasi"
PROBE_C = '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n'
PROBE_CXX = '#include <string>\n#include <cstdio>\nint main() { std::string s("ok"); std::puts(s.c_str()); }\n'


@dataclass(frozen=True)
class Clang:
    """A clang that was found on PATH: its C and C++ drivers and what identifies its output."""

    cc: tuple[str, ...]
    cxx: tuple[str, ...]
    version: str
    major: str
    #: the wasi-libc it links (path, size, mtime): a new libc means new binaries
    sysroot_id: str


def install_hint(major: str = "14", cxx: bool = False) -> str:
    packages = [f"clang-{major}", f"lld-{major}", "wasi-libc", f"libclang-rt-{major}-dev-wasm32"]
    if cxx:
        packages += [f"libc++-{major}-dev-wasm32", f"libc++abi-{major}-dev-wasm32"]
    return "apt-get install " + " ".join(packages)


def missing_part(stderr: str) -> str:
    """Which installed part a failed wasm32-wasi probe build points at, from clang's own errors."""
    if re.search(r"'(string|cstdio|vector)' file not found|-lc\+\+", stderr):
        return "libc++ for wasm32"
    if "libclang_rt.builtins-wasm32" in stderr:
        return "compiler-rt for wasm32"
    if re.search(r"'stdio\.h' file not found|crt1|library -lc\b", stderr):
        return "wasi-libc"
    if "wasm-ld" in stderr:
        return "the wasm linker (lld)"
    return ""


def first_error(stderr: str) -> str:
    """The first line of compiler output that says `error`, else the first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line), lines[0] if lines else "")[:300]


def _sibling_cxx(cc: str) -> tuple[str, ...]:
    """`clang++-14` beside `clang-14`; else the C driver in C++ mode (what clang++ is)."""
    name = Path(cc).name.replace("clang", "clang++", 1)
    found = shutil.which(name, path=str(Path(cc).parent))
    return (found,) if found else (cc, "--driver-mode=g++")


def find_clang(search_path: str | None = None) -> tuple[str, str]:
    """The first clang on PATH (or `search_path`) and its `--version` line."""
    for name in CLANG_NAMES:
        found = shutil.which(name, path=search_path)
        if found:
            proc = subprocess.run([found, "--version"], capture_output=True, text=True)
            if proc.returncode == 0 and proc.stdout.strip():
                return found, proc.stdout.splitlines()[0].strip()
    raise ToolchainMissing(
        f"the clang builder needs clang ({' or '.join(CLANG_NAMES)} on PATH), which is not installed",
        install_hint(),
    )


def probe(command: Sequence[str], source: str, suffix: str) -> str:
    """Build a tiny program for wasm32-wasi; return clang's errors, or "" when it worked."""
    with tempfile.TemporaryDirectory(prefix="wasitest-clang-probe-") as tmp:
        src = Path(tmp) / f"probe{suffix}"
        src.write_text(source)
        out = Path(tmp) / "probe.wasm"
        proc = subprocess.run([*command, TARGET, "-o", str(out), str(src)], capture_output=True, text=True, cwd=tmp)
        if proc.returncode == 0 and out.exists():
            return ""
        return proc.stderr or proc.stdout or f"exit code {proc.returncode}"


def _libc_path(cc: str) -> str:
    """The wasi-libc `cc` links, as clang names it."""
    proc = subprocess.run([cc, TARGET, "-print-file-name=libc.a"], capture_output=True, text=True)
    return proc.stdout.strip()


def _sysroot_id(libc: str) -> str:
    try:
        stat = Path(libc).stat()
    except OSError:
        return "no-libc"
    return f"{libc}:{stat.st_size}:{int(stat.st_mtime)}"


@functools.lru_cache(maxsize=4)
def clang(cache_dir: Path | None = None) -> Clang:
    """Find clang and what identifies its output; cheap, so a fully cached build stays fast.

    With `cache_dir`, what clang says of itself (its version line and the libc it links)
    is remembered while the binary keeps its stamp and the libc is still there: asking
    runs clang twice, about 40 ms, on every run of a project it builds."""
    first = next((found for name in CLANG_NAMES if (found := shutil.which(name))), "")

    def asked() -> dict[str, str]:
        cc, version = find_clang()
        return {"cc": cc, "version": version, "libc": _libc_path(cc)}

    def keep(facts: Any) -> bool:  # of the first clang on PATH, and its libc still there
        return isinstance(facts, dict) and facts.get("cc") == first and Path(str(facts.get("libc"))).is_file()

    if cache_dir and first:
        memo = StampMemo(cache_dir / "clang-facts.json", (Path(__file__),))
        facts = memo.remembered("clang", [first], asked, keep)
        memo.save()
    else:
        facts = asked()
    cc, version, libc = facts["cc"], facts["version"], facts["libc"]
    match = re.search(r"version (\d+)", version)
    major = match.group(1) if match else "14"
    return Clang((cc,), _sibling_cxx(cc), version, major, _sysroot_id(libc))


@functools.lru_cache(maxsize=2)
def check_target(cxx: bool) -> None:
    """Before the first compile: can this clang link a C (or C++) program for wasm32-wasi?
    Checked once per process; a missing wasi-libc, compiler-rt, lld or libc++ is named."""
    found = clang()
    driver = found.cxx if cxx else found.cc
    errors = probe(driver, PROBE_CXX if cxx else PROBE_C, ".cpp" if cxx else ".c")
    if errors:
        part = missing_part(errors)
        raise ToolchainMissing(
            f"{Path(driver[0]).name} cannot build {'C++' if cxx else 'C'} for wasm32-wasi"
            + (f" ({part} is missing)" if part else "")
            + f": {first_error(errors)}",
            install_hint(found.major, cxx=cxx),
        )


def command(found: Clang, source: Path, output: Path, flags: Sequence[str], root: Path) -> list[str]:
    cxx = source.suffix.lower() in CXX_SUFFIXES
    driver = found.cxx if cxx else found.cc
    return [
        *driver,
        TARGET,
        *(flags or DEFAULT_C_FLAGS),
        *(["-fno-exceptions"] if cxx else []),
        # __FILE__ relative to the project, so messages (and hashes) agree across machines
        f"-fmacro-prefix-map={root}/=",
        "-s",
        f"-I{INCLUDE_DIR}",
        f"-I{source.parent}",
        "-o",
        str(output),
        str(source),
    ]


class ClangBuilder:
    name = "clang"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        sources = expand_sources(suite)
        unknown = [s for s in sources if s.suffix.lower() not in C_SUFFIXES | CXX_SUFFIXES]
        if unknown:
            raise BuildError(
                f"suite {suite.name!r}: the clang builder cannot build {unknown[0].name}",
                "list only .c and .cc/.cpp/.cxx files in `sources`",
            )
        found = clang(context.cache_dir)
        return build_each(
            sources,
            lambda source, compilers: self._build_one(suite, source, found, context, compilers),
            workers=min(2, os.cpu_count() or 1),
        )

    def _build_one(
        self, suite: SuiteConfig, source: Path, found: Clang, context: BuildContext, compilers: Compilers
    ) -> Artifact:
        flags = suite.flags
        key = cache_key(["clang", found.version, found.sysroot_id, source.suffix, *flags, *source_inputs(source)])
        cxx = source.suffix.lower() in CXX_SUFFIXES

        def compile_source(output: Path) -> subprocess.CompletedProcess[str]:
            check_target(cxx=cxx)
            return compilers.run(command(found, source, output, flags, suite.root), cwd=source.parent)

        target = build_cached(
            context,
            key,
            f"{suite.name}/{source.stem}",
            f"{source.stem}.wasm",
            compile_source,
            lambda proc: compile_failure(source, suite.root, proc),
        )
        return Artifact(
            suite=suite.name,
            name=source.stem,
            path=target,
            harness=suite.harness or default_harness(source),
            sha256=cached_sha256(target),
            toolchain=found.version,
            flags=tuple(suite.flags),
            source_dir=source.parent,
        )


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(ClangBuilder())

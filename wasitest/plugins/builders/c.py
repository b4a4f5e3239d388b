"""The `c` builder: C and C++ sources, built by the toolchain the suite names.

`toolchain = "zig"` (the default) builds with Zig's bundled clang and wasi-libc (the `zig`
builder); `toolchain = "clang"` with a system clang and wasi-libc (the `clang` builder). Both
give the same artifacts for the same sources, so one project can build a suite with each
and compare what the two toolchains make of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from wasitest.config import SuiteConfig, did_you_mean
from wasitest.errors import BuildError, ConfigError
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.clang import ClangBuilder
from wasitest.plugins.builders.zig import C_SUFFIXES, CXX_SUFFIXES, ZigBuilder
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import expand_sources

DEFAULT_TOOLCHAIN = "zig"
TOOLCHAINS: dict[str, Callable[[], Builder]] = {"zig": ZigBuilder, "clang": ClangBuilder}


def toolchain_builder(suite: SuiteConfig) -> Builder:
    """The builder for the suite's `toolchain` key; an unknown name is a config error."""
    name = suite.toolchain or DEFAULT_TOOLCHAIN
    factory = TOOLCHAINS.get(name)
    if factory is None:
        raise ConfigError(
            f"suite {suite.name!r}: unknown toolchain {name!r}{did_you_mean(name, TOOLCHAINS)}",
            f"use one of: {', '.join(TOOLCHAINS)}",
        )
    return factory()


class CBuilder:
    name = "c"

    def build(self, suite: SuiteConfig, context: BuildContext) -> Sequence[Artifact]:
        builder = toolchain_builder(suite)
        other = [s for s in expand_sources(suite) if s.suffix.lower() not in C_SUFFIXES | CXX_SUFFIXES]
        if other:
            raise BuildError(
                f"suite {suite.name!r}: the c builder builds C and C++, not {other[0].name}",
                'list only .c and .cc/.cpp/.cxx files in `sources` (Zig tests: builder = "zig")',
            )
        return builder.build(suite, context)


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(CBuilder())

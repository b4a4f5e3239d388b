"""The `prebuilt` builder: a folder of `.wasm` files someone else built."""

from __future__ import annotations

from collections.abc import Callable

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import expand_sources, sha256_file


class PrebuiltBuilder:
    name = "prebuilt"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        artifacts = []
        for path in expand_sources(suite):
            if path.suffix != ".wasm":
                raise BuildError(
                    f"suite {suite.name!r}: {path.name} is not a .wasm file",
                    "list only .wasm files in a prebuilt suite's `sources`",
                )
            context.reuse()
            artifacts.append(
                Artifact(
                    suite=suite.name,
                    name=path.stem,
                    path=path,
                    harness=suite.harness or "exitcode",
                    sha256=sha256_file(path),
                    toolchain="prebuilt",
                    source_dir=path.parent,
                )
            )
        return artifacts


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(PrebuiltBuilder())

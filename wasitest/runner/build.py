"""The build step: every suite's builder runs once per run, before any job.

Builders write into a content-addressed cache under `.wasitest/cache/build/`, keyed by the
content of their inputs, the toolchain version and the flags, so an unchanged project
builds nothing the second time.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import re
import shutil
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from wasitest.config import Settings, SuiteConfig
from wasitest.errors import BuildError, OutputError
from wasitest.model import Artifact, Twin
from wasitest.plugin import Registry
from wasitest.results import write_text_atomically
from wasitest.runner.stamps import stamp_text


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cached_sha256(path: Path) -> str:
    """`sha256_file` of a file in wasitest's own cache, remembered beside it (`NAME.sha256`)
    with the file's stamp: a cached build's check reads no artifact again (a Go test binary
    is megabytes; hashing eight of them was a third of a cached Go run's start-up)."""
    sidecar = path.with_name(f"{path.name}.sha256")
    current = stamp_text(path)
    try:
        remembered, digest = sidecar.read_text().split()
        if current and remembered == current and len(digest) == 64:
            return digest
    except (OSError, ValueError):
        pass
    digest = sha256_file(path)
    if current and stamp_text(path) == current:  # unchanged while it was read
        with contextlib.suppress(OutputError):  # costs the next run a read
            write_text_atomically(sidecar, f"{current} {digest}\n")
    return digest


def cache_key(parts: Iterable[str | bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def _parts(path: Path) -> tuple[str, ...]:
    return path.parts


_WILDCARDS = frozenset("*?[")


def _in_one_folder(root: Path, pattern: str) -> list[tuple[str, Path]] | None:
    """The files a relative pattern with wildcards in its last part only (`tests/*.wasm`,
    the usual form) names, as (text, path) by name, from one listing of its folder; None
    for any other pattern.

    Why not `Path.glob`: it makes a `Path` and takes a `stat` per match (`is_file`), and
    hashing a fresh `Path` builds its text: 14 ms for a folder of 2000 modules, where a
    listing's entries tell files apart by their type. The same matches as `Path.glob` on
    POSIX: `*` matches names starting with a dot, links are followed, a folder that cannot
    be read has no matches."""
    folder, _, name = pattern.rpartition("/")
    if (os.name != "posix" or pattern.startswith("/") or _WILDCARDS.isdisjoint(name)
            or not _WILDCARDS.isdisjoint(folder) or "**" in name):
        return None  # an absolute path is taken as it is: builders pass their own files so
    base = root / folder if folder else root
    matches = re.compile(fnmatch.translate(name)).match
    try:
        with os.scandir(base) as listing:
            files = sorted(entry.name for entry in listing if matches(entry.name) and entry.is_file())
    except OSError:
        return []
    prefix = os.path.join(base, "")  # "/" for the root folder, not "//"
    return [(f"{prefix}{file}", base / file) for file in files]


def source_files(suite: SuiteConfig) -> dict[str, Path]:
    """The files a suite's `sources` globs name, sorted, by their text: a builder that
    works on thousands of them uses the text (`str` of a fresh `Path` is built part by
    part, a third of a 2000-module suite's check)."""
    found: dict[str, Path] = {}
    for pattern in suite.sources:
        listed = _in_one_folder(suite.root, pattern)
        if listed is None:
            # by parts, as `Path` orders them, but compared in C: `Path.__lt__` cost more than the glob
            candidates = [Path(pattern)] if Path(pattern).is_absolute() else sorted(
                suite.root.glob(pattern), key=_parts)
            listed = [(str(path), path) for path in candidates if path.is_file()]
        for text, path in listed:
            found.setdefault(text, path)
    if not found:
        raise BuildError(
            f"suite {suite.name!r}: sources {list(suite.sources)} match no file under {suite.root}",
            "check the globs in the suite's `sources`",
        )
    return found


def expand_sources(suite: SuiteConfig) -> list[Path]:
    """The files a suite's `sources` globs name, sorted, relative to the project folder."""
    return list(source_files(suite).values())


@dataclass
class BuildSession:
    """The `BuildContext` builders get: where the cache is, and a way to say what they do.

    What they say is the build's progress: each one-line message goes to `progress` as it
    is logged (a front end shows it), a longer one (a compiler's output) is detail, printed
    with `--debug` only.
    """

    project_dir: Path
    cache_dir: Path
    messages: list[str] = field(default_factory=list)
    built: int = 0
    reused: int = 0
    progress: Callable[[str], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def log(self, message: str) -> None:
        """Say what the builder does (from any of its threads); a line said before is not
        shown again."""
        text = message.strip()
        with self._lock:
            new = text not in self.messages
            self.messages.append(text)
        if self.progress is not None and text and "\n" not in text:
            if new:
                self.progress(text)
        elif os.environ.get("WASITEST_DEBUG"):
            print(message, file=sys.stderr)

    def reuse(self) -> None:
        self.reused += 1

    def cached(self, key: str) -> Path:
        """The cache path for a key; the caller builds into it if it does not exist."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.cache_dir / f"{key}.wasm"

    def store(self, produced: Path, key: str) -> Path:
        """Move a freshly built file into the cache atomically."""
        target = self.cached(key)
        # unique per process and thread: two sources with the same content build at once
        tmp = target.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        shutil.copyfile(produced, tmp)
        os.replace(tmp, target)
        self.built += 1
        return target


def build_all(
    settings: Settings, registry: Registry, session: BuildSession | None = None, worlds: Iterable[str] = ()
) -> list[Artifact]:
    """Build every suite once; artifacts come back in suite order. Each p1 artifact also
    gets a twin in every other world of `worlds` (the run's cells') that a plugin can make,
    and a suite with `world = "p2"` gets p2 artifacts whose p1 twins are the modules."""
    session = session or BuildSession(settings.project_dir, settings.work_dir / "cache" / "build")
    artifacts: list[Artifact] = []
    for suite in settings.suites:
        builder = registry.builders.get(suite.builder)
        if suite.harness:
            registry.harnesses.get(suite.harness)  # an unknown name raises the did-you-mean error
        built: Sequence[Artifact] = builder.build(suite, session)
        for harness in dict.fromkeys(artifact.harness for artifact in built):
            registry.harnesses.get(harness)
        # the worlds but p1 that a p1 artifact gets a twin in: the run's cells' and the suite's
        twin_worlds = sorted((set(worlds) | {suite.world}) - {"", "p1"})
        artifacts.extend(_in_worlds(artifact, suite.world, twin_worlds, registry, session) for artifact in built)
    seen: set[str] = set()
    for artifact in artifacts:
        if artifact.id in seen:
            raise BuildError(f"two artifacts are named {artifact.id!r}", "rename one of the source files")
        seen.add(artifact.id)
    return artifacts


#: `Artifact.extra` key: why a form a cell wanted could not be made, by world
FORM_ERRORS = "form_errors"


def _in_worlds(artifact: Artifact, suite_world: str, worlds: Sequence[str], registry: Registry,
               session: BuildSession) -> Artifact:
    """The artifact with its twins in `worlds` (not p1), in the suite's world if it names one."""
    if artifact.world != "p1":
        if suite_world and suite_world != artifact.world:
            raise BuildError(f"{artifact.id} is a {artifact.world} component, but its suite asks for world "
                             f"{suite_world!r}", f"remove `world` from suite {artifact.suite!r}, or set it to "
                             f"{artifact.world!r}")
        return artifact
    if not worlds:
        return artifact if not artifact.twins else replace(artifact, twins=())
    twins = []
    for world in worlds:
        try:
            made = registry.pm.hook.wasitest_make_component(module=artifact.path, world=world, context=session)
        except BuildError as exc:
            if world == suite_world:
                raise
            # only cells want it: theirs are this artifact's jobs, reported unsupported with this
            session.log(f"no {world} form of {artifact.id}: {exc.one_line()}")
            errors = {**dict(artifact.extra.get(FORM_ERRORS, {})), world: exc.message}
            artifact = replace(artifact, extra={**artifact.extra, FORM_ERRORS: errors})
            continue
        if made is None:
            if world == suite_world:
                raise BuildError(f"suite {artifact.suite!r} asks for world {world!r}, which no plugin can make "
                                 "from a p1 module", "set `world` to \"p1\" or \"p2\", or give prebuilt components")
            continue  # the cells of that world report this artifact's jobs as unsupported
        twins.append(Twin(world, Path(made), cached_sha256(Path(made))))
    if suite_world in ("", "p1"):
        return artifact if tuple(twins) == artifact.twins else replace(artifact, twins=tuple(twins))
    own = Twin(artifact.world, artifact.path, artifact.sha256)
    native = next(twin for twin in twins if twin.world == suite_world)
    others = tuple(twin for twin in twins if twin is not native)
    return replace(artifact, path=native.path, sha256=native.sha256, world=native.world, twins=(own, *others))

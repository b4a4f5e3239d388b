"""The build step: every suite's builder runs once per run, before any job.

Builders write into a content-addressed cache under `.wasitest/cache/build/`, keyed by the
content of their inputs, the toolchain version and the flags, so an unchanged project
builds nothing the second time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wasitest.config import Settings, SuiteConfig
from wasitest.errors import BuildError
from wasitest.model import Artifact
from wasitest.plugin import Registry


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def cache_key(parts: Iterable[str | bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:32]


def expand_sources(suite: SuiteConfig) -> list[Path]:
    """The files a suite's `sources` globs name, sorted, relative to the project folder."""
    found: dict[Path, None] = {}
    for pattern in suite.sources:
        matches = sorted(suite.root.glob(pattern)) if not Path(pattern).is_absolute() else [Path(pattern)]
        for path in matches:
            if path.is_file():
                found[path] = None
    if not found:
        raise BuildError(
            f"suite {suite.name!r}: sources {list(suite.sources)} match no file under {suite.root}",
            "check the globs in the suite's `sources`",
        )
    return list(found)


@dataclass
class BuildSession:
    """The `BuildContext` builders get: where the cache is, and a way to say what they do."""

    project_dir: Path
    cache_dir: Path
    messages: list[str] = field(default_factory=list)
    built: int = 0
    reused: int = 0

    def log(self, message: str) -> None:
        self.messages.append(message)
        if os.environ.get("WASITEST_DEBUG"):
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


def build_all(settings: Settings, registry: Registry, session: BuildSession | None = None) -> list[Artifact]:
    """Build every suite once; artifacts come back in suite order."""
    session = session or BuildSession(settings.project_dir, settings.work_dir / "cache" / "build")
    artifacts: list[Artifact] = []
    for suite in settings.suites:
        builder = registry.builders.get(suite.builder)
        if suite.harness:
            registry.harnesses.get(suite.harness)  # an unknown name raises the did-you-mean error
        built: Sequence[Artifact] = builder.build(suite, session)
        for artifact in built:
            registry.harnesses.get(artifact.harness)
        artifacts.extend(built)
    seen: set[str] = set()
    for artifact in artifacts:
        if artifact.id in seen:
            raise BuildError(f"two artifacts are named {artifact.id!r}", "rename one of the source files")
        seen.add(artifact.id)
    return artifacts

"""Portable bundles: build once here, run anywhere with no toolchain.

A bundle is a folder: `manifest.json`, the artifacts under `artifacts/`, and the test data
cases copy into their scratch directories under `data/`. The manifest carries each
artifact's hash and case list, and the suites' run settings (environment, limits, xfail),
so `wasitest run --bundle DIR` needs neither the sources nor the project's config. A
bundle whose files do not match their hashes is refused.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wasitest import __version__
from wasitest.config import SuiteConfig
from wasitest.errors import InputError, OutputError
from wasitest.model import Artifact, Case
from wasitest.runner.build import sha256_file

SCHEMA = "wasitest-bundle"
VERSION = 1


@dataclass
class Built:
    """Artifacts and their cases: what the build and discovery steps produce."""

    artifacts: list[Artifact]
    cases: dict[str, list[Case]]

    @property
    def bundle_id(self) -> str:
        """Identifies what was built, not where: the same sources built reproducibly on two
        machines give the same id, which is what `merge` checks."""
        digest = hashlib.sha256()
        for artifact in sorted(self.artifacts, key=lambda a: a.id):
            digest.update(f"{artifact.id}\0{artifact.sha256}\0".encode())
            for case in self.cases.get(artifact.id, []):
                digest.update(f"{case.name}\0".encode())
        return digest.hexdigest()[:16]


def _suite_json(suite: SuiteConfig) -> dict[str, Any]:
    return {"name": suite.name, "builder": suite.builder, "harness": suite.harness, "env": [list(p) for p in suite.env],
            "timeout_s": suite.timeout_s, "memory": suite.memory, "disk": suite.disk, "output_cap": suite.output_cap,
            "xfail": list(suite.xfail), "args": list(suite.args), "sources": list(suite.sources),
            "world": suite.world}


def _suite_from_json(data: Mapping[str, Any], root: Path) -> SuiteConfig:
    return SuiteConfig(name=data["name"], builder=data["builder"], sources=tuple(data["sources"]),
                       harness=data["harness"], root=root, env=tuple((k, v) for k, v in data["env"]),
                       timeout_s=data["timeout_s"], memory=data["memory"], disk=data.get("disk"),
                       output_cap=data["output_cap"],
                       xfail=tuple(data["xfail"]), args=tuple(data["args"]), world=data.get("world", ""))


def write_bundle(out: Path, suites: Sequence[SuiteConfig], built: Built) -> Path:
    """Write the bundle folder; returns the manifest's path."""
    try:
        if out.exists() and any(out.iterdir()) and not (out / "manifest.json").exists():
            raise OutputError(f"{out} is not empty and not a wasitest bundle", "choose an empty or new folder")
        shutil.rmtree(out / "artifacts", ignore_errors=True)
        shutil.rmtree(out / "data", ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        artifacts = []
        for artifact in built.artifacts:
            relative = f"artifacts/{artifact.suite}/{artifact.name}.wasm"
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(artifact.path, out / relative)
            twins = []
            for twin in artifact.twins:
                twin_file = f"artifacts/{artifact.suite}/{artifact.name}.{twin.world}.wasm"
                shutil.copyfile(twin.path, out / twin_file)
                twins.append({"world": twin.world, "sha256": twin.sha256, "file": twin_file})
            cases = [_with_data(case, out).to_json() for case in built.cases.get(artifact.id, [])]
            entry = {**artifact.to_json(portable=True), "file": relative, "cases": cases}
            if twins:
                entry["twins"] = twins
            artifacts.append(entry)
        manifest = {"schema": SCHEMA, "version": VERSION, "bundle_id": built.bundle_id,
                    "wasitest_version": __version__,
                    "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                    "suites": [_suite_json(s) for s in suites], "artifacts": artifacts}
        path = out / "manifest.json"
        path.write_text(json.dumps(manifest, indent=1) + "\n")
        return path
    except OSError as exc:
        raise OutputError(f"cannot write the bundle {out}: {exc.strerror or exc}", "choose a writable folder") from None


def _with_data(case: Case, out: Path) -> Case:
    """The case with its test data copied into the bundle: `copy_in` sources become paths
    relative to the bundle (each source folder or file once, under `data/`)."""
    copy_in = []
    for source, target in case.copy_in:
        src = Path(source)
        key = hashlib.sha256(str(src.resolve()).encode()).hexdigest()[:12]
        relative = f"data/{key}/{src.name}"
        if not (out / relative).exists():
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, out / relative, symlinks=True)
            else:
                shutil.copy2(src, out / relative, follow_symlinks=False)
        copy_in.append((relative, target))
    return replace(case, copy_in=tuple(copy_in))


def _verified(root: Path, entry: Mapping[str, Any]) -> Path:
    """A module of the bundle, checked against the hash its manifest gives."""
    file: Path = root / str(entry["file"])
    if not file.is_file():
        raise InputError(f"bundle artifact {entry['file']} is missing", "copy the whole bundle folder")
    if sha256_file(file) != entry["sha256"]:
        raise InputError(f"bundle artifact {entry['file']} does not match its hash in manifest.json",
                         "the bundle was changed or damaged: rebuild it with `wasitest build --out`")
    return file


def load_bundle(folder: Path) -> tuple[tuple[SuiteConfig, ...], Built]:
    """Read and verify a bundle: every artifact must match the hash its manifest gives."""
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{folder} is not a wasitest bundle (no manifest.json)",
                         "pass the folder `wasitest build --out` wrote") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}", "rebuild the bundle with `wasitest build --out`") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise InputError(f"{path} is not a wasitest bundle manifest", "pass the folder `wasitest build --out` wrote")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > VERSION:
        raise InputError(f"{path} is bundle version {manifest.get('version')!r}; this wasitest reads {VERSION}",
                         "upgrade wasitest")
    root = folder.resolve()
    try:
        suites = tuple(_suite_from_json(s, root) for s in manifest["suites"])
        artifacts: list[Artifact] = []
        cases: dict[str, list[Case]] = {}
        for entry in manifest["artifacts"]:
            file = _verified(root, entry)
            twin_paths = {twin["world"]: _verified(root, twin) for twin in entry.get("twins", [])}
            artifact = Artifact.from_json(entry, file, twin_paths)
            artifacts.append(artifact)
            cases[artifact.id] = [_with_root(Case.from_json(c, artifact), root) for c in entry["cases"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path} is damaged: {type(exc).__name__}: {exc}",
                         "rebuild the bundle with `wasitest build --out`") from None
    built = Built(artifacts, cases)
    if manifest.get("bundle_id") != built.bundle_id:
        raise InputError(f"{path}: the bundle id does not match its artifacts", "rebuild the bundle")
    return suites, built


def _with_root(case: Case, root: Path) -> Case:
    """The case of a bundle at `root`, its test data read from there."""
    return replace(case, copy_in=tuple((str(root / source), target) for source, target in case.copy_in))

"""Discovery: ask each artifact's harness for its cases, once per artifact.

Case lists are cached beside the build cache, keyed by the artifact's hash and the
harness, so an unchanged artifact is not listed again.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from wasitest.errors import InputError, WasitestError
from wasitest.model import Artifact, Case, Execution, Invocation
from wasitest.plugin import Registry
from wasitest.protocols import Execute, RuntimeSession
from wasitest.runner.build import cache_key

DISCOVERY_TIMEOUT_S = 60.0


def _load_cached(path: Path, artifact: Artifact) -> list[Case] | None:
    try:
        rows = json.loads(path.read_text())
        return [
            Case(
                artifact,
                r["name"],
                tuple(r["argv"]),
                base64.b64decode(r["stdin"]),
                tuple((k, v) for k, v in r["env"]),
                tuple((a, b) for a, b in r["copy_in"]),
                r["meta"],
                tuple((a, b) for a, b in r.get("scratch_preopens", [])),
                bool(r.get("default_preopens", True)),
            )
            for r in rows
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, cases: Sequence[Case]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "name": c.name,
            "argv": list(c.argv),
            "stdin": base64.b64encode(c.stdin).decode(),
            "env": list(c.env),
            "copy_in": list(c.copy_in),
            "meta": dict(c.meta),
            "scratch_preopens": list(c.scratch_preopens),
            "default_preopens": c.default_preopens,
        }
        for c in cases
    ]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(rows))
    tmp.replace(path)


def discovery_execute(session: RuntimeSession, scratch: Path) -> Execute:
    """An `Execute` for harnesses: runs on the discovery runtime with an empty scratch dir."""

    def execute(invocation: Invocation) -> Execution:
        scratch.mkdir(parents=True, exist_ok=True)
        limited = replace(
            invocation,
            timeout_s=min(invocation.timeout_s, DISCOVERY_TIMEOUT_S),
            preopens=((scratch, "."), *invocation.preopens),
        )
        return session.run(limited)

    return execute


def discover(
    artifacts: Sequence[Artifact], registry: Registry, session: RuntimeSession, cache_dir: Path, scratch: Path
) -> dict[str, list[Case]]:
    """Every artifact's cases, by artifact id."""
    execute = discovery_execute(session, scratch)
    found: dict[str, list[Case]] = {}
    for artifact in artifacts:
        harness = registry.harnesses.get(artifact.harness)
        # the case list depends on the module, the harness, the artifact's name (the exitcode
        # harness names its case after it) and the builder's extra data (a spec beside it)
        identity = cache_key([artifact.id, json.dumps(dict(artifact.extra), sort_keys=True, default=str)])
        cache_file = cache_dir / f"{artifact.sha256}-{artifact.harness}-{identity[:16]}.json"
        cases = _load_cached(cache_file, artifact)
        if cases is None:
            try:
                cases = list(harness.discover(artifact, execute))
            except WasitestError:
                raise
            except Exception as exc:  # noqa: BLE001 - a harness's failure names the artifact
                raise InputError(
                    f"cannot list the cases of {artifact.id}: {exc}",
                    f"check that it is built for the {artifact.harness!r} harness",
                ) from None
            _store(cache_file, cases)
        found[artifact.id] = cases
    return found

"""Discovery: ask each artifact's harness for its cases, once per artifact.

Case lists are cached beside the build cache, keyed by the artifact's hash and the
harness, so an unchanged artifact is not listed again. They are kept in one file
(`cases/lists.json`), read once and written once a run: a suite of thousands of one-case
modules would otherwise open a file per module per run. An artifact's list keeps what all
its cases share once (`_pack`): a Go package's cases all copy in the same folder listing,
which stored with each case made the file megabytes, read before every run's first job.
A run that lists something also drops the oldest lists it did not use (`_kept`).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasitest.config import DEFAULT_RUNTIME
from wasitest.errors import InputError, WasitestError
from wasitest.files import write_atomically
from wasitest.model import Artifact, Case, Cell, Execution, Invocation
from wasitest.plugin import Registry
from wasitest.protocols import Execute, RuntimeSession
from wasitest.runner.build import cache_key
from wasitest.runner.job import Sessions, WorkItem, run_job

if TYPE_CHECKING:
    from wasitest.runner.pool import WorkerPool

DISCOVERY_TIMEOUT_S = 60.0


LISTS = "lists.json"
_ABSENT = object()
#: lists of artifacts a run did not use (older builds, suites a narrower run left out) are
#: kept up to this many, or as many as the run used if that is more, newest first: a
#: project's edit-and-run loop adds a list per edit, and the file is read before every run
KEEP_UNUSED_LISTS = 1000
#: an artifact's `extra` as text, for its list's key (one encoder: `json.dumps` with options
#: makes a new one every call, a third of the key's cost)
_EXTRA_ENCODER = json.JSONEncoder(sort_keys=True, default=str)


def _load_lists(cache_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((cache_dir / LISTS).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _pack(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """An artifact's case rows as stored: the fields every row has with one value, once
    (`shared`), and each row without them (`cases`)."""
    shared: dict[str, Any] = {}
    if len(rows) > 1:
        first = rows[0]
        shared = {key: value for key, value in first.items() if key != "name" and all(
            row.get(key, _ABSENT) == value for row in rows[1:])}
    return {"shared": shared, "cases": [{k: v for k, v in row.items() if k not in shared} for row in rows]}


def _cases(entry: Any, artifact: Artifact) -> list[Case] | None:
    """The cached list read back (`_pack`ed); None when it does not read (another version
    wrote it)."""
    try:
        shared = entry["shared"]
        return [Case.from_json({**shared, **row}, artifact) for row in entry["cases"]]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _kept(lists: dict[str, Any], used: list[str]) -> dict[str, Any]:
    """The lists to store: those the run used (last: they are the newest) and the newest of
    the others (`KEEP_UNUSED_LISTS`). Lists are stored in the order they were used."""
    in_use = set(used)
    others = [key for key in lists if key not in in_use]
    keep = others[len(others) - min(len(others), max(KEEP_UNUSED_LISTS, len(in_use))):]
    return {key: lists[key] for key in [*keep, *dict.fromkeys(used)]}


def _store_lists(cache_dir: Path, lists: dict[str, Any]) -> None:
    """Write the lists (atomically); a cache that cannot be written costs only the next
    run's listing."""
    with contextlib.suppress(OSError):
        write_atomically(cache_dir / LISTS, json.dumps(lists))


def discovery_execute(
    session: RuntimeSession | Sessions, scratch: Path, runtime: str = DEFAULT_RUNTIME
) -> Execute:
    """An `Execute` for harnesses: runs on the discovery runtime's `session` (`runtime`
    names it; or `Sessions` that open it on the first listing, so that a run whose case
    lists are all cached opens none), as a job with an empty scratch dir preopened at "."
    and a time limit of at most `DISCOVERY_TIMEOUT_S`. An adapter's exception propagates:
    `discover` reports it as the failure to list the artifact's cases."""
    sessions = session if isinstance(session, Sessions) else Sessions(lambda cell: session)
    cell = Cell(runtime)

    def execute(invocation: Invocation) -> Execution:
        return run_job(_listing(cell, invocation), sessions, scratch, raise_adapter_errors=True)

    return execute


def pooled_discovery_execute(pool: WorkerPool, runtime: str = DEFAULT_RUNTIME) -> Execute:
    """An `Execute` for the listings of suites that run in batches: each runs on one of
    the pool's workers, as a `killable` job, so on the engine the batches run on (embedded
    Wasmtime's without epoch checks): a cold run compiles each module once, not once for
    the listing and again for the batch (a Go test binary takes seconds)."""
    cell = Cell(runtime)
    return lambda invocation: pool.call(_listing(cell, replace(invocation, killable=True)))


def _listing(cell: Cell, invocation: Invocation) -> WorkItem:
    """A listing's job: an empty scratch dir preopened at ".", at most `DISCOVERY_TIMEOUT_S`."""
    limited = replace(invocation, timeout_s=min(invocation.timeout_s, DISCOVERY_TIMEOUT_S))
    return WorkItem(0, cell, limited, default_preopens=False, scratch_preopens=((".", "."),))


def _in_world(execute: Execute, world: str) -> Execute:
    """Harnesses build invocations from the artifact alone: give them the module's world."""
    return lambda invocation: execute(replace(invocation, world=world))


def discovery_view(artifact: Artifact) -> Artifact:
    """The artifact as its cases are listed: its p1 form where it has one (any runtime runs
    it; every form has the same cases), else itself."""
    if artifact.world == "p1":
        return artifact
    form = artifact.form("p1")
    if form is None:
        return artifact
    return replace(artifact, path=form.path, sha256=form.sha256, world=form.world, twins=())


def discover(
    artifacts: Sequence[Artifact],
    registry: Registry,
    execute: Execute,
    cache_dir: Path,
    route: Callable[[Artifact], Execute] | None = None,
) -> dict[str, list[Case]]:
    """Every artifact's cases, by artifact id; `execute` runs the listings (`discovery_execute`),
    or `route` says what runs an artifact's (`pooled_discovery_execute` for some)."""
    found: dict[str, list[Case]] = {}
    lists = _load_lists(cache_dir)
    used: list[str] = []
    listed_now = False
    try:
        for artifact in artifacts:
            harness = registry.harnesses.get(artifact.harness)
            view = discovery_view(artifact)
            # the case list depends on the module, the harness, the artifact's name (the exitcode
            # harness names its case after it) and the builder's extra data (a spec beside it)
            identity = cache_key([artifact.id, _EXTRA_ENCODER.encode(dict(artifact.extra))])
            key = f"{view.sha256}-{artifact.harness}-{identity[:16]}"
            used.append(key)
            cases = _cases(lists[key], artifact) if key in lists else None
            if cases is None:
                try:
                    runs = execute if route is None else route(artifact)
                    listed = harness.discover(view, _in_world(runs, view.world))
                    cases = [replace(case, artifact=artifact) for case in listed]
                except WasitestError:
                    raise
                except Exception as exc:  # noqa: BLE001 - a harness's failure names the artifact
                    raise InputError(
                        f"cannot list the cases of {artifact.id}: {exc}",
                        f"check that it is built for the {artifact.harness!r} harness",
                    ) from None
                lists[key] = _pack([case.to_json() for case in cases])
                listed_now = True
            found[artifact.id] = cases
    finally:  # what was listed before a failure is kept
        if listed_now:
            _store_lists(cache_dir, _kept(lists, [key for key in used if key in lists]))
    return found

"""From configuration to the cells of a run, and from a cell to a running runtime: which
runtime on which host with which options, whether each can run here, and its session.

This is the runner's side of a cell (the pool's workers open their sessions through it);
`wasitest.matrix` holds the other side, the matrix as data: spec, expansion, sharding, the
GitHub matrix and merging.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from wasitest.config import DEFAULT_RUNTIME, Settings, did_you_mean
from wasitest.errors import ConfigError, RuntimeUnavailable, warn
from wasitest.model import WAIVABLE, Case, Cell, RuntimeInfo, check_world
from wasitest.plugin import Registry
from wasitest.protocols import Runtime, RuntimeSession
from wasitest.runner.plan import expectation_for, is_expected_failure


@dataclass(frozen=True)
class CellChoice:
    cells: list[Cell]
    infos: dict[str, RuntimeInfo]
    unavailable: dict[str, str]


def resolve_runtime(registry: Registry, cell: Cell) -> Runtime:
    """The runtime adapter that runs this cell: the runtime itself, or as a host wraps it."""
    base: Runtime = registry.runtimes.get(cell.runtime)
    if cell.host == "local":
        return base
    host = registry.hosts.get(cell.host)
    available, reason = host.available()
    if not available:
        raise RuntimeUnavailable(f"host {cell.host} is not available: {reason}")
    wrapped = host.runtime(base)
    if wrapped is None:
        raise RuntimeUnavailable(f"runtime {cell.runtime} cannot run on host {cell.host}")
    return wrapped


def open_session(registry: Registry, cell: Cell, cache_dir: Path) -> RuntimeSession:
    """A session for the cell. Only a cell with runtime options passes `options`: a runtime
    that declares none may take `open_session(cache_dir)` alone, as third-party ones do."""
    runtime = resolve_runtime(registry, cell)
    if cell.options:
        return runtime.open_session(cache_dir, options=dict(cell.options))
    return runtime.open_session(cache_dir)


def cell_info(registry: Registry, cell: Cell) -> RuntimeInfo:
    """The cell's runtime info; not available when its host, option names or option
    values cannot work here (the reason says which)."""
    try:
        runtime = resolve_runtime(registry, cell)
    except RuntimeUnavailable as exc:
        return RuntimeInfo(cell.runtime, False, reason=exc.message)
    info = runtime.info()
    unknown = sorted(key for key, _ in cell.options if key not in info.options)
    if info.available and unknown:
        offered = ", ".join(sorted(info.options)) or "none"
        return replace(
            info, available=False, reason=f"{cell.runtime} has no option {', '.join(unknown)} (its options: {offered})"
        )
    if info.available and cell.options:
        problem = runtime.check_options(dict(cell.options))
        if problem:
            return replace(info, available=False, reason=problem)
    return info


def _candidates(settings: Settings, registry: Registry, requested: Sequence[str] | None) -> tuple[list[Cell], bool]:
    if requested:
        return [_named_cell(name) for name in dict.fromkeys(requested)], True
    if settings.matrix and settings.matrix_spec is not None:
        cells = []
        for combination in settings.matrix_spec.combinations():
            values = dict(combination)
            runtime = values.pop("runtime")
            host = values.pop("host", "local")
            world = values.pop("world", "")
            cells.append(Cell(runtime, host, options=tuple(sorted(values.items())), world=world))
        return list(dict.fromkeys(cells)), False
    if settings.matrix:
        return [_named_cell(name) for name in (settings.runtimes or registry.runtimes.names())], False
    return [Cell(settings.runtimes[0] if settings.runtimes else DEFAULT_RUNTIME)], True


def _named_cell(name: str) -> Cell:
    """`--runtimes NAME` or `NAME:WORLD` (every artifact in that world)."""
    runtime, _, world = name.partition(":")
    check_world(world, f"--runtimes {name}")
    return Cell(runtime, world=world)


def _waived(cell: Cell, info: RuntimeInfo, patterns: Sequence[str]) -> tuple[str, ...]:
    """The guarantees this cell's runtime lacks that the user allowed it to run without."""
    if not any(fnmatch.fnmatchcase(cell.id, p) or fnmatch.fnmatchcase(cell.runtime, p) for p in patterns):
        return ()
    return tuple(sorted(c.value for c in WAIVABLE - info.capabilities))


def choose_cells(
    settings: Settings, registry: Registry, requested: Sequence[str] | None = None, patterns: Sequence[str] = ()
) -> CellChoice:
    """The cells of this run.

    `--runtimes a,b` asks for exactly those (an unavailable one is an error). Without it, a
    plain run uses the default runtime; `--matrix` uses `[tool.wasitest.matrix]`, else the
    configured `runtimes`, else every runtime registered; unavailable cells of a matrix are
    reported, not silently dropped. `--cells` patterns (fnmatch on cell ids) select some.
    """
    candidates, strict = _candidates(settings, registry, requested)
    for cell in candidates:
        registry.runtimes.get(cell.runtime)  # unknown names: did-you-mean errors
        registry.hosts.get(cell.host)
    if patterns:
        every = [c.id for c in candidates]
        candidates = [c for c in candidates if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
        if not candidates:
            raise ConfigError(f"--cells {','.join(patterns)} selects no cell", "see `wasitest matrix` for the cell ids")
        for pattern in patterns:
            if not any(fnmatch.fnmatchcase(cell, pattern) for cell in every):
                warn(f"--cells pattern {pattern!r} matches no cell{did_you_mean(pattern, every)} "
                     f"(cells: {', '.join(every)})")
    infos = {cell.id: cell_info(registry, cell) for cell in candidates}
    unavailable = {cid: info.reason or "not available" for cid, info in infos.items() if not info.available}
    if strict and unavailable:
        cid, reason = next(iter(unavailable.items()))
        raise RuntimeUnavailable(
            f"runtime {cid!r} is not available: {reason}", infos[cid].install_hint or "see `wasitest runtimes`"
        )
    cells = [
        replace(
            c,
            runtime_version=infos[c.id].version,
            platform=registry.hosts.get(c.host).platform(),
            unsafe=_waived(c, infos[c.id], settings.allow_unsafe),
        )
        for c in candidates
        if infos[c.id].available
    ]
    if not cells:
        reasons = "; ".join(f"{cid}: {reason}" for cid, reason in list(unavailable.items())[:3])
        more = f" (and {len(unavailable) - 3} more)" if len(unavailable) > 3 else ""
        raise RuntimeUnavailable(
            f"no cell of the matrix can run on this host: {reasons}{more}",
            "see `wasitest runtimes` for how to install a runtime",
        )
    return CellChoice(cells, infos, unavailable)


def unmatched_patterns(settings: Settings, cases: Sequence[Case], registry: Registry) -> list[str]:
    """Warnings for the `xfail` and `[[tool.wasitest.expect]]` patterns that match none of
    `cases` (every case the build found), and for expectations whose `runtime` pattern
    matches no runtime: a typo there would silently expect nothing. One line per suite,
    and one for all the expectations."""
    found = []
    for suite in settings.suites:
        own = [case for case in cases if case.artifact.suite == suite.name]
        lost = [p for p in suite.xfail if not any(is_expected_failure(replace(suite, xfail=(p,)), c) for c in own)]
        if lost and own:
            found.append(f"suite {suite.name!r}: xfail pattern(s) {', '.join(map(repr, lost))} match no case "
                         f"(patterns are ARTIFACT::CASE, e.g. {own[0].artifact.name}::{own[0].name})")
    lost_cases, lost_runtimes = [], []
    runtimes = registry.runtimes.names()
    for expectation in settings.expectations:
        # the pattern's runtime part: what comes before a host (@), world (:) or option (+)
        runtime = re.split(r"[@:+]", expectation.runtime)[0] or "*"
        if not any(fnmatch.fnmatchcase(r, runtime) for r in runtimes):
            lost_runtimes.append(f"{expectation.runtime!r}{did_you_mean(expectation.runtime, runtimes)}")
        for pattern in expectation.cases:
            probe = replace(expectation, runtime="*", cases=(pattern,))
            if not any(expectation_for(case, Cell("any"), (probe,)) for case in cases):
                lost_cases.append(repr(pattern))
    if lost_cases:
        shown = ", ".join(lost_cases[:5]) + (f" (and {len(lost_cases) - 5} more)" if len(lost_cases) > 5 else "")
        found.append(f"expect: case pattern(s) {shown} match no case")
    if lost_runtimes:
        found.append(f"expect: runtime pattern(s) {', '.join(dict.fromkeys(lost_runtimes))} match no runtime")
    return found

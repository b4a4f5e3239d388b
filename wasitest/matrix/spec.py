"""`[tool.wasitest.matrix]`: the axes `runtime`, `host` and `world` (each artifact in that
world: `p1`, `p2`, `p3`), runtime-option axes (any other key, e.g. `opt_level = ["0", "2"]`),
and GitHub-style `include` and `exclude` lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from wasitest.errors import ConfigError
from wasitest.matrix.expand import Combination, as_strings, expand
from wasitest.model import check_world

RESERVED = ("include", "exclude")


@dataclass(frozen=True)
class MatrixSpec:
    axes: dict[str, list[str]] = field(default_factory=dict)
    include: list[dict[str, str]] = field(default_factory=list)
    exclude: list[dict[str, str]] = field(default_factory=list)

    def combinations(self) -> list[Combination]:
        return expand(self.axes, self.include, self.exclude)


def _entries(value: Any, where: str) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ConfigError(f"{where}: expected a list of tables, e.g. [{{ runtime = \"node\", host = \"local\" }}]")
    out = []
    for entry in value:
        for key, item in entry.items():
            if isinstance(item, (dict, list)) or isinstance(item, bool):
                raise ConfigError(f"{where}: {key} must be a single value, got {item!r}")
        out.append({str(k): str(v) for k, v in entry.items()})
    return out


def parse_matrix(table: Mapping[str, Any], where: str) -> MatrixSpec:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    axes = {str(k): as_strings(v, f"{where}.{k}") for k, v in table.items() if k not in RESERVED}
    spec = MatrixSpec(axes, _entries(table.get("include", []), f"{where}.include"),
                      _entries(table.get("exclude", []), f"{where}.exclude"))
    for number, combination in enumerate(spec.combinations(), start=1):
        check_world(dict(combination).get("world", ""), f"{where}: combination {number}")
        if "runtime" not in combination:
            raise ConfigError(f"{where}: combination {number} ({combination}) names no runtime",
                              "give a `runtime` axis, or a runtime in each include entry")
    return spec

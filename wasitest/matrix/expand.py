"""Matrix expansion with the semantics of a GitHub Actions `strategy.matrix`.

Axes are lists; their cartesian product is the base matrix. `exclude` entries remove every
combination that matches all of the entry's keys (an entry may name only some axes).
Then each `include` entry is added to every base combination whose axis values it does not
overwrite (its new keys extend that combination; added keys may be overwritten by later
includes); an entry that fits no base combination becomes a combination of its own, which
later includes do not extend.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from wasitest.errors import ConfigError

Combination = dict[str, str]


def _matches(combination: Mapping[str, str], entry: Mapping[str, str]) -> bool:
    return all(combination.get(key) == value for key, value in entry.items())


def expand(axes: Mapping[str, Sequence[str]], include: Sequence[Mapping[str, str]] = (),
           exclude: Sequence[Mapping[str, str]] = ()) -> list[Combination]:
    names = list(axes)
    base: list[Combination] = (
        [dict(zip(names, values, strict=True)) for values in itertools.product(*(axes[n] for n in names))]
        if names and all(axes[n] for n in names) else []
    )
    combinations = [c for c in base if not any(_matches(c, entry) for entry in exclude)]
    axis_keys = set(names)
    extra: list[Combination] = []  # made by includes; later includes never extend these
    for entry in include:
        fits = [c for c in combinations if all(c.get(k) == v for k, v in entry.items() if k in axis_keys)]
        for combination in fits:
            combination.update(entry)
        if not fits:
            extra.append(dict(entry))
    combinations.extend(extra)
    return combinations


def as_strings(value: Any, where: str) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        return [str(v) for v in value]
    raise ConfigError(f"{where}: expected a list of values, got {value!r}")

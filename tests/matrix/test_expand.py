"""Matrix expansion means what a GitHub Actions strategy.matrix means (examples from
GitHub's documentation of include and exclude)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasitest.config import load_settings
from wasitest.errors import ConfigError
from wasitest.matrix.expand import expand
from wasitest.plugin import load_registry
from wasitest.runner.cells import choose_cells


def test_include_extends_base_combinations_and_adds_new_ones() -> None:
    axes = {"fruit": ["apple", "pear"], "animal": ["cat", "dog"]}
    include = [
        {"color": "green"},
        {"color": "pink", "animal": "cat"},
        {"fruit": "apple", "shape": "circle"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]
    assert expand(axes, include) == [
        {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
        {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
        {"fruit": "pear", "animal": "cat", "color": "pink"},
        {"fruit": "pear", "animal": "dog", "color": "green"},
        {"fruit": "banana"},
        {"fruit": "banana", "animal": "cat"},
    ]


def test_exclude_removes_partial_matches() -> None:
    axes = {
        "os": ["macos-latest", "windows-latest"],
        "version": ["12", "14", "16"],
        "environment": ["staging", "production"],
    }
    exclude = [
        {"os": "macos-latest", "version": "12", "environment": "production"},
        {"os": "windows-latest", "version": "16"},
    ]
    combos = expand(axes, exclude=exclude)
    assert len(combos) == 12 - 1 - 2
    assert {"os": "windows-latest", "version": "16", "environment": "staging"} not in combos
    assert {"os": "macos-latest", "version": "12", "environment": "staging"} in combos


def test_include_only_matrix() -> None:
    assert expand({}, [{"runtime": "node"}, {"runtime": "wasmtime"}]) == [{"runtime": "node"}, {"runtime": "wasmtime"}]


def _settings(tmp_path: Path, body: str):  # type: ignore[no-untyped-def]
    (tmp_path / "wasitest.toml").write_text(body)
    return load_settings(tmp_path, {}).with_overrides(matrix=True)


def test_config_matrix_becomes_cells_with_options_and_hosts(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        """
[matrix]
runtime = ["wasmtime", "node"]
exclude = [{ runtime = "node" }]
include = [{ runtime = "wasmtime", max_wasm_stack = "8388608" }, { runtime = "node", host = "nowhere" }]
""",
    )
    registry = load_registry()
    with pytest.raises(ConfigError, match="unknown host 'nowhere'"):
        choose_cells(settings, registry)
    settings = _settings(
        tmp_path,
        """
[matrix]
runtime = ["wasmtime", "node"]
opt_level = ["none", "speed"]
""",
    )
    choice = choose_cells(settings, registry)
    ids = [c.id for c in choice.cells] + list(choice.unavailable)
    assert sorted(ids) == sorted(
        ["wasmtime+opt_level=none", "wasmtime+opt_level=speed", "node+opt_level=none", "node+opt_level=speed"]
    )
    # node takes no options: its cells are reported unavailable, with the reason
    assert "node has no option opt_level" in choice.unavailable["node+opt_level=none"]


def test_cells_pattern_selects(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "runtimes = ['wasmtime', 'node']\n")
    registry = load_registry()
    assert [c.id for c in choose_cells(settings, registry, None, ["node*"]).cells] == ["node"]
    with pytest.raises(ConfigError, match="selects no cell"):
        choose_cells(settings, registry, None, ["wamr"])


def test_matrix_without_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="names no runtime"):
        _settings(tmp_path, "[matrix]\nhost = ['local']\n")

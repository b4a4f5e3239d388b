"""What the plugin keeps for one pytest run, in `config.stash` (never in module globals:
pytester runs pytest inside pytest, and each run must start clean).

Everything expensive is made on first use: a `pytest` run without `--wasi` that uses no
`wasi_run` fixture loads no wasitest plugin and builds nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasitest.config import Settings, load_settings
from wasitest.errors import ConfigError
from wasitest.model import Result, RuntimeInfo
from wasitest.options import collect_options
from wasitest.plugin import Registry, load_registry
from wasitest.pytest_plugin.executor import Executor
from wasitest.pytest_plugin.options import WasiOptions
from wasitest.runner.run import prepare
from wasitest.runplan import RunPlan


class WasiState:
    def __init__(self, options: WasiOptions) -> None:
        self.options = options
        self._registry: Registry | None = None
        self._settings: Settings | None = None
        self._plan: RunPlan | None = None
        self.executor: Executor | None = None
        #: runs the odd job the executor does not hold (an item added after the run began)
        self.inline: Executor | None = None
        #: the results of the items that ran, read back from their reports (so under
        #: pytest-xdist the controller sees every worker's)
        self.results: list[Result] = []
        #: the `wasi_runtime` parameters and their runtimes' infos, computed once
        self.fixture_params: list[object] | None = None
        self.fixture_infos: dict[str, RuntimeInfo] | None = None

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry(os.environ)
        return self._registry

    @property
    def project(self) -> Path:
        return self.options.project

    def settings(self) -> Settings:
        """The project's settings, as `wasitest run` would read them."""
        if self._settings is None:
            settings = load_settings(self.project, os.environ, collect_options(self.registry.pm))
            if settings.config_file is None:
                raise ConfigError(
                    f"--wasi: no wasitest configuration in {self.project}",
                    "add a [tool.wasitest] table to its pyproject.toml, or pass --wasi-project DIR",
                )
            self._settings = settings.with_overrides(matrix=self.options.matrix or None)
        return self._settings

    def plan(self) -> RunPlan:
        """Build once, discover, choose the cells and plan the jobs: the core's `prepare`."""
        if self._plan is None:
            self._plan = prepare(self.settings(), self.registry, self.options.runtimes, None, (), self.options.shard)
        return self._plan


STATE = pytest.StashKey[WasiState]()


def get_state(config: pytest.Config) -> WasiState:
    return config.stash[STATE]

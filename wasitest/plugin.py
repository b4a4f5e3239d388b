"""The hookimpl marker, the plugin manager and the registry of plugin objects.

Built-in plugins are ordinary modules listed in `BUILTIN_PLUGINS`; third-party plugins come
from the `wasitest` entry-point group. Both are registered with the same `pm.register` call
and reach wasitest only through the hooks in `hookspec.py`.
`WASITEST_DISABLE_PLUGIN_AUTOLOAD=1` turns entry-point loading off.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import pluggy

from wasitest import hookspec
from wasitest.errors import ConfigError
from wasitest.hookspec import ReporterFactory
from wasitest.protocols import Builder, Harness, Host, Runtime

hookimpl = pluggy.HookimplMarker("wasitest")

ENTRY_POINT_GROUP = "wasitest"

BUILTIN_PLUGINS: tuple[str, ...] = (
    "wasitest.plugins.builders.zig",
    "wasitest.plugins.builders.prebuilt",
    "wasitest.plugins.builders.go",
    "wasitest.plugins.builders.asc",
    "wasitest.plugins.builders.cargo",
    "wasitest.plugins.builders.clang",
    "wasitest.plugins.builders.c",
    "wasitest.plugins.builders.spec",
    "wasitest.plugins.builders.component",
    "wasitest.plugins.harnesses.spec",
    "wasitest.plugins.harnesses.exitcode",
    "wasitest.plugins.harnesses.clist",
    "wasitest.plugins.harnesses.zigtest",
    "wasitest.plugins.harnesses.gotest",
    "wasitest.plugins.harnesses.libtest",
    "wasitest.plugins.runtimes.wasmtime",
    "wasitest.plugins.runtimes.node",
    "wasitest.plugins.runtimes.wasmtime_cli",
    "wasitest.plugins.runtimes.wamr",
    "wasitest.plugins.runtimes.pywasm",
    "wasitest.plugins.runtimes.wasmer",
    "wasitest.plugins.runtimes.bun",
    "wasitest.plugins.runtimes.browser_shim",
    "wasitest.plugins.runtimes.wasmer_js",
    "wasitest.plugins.runtimes.jco",
    "wasitest.plugins.hosts.local",
    "wasitest.plugins.hosts.qemu",
    "wasitest.plugins.reporters.console",
    "wasitest.plugins.reporters.results_json",
    "wasitest.plugins.reporters.junit",
    "wasitest.plugins.reporters.markdown",
    "wasitest.plugins.reporters.html",
    "wasitest.plugins.reporters.matrix_md",
    "wasitest.plugins.reporters.wasi_testsuite",
)


def get_plugin_manager(env: Mapping[str, str] | None = None) -> pluggy.PluginManager:
    """Add the specs, load entry points, then register the built-ins (pluggy's order)."""
    env = os.environ if env is None else env
    pm = pluggy.PluginManager("wasitest")
    pm.add_hookspecs(hookspec)
    if not env.get("WASITEST_DISABLE_PLUGIN_AUTOLOAD"):
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name in BUILTIN_PLUGINS:
        if pm.get_plugin(name) is None:
            pm.register(importlib.import_module(name), name=name)
    pm.check_pending()
    return pm


T = TypeVar("T")


@dataclass
class Table(Generic[T]):
    """Plugin objects of one kind, by name."""

    kind: str
    items: dict[str, T] = field(default_factory=dict)

    def add(self, obj: T, name: str | None = None) -> None:
        key = name if name is not None else str(getattr(obj, "name", ""))
        if key in self.items:
            raise ConfigError(
                f"two plugins register a {self.kind} named {key!r}",
                "uninstall or disable one of them (WASITEST_DISABLE_PLUGIN_AUTOLOAD=1)",
            )
        self.items[key] = obj

    def get(self, name: str) -> T:
        try:
            return self.items[name]
        except KeyError:
            from wasitest.config import did_you_mean

            raise ConfigError(
                f"unknown {self.kind} {name!r}{did_you_mean(name, self.items)}",
                f"known: {', '.join(sorted(self.items)) or 'none'}",
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self.items

    def names(self) -> list[str]:
        return list(self.items)

    def reverse(self) -> None:
        self.items = dict(reversed(self.items.items()))


@dataclass
class Registry:
    """Every builder, harness, runtime, host and reporter the plugins registered."""

    pm: pluggy.PluginManager
    builders: Table[Builder] = field(default_factory=lambda: Table("builder"))
    harnesses: Table[Harness] = field(default_factory=lambda: Table("harness"))
    runtimes: Table[Runtime] = field(default_factory=lambda: Table("runtime"))
    hosts: Table[Host] = field(default_factory=lambda: Table("host"))
    reporters: dict[str, ReporterFactory] = field(default_factory=dict)

    @classmethod
    def collect(cls, pm: pluggy.PluginManager) -> Registry:
        reg = cls(pm)
        pm.hook.wasitest_register_builders(register=reg.builders.add)
        pm.hook.wasitest_register_harnesses(register=reg.harnesses.add)
        pm.hook.wasitest_register_runtimes(register=reg.runtimes.add)
        pm.hook.wasitest_register_hosts(register=reg.hosts.add)
        pm.hook.wasitest_register_reporters(register=reg.reporters.__setitem__)
        # pluggy calls the last registered plugin first; list things in registration order
        reg.builders.reverse()
        reg.harnesses.reverse()
        reg.runtimes.reverse()
        reg.hosts.reverse()
        reg.reporters = dict(reversed(reg.reporters.items()))
        return reg


def load_registry(env: Mapping[str, str] | None = None) -> Registry:
    return Registry.collect(get_plugin_manager(env))

"""The `local` host: runtimes run on this machine, as they are."""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable

from wasitest.plugin import hookimpl
from wasitest.plugins.hosts.facts import HostFacts, local_facts
from wasitest.protocols import Host, Runtime


class LocalHost:
    name = "local"

    def available(self) -> tuple[bool, str]:
        return True, ""

    def runtime(self, runtime: Runtime) -> Runtime:
        return runtime

    def platform(self) -> str:
        return local_platform()

    def facts(self) -> HostFacts:
        return local_facts()

    def runtime_names(self) -> tuple[str, ...]:
        """Every runtime runs here: `wasitest runtimes` says which are installed."""
        return ()


def local_platform() -> str:
    """`linux-x86_64`, `macos-arm64`, `windows-amd64`: the names CI runner images use."""
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower() or "unknown"
    return f"{system}-{machine}"


@hookimpl
def wasitest_register_hosts(register: Callable[[Host], None]) -> None:
    register(LocalHost())

"""The `local` host: runtimes run on this machine, as they are."""

from __future__ import annotations

from collections.abc import Callable

from wasitest.plugin import hookimpl
from wasitest.protocols import Host


class LocalHost:
    name = "local"

    def available(self) -> tuple[bool, str]:
        return True, ""


@hookimpl
def wasitest_register_hosts(register: Callable[[Host], None]) -> None:
    register(LocalHost())

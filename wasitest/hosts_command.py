"""`wasitest hosts`: where runtimes can run (this machine, other CPUs under emulation), and
`wasitest hosts install NAME`: fetch what a host's runtimes need into wasitest's cache.

Which hosts exist and what they run, the host plugins say themselves: a host with
`facts()` and `runtime_names()` is described (`DescribedHost`), one with `install()` is
installable (`InstallableHost`). This module names no host, so a third-party host lists
and installs the same way.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from wasitest.cli_listing import add_listing_parser
from wasitest.config import did_you_mean
from wasitest.errors import ExitCode, RuntimeUnavailable, UsageError
from wasitest.model import RuntimeInfo
from wasitest.plugin import Registry
from wasitest.protocols import Host


class Facts(Protocol):
    cpu: str
    endianness: str
    word_bits: int


@runtime_checkable
class DescribedHost(Protocol):
    """A host that says what CPU it is and which runtimes can run on it (() for every
    runtime, as on this machine)."""

    name: str

    def facts(self) -> Facts: ...

    def runtime_names(self) -> tuple[str, ...]: ...


@runtime_checkable
class InstallableHost(Protocol):
    """A host whose runtimes need something fetched first (Debian's Node for its CPU).
    `install` returns one line saying what it put where, or raises a `WasitestError`
    whose message names what the system lacks and how to fix it."""

    name: str

    def install(self) -> str: ...


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """`wasitest hosts [--json] [install NAME ...]` on the top-level subparsers `sub`."""
    described = "show every host (this machine, emulated CPUs): available or not, why, CPU, byte order, word size"
    return add_listing_parser(
        sub, "hosts", described, list_hosts, install=("fetch what a host's runtimes need into wasitest's cache folder",
                             "a host, e.g. linux-s390x", install_hosts),
    )


def _runtime_infos(registry: Registry, host: Host) -> list[RuntimeInfo]:
    """The infos of the runtimes that run on `host` (asked as they run there)."""
    names = host.runtime_names() if isinstance(host, DescribedHost) else ()
    infos = []
    for name in names:
        if name not in registry.runtimes:
            continue
        wrapped = host.runtime(registry.runtimes.get(name))
        if wrapped is not None:
            infos.append(wrapped.info())
    return infos


def describe(registry: Registry, host: Host) -> dict[str, Any]:
    """One host as `wasitest hosts --json` prints it."""
    available, reason = host.available()
    infos = _runtime_infos(registry, host) if available else []
    if available and infos and not any(i.available for i in infos):
        available = False
        reason = "; ".join(f"{i.name}: {i.reason}" + (f" (run: {i.install_hint})" if i.install_hint else "")
                           for i in infos)
    facts = host.facts() if isinstance(host, DescribedHost) else None
    return {
        "name": host.name,
        "available": available,
        "reason": reason,
        "platform": host.platform(),
        "cpu": facts.cpu if facts else "",
        "endianness": facts.endianness if facts else "",
        "word_bits": facts.word_bits if facts else 0,
        "runtimes": [
            {"name": i.name, "available": i.available, "version": i.version, "reason": i.reason,
             "install": i.install_hint}
            for i in infos
        ],
    }


def list_hosts(args: argparse.Namespace, registry: Registry) -> int:
    rows = [describe(registry, registry.hosts.get(name)) for name in registry.hosts.names()]
    if args.json:
        print(json.dumps(rows, indent=1))
        return int(ExitCode.OK)
    for row in rows:
        state = "available" if row["available"] else "unavailable"
        cpu = f"{row['cpu']}, {row['endianness']}, {row['word_bits']}-bit" if row["cpu"] else row["platform"]
        print(f"{row['name']:<14} {state:<12} {cpu}")
        if not row["available"] and not row["runtimes"]:
            print(f"{'':<14} why: {row['reason']}")
        for runtime in row["runtimes"]:
            hint = f" (run: {runtime['install']})" if runtime["install"] else ""
            detail = runtime["version"] if runtime["available"] else runtime["reason"] + hint
            print(f"{'':<14} {runtime['name']:<13} {detail}")
    return int(ExitCode.OK)


def install_hosts(args: argparse.Namespace, registry: Registry) -> int:
    for name in args.names:
        print(install_host(registry, name))
    return int(ExitCode.OK)


def install_host(registry: Registry, name: str) -> str:
    """Install host `name`; one line saying what was installed and what runs there now.

    Raises `UsageError` for a name that is no installable host (with a did-you-mean),
    `RuntimeUnavailable` when the system lacks a step (named with its fix) or a runtime
    still does not work afterwards.
    """
    installable = [h for h in registry.hosts.names() if isinstance(registry.hosts.get(h), InstallableHost)]
    host = registry.hosts.items.get(name)
    if host is None or not isinstance(host, InstallableHost):
        known = "is not a host" if host is None else "needs nothing installed"
        raise UsageError(f"{name!r} {known}{did_you_mean(name, installable)}",
                         f"installable: {', '.join(installable)}")
    done = host.install()
    infos = _runtime_infos(registry, host)
    broken = [i for i in infos if not i.available and i.name == "node"]
    if broken:
        raise RuntimeUnavailable(f"{done}, but node on {name} does not work: {broken[0].reason}")
    working = ", ".join(f"{i.name} ({i.version})" for i in infos if i.available)
    return f"{done}; on {name}: {working or 'no runtime available'}"


__all__: Sequence[str] = ("add_parser", "describe", "install_host")

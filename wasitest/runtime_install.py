"""`wasitest runtimes install NAME`: install a runtime that comes from the npm registry into
wasitest's own npm cache folder (`wasitest.npm`), never globally and never into the
user's project.

Which runtimes those are, the runtimes say themselves: an adapter with an `npm_tool` and
`npm_packages` (class variables of the runtime kit's `RuntimeAdapter`) is installable.
This module names none of them, so a third-party npm runtime is installable the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from wasitest import npm
from wasitest.errors import RuntimeUnavailable, UsageError
from wasitest.model import RuntimeInfo


@runtime_checkable
class NpmRuntime(Protocol):
    """What this command reads of a runtime adapter: where its npm packages go (`npm_tool`,
    a folder of wasitest's npm cache), which packages (the first names the runtime's
    version), and how to ask the runtime afterwards whether it works."""

    name: str
    npm_tool: str
    npm_packages: tuple[str, ...]

    def info(self) -> RuntimeInfo: ...


def package_name(spec: str) -> str:
    """`@wasmer/sdk@0.16` -> `@wasmer/sdk`, `bun@1` -> `bun`: an npm spec without its version."""
    at = spec.rfind("@")
    return spec[:at] if at > 0 else spec


def installable(runtimes: Iterable[object] | None = None) -> dict[str, NpmRuntime]:
    """Every runtime this command can install, by runtime name: the registered runtimes
    (`runtimes`, default: the installed plugins') that name npm packages."""
    if runtimes is None:
        from wasitest.plugin import load_registry

        runtimes = load_registry().runtimes.items.values()
    return {r.name: r for r in runtimes if isinstance(r, NpmRuntime) and r.npm_tool and r.npm_packages}


def install_runtime(name: str, runtimes: Iterable[object] | None = None) -> str:
    """Install runtime `name`; returns one line saying what was installed where.

    Raises `UsageError` for a name that cannot be installed this way, `ToolchainMissing`
    when npm is missing or fails, and `RuntimeUnavailable` when the runtime still does not
    work after the install (with its reason).
    """
    from wasitest.config import did_you_mean

    known = installable(runtimes)
    runtime = known.get(name)
    if runtime is None:
        raise UsageError(
            f"{name!r} is not a runtime wasitest can install{did_you_mean(name, known)}",
            f"installable: {', '.join(sorted(known))}",
        )
    package = package_name(runtime.npm_packages[0])
    folder = npm.install(runtime.npm_tool, runtime.npm_packages)
    version = npm.installed_version(runtime.npm_tool, package) or "?"
    # `info()` is cached per adapter object and said "not installed" before: ask a new one
    info = type(runtime)().info()
    if not info.available:
        raise RuntimeUnavailable(
            f"installed {package} {version}, but {name} does not work: {info.reason}", info.install_hint
        )
    return f"installed {package} {version} into {folder}; {name} is available ({info.version})"

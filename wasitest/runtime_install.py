"""`wasitest runtimes install NAME`: install a runtime that comes from the npm registry into
wasitest's own npm cache folder (`wasitest.npm`), never globally and never into the
user's project.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wasitest import npm
from wasitest.errors import RuntimeUnavailable, UsageError
from wasitest.model import RuntimeInfo


@dataclass(frozen=True)
class NpmRuntime:
    """Where a runtime's npm packages go, which of them names its version, and how to ask
    the runtime afterwards whether it works."""

    tool: str
    packages: tuple[str, ...]
    package: str
    info: Callable[[], RuntimeInfo]


def installable() -> dict[str, NpmRuntime]:
    """Every runtime this command can install, by runtime name."""
    from wasitest.plugins.runtimes import browser_shim, bun, wasmer_js

    return {
        bun.NAME: NpmRuntime(bun.NPM_TOOL, bun.NPM_PACKAGES, "bun", lambda: bun.BunRuntime().info()),
        browser_shim.NAME: NpmRuntime(
            browser_shim.NPM_TOOL,
            browser_shim.NPM_PACKAGES,
            browser_shim.PACKAGE,
            lambda: browser_shim.BrowserShimRuntime().info(),
        ),
        wasmer_js.NAME: NpmRuntime(
            wasmer_js.NPM_TOOL, wasmer_js.NPM_PACKAGES, wasmer_js.PACKAGE, lambda: wasmer_js.WasmerJsRuntime().info()
        ),
    }


def install_runtime(name: str) -> str:
    """Install runtime `name`; returns one line saying what was installed where.

    Raises `UsageError` for a name that cannot be installed this way, `ToolchainMissing`
    when npm is missing or fails, and `RuntimeUnavailable` when the runtime still does not
    work after the install (with its reason).
    """
    from wasitest.config import did_you_mean

    known = installable()
    spec = known.get(name)
    if spec is None:
        raise UsageError(
            f"{name!r} is not a runtime wasitest can install{did_you_mean(name, known)}",
            f"installable: {', '.join(sorted(known))}",
        )
    folder = npm.install(spec.tool, spec.packages)
    version = npm.installed_version(spec.tool, spec.package) or "?"
    info = spec.info()
    if not info.available:
        raise RuntimeUnavailable(
            f"installed {spec.package} {version}, but {name} does not work: {info.reason}", info.install_hint
        )
    return f"installed {spec.package} {version} into {folder}; {name} is available ({info.version})"

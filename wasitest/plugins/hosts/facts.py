"""What `wasitest hosts` says about a host's CPU: its name, byte order and word size."""

from __future__ import annotations

import platform
import struct
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class HostFacts:
    cpu: str
    endianness: str  # "little-endian" or "big-endian"
    word_bits: int  # the width of the CPU's pointers: 32 or 64


def local_facts() -> HostFacts:
    """This machine's, as Python sees it (a 32-bit Python on a 64-bit CPU says 32)."""
    return HostFacts(
        platform.machine() or "unknown", f"{sys.byteorder}-endian", struct.calcsize("P") * 8
    )

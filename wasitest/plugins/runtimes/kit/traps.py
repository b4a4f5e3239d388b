"""One trap table type: how a runtime's own trap text maps onto wasitest's `TrapKind`s."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wasitest.model import TrapKind


@dataclass(frozen=True)
class TrapTable:
    """Needles looked for in a trap message, first match wins; no match is `OTHER`.

    Runtimes word their traps differently (`wasm trap: call stack exhausted`, V8's `Maximum
    call stack size exceeded`, WAMR's `OutOfBoundsMemoryAccess`): each adapter declares its
    table, and every message is read the same way. `ignore_case` suits engines whose
    capitalisation varies between versions.
    """

    entries: tuple[tuple[str, TrapKind], ...]
    ignore_case: bool = False

    @classmethod
    def of(cls, *entries: tuple[str, TrapKind], ignore_case: bool = False) -> TrapTable:
        return cls(tuple(entries), ignore_case)

    def kind(self, message: str) -> TrapKind:
        text = message.lower() if self.ignore_case else message
        for needle, kind in self.entries:
            if (needle.lower() if self.ignore_case else needle) in text:
                return kind
        return TrapKind.OTHER

    def __call__(self, message: str) -> TrapKind:
        return self.kind(message)

    def extended(self, entries: Iterable[tuple[str, TrapKind]]) -> TrapTable:
        """This table with more needles after its own."""
        return TrapTable((*self.entries, *entries), self.ignore_case)

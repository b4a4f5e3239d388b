"""JSON text of one small value at a time, with one encoder kept: the journal writes a line
per result, results.json one per result and artifact, the Node runner reads one per job.

`json.dumps` makes a new encoder (and its C encoder) on every call: a third of the cost of
encoding a result. These keep one C encoder per layout, with `json.dumps`'s output
exactly (checked once, on import); where the C encoder is missing or behaves otherwise
(another Python), they are `json.dumps` itself. Values must not refer to themselves: the
kept encoder does not look for cycles (a result never has one)."""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from typing import Any

_SAMPLE = {"a": [1, 2.5, None, True, "é\n\"", {"b": -0.0}], "c": float("inf")}


def _not_serializable(value: Any) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _kept_encoder(item_separator: str, key_separator: str) -> Callable[[Any], str]:
    """`json.dumps` with these separators, through one C encoder when it gives the same text."""
    separators = (item_separator, key_separator)

    def dumps(value: Any) -> str:
        return json.dumps(value, separators=separators)

    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return dumps
    try:
        encoder = make(None, _not_serializable, json.encoder.encode_basestring_ascii, None,
                       key_separator, item_separator, False, False, True)

        def encode(value: Any) -> str:
            return "".join(encoder(value, 0))

        return encode if encode(_SAMPLE) == dumps(_SAMPLE) else dumps
    except Exception:  # noqa: BLE001 - an interpreter whose C encoder differs: the plain way
        return dumps


#: `json.dumps(value, separators=(",", ":"))`
compact: Callable[[Any], str] = _kept_encoder(",", ":")
#: `json.dumps(value)`
spaced: Callable[[Any], str] = _kept_encoder(", ", ": ")

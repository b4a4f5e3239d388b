"""`jsontext`'s kept encoders write exactly what `json.dumps` writes, for any JSON value."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wasitest import jsontext

VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(VALUES)
def test_the_text_is_json_dumps_text(value: Any) -> None:
    assert jsontext.spaced(value) == json.dumps(value)
    assert jsontext.compact(value) == json.dumps(value, separators=(",", ":"))


def test_a_value_json_cannot_write_is_a_type_error() -> None:
    for encode in (jsontext.spaced, jsontext.compact):
        with pytest.raises(TypeError, match="bytes is not JSON serializable"):
            encode({"stdout": b"raw"})


def test_the_kept_encoder_is_used_where_python_has_one() -> None:
    """Not `json.dumps` under another name: on CPython the C encoder is kept (the reason
    for the module); its output was checked against `json.dumps` on import."""
    if getattr(json.encoder, "c_make_encoder", None) is None:
        pytest.skip("this Python has no C JSON encoder")
    assert jsontext.spaced.__name__ == jsontext.compact.__name__ == "encode"

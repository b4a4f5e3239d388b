"""Parsers fuzzed with hypothesis: whatever the input, the answer is a parsed value or a
`WasitestError` (one line, an exit code), never another exception."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from wasitest.config import load_settings
from wasitest.errors import WasitestError
from wasitest.matrix.shard import parse_shard
from wasitest.plugins.harnesses.spec import spec_from_json
from wasitest.results import ResultsDocument, document_from_journal

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
KEYS = [
    "runtimes",
    "jobs",
    "timeout",
    "memory",
    "suites",
    "matrix",
    "diff",
    "expect",
    "retries",
    "isolation",
    "builder",
    "sources",
    "harness",
    "env",
    "xfail",
    "runtime",
    "include",
    "exclude",
    "normalise",
    "allow_unsafe",
]
TOML_VALUE = st.one_of(
    st.integers(-5, 10**6), st.text(max_size=10), st.booleans(), st.lists(st.text(max_size=6), max_size=3)
)


def _one_line(exc: WasitestError) -> None:
    assert "\n" not in exc.one_line() and exc.one_line()
    assert int(exc.exit_code) in {2, 4, 5, 6, 7, 8}


def _toml(value: object) -> str:
    return json.dumps(value)  # JSON scalars and string lists are valid TOML values


@settings(max_examples=150, deadline=None)
@given(
    table=st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=5),
    suite=st.dictionaries(st.sampled_from(KEYS), TOML_VALUE, max_size=5),
)
def test_config_parser(table: dict[str, object], suite: dict[str, object]) -> None:
    lines = [f"{key} = {_toml(value)}" for key, value in table.items() if key != "suites"]
    lines.append("[suites.s]")
    lines += [f"{key} = {_toml(value)}" for key, value in suite.items()]
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "wasitest.toml").write_text("\n".join(lines) + "\n")
        try:
            load_settings(Path(folder), {})
        except WasitestError as exc:
            _one_line(exc)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=200))
def test_config_parser_on_arbitrary_text(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "wasitest.toml").write_text(text)
        try:
            load_settings(Path(folder), {})
        except WasitestError as exc:
            _one_line(exc)


@settings(max_examples=300, deadline=None)
@given(
    data=JSON
    | st.dictionaries(
        st.sampled_from(["args", "env", "dirs", "root", "exit_code", "stdout", "stderr"]), JSON, max_size=5
    )
)
def test_spec_parser(data: object) -> None:
    try:
        spec_from_json(data, "x.json")
    except WasitestError as exc:
        _one_line(exc)


@settings(max_examples=300, deadline=None)
@given(
    data=JSON
    | st.fixed_dictionaries(
        {
            "schema": st.just("wasitest-results"),
            "version": st.integers(0, 2),
            "cells": JSON,
            "results": JSON,
            "divergences": JSON,
        }
    )
)
def test_results_parser(data: object) -> None:
    try:
        ResultsDocument.from_json(data, "results.json")
    except WasitestError as exc:
        _one_line(exc)


@settings(max_examples=150, deadline=None)
@given(lines=st.lists(st.one_of(st.text(max_size=40), JSON.map(json.dumps)), max_size=6))
def test_journal_parser(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "results.jsonl"
        path.write_text("\n".join(['{"journal": "wasitest", "cells": []}', *lines]) + "\n")
        try:
            document_from_journal(path)
        except WasitestError as exc:
            _one_line(exc)


@given(text=st.text(max_size=12))
def test_shard_parser(text: str) -> None:
    try:
        shard = parse_shard(text)
    except WasitestError as exc:
        _one_line(exc)
    else:
        assert 1 <= shard.index <= shard.count

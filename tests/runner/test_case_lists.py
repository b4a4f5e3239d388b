"""The case-list cache stores what an artifact's cases share once, and reads back the
very cases it was given."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from wasitest.model import Artifact, Case
from wasitest.runner.discover import KEEP_UNUSED_LISTS, _cases, _kept, _pack

ARTIFACT = Artifact(suite="s", name="pkg", path=Path("pkg.wasm"), harness="gotest", sha256="0" * 64)
TEXT = st.text(max_size=8)
PAIRS = st.lists(st.tuples(TEXT, TEXT), max_size=3).map(tuple)
CASES = st.builds(
    Case,
    st.just(ARTIFACT),
    TEXT,
    st.lists(TEXT, max_size=3).map(tuple),
    st.binary(max_size=6),
    PAIRS,
    PAIRS,
    st.dictionaries(TEXT, st.integers() | TEXT, max_size=2),
    PAIRS,
    st.booleans(),
)


@given(cases=st.lists(CASES, max_size=6), repeat=st.integers(0, 3))
def test_a_packed_list_reads_back_as_the_same_cases(cases: list[Case], repeat: int) -> None:
    cases = cases + cases[:1] * repeat  # rows that share every field but the name, too
    stored = json.loads(json.dumps(_pack([case.to_json() for case in cases])))
    assert _cases(stored, ARTIFACT) == cases


def test_what_every_case_shares_is_stored_once() -> None:
    folder = tuple((f"/src/pkg/file{i}.go", f"file{i}.go") for i in range(50))
    cases = [Case(ARTIFACT, f"Test{i}", ("pkg.test", "-test.run", f"^Test{i}$"), copy_in=folder) for i in range(100)]
    text = json.dumps(_pack([case.to_json() for case in cases]))
    assert text.count("file49.go") == 2  # source and target, once
    assert _cases(json.loads(text), ARTIFACT) == cases


def test_a_list_in_an_older_form_is_listed_again() -> None:
    """Before `_pack`, an artifact's entry was its bare list of rows: it does not read,
    so discovery lists the artifact again (and stores the new form)."""
    rows = [Case(ARTIFACT, "TestA", ("a",)).to_json()]
    assert _cases(rows, ARTIFACT) is None


def test_the_lists_a_run_did_not_use_are_kept_up_to_a_bound() -> None:
    """An edit-and-run loop adds a list per edit: the stored file keeps every list the run
    used and only the newest of the others, so it does not grow without end."""
    stale = {f"old{i}": i for i in range(KEEP_UNUSED_LISTS + 500)}
    kept = _kept({**stale, "a": "A", "b": "B"}, ["b", "a"])
    assert list(kept)[-2:] == ["b", "a"] and kept["a"] == "A"  # the run's own, newest last
    assert len(kept) == KEEP_UNUSED_LISTS + 2
    assert "old0" not in kept and f"old{KEEP_UNUSED_LISTS + 499}" in kept  # the oldest go first
    many = [f"k{i}" for i in range(KEEP_UNUSED_LISTS + 10)]  # a run of more artifacts keeps as many others
    assert len(_kept({**stale, **dict.fromkeys(many, 0)}, many)) == 2 * len(many)
    assert _kept({"x": 1}, []) == {"x": 1}

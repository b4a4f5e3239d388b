"""A suite's `sources` globs: a pattern with wildcards in its last part only is matched from
one listing of its folder (`build._in_one_folder`), and must name exactly the files
`Path.glob` names, in the same order; other patterns go through `Path.glob`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wasitest.config import SuiteConfig
from wasitest.errors import BuildError
from wasitest.runner.build import expand_sources, source_files


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Files, names that start with a dot, a folder and links that match `*.wasm`, a file in
    a subfolder, upper case, and a name that needs escaping in a regular expression."""
    tests = tmp_path / "t"
    (tests / "sub.wasm").mkdir(parents=True)
    (tests / "deep").mkdir()
    for name in ("b.wasm", "a.wasm", ".hidden.wasm", "C.WASM", "x.json", "a+(1).wasm", "deep/d.wasm", "10.wasm"):
        (tests / name).write_bytes(b"\0asm\1\0\0\0")
    os.symlink("a.wasm", tests / "link.wasm")
    os.symlink("missing.wasm", tests / "broken.wasm")
    os.symlink("deep", tests / "dirlink.wasm")
    return tmp_path


def by_glob(root: Path, patterns: list[str]) -> list[Path]:
    """What `Path.glob` names: files only, each pattern sorted by parts, first match kept."""
    found: dict[Path, None] = {}
    for pattern in patterns:
        for path in sorted(root.glob(pattern), key=lambda p: p.parts):
            if path.is_file():
                found.setdefault(path)
    return list(found)


@pytest.mark.parametrize(
    "patterns",
    [
        ["t/*.wasm"],
        ["t/*"],
        ["t/[ab]*.wasm", "t/*.wasm"],
        ["t/?.wasm"],
        ["t/*.WASM"],
        ["t/a+(1).wasm", "t/*+*"],
        ["t/*/*.wasm", "t/*.wasm"],  # a wildcard in a folder: through Path.glob
        ["t/**/*.wasm"],
        ["t/a.wasm", "t/b.wasm"],  # no wildcard at all
        ["t/deep/*.wasm", "t/nothing/*.wasm"],
    ],
)
def test_the_listing_names_what_path_glob_names(folder: Path, patterns: list[str]) -> None:
    suite = SuiteConfig("s", "spec", tuple(patterns), "", folder)
    expected = by_glob(folder, patterns)
    assert expected, "the case must match something"
    assert expand_sources(suite) == expected
    assert list(source_files(suite)) == [str(path) for path in expected]


def test_an_absolute_path_is_taken_as_it_is(folder: Path) -> None:
    """Builders pass their own files so (the spec builder's C sources): a name with glob
    characters in it names that file, not the files the glob would match."""
    (folder / "t" / "x[ab].c").write_text("")
    (folder / "t" / "xa.c").write_text("")
    suite = SuiteConfig("s", "spec", (f"{folder}/t/x[ab].c", f"{folder}/t/*.wasm"), "", folder / "elsewhere")
    assert expand_sources(suite) == [folder / "t" / "x[ab].c"]


def test_no_match_is_one_error_naming_the_globs(folder: Path) -> None:
    with pytest.raises(BuildError, match=r"sources \['t/\*\.c', 'u/\*\.wasm'\] match no file"):
        expand_sources(SuiteConfig("s", "spec", ("t/*.c", "u/*.wasm"), "", folder))

"""`files.write_atomically`, the one way wasitest writes a file others may read meanwhile
(reports, compiled modules, the build's memos, the case lists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wasitest.files import write_atomically


@pytest.mark.parametrize("data", ["text é\n", b"\0asm bytes", bytearray(b"serialised"), ["pie", "ces\n"]])
def test_what_is_written_is_in_place_and_nothing_beside_it(
    tmp_path: Path, data: str | bytes | bytearray | list[str]
) -> None:
    target = tmp_path / "new" / "folder" / "file"
    target.parent.mkdir(parents=True)
    target.write_text("old")
    write_atomically(target, data)
    expected = bytes(data) if isinstance(data, (bytes, bytearray)) else "".join(data).encode()
    assert target.read_bytes() == expected
    assert sorted(p.name for p in target.parent.iterdir()) == ["file"]


def test_a_failed_write_raises_and_leaves_no_file_beside(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside").write_text("x")  # a folder that is not empty cannot be replaced
    with pytest.raises(OSError):
        write_atomically(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    with pytest.raises(OSError):  # the folder cannot be made: a file is in the way
        write_atomically(target / "inside" / "file", b"bytes")
    assert sorted(p.name for p in target.iterdir()) == ["inside"]

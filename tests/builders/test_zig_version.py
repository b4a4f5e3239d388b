"""The zig builder asks Zig its version once, then remembers it while the binary keeps its stamp."""

from __future__ import annotations

import json
from pathlib import Path

from wasitest.plugins.builders.zig import zig_version


def test_the_version_is_remembered_while_the_binary_keeps_its_stamp(tmp_path: Path) -> None:
    asked = zig_version.__wrapped__(tmp_path)  # type: ignore[attr-defined]  # past the process's cache
    assert asked and asked[0].isdigit(), asked
    memo = tmp_path / "zig-facts.json"
    data = json.loads(memo.read_text())
    assert data["entries"]["version"][2] == asked
    # a remembered answer is used as it is: no Zig is run for it
    data["entries"]["version"][2] = "0.0.0-remembered"
    memo.write_text(json.dumps(data))
    assert zig_version.__wrapped__(tmp_path) == "0.0.0-remembered"  # type: ignore[attr-defined]
    # one remembered for a binary of another stamp is asked again
    data["entries"]["version"][1] = "1,2,3,4"
    memo.write_text(json.dumps(data))
    assert zig_version.__wrapped__(tmp_path) == asked  # type: ignore[attr-defined]

"""The `prebuilt` builder remembers a module's world and hash by the file's stamp: what it
reports follows the file, edit after edit."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_project, zig_cc
from wasitest.config import SuiteConfig
from wasitest.errors import InputError
from wasitest.plugins.builders import prebuilt
from wasitest.plugins.builders.prebuilt import PrebuiltBuilder
from wasitest.runner.build import BuildSession, sha256_file


def test_a_module_is_read_again_only_when_its_file_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    project = write_project(
        tmp_path / "p", "", {"a.c": "int main(void) { return 0; }\n", "b.c": "int main(void) { return 1; }\n"}
    )
    (project / "m").mkdir()
    module = zig_cc(project / "a.c", project / "m" / "t.wasm")
    suite = SuiteConfig(name="s", builder="prebuilt", sources=("m/*.wasm",), harness="", root=project)
    session = BuildSession(project, tmp_path / "cache")
    (first,) = PrebuiltBuilder().build(suite, session)
    assert first.sha256 == sha256_file(module) and first.world == "p1"

    monkeypatch.setattr(prebuilt, "check_module", lambda path: pytest.fail(f"{path} read again"))
    assert PrebuiltBuilder().build(suite, session) == [first]
    monkeypatch.undo()

    zig_cc(project / "b.c", module)
    (second,) = PrebuiltBuilder().build(suite, session)
    assert second.sha256 == sha256_file(module) != first.sha256
    module.write_bytes(module.read_bytes()[:100])
    with pytest.raises(InputError, match=r"t\.wasm is not a valid module"):
        PrebuiltBuilder().build(suite, session)

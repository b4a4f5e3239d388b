"""A scratch dir found empty is known to be empty after the next job without a listing only
while nothing was created in it or moved into it: every way a guest can leave something
there must make `still_empty` say "look", and real jobs must each find the dir empty."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from wasitest.model import Cell, Invocation
from wasitest.plugin import load_registry
from wasitest.runner.dir_events import DirEvents
from wasitest.runner.job import Sessions, WorkItem, run_job

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _mkdir(scratch: Path, outside: Path) -> None:
    (scratch / "sub").mkdir()


def _file(scratch: Path, outside: Path) -> None:
    (scratch / "f").write_bytes(b"x")


def _moved_in(scratch: Path, outside: Path) -> None:
    (outside / "m").write_bytes(b"x")
    os.rename(outside / "m", scratch / "m")


def _symlink(scratch: Path, outside: Path) -> None:
    (scratch / "l").symlink_to("/nowhere")


def _hard_link(scratch: Path, outside: Path) -> None:
    (outside / "h").write_bytes(b"x")
    os.link(outside / "h", scratch / "h")


def _made_and_removed(scratch: Path, outside: Path) -> None:
    (scratch / "gone").write_bytes(b"x")
    (scratch / "gone").unlink()


def _replaced(scratch: Path, outside: Path) -> None:
    scratch.rmdir()
    scratch.mkdir()
    (scratch / "f").write_bytes(b"x")


@pytest.mark.parametrize(
    "leave", [_mkdir, _file, _moved_in, _symlink, _hard_link, _made_and_removed, _replaced], ids=lambda f: f.__name__
)
def test_anything_that_appears_in_a_watched_dir_makes_it_unknown(
    tmp_path: Path, leave: Callable[[Path, Path], None]
) -> None:
    scratch, outside = tmp_path / "scratch", tmp_path / "outside"
    scratch.mkdir()
    outside.mkdir()
    events = DirEvents()
    try:
        assert not events.still_empty(scratch)  # never watched: unknown
        events.watch(scratch)
        assert events.still_empty(scratch)
        assert events.still_empty(scratch)  # asking again changes nothing
        leave(scratch, outside)
        assert not events.still_empty(scratch)
        assert not events.still_empty(scratch)  # unknown until it is watched again
    finally:
        events.close()


def test_reading_or_writing_what_is_outside_it_changes_nothing(tmp_path: Path) -> None:
    scratch, outside = tmp_path / "scratch", tmp_path / "outside"
    scratch.mkdir()
    outside.mkdir()
    events = DirEvents()
    try:
        events.watch(scratch)
        (outside / "f").write_bytes(b"x")
        list(scratch.iterdir())
        assert events.still_empty(scratch)
    finally:
        events.close()


@pytest.fixture(scope="module")
def marker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A module that fails if `marker` is in its scratch dir, then leaves one there when
    its argument says "write" (and writes nothing otherwise)."""
    folder = tmp_path_factory.mktemp("module")
    (folder / "m.c").write_text(
        "#include <fcntl.h>\n#include <string.h>\n#include <unistd.h>\n"
        "int main(int argc, char **argv) {\n"
        '  if (access("marker", F_OK) == 0) return 3;\n'
        '  if (argc > 1 && strcmp(argv[1], "write") == 0) { int fd = open("marker", O_CREAT | O_WRONLY, 0644);'
        " if (fd < 0) return 4; close(fd); }\n"
        "  return 0;\n}\n"
    )
    return zig_cc(folder / "m.c", folder / "m.wasm")


def test_every_job_finds_the_scratch_dir_empty_when_quiet_jobs_come_between(marker: Path, tmp_path: Path) -> None:
    """Quiet jobs let the check skip the listing; a job that leaves a file must still
    have it removed before the next one runs."""
    sessions = Sessions.of(load_registry(), tmp_path / "cache")
    scratch = tmp_path / "scratch"
    skipped = 0
    try:
        for index, arg in enumerate(["quiet", "quiet", "write", "write", "quiet", "quiet", "write", "quiet"]):
            item = WorkItem(index, Cell("wasmtime"), Invocation(module=marker, argv=("m", arg)))
            skipped += sessions.dir_events.still_empty(scratch)  # as run_job will ask
            execution = run_job(item, sessions, scratch)
            assert execution.exit_code == 0, (index, arg, execution)
        assert not (scratch / "marker").exists()
        assert skipped >= 3, skipped  # the listing was skipped after quiet jobs: the path under test ran
    finally:
        sessions.close()

"""Helpers every runtime adapter shares: per-job output files and capped reading."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path


def read_capped(path: Path, cap: int) -> tuple[bytes, bool]:
    """The first `cap` bytes of a file, and whether there was more."""
    try:
        with path.open("rb") as handle:
            data = handle.read(cap + 1)
    except FileNotFoundError:
        return b"", False
    return data[:cap], len(data) > cap


@dataclass
class JobFiles:
    """A private folder holding one job's stdin, stdout and stderr files."""

    folder: Path

    @classmethod
    def create(cls, parent: Path, stdin: bytes) -> JobFiles:
        parent.mkdir(parents=True, exist_ok=True)
        files = cls(Path(tempfile.mkdtemp(prefix="job-", dir=parent)))
        files.stdin.write_bytes(stdin)
        return files

    @property
    def stdin(self) -> Path:
        return self.folder / "stdin"

    @property
    def stdout(self) -> Path:
        return self.folder / "stdout"

    @property
    def stderr(self) -> Path:
        return self.folder / "stderr"

    def read(self, cap: int) -> tuple[bytes, bool, bytes, bool]:
        out, out_cut = read_capped(self.stdout, cap)
        err, err_cut = read_capped(self.stderr, cap)
        return out, out_cut, err, err_cut

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def private_tmp(cache_dir: Path) -> Path:
    """A per-process folder for job files, under the run's cache."""
    folder = cache_dir / "jobs" / str(os.getpid())
    folder.mkdir(parents=True, exist_ok=True)
    return folder

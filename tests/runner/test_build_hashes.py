"""A cached build's artifacts are not read again to hash them: their digest is remembered
beside them with their stamp (`build.cached_sha256`), and a changed file is hashed again."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from wasitest.runner.build import cached_sha256


def test_a_digest_is_remembered_with_the_files_stamp(tmp_path: Path) -> None:
    artifact = tmp_path / "key.wasm"
    artifact.write_bytes(b"\0asm\1\0\0\0")
    real = hashlib.sha256(artifact.read_bytes()).hexdigest()
    assert cached_sha256(artifact) == real
    sidecar = tmp_path / "key.wasm.sha256"
    stamp, digest = sidecar.read_text().split()
    assert digest == real
    # the remembered digest is what a second call returns: the file is not read (a planted
    # value with the same stamp shows it)
    sidecar.write_text(f"{stamp} {'0' * 64}\n")
    assert cached_sha256(artifact) == "0" * 64
    # a new stamp (new content, or only a touch) means hashing the file again
    artifact.write_bytes(b"\0asm\1\0\0\0\0")
    assert cached_sha256(artifact) == hashlib.sha256(artifact.read_bytes()).hexdigest()
    os.utime(artifact, ns=(1, 1))
    sidecar.write_text(f"{stamp} {'0' * 64}\n")  # an old stamp: ignored
    assert cached_sha256(artifact) == hashlib.sha256(artifact.read_bytes()).hexdigest()
    sidecar.write_text("garbage")  # an unreadable one too
    assert cached_sha256(artifact) == hashlib.sha256(artifact.read_bytes()).hexdigest()

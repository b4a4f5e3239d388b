"""What the compiling builders share: one artifact per cache key, compiled only on a miss.

Builders compute the key from everything the output depends on (toolchain version, flags,
inputs); `build_cached` looks it up, and on a miss runs the compiler into a private
temporary folder and moves the result into the cache, so a half-written file is never
cached and two workers building the same key never see each other's output.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from wasitest.errors import BuildError
from wasitest.protocols import BuildContext

Compile = Callable[[Path], "subprocess.CompletedProcess[str]"]
Failure = Callable[["subprocess.CompletedProcess[str]"], BuildError]


def build_cached(
    context: BuildContext, key: str, label: str, filename: str, compile: Compile, failure: Failure
) -> Path:
    """The cached artifact for `key`. On a miss, `compile(output)` runs the toolchain to write
    `output` (named `filename`); when it fails or writes nothing, the `BuildError` that
    `failure(process)` makes is raised. `label` names the artifact in the build log."""
    target = context.cached(key)
    if target.exists():
        context.reuse()
        context.log(f"cached  {label}")
        return target
    context.log(f"build   {label}")
    with tempfile.TemporaryDirectory(prefix="wasitest-build-") as tmp:
        output = Path(tmp) / filename
        proc = compile(output)
        if proc.returncode != 0 or not output.is_file():
            context.log(proc.stderr)
            raise failure(proc)
        context.store(output, key)
    return target

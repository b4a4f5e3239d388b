"""GitHub Actions workflow commands: the step summary, step outputs and annotations.

Escaping follows the runner's rules (the same as `@actions/core`): in a command's message,
`%`, `\\r` and `\\n` become `%25`, `%0D`, `%0A`; in its properties (`file=`, `title=`...)
`:` and `,` become `%3A` and `%2C` as well. Outputs use the delimiter form
(`name<<DELIMITER`), so values may span lines; the delimiter is random and checked not to
occur in the value.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from wasitest.errors import OutputError


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Mapping[str, str | int | None] | None = None) -> str:
    """One workflow command line, e.g. `::error file=a.c,line=3,title=T::message`."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in (properties or {}).items()
        if value not in (None, "", 0)
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def emit(line: str, stream: TextIO) -> None:
    stream.write(line + "\n")
    stream.flush()


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror or exc}", "check GITHUB_OUTPUT / GITHUB_STEP_SUMMARY"
        ) from None


def format_outputs(values: Mapping[str, str]) -> str:
    """`$GITHUB_OUTPUT` text in the delimiter form, safe for any value."""
    chunks = []
    for name, value in values.items():
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        while delimiter in value or delimiter in name:  # practically never, but then it would break
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    return "".join(chunks)


def write_outputs(path: Path, values: Mapping[str, str]) -> None:
    _append(path, format_outputs(values))


def append_summary(path: Path, markdown: str) -> None:
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n")

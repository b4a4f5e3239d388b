"""What a GitHub Actions runner reads back from a step: its `$GITHUB_OUTPUT` file and the
workflow commands it printed, parsed by the runner's rules, so tests check the files and
lines the way GitHub will read them."""

from __future__ import annotations

import re
from dataclasses import dataclass


def parse_output_file(text: str) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER ... DELIMITER` blocks, as the runner reads them."""
    values: dict[str, str] = {}
    lines = text.split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            while lines[index] != delimiter:
                body.append(lines[index])
                index += 1
            index += 1
            values[name] = "\n".join(body)
        else:
            name, value = line.split("=", 1)
            values[name] = value
    return values


def unescape_data(text: str) -> str:
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return unescape_data(text.replace("%3A", ":").replace("%2C", ","))


@dataclass(frozen=True)
class WorkflowCommand:
    name: str
    properties: dict[str, str]
    message: str


_COMMAND = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")


def parse_commands(stdout: str) -> list[WorkflowCommand]:
    """Every `::name props::message` line. Properties split on `,` and `=` the way the runner
    does, so an unescaped comma or colon in a value would show up as a wrong property."""
    found = []
    for line in stdout.splitlines():
        match = _COMMAND.match(line)
        if not match:
            continue
        props: dict[str, str] = {}
        for pair in filter(None, (match.group("props") or "").split(",")):
            key, _, value = pair.partition("=")
            props[key] = unescape_property(value)
        found.append(WorkflowCommand(match.group("name"), props, unescape_data(match.group("message"))))
    return found

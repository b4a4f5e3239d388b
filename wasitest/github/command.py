"""`wasitest github`: publish a results.json to GitHub (placeholder while being written)."""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="?", default=".wasitest/results.json", metavar="RESULTS")


def run(args: argparse.Namespace, registry: Any) -> int:
    return 0

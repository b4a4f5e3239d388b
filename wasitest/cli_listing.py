"""The shape `wasitest runtimes` and `wasitest hosts` share: a list of things, available
or not (`--json` for machines), and `install NAME ...` of some of them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from wasitest.plugin import Registry

Handler = Callable[[argparse.Namespace, Registry], int]


def add_listing_parser(
    sub: Any, name: str, help_text: str, handler: Handler, install: tuple[str, str, Handler]
) -> argparse.ArgumentParser:
    """`wasitest NAME [--json] [install NAME ...]` on the top-level subparsers `sub`.
    `install` is (its help, its NAME's help, its handler)."""
    listing: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, usage=f"wasitest {name} [-h] [--json] [install NAME ...]"
    )
    listing.add_argument("--json", action="store_true", help=f"print the {name} as JSON")
    listing.set_defaults(handler=handler)
    install_help, name_help, install_handler = install
    installs = listing.add_subparsers(dest=f"{name}_command", metavar="install")
    install_p = installs.add_parser("install", help=install_help)
    install_p.add_argument("names", nargs="+", metavar="NAME", help=name_help)
    install_p.set_defaults(handler=install_handler)
    return listing

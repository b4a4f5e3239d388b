"""Options that plugins declare for themselves (`wasitest_addoption`; pytest's
`pytest_addoption` is the model).

One declaration gives an option every layer of the configuration at once: a command-line
flag on the subcommands that want it, a `[tool.wasitest]` key and a `WASITEST_*`
variable. `config.py` resolves the layers (defaults, config file, environment, command
line) into `Settings.extra`, keyed by the option's `dest`, where the plugin's reporter
factory (or any other hook) reads it. The core names no plugin's option.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pluggy

from wasitest.errors import ConfigError

#: the subcommands that render reports: `run` when it ends, `report` and `merge` from files
RENDERING_COMMANDS: tuple[str, ...] = ("run", "report", "merge")

#: flag: true when given; text: a string; path: a file to read; output: a file the plugin
#: writes, checked writable before a run starts (so a typo costs no run)
Kind = Literal["flag", "text", "path", "output"]
KINDS: tuple[Kind, ...] = ("flag", "text", "path", "output")


@dataclass(frozen=True)
class Option:
    """One declared option. `flags` may be empty (a config key or variable only), and
    `key` and `env` may be None (a command-line flag only)."""

    dest: str
    flags: tuple[str, ...] = ()
    kind: Kind = "text"
    help: str = ""
    metavar: str | None = None
    commands: tuple[str, ...] = RENDERING_COMMANDS
    #: the `[tool.wasitest]` key
    key: str | None = None
    #: the environment variable, without its `WASITEST_` prefix
    env: str | None = None
    default: object = None

    def initial(self) -> object:
        """The value before any layer sets it: False for a flag, else the default."""
        return False if self.kind == "flag" and self.default is None else self.default


class OptionParser:
    """What `wasitest_addoption` receives: collects the options plugins declare."""

    def __init__(self) -> None:
        self.options: list[Option] = []

    def add_option(
        self,
        *flags: str,
        dest: str | None = None,
        kind: Kind = "text",
        help: str = "",
        metavar: str | None = None,
        commands: Iterable[str] = RENDERING_COMMANDS,
        key: str | None = None,
        env: str | None = None,
        default: object = None,
    ) -> None:
        """Declare an option. `flags` like argparse's (`"-q", "--quiet"`); `dest` defaults
        to the first long flag's name with `_` for `-` (`--matrix-md` -> `matrix_md`), else
        to `key`; `commands` are the subcommands that get the flags."""
        if kind not in KINDS:
            raise ConfigError(f"option {flags or key}: unknown kind {kind!r}", f"use one of {', '.join(KINDS)}")
        name = dest or _dest_of(flags) or key
        if not name:
            raise ConfigError("a plugin declares an option with no flag, key or dest", "give it at least one")
        option = Option(name, tuple(flags), kind, help, metavar, tuple(commands), key, env, default)
        for earlier in self.options:
            _check_clash(earlier, option)
        self.options.append(option)


def _dest_of(flags: tuple[str, ...]) -> str:
    long = [f for f in flags if f.startswith("--")]
    return long[0][2:].replace("-", "_") if long else ""


def _check_clash(earlier: Option, new: Option) -> None:
    clashes = [
        ("dest", earlier.dest, new.dest),
        ("key", earlier.key, new.key),
        ("variable", earlier.env, new.env),
        *(("flag", flag, flag) for flag in set(earlier.flags) & set(new.flags)),
    ]
    for what, mine, theirs in clashes:
        if mine is not None and mine == theirs:
            raise ConfigError(
                f"two plugins declare the option {what} {mine!r}",
                "uninstall or disable one of them (WASITEST_DISABLE_PLUGIN_AUTOLOAD=1)",
            )


def collect_options(pm: pluggy.PluginManager) -> tuple[Option, ...]:
    """Every option the registered plugins declare, through `wasitest_addoption`."""
    parser = OptionParser()
    pm.hook.wasitest_addoption(parser=parser)
    return tuple(parser.options)


def add_to_parsers(options: Iterable[Option], parsers: Mapping[str, argparse.ArgumentParser]) -> None:
    """Give each subcommand's argparse parser the flags declared for it."""
    for option in options:
        if not option.flags:
            continue
        for command in option.commands:
            if command not in parsers:
                raise ConfigError(
                    f"a plugin declares {'/'.join(option.flags)} for the unknown command {command!r}",
                    f"commands: {', '.join(sorted(parsers))}",
                )
            _add_argument(parsers[command], option)


def _add_argument(parser: argparse.ArgumentParser, option: Option) -> None:
    try:
        if option.kind == "flag":
            parser.add_argument(*option.flags, dest=option.dest, action="store_true", default=None,
                                help=option.help)
        else:
            parser.add_argument(*option.flags, dest=option.dest, metavar=option.metavar or _metavar(option),
                                type=_cli_path if option.kind in ("path", "output") else str, help=option.help)
    except argparse.ArgumentError as exc:
        raise ConfigError(
            f"a plugin's option {'/'.join(option.flags)} clashes with another on `{parser.prog}`: {exc.message}",
            "uninstall or disable one of them (WASITEST_DISABLE_PLUGIN_AUTOLOAD=1)",
        ) from None


def _metavar(option: Option) -> str:
    return "FILE" if option.kind in ("path", "output") else "VALUE"


def _cli_path(value: str) -> Path:
    return Path(value).resolve()


def given(options: Iterable[Option], args: argparse.Namespace) -> dict[str, object]:
    """The values the command line gave, by dest: the last layer. An option it did not
    give is left out (a flag not given is not a `False` that hides the config's `True`)."""
    values = vars(args)
    return {o.dest: values[o.dest] for o in options if values.get(o.dest) is not None}


def defaults(options: Iterable[Option]) -> dict[str, object]:
    """Every option's value before any layer sets it, by dest."""
    return {o.dest: o.initial() for o in options}


def output_dests(options: Iterable[Option]) -> tuple[str, ...]:
    return tuple(o.dest for o in options if o.kind == "output")

"""One exception hierarchy: each error carries its exit code and a fix-it hint.

The CLI catches `WasitestError` at the top and prints `error: MESSAGE (HINT)` on one line,
with no traceback unless `--debug` is given.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The process exit codes a CI can rely on (documented in the README)."""

    #: every job passed (or was skipped, unsupported, or an expected failure)
    OK = 0
    #: at least one job failed, trapped, timed out, crashed or errored
    TESTS_FAILED = 1
    #: the command line was wrong
    USAGE = 2
    #: `--fail-on-divergence` was given and runtimes disagreed on some case
    DIVERGENCE = 3
    #: the configuration is invalid
    CONFIG = 4
    #: a suite could not be built (compiler error, missing toolchain)
    BUILD = 5
    #: a runtime or host that was asked for is not available
    RUNTIME = 6
    #: an input file (a module, a results document, a bundle) is malformed
    INPUT = 7
    #: an output could not be written
    OUTPUT = 8
    #: a bug in wasitest or a plugin (the one line says so; --debug shows the traceback)
    INTERNAL = 70
    #: interrupted (Ctrl-C); whatever finished was still reported
    INTERRUPTED = 130


class WasitestError(Exception):
    """An error with a message for people and a hint on how to fix it."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        return f"{text} ({self.hint})" if self.hint else text


class UsageError(WasitestError):
    exit_code = ExitCode.USAGE


class ConfigError(WasitestError):
    exit_code = ExitCode.CONFIG


class BuildError(WasitestError):
    exit_code = ExitCode.BUILD


class ToolchainMissing(BuildError):
    """A builder's toolchain is not installed; the hint names the package that provides it."""


class RuntimeUnavailable(WasitestError):
    exit_code = ExitCode.RUNTIME


class InputError(WasitestError):
    exit_code = ExitCode.INPUT


class OutputError(WasitestError):
    exit_code = ExitCode.OUTPUT

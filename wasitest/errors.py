"""One exception hierarchy: each error carries its exit code and a fix-it hint.

The CLI catches `WasitestError` at the top and prints `error: MESSAGE (HINT)` on one line,
after the error's `detail` (a compiler's diagnostics, say) when it has one; `--debug` adds
the traceback and changes nothing else (not the exit code).

What is suspicious but not fatal (a pattern that matches nothing, an unknown `WASITEST_*`
variable) is a `WasitestWarning` through Python's `warnings`: the CLI prints it as one
`wasitest: warning:` line, and pytest lists it in its warnings summary, as it does its own.
"""

from __future__ import annotations

import enum
import warnings


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


#: what each exit code means, as the README's table and the top-level `--help` say it
EXIT_CODE_MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "every job passed, was skipped, unsupported, flaky, or failed as declared",
    ExitCode.TESTS_FAILED: "a job failed, trapped, timed out, crashed, errored, or an xfail case passed",
    ExitCode.USAGE: "bad command line",
    ExitCode.DIVERGENCE: "--fail-on-divergence and runtimes disagreed on some case (nothing failed)",
    ExitCode.CONFIG: "invalid configuration",
    ExitCode.BUILD: "a build failed or its toolchain is missing",
    ExitCode.RUNTIME: "a runtime or host that was asked for is not available",
    ExitCode.INPUT: "a malformed input (a .wasm, a damaged bundle, results file or journal)",
    ExitCode.OUTPUT: "an output (a report, the journal) could not be written",
    ExitCode.INTERNAL: "a bug in wasitest or a plugin (--debug shows the traceback)",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C); what finished was still reported",
}


class WasitestError(Exception):
    """An error with a message for people and a hint on how to fix it."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, hint: str = "", detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        #: more lines for people (e.g. a compiler's diagnostics), shown before the one line
        self.detail = detail

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


class WasitestWarning(UserWarning):
    """Input that is probably a mistake but lets the command go on, e.g. a pattern that
    matches nothing. Raised through `warn`; see the module's docstring for where it shows."""


def warn(message: str) -> None:
    """Warn about the user's input, through `warnings` (see the module's docstring)."""
    warnings.warn(WasitestWarning(message), stacklevel=2)

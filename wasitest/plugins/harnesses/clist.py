"""The `clist` harness: test programs built with `wasitest/include/wasitest.h`.

The protocol (docs/c-protocol.md): `prog --list` prints one case name a line and exits 0;
`prog NAME` runs that case and exits 0 (passed), 1 (failed, with `FILE:LINE: check failed:
...` lines on stderr), 77 (skipped, `SKIP: reason` on stderr) or 2 (no such case).

A failed case is located at its first failed check: `wasitest.h` prints `__FILE__`, which
the C builders make relative to the project (`-fmacro-prefix-map`), and AssemblyScript's
compiler transform prints the file as the compiler names it, relative to the project too.
An AssemblyScript `abort` (a failed `assert`, an index out of range) is located where the
WASI shim says it happened (`abort: MSG in tests/a.ts(12:5)`), unless that is in the
standard library (`~lib/...`), which is no place in the project.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from wasitest.model import Artifact, Case, Execution, Invocation, Outcome, Verdict
from wasitest.plugin import hookimpl
from wasitest.plugins.harnesses.reading import judge, listing_failure, tail, text
from wasitest.protocols import Execute, Harness

#: `FILE:LINE: check failed: EXPR` (CHECK, REQUIRE, the *_EQ forms) or `FILE:LINE: failed: MSG` (FAIL)
FAILURE_LINE = re.compile(r"^.+:\d+: (?:check )?failed: ")
_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?:check )?failed: ")
#: the AssemblyScript WASI shim's abort line: `abort: MESSAGE in FILE(LINE:COLUMN)`
_ABORT = re.compile(r"^abort: .* in (?P<file>[^\s()]+)\((?P<line>\d+):\d+\)\s*$")
MAX_FAILURE_LINES = 5


def failure_message(execution: Execution) -> str:
    """The first failed-check lines of stderr, else the tail of the output."""
    lines = [line for line in text(execution.stderr).splitlines() if FAILURE_LINE.match(line)]
    if not lines:
        return tail(execution)
    more = len(lines) - MAX_FAILURE_LINES
    return "\n".join(lines[:MAX_FAILURE_LINES] + ([f"... and {more} more"] if more > 0 else []))


def failure_location(execution: Execution) -> tuple[str, int]:
    """Where the case failed: the file and line of its first failed check, else of an
    AssemblyScript abort in the project's sources; ("", 0) when stderr names neither."""
    lines = text(execution.stderr).splitlines()
    for line in lines:
        match = _LOCATED.match(line)
        if match:
            return match["file"], int(match["line"])
    for line in lines:
        match = _ABORT.match(line)
        if match and not match["file"].startswith("~lib/"):
            return match["file"], int(match["line"])
    return "", 0


class CListHarness:
    """Lists cases with `prog --list`, runs each as `prog NAME`, reads exit codes and stderr."""

    name = "clist"

    def discover(self, artifact: Artifact, execute: Execute) -> Sequence[Case]:
        execution = execute(Invocation(module=artifact.path, argv=(artifact.name, "--list")))
        failure = listing_failure(execution)
        if failure:
            # TODO: a wasitest.errors class once the hierarchy has one for discovery.
            raise RuntimeError(" ".join(f"`{artifact.name} --list` {failure}".split()))
        names = dict.fromkeys(line.strip() for line in text(execution.stdout).splitlines() if line.strip())
        return [Case(artifact=artifact, name=name, argv=(artifact.name, name)) for name in names]

    def batch(self, artifact: Artifact, cases: Sequence[Case]) -> Case:
        """The program with no arguments runs every case, printing `PASS/FAIL/SKIP name`."""
        return Case(artifact=artifact, name="(batch)", argv=(artifact.name,))

    def split(self, cases: Sequence[Case], execution: Execution) -> Mapping[str, Verdict]:
        wanted = {case.name for case in cases}
        skips = iter(line[len("SKIP: "):] for line in text(execution.stderr).splitlines() if line.startswith("SKIP: "))
        found: dict[str, Verdict] = {}
        for line in text(execution.stdout).splitlines():
            word, _, name = line.partition(" ")
            if word == "PASS" and name in wanted:
                found[name] = Verdict(Outcome.PASSED)
            elif word == "SKIP":
                reason = next(skips, "")
                if name in wanted:
                    found[name] = Verdict(Outcome.SKIPPED, reason)
            elif word == "FAIL" and name in wanted:
                found[name] = Verdict(Outcome.FAILED, "failed in the batch run")
        return found

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        verdict = judge(execution, failure_message)
        if verdict.outcome is not Outcome.FAILED:
            return verdict
        file, line = failure_location(execution)
        return replace(verdict, file=file, line=line) if file else verdict


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(CListHarness())

"""The `spec` harness: wasi-testsuite style modules, each judged against its JSON spec.

A spec (`NAME.json` beside `NAME.wasm`, read by the `spec` builder; both forms are read in
`spec_format`) says how to run the module and what it must do. The module is one case.

The flat form, every field optional:

    {"args": ["a", "b"], "env": {"K": "V"}, "dirs": ["fs-tests.dir"], "root": "rootfs",
     "exit_code": 0, "stdout": "exact text\\n", "stderr": ""}

passes when the module exits with `exit_code` (default 0) and, for each of `stdout` and
`stderr` that the spec gives, printed exactly that; absent ones are not checked.

The operations form (wasi-testsuite's current one) runs the module as its first `run`
says, gives it the `write`s to stdin, and passes when it exits as the `wait` says and each
stream starts with what the `read`s of it expect, as the reference runner reads them. What
wasitest cannot honour (another world, a proposal, a conversation with the running module,
more than one run) makes the case `unsupported`, with the reason `unsupported_reason` gives.

Folders named in `dirs` are copied into the job's scratch directory under their own name
and preopened at that name; `root` is copied the same way and preopened as `/`. Those are
the module's only preopens, as wasi-testsuite runs it: not the scratch directory itself at
`.` and `/tmp`, as other harnesses' cases get. docs/spec.md has the whole format.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from wasitest.errors import InputError
from wasitest.model import Artifact, Case, Execution, Outcome, Verdict
from wasitest.plugin import hookimpl
from wasitest.plugins.harnesses.reading import no_exit, text
from wasitest.plugins.harnesses.spec_format import (
    SPEC_KEYS,
    WASI_VERSIONS,
    Spec,
    read_spec,
    script,
    spec_from_json,
    unsupported_reason,
)
from wasitest.protocols import Execute, Harness

#: the format's names stay importable from here, where they lived before `spec_format`
__all__ = [
    "SPEC_KEYS",
    "Spec",
    "SpecHarness",
    "case_unsupported",
    "check_output",
    "check_start",
    "first_difference",
    "read_spec",
    "spec_from_json",
]

MAX_SHOWN = 120


def _show(line: str | None) -> str:
    if line is None:
        return "end of output"
    shown = repr(line)
    return shown if len(shown) <= MAX_SHOWN else shown[: MAX_SHOWN - 4] + "...'"


def first_difference(name: str, expected: str, actual: str) -> str:
    """`stdout line 2: expected 'b\\n', got 'c\\n'`: the first line (with its ending) that differs."""
    want, got = expected.splitlines(keepends=True), actual.splitlines(keepends=True)
    for index in range(max(len(want), len(got))):
        a = want[index] if index < len(want) else None
        b = got[index] if index < len(got) else None
        if a != b:
            return f"{name} line {index + 1}: expected {_show(a)}, got {_show(b)}"
    return f"{name} differs"  # only reached for undecodable bytes that decode alike


def check_output(name: str, expected: str, actual: bytes, truncated: bool) -> str:
    """What differs between the output and the spec's, or an empty string when nothing does."""
    if actual == expected.encode():
        return ""
    if truncated:
        return f"{name} was cut at the output cap ({len(actual)} bytes kept), so it cannot match; raise output_cap"
    return first_difference(name, expected, text(actual))


def check_start(name: str, expected: str, actual: bytes, truncated: bool) -> str:
    """What differs between the start of the output and what the spec's `read`s expect
    (the reference runner reads that many characters and no more), or ""."""
    if actual.startswith(expected.encode()):
        return ""
    if truncated and len(actual) < len(expected.encode()):
        return f"{name} was cut at the output cap ({len(actual)} bytes kept) before what it must start with"
    # the first line that differs lies inside what was expected: the rest is never compared
    return first_difference(name, expected, text(actual))


#: what `unsupported_reason` reads of a case's meta, besides what the verdict checks
NEEDS = ("wasi_version", "world", "proposals", "endpoints", "runs", "interactive")


def case_unsupported(case: Case) -> str:
    """Why this spec case cannot be honoured for its artifact (its own world and its
    twins'), or "": the decision of `spec_format.unsupported_reason`, the one hook the
    components work extends."""
    return unsupported_reason({k: case.meta[k] for k in NEEDS if k in case.meta}, case.artifact.worlds)


class SpecHarness:
    """Runs the module once with its spec's args, env, stdin and folders; compares exit code and output."""

    name = "spec"

    def refuse(self, case: Case) -> str:
        """Asked before the case runs (`RefusingHarness`): a spec needing what no runtime
        here gives never runs."""
        return case_unsupported(case)

    def discover(self, artifact: Artifact, execute: Execute) -> Sequence[Case]:
        if "spec" not in artifact.extra:
            raise InputError(
                f"{artifact.id} has no spec: the spec harness runs what the spec builder built",
                'use builder = "spec" for this suite',
            )
        spec = spec_from_json(artifact.extra["spec"], artifact.id)
        data: Mapping[str, str] = artifact.extra.get("data", {})
        missing = [f for f in spec.folders() if f not in data]
        if missing:
            raise InputError(
                f"{artifact.id}: the folder {missing[0]!r} its spec names was not staged",
                'use builder = "spec" for this suite',
            )
        version = str(artifact.extra.get("wasi_version", ""))
        copy_in = tuple((data[folder], folder) for folder in spec.folders())
        if spec.operations:
            return [self._operations_case(artifact, spec, version, copy_in)]
        preopens = [(folder, folder) for folder in spec.dirs] + ([(spec.root, "/")] if spec.root else [])
        meta: dict[str, Any] = {"exit_code": spec.exit_code}
        for key in ("stdout", "stderr"):
            if getattr(spec, key) is not None:
                meta[key] = getattr(spec, key)
        if WASI_VERSIONS.get(version, "p1") != "p1":
            meta["wasi_version"] = version
        return [
            Case(
                artifact=artifact,
                name=artifact.name,
                argv=(artifact.name, *spec.args),
                env=spec.env,
                copy_in=copy_in,
                scratch_preopens=tuple(preopens),
                default_preopens=False,
                meta=meta,
            )
        ]

    @staticmethod
    def _operations_case(artifact: Artifact, spec: Spec, version: str, copy_in: tuple[tuple[str, str], ...]) -> Case:
        """The case of an operations-form spec: its first instance (`spec_format.script`),
        with what the spec needs recorded for `case_unsupported`."""
        first = script(spec)
        meta: dict[str, Any] = {
            "form": "operations",
            "exit_code": first.exit_code,
            "read_stdout": first.stdout,
            "read_stderr": first.stderr,
            "world": spec.world,
            "proposals": list(spec.proposals),
            "runs": first.runs,
            "interactive": list(first.interactive),
        }
        if version:
            meta["wasi_version"] = version
        if spec.endpoints:
            meta["endpoints"] = [dict(e) for e in spec.endpoints]
        return Case(
            artifact=artifact,
            name=artifact.name,
            argv=(artifact.name, *first.args),
            stdin=first.stdin.encode(),
            env=first.env,
            copy_in=copy_in,
            scratch_preopens=tuple((folder, folder) for folder in first.dirs),
            default_preopens=False,
            meta=meta,
        )

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        """The spec's checks; the verdict is located at the spec file (JUnit's `file`)."""
        return replace(self._verdict(case, execution), file=str(case.artifact.extra.get("spec_file") or ""))

    def _verdict(self, case: Case, execution: Execution) -> Verdict:
        stopped = no_exit(execution)
        if stopped is not None:
            return stopped
        problems = []
        expected_code = int(case.meta.get("exit_code", 0))
        if execution.exit_code != expected_code:
            last = [line for line in text(execution.stderr).splitlines() if line.strip()][-1:]
            problems.append(
                f"exit code {execution.exit_code}, expected {expected_code}"
                + (f" (stderr: {last[0][:MAX_SHOWN]})" if last else "")
            )
        for name, actual, truncated in (
            ("stdout", execution.stdout, execution.stdout_truncated),
            ("stderr", execution.stderr, execution.stderr_truncated),
        ):
            expected = case.meta.get(name)
            if isinstance(expected, str):
                problem = check_output(name, expected, actual, truncated)
                if problem:
                    problems.append(problem)
            start = case.meta.get(f"read_{name}")
            if isinstance(start, str):
                problem = check_start(name, start, actual, truncated)
                if problem:
                    problems.append(problem)
        if problems:
            return Verdict(Outcome.FAILED, "\n".join(problems))
        return Verdict(Outcome.PASSED)


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(SpecHarness())

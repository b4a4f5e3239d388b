"""The `gotest` harness: Go test binaries (`go test -c` for wasip1), each test alone.

Discovery runs `prog -test.list .`: every top-level `Test...`, `Example...` (only examples
with an `// Output:` comment are listed: the others are compiled, never run, by `go test`
too) and `Fuzz...` (run on its seed corpus, as `go test` does without `-fuzz`) becomes a
case. Benchmarks are left out: `go test` does not run them unless asked.

A case runs `prog -test.run '^Name$' -test.v -test.count=1 -test.paniconexit0` in a fresh
instance whose working directory is the scratch directory (`PWD=/tmp`: Go on wasip1
resolves relative paths against `$PWD`, or against the first preopen's name, `.`, which
resolves nothing) with copies of the package folder's files and its `testdata`, so tests
read `testdata/...` (and their package's sources) as they do under `go test`.
`-test.paniconexit0` is what `go test` passes too.

The `-test.v` output is read by the pure functions below (`parse_verbose`, `verdict_from`,
`panic_summary`), which a batch mode (one instance running every test with `-test.v` or
`-test.v=test2json`) can reuse: they read the `=== RUN`/`--- PASS|FAIL|SKIP` lines of any
number of tests and subtests, attributing each output line to the test it belongs to.

A failed or skipped test is located (`Verdict.file`/`line`) at its first `file_test.go:12:`
line (what `t.Error`, `t.Fatal` and `t.Skip` print), or at its first failed subtest's; a
panic at the test's own stack frame. Go prints a file's base name only, and `-trimpath`
frames as `IMPORT/PATH/file_test.go`: both become paths from the Go module's root (where
`go.mod` is, normally the project folder), `strutil/strutil_test.go`, by the package
folder's place in the module, which discovery records in each case's `meta`
(`source_prefix`), so that a bundle run elsewhere knows it too. A standard-library test
is located under its import path (`strings/strings_test.go`).
"""

from __future__ import annotations

import os
import posixpath
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from wasitest.errors import InputError
from wasitest.model import Artifact, Case, Execution, Invocation, Outcome, SubVerdict, Verdict
from wasitest.plugin import hookimpl
from wasitest.protocols import Execute, Harness

#: where a case runs from: the scratch directory, preopened at both "." and "/tmp"
CASE_ENV = (("PWD", "/tmp"),)
RUN_FLAGS = ("-test.v", "-test.count=1", "-test.paniconexit0")
#: the kinds of top-level functions `go test` runs (benchmarks only with -bench)
CASE_PREFIXES = ("Test", "Example", "Fuzz")
#: `=== RUN   TestX/sub`; `-test.v=test2json` puts a ^V (0x16) before each marker line
_MARKER = re.compile(r"^\x16?=== (RUN|CONT|NAME|PAUSE)\s+(\S+)\s*$")
#: `--- FAIL: TestX/sub (0.00s)`, indented four spaces per subtest level
_RESULT = re.compile(r"^\x16?(\s*)--- (PASS|FAIL|SKIP): (\S+) \((\d+(?:\.\d+)?)s\)\s*$")
#: the binary's closing lines, which belong to no test
_SUMMARY = re.compile(r"^\x16?(PASS|FAIL|ok\s.*|FAIL\s.*|testing: warning: no tests to run)\s*$")
#: a `t.Log`/`t.Error` line: `    file_test.go:12: message`
GO_LOG_LINE = re.compile(r"^\s*([\w.+\-/]+\.go):(\d+): (.*)$")
#: a stack frame's place: `\t/abs/x_test.go:12 +0x1d`, or `\tIMPORT/PATH/x_test.go:12 +0x1d` (-trimpath)
_FRAME_PLACE = re.compile(r"^\t(?P<file>\S+\.go):(?P<line>\d+)(?: \+0x[0-9a-f]+)?\s*$")
_PANIC_START = re.compile(r"^(panic: |fatal error: |runtime: )")
_GOROUTINE = re.compile(r"^goroutine \d+ \[")
#: stack frames that say nothing about where a test went wrong
_RUNTIME_FRAME = re.compile(r"^(runtime\.|testing\.|panic\(|created by |main\.main)")
MESSAGE_LINES = 20
MESSAGE_CHARS = 2000
_STATUS = {"PASS": Outcome.PASSED, "FAIL": Outcome.FAILED, "SKIP": Outcome.SKIPPED}
_V = TypeVar("_V", Verdict, SubVerdict)


@dataclass
class GoTestReport:
    """One test or subtest as `-test.v` showed it."""

    name: str
    started: bool = False
    #: "PASS", "FAIL", "SKIP", or "" when no result line was printed (the binary died)
    status: str = ""
    duration_s: float = 0.0
    #: the lines printed while it ran (or after its result line), as printed
    output: list[str] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return self.name.count("/")


@dataclass
class VerboseRun:
    """A `-test.v` output, parsed: every test by name in the order first seen, and the
    lines that belong to no test (start-up output, the closing PASS/FAIL)."""

    tests: dict[str, GoTestReport] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)
    #: the subtests of each top-level test, in the order first seen: a batch's split asks
    #: for them of every test, and scanning all tests each time was quadratic
    _subtests: dict[str, list[GoTestReport]] = field(default_factory=dict, repr=False, compare=False)

    def report(self, name: str) -> GoTestReport:
        if name not in self.tests:
            self.tests[name] = GoTestReport(name)
            if "/" in name:
                self._subtests.setdefault(name.split("/", 1)[0], []).append(self.tests[name])
        return self.tests[name]

    def subtests(self, name: str) -> list[GoTestReport]:
        """Every subtest of `name`, at any depth, in the order first seen."""
        top, prefix = name.split("/", 1)[0], f"{name}/"
        found = self._subtests.get(top, [])
        return list(found) if top == name else [t for t in found if t.name.startswith(prefix)]


def parse_verbose(text: str) -> VerboseRun:
    """Read `-test.v` (or `-test.v=test2json`) output.

    A line belongs to the test named by the last `=== RUN/CONT/NAME` marker, or to the test
    whose `--- ` result line came last (`go test`'s output for a failed example, a panic's
    text and non-verbose logs follow the result line). Closing lines belong to no test.
    """
    run = VerboseRun()
    current: GoTestReport | None = None
    for line in text.splitlines():
        marker = _MARKER.match(line)
        if marker:
            current = run.report(marker.group(2))
            if marker.group(1) == "RUN":
                current.started = True
            continue
        result = _RESULT.match(line)
        if result:
            current = run.report(result.group(3))
            current.status = result.group(2)
            current.duration_s = float(result.group(4))
            continue
        if _SUMMARY.match(line) or current is None:
            run.other.append(line)
        else:
            current.output.append(line.removeprefix("\x16"))
    return run


def own_message(report: GoTestReport) -> str:
    """A test's own output, dedented, at most `MESSAGE_LINES` lines (the first ones: the
    first failure is the one to read). Go's `file_test.go:LINE: msg` lines are kept whole."""
    lines = [line.rstrip() for line in report.output]
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    text = textwrap.dedent("\n".join(lines))
    kept = text.splitlines()
    if len(kept) > MESSAGE_LINES:
        kept = [*kept[:MESSAGE_LINES], f"... ({len(kept) - MESSAGE_LINES} more lines)"]
    text = "\n".join(kept)
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + " ..."


def panic_summary(text: str) -> str:
    """A Go panic's message and the first stack frame outside the runtime and the testing
    package (where it happened), from a binary's output; "" when there is no panic."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _PANIC_START.match(line)), None)
    if start is None:
        return ""
    message: list[str] = []
    frame: list[str] = []
    in_stack = False
    for i in range(start, len(lines)):
        line = lines[i]
        if _GOROUTINE.match(line):
            in_stack = True
            continue
        if not in_stack:
            if line.strip():
                message.append(line.rstrip())
            continue
        if line and not line.startswith("\t") and not _RUNTIME_FRAME.match(line):
            frame = [line.rstrip()]
            if i + 1 < len(lines) and lines[i + 1].startswith("\t"):
                frame.append(lines[i + 1].rstrip())
            break
    summary = "\n".join([*message[:MESSAGE_LINES], *frame])
    return summary if len(summary) <= MESSAGE_CHARS else summary[:MESSAGE_CHARS] + " ..."


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


def _trap_line(execution: Execution) -> str:
    kind = execution.trap.value if execution.trap is not None else "trap"
    lines = [ln.strip() for ln in execution.trap_message.splitlines() if ln.strip() and not ln.endswith(":")]
    line = next((ln for ln in lines if "trap" in ln), lines[-1] if lines else "")
    return f"trapped ({kind}): {line}" if line else f"trapped ({kind})"


def _sub_verdicts(
    run: VerboseRun, name: str, died: str, died_outcome: Outcome, culprit: str = "", panic: str = ""
) -> tuple[list[SubVerdict], list[str]]:
    """A verdict for each subtest of `name`, and the subtests to run alone.

    One that started and never reported gets `died_outcome` with the `died` message when
    the instance died inside it: it is the `culprit` (the subtest a panic came from, or the
    last one started), or holds it. Any other started subtest may well have finished, its
    result line held back until its parent ends, as Go does: it is listed to run alone.
    Without a culprit every unreported subtest gets the death."""
    subs: list[SubVerdict] = []
    unreported: list[str] = []
    for report in run.subtests(name):
        extra = panic if report.name == culprit else ""
        if report.status:
            message = own_message(report)
            if report.status == "FAIL":
                message = _join(message, _failed_below(run, report.name), extra)
            subs.append(SubVerdict(report.name, _STATUS[report.status], message, report.duration_s))
        elif report.started and culprit and not (culprit == report.name or culprit.startswith(f"{report.name}/")):
            unreported.append(report.name)
        elif report.started:
            subs.append(SubVerdict(report.name, died_outcome, _join(own_message(report), extra or died)))
    return subs, unreported


def panicked_in(run: VerboseRun, name: str) -> str:
    """The subtest of `name` a panic most likely came from: the last one started that
    failed or never reported (Go prints `--- FAIL` for a panicking test and its parents
    before the panic's text, which does not name the test). "" when `name` itself."""
    candidates = [t.name for t in run.subtests(name) if t.started and t.status in ("", "FAIL")]
    return candidates[-1] if candidates else ""


def _failed_below(run: VerboseRun, name: str) -> str:
    """`failed subtests: A/x, A/y` for a test that failed through its direct subtests."""
    depth = name.count("/") + 1
    failed = [t.name for t in run.subtests(name) if t.status == "FAIL" and t.depth == depth]
    return f"failed subtests: {', '.join(failed)}" if failed else ""


def verdict_from(name: str, run: VerboseRun, execution: Execution) -> Verdict:
    """The verdict for top-level test `name` (and its subtests) from a parsed run and the
    execution that produced it (exit code, trap, stderr, which holds a panic's text); an
    execution that ran (the runner judges one that was unsupported, crashed, errored or
    timed out)."""
    stderr = execution.stderr.decode("utf-8", "replace")
    stdout = execution.stdout.decode("utf-8", "replace")
    report = run.tests.get(name)
    panic = panic_summary(stderr) or panic_summary(stdout)
    if execution.trap is not None:
        trap = _trap_line(execution)
        where = "" if report is not None and report.started else "before the test started: "
        last = _last_started(run, name)
        running = f"in {last}" if last and last != name else ""
        message = _join(where + trap, running, own_message(report) if report else "", panic)
        trapped, unreported = _sub_verdicts(run, name, trap, Outcome.TRAPPED, last, panic)
        return Verdict(Outcome.TRAPPED, message, tuple(trapped), tuple(unreported))
    code = execution.exit_code
    if report is None or not (report.status or report.started):
        if code == 0:
            return Verdict(Outcome.ERROR, f"the test binary did not run {name} (no test of that name?)")
        detail = panic or _tail(stderr) or _tail(stdout)
        return Verdict(Outcome.FAILED, _join(f"exited with code {code} before {name} started", detail))
    died = f"exited with code {code} before this subtest reported a result"
    culprit = (panicked_in(run, name) if panic else _last_started(run, name)) if code != 0 else ""
    sub_list, unreported = _sub_verdicts(run, name, died, Outcome.FAILED, culprit, panic)
    subs = tuple(sub_list)
    own = own_message(report)
    if not report.status:
        message = _join(own, panic or f"exited with code {code} before reporting a result")
        return Verdict(Outcome.FAILED, message, subs, tuple(unreported))
    if report.status == "FAIL":
        return Verdict(Outcome.FAILED, _join(own, _failed_below(run, name), panic), subs)
    if code != 0:
        # the result line said PASS or SKIP, but the binary failed afterwards (a panic in a
        # cleanup, a leaked goroutine's panic, os.Exit in TestMain)
        return Verdict(
            Outcome.FAILED, _join(f"exited with code {code} after {name} finished", panic or _tail(stderr)), subs
        )
    if report.status == "SKIP":
        return Verdict(Outcome.SKIPPED, own, subs)
    return Verdict(Outcome.PASSED, "", subs)


def _last_started(run: VerboseRun, name: str) -> str:
    """The last test under `name` that started and printed no result: where it stopped."""
    unfinished = [t.name for t in (run.tests.get(name), *run.subtests(name)) if t and t.started and not t.status]
    return unfinished[-1] if unfinished else ""


def _tail(text: str, lines: int = 10) -> str:
    kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept)[-MESSAGE_CHARS:]


def list_cases(stdout: str) -> list[str]:
    """The top-level tests, examples and fuzz targets of `-test.list .` output, in order."""
    names: dict[str, None] = {}
    for line in stdout.splitlines():
        name = line.strip()
        if name.startswith(CASE_PREFIXES) and " " not in name:
            names[name] = None
    return list(names)


def run_argv(program: str, name: str) -> tuple[str, ...]:
    """The argv that runs exactly the top-level test `name` (and its subtests)."""
    return (program, "-test.run", f"^{re.escape(name)}$", *RUN_FLAGS)


def copy_in_for(artifact: Artifact) -> tuple[tuple[str, str], ...]:
    """What `go test` lets a test read from its working directory, the package folder: its
    `testdata` folder and the folder's own files (tests that read their package's sources,
    as several of `os` and `path/filepath` do). Subfolders (other packages) are left out."""
    if artifact.source_dir is None or not Path(artifact.source_dir).is_dir():
        return ()
    folder = Path(artifact.source_dir)
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.is_symlink())
    entries = [(str(p), p.name) for p in files]
    testdata = folder / "testdata"
    if testdata.is_dir():
        entries.append((str(testdata), "testdata"))
    return tuple(entries)


def source_prefix(artifact: Artifact) -> str | None:
    """The package folder's path from its Go module's root (`strutil`; "" for the root
    package), found from the `go.mod` above the folder `go list` named; a standard-library
    package's import path. None when neither is known (no folder, or no `go.mod` above it)."""
    extra: Mapping[str, object] = artifact.extra or {}
    import_path = str(extra.get("import_path") or "")
    if extra.get("standard") and import_path:
        return import_path
    named = extra.get("dir") or artifact.source_dir
    if not named or not Path(str(named)).is_dir():
        return None
    folder = Path(str(named)).resolve()
    for parent in (folder, *folder.parents):
        if (parent / "go.mod").is_file():
            relative = os.path.relpath(folder, parent).replace(os.sep, "/")
            return "" if relative == "." else relative
    return None


def _place(case: Case, file: str) -> str:
    """`file` as Go printed it (a base name, or a `-trimpath` frame's import path), as a
    path from the module's root (see `source_prefix`)."""
    extra: Mapping[str, object] = case.artifact.extra or {}
    import_path = str(extra.get("import_path") or "")
    prefix = case.meta.get("source_prefix")
    if import_path and file.startswith(f"{import_path}/"):
        file = file[len(import_path) + 1 :]
    elif "/" in file or "\\" in file:
        return file  # a frame in another package, or an absolute path: as Go printed it
    if not isinstance(prefix, str):
        prefix = import_path
    return posixpath.join(prefix, file) if prefix else file


def own_location(report: GoTestReport) -> tuple[str, int]:
    """The first `file_test.go:LINE:` line a test printed itself, as printed; ("", 0) if none."""
    for file, line, _ in log_lines("\n".join(report.output)):
        return file, line
    return "", 0


def panic_location(text: str) -> tuple[str, int]:
    """The file and line of the stack frame `panic_summary` picks (where the test
    panicked), as Go printed it; ("", 0) when there is no panic."""
    for line in panic_summary(text).splitlines():
        match = _FRAME_PLACE.match(line)
        if match:
            return match["file"], int(match["line"])
    return "", 0


def located(case: Case, verdict: Verdict, run: VerboseRun, execution: Execution) -> Verdict:
    """The verdict and its subcases, each failed or skipped one with its place (see the
    module's docstring)."""
    subs = tuple(
        _with_place(case, sub, own_location(run.tests[sub.name]))
        if sub.outcome in (Outcome.FAILED, Outcome.SKIPPED) and sub.name in run.tests
        else sub
        for sub in verdict.subcases
    )
    verdict = replace(verdict, subcases=subs)
    if verdict.outcome not in (Outcome.FAILED, Outcome.SKIPPED, Outcome.TRAPPED):
        return verdict
    place = panic_location(execution.stderr.decode("utf-8", "replace"))
    if not place[0]:
        place = panic_location(execution.stdout.decode("utf-8", "replace"))
    report = run.tests.get(case.name)
    if not place[0] and report is not None:
        place = own_location(report)
    if not place[0]:
        failed = [s.name for s in subs if s.outcome is Outcome.FAILED and s.name in run.tests]
        place = next((p for p in (own_location(run.tests[n]) for n in failed) if p[0]), ("", 0))
    return _with_place(case, verdict, place)


def _with_place(case: Case, verdict: _V, place: tuple[str, int]) -> _V:
    file, line = place
    return replace(verdict, file=_place(case, file), line=line) if file else verdict


def program_name(artifact: Artifact) -> str:
    """`strutil.test`, as `go test` names a test binary."""
    extra: Mapping[str, object] = artifact.extra or {}
    path = str(extra.get("import_path") or artifact.name)
    return f"{path.rsplit('/', 1)[-1]}.test"


class GoTestHarness:
    """Lists a Go test binary's tests with `-test.list` and runs each alone with `-test.v`."""

    name = "gotest"

    def discover(self, artifact: Artifact, execute: Execute) -> list[Case]:
        program = program_name(artifact)
        execution = execute(Invocation(module=artifact.path, argv=(program, "-test.list", ".")))
        hint = "is it a Go test binary (`go test -c` for GOOS=wasip1 GOARCH=wasm)?"
        if execution.error or execution.unsupported:
            raise InputError(f"{artifact.id}: cannot list its tests: {execution.error or execution.unsupported}", hint)
        if execution.trap is not None or execution.exit_code != 0:
            how = _trap_line(execution) if execution.trap is not None else f"exit code {execution.exit_code}"
            detail = panic_summary(execution.stderr.decode("utf-8", "replace")).splitlines()[:1] or [
                _tail(execution.stderr.decode("utf-8", "replace"), 1)
            ]
            raise InputError(f"{artifact.id}: `-test.list .` failed ({how}): {detail[0][:300]}", hint)
        copy_in = copy_in_for(artifact)
        prefix = source_prefix(artifact)
        meta = {} if prefix is None else {"source_prefix": prefix}
        return [
            Case(artifact=artifact, name=name, argv=run_argv(program, name), env=CASE_ENV, copy_in=copy_in, meta=meta)
            for name in list_cases(execution.stdout.decode("utf-8", "replace"))
        ]

    def batch(self, artifact: Artifact, cases: Sequence[Case]) -> Case:
        """One instance runs the planned top-level tests in turn (`-test.run '^(A|B)$'`)."""
        names = "|".join(re.escape(case.name) for case in cases)
        first = cases[0]
        return Case(
            artifact=artifact,
            name="(batch)",
            argv=(first.argv[0], "-test.run", f"^({names})$", *RUN_FLAGS),
            env=first.env,
            copy_in=first.copy_in,
        )

    def split(self, cases: Sequence[Case], execution: Execution) -> Mapping[str, Verdict]:
        """Each test that printed its `--- PASS/SKIP/FAIL` line, with its subtests."""
        run = parse_verbose(execution.stdout.decode("utf-8", "replace"))
        found: dict[str, Verdict] = {}
        for case in cases:
            report = run.tests.get(case.name)
            if report is None or not report.status:
                continue
            subs = tuple(_sub_verdicts(run, case.name, "did not finish", Outcome.FAILED)[0])
            if report.status == "FAIL" or any(sub.outcome is Outcome.FAILED for sub in subs):
                found[case.name] = Verdict(Outcome.FAILED, "failed in the batch run")
            else:
                found[case.name] = Verdict(_STATUS[report.status], own_message(report), subs)
        return found

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        run = parse_verbose(execution.stdout.decode("utf-8", "replace"))
        return located(case, verdict_from(case.name, run, execution), run, execution)

    def subcase(self, case: Case, name: str) -> Case:
        """`-test.run` takes one pattern per level: `^TestX$/^sub$` runs exactly that subtest
        (and its parent, which Go must enter to reach it)."""
        pattern = "/".join(f"^{re.escape(part)}$" for part in name.split("/"))
        argv = (case.argv[0], "-test.run", pattern, *RUN_FLAGS)
        return replace(case, name=name, argv=argv)


def log_lines(message: str) -> Iterable[tuple[str, int, str]]:
    """The `(file, line, text)` of each `file_test.go:LINE: text` line of a message."""
    for line in message.splitlines():
        match = GO_LOG_LINE.match(line)
        if match:
            yield match.group(1), int(match.group(2)), match.group(3)


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(GoTestHarness())

"""The `libtest` harness: Rust test binaries (`cargo test --no-run`) and libtest's command line.

Discovery runs `prog --list --format terse` (lines `NAME: test`; benchmarks, `NAME: bench`,
are left out) and `prog --list --ignored --format terse` for the `#[ignore]` tests. Each
case runs alone as `prog NAME --exact --nocapture --test-threads=1 --color=never`, with the
suite's `args` after it (`args = ["--include-ignored"]` runs the `#[ignore]` tests too).

Panics abort on wasm32 (there is no unwinding), so a failing test does not get to print
`FAILED` nor exit with 101: the instance traps (`unreachable`) right after the panic hook
has written `thread '...' panicked at ...` to stderr. `--nocapture` is what sends that text
to stderr rather than to libtest's capture buffer, which dies with the instance. A trap
with a panic message is therefore a failed test, whose message is the panic text; a trap
without one (a stack overflow, an out-of-bounds access) stays `trapped`.

libtest itself reports `#[should_panic]` tests as `ignored` on wasm32 (it cannot catch the
panic), so they come out `skipped`, with a message that says why.

A failed test is located (`Verdict.file`/`line`) where its panic says it happened
(`src/lib.rs:10:5`): the path as rustc was given it by cargo, which is relative to the
Cargo workspace's root (normally the project folder).

The reading of libtest's output is made of pure functions (`parse_list`, `parse_results`,
`parse_summary`, `find_panics`, `failure_outputs`) so that a batch mode, one instance running
every case, can read each case's result from the same output.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from wasitest.errors import InputError
from wasitest.model import Artifact, Case, Execution, Invocation, Outcome, TrapKind, Verdict
from wasitest.plugin import hookimpl
from wasitest.plugins.harnesses.reading import listing_failure, tail, text, trap_message
from wasitest.protocols import Execute, Harness

#: after the test name: run exactly it, print its output as it comes, one test at a time
CASE_ARGS = ("--exact", "--nocapture", "--test-threads=1", "--color=never")
LIST_ARGS = ("--list", "--format", "terse")
SHOULD_PANIC_REASON = "#[should_panic] tests cannot run on wasm32: panics abort there, so libtest ignores them"
#: traps that a panic ends in (`abort` is `unreachable`); a panic message before another kind
#: of trap (the memory limit, say) does not make it a plain test failure
PANIC_TRAPS = frozenset({TrapKind.UNREACHABLE, TrapKind.OTHER})


# --- reading libtest's output ----------------------------------------------------------------


class Status:
    """What libtest printed after `test NAME ... `."""

    OK = "ok"
    FAILED = "FAILED"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ResultLine:
    """One test as libtest's pretty output reports it.

    `status` is None when the test started (`test NAME ... ` was printed) but no result
    followed: with panic=abort that is the test that panicked. `mode` is libtest's note
    after the name (`should panic`, `compile fail`); `detail` what followed the status
    (an `#[ignore = "reason"]` reason, `(time limit exceeded)`).
    """

    name: str
    status: str | None
    mode: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Summary:
    """`test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out`."""

    ok: bool
    passed: int
    failed: int
    ignored: int
    measured: int
    filtered_out: int


@dataclass(frozen=True)
class Panic:
    """One `thread 'NAME' panicked at ...` report of the default panic hook."""

    thread: str
    location: str
    message: str

    def describe(self) -> str:
        return f"panicked at {self.location}: {self.message}" if self.location else f"panicked: {self.message}"

    @property
    def place(self) -> tuple[str, int]:
        """The file and line of `location` (`src/lib.rs:10:5`); ("", 0) when there is none."""
        file, _, rest = self.location.rpartition(":")
        file, _, line = file.rpartition(":")
        return (file, int(line)) if file and line.isdigit() and rest.isdigit() else ("", 0)


_LIST_LINE = re.compile(r"^(?P<name>.+): (?P<kind>test|bench)$")
_START = re.compile(
    r"^test (?P<name>.+?)(?: - (?P<mode>should panic(?: with message)?|compile fail|compile))? \.\.\. (?P<rest>.*)$"
)
_STATUS = re.compile(r"^(?P<status>ok|FAILED|ignored)(?P<detail>(?:,| \().*)?$")
_TIME = re.compile(r"\s*<[^<>]*s>$")
_SUMMARY = re.compile(
    r"^test result: (?P<ok>ok|FAILED)\. (?P<passed>\d+) passed; (?P<failed>\d+) failed; (?P<ignored>\d+) ignored; "
    r"(?P<measured>\d+) measured; (?P<filtered>\d+) filtered out",
    re.MULTILINE,
)
_THREAD = r"^thread '(?P<thread>[^'\n]*)'(?: \(\d+\))? panicked at "
#: Rust < 1.73: `thread 'main' panicked at 'MESSAGE', src/lib.rs:10:5` (MESSAGE may span lines)
_PANIC_OLD = re.compile(_THREAD + r"'(?P<message>.*?)', (?P<location>[^\n]*?:\d+:\d+)$", re.MULTILINE | re.DOTALL)
#: Rust >= 1.73: `thread 'main' panicked at src/lib.rs:10:5:` then MESSAGE on the next lines
_PANIC_NEW = re.compile(
    _THREAD + r"(?P<location>[^\n']*?:\d+:\d+):\n(?P<message>.*?)(?=\nnote: |\nstack backtrace:|\nthread '|\n*\Z)",
    re.MULTILINE | re.DOTALL,
)
_FAILURE_HEADER = re.compile(r"^---- (?P<name>.+?) stdout ----$", re.MULTILINE)


def parse_list(output: str) -> list[str]:
    """Test names from `--list --format terse` (or plain `--list`): `NAME: test` lines.
    Benchmarks and the plain format's `N tests, M benchmarks` line are left out."""
    names: dict[str, None] = {}
    for line in output.splitlines():
        match = _LIST_LINE.match(line.rstrip())
        if match and match["kind"] == "test":
            names[match["name"]] = None
    return list(names)


def _status(rest: str) -> tuple[str, str] | None:
    match = _STATUS.match(_TIME.sub("", rest.strip()))
    if not match:
        return None
    detail = (match["detail"] or "").strip()
    return match["status"], detail[1:].strip() if detail.startswith(",") else detail


def parse_results(stdout: str) -> list[ResultLine]:
    """Every `test NAME ... RESULT` of libtest's pretty output, in order.

    With `--nocapture` and one test thread, libtest prints `test NAME ... ` before the test
    runs and the result after it, so what the test prints lands in between, possibly on
    several lines: the result is the last status line (`ok`, `FAILED`, `ignored[, reason]`)
    before the next test or the summary.
    """
    found: list[ResultLine] = []
    current: ResultLine | None = None
    for line in stdout.splitlines():
        start = _START.match(line)
        if start or line.startswith("test result: "):
            if current is not None:
                found.append(current)
            current = None
            if start:
                status, detail = _status(start["rest"]) or (None, "")
                current = ResultLine(start["name"].rstrip(), status, start["mode"] or "", detail)
            continue
        if current is not None:
            found_status = _status(line)
            if found_status:
                current = ResultLine(current.name, found_status[0], current.mode, found_status[1])
    if current is not None:
        found.append(current)
    return found


def parse_summary(stdout: str) -> Summary | None:
    """The last `test result: ...` line, or None when libtest did not get that far."""
    matches = list(_SUMMARY.finditer(stdout))
    if not matches:
        return None
    m = matches[-1]
    return Summary(
        m["ok"] == "ok",
        int(m["passed"]),
        int(m["failed"]),
        int(m["ignored"]),
        int(m["measured"]),
        int(m["filtered"]),
    )


def find_panics(output: str) -> list[Panic]:
    """Every default-hook panic report in `output`, in order, in both of Rust's formats."""
    found = [
        (m.start(), Panic(m["thread"], m["location"], m["message"].strip()))
        for pattern in (_PANIC_OLD, _PANIC_NEW)
        for m in pattern.finditer(output)
    ]
    return [panic for _, panic in sorted(found, key=lambda item: item[0])]


def failure_outputs(stdout: str) -> dict[str, str]:
    """The captured output of failed tests (`---- NAME stdout ----` sections), by test name.
    Only a captured, unwinding run prints these; with `--nocapture` on wasm32 there are none."""
    headers = list(_FAILURE_HEADER.finditer(stdout))
    sections: dict[str, str] = {}
    for i, header in enumerate(headers):
        end = headers[i + 1].start() if i + 1 < len(headers) else len(stdout)
        body = stdout[header.end() : end]
        body = body.split("\nfailures:\n", 1)[0].split("\nsuccesses:\n", 1)[0]
        sections[header["name"]] = body.strip("\n")
    return sections


def failure_message(name: str, stdout: str, stderr: str) -> str:
    """Why test `name` failed: its panic (stderr with `--nocapture`, else its captured
    output), else the tail of its captured output, else nothing."""
    captured = failure_outputs(stdout).get(name, "")
    panics = find_panics(stderr) or find_panics(captured)
    if panics:
        return panics[-1].describe()
    return "\n".join(captured.splitlines()[-10:])


def ignore_reason(line: ResultLine) -> str:
    if line.mode.startswith("should panic"):
        return SHOULD_PANIC_REASON
    return line.detail or "#[ignore]"


# --- the harness --------------------------------------------------------------------------


def case_argv(program: str, name: str) -> tuple[str, ...]:
    return (program, name, *CASE_ARGS)


class LibtestHarness:
    """Lists a Rust test binary's tests and runs each alone in its own instance."""

    name = "libtest"

    def discover(self, artifact: Artifact, execute: Execute) -> Sequence[Case]:
        program = artifact.name
        names = parse_list(self._list(artifact, execute, ()))
        ignored = set(parse_list(self._list(artifact, execute, ("--ignored",))))
        # `ignored` is for reports and a batch mode; the verdict reads libtest's own `ignored`
        return [
            Case(artifact=artifact, name=name, argv=case_argv(program, name), meta={"ignored": name in ignored})
            for name in names
        ]

    @staticmethod
    def _list(artifact: Artifact, execute: Execute, extra: tuple[str, ...]) -> str:
        argv = (artifact.name, *LIST_ARGS, *extra)
        execution = execute(Invocation(module=artifact.path, argv=argv))
        failure = listing_failure(execution)
        if failure:
            raise InputError(
                " ".join(f"{artifact.id}: `{' '.join(argv[1:])}` {failure}".split()),
                "is it a Rust test binary (cargo test --no-run) built for WASI?",
            )
        return text(execution.stdout)

    def batch(self, artifact: Artifact, cases: Sequence[Case]) -> Case:
        """One instance runs every test in turn (one thread), printing `test NAME ... ok`."""
        return Case(artifact=artifact, name="(batch)", argv=(artifact.name, *CASE_ARGS[1:]))

    def split(self, cases: Sequence[Case], execution: Execution) -> Mapping[str, Verdict]:
        wanted = {case.name for case in cases}
        found: dict[str, Verdict] = {}
        for line in parse_results(text(execution.stdout)):
            if line.name not in wanted or line.status is None:
                continue
            if line.status == Status.OK:
                found[line.name] = Verdict(Outcome.PASSED)
            elif line.status == Status.IGNORED:
                found[line.name] = Verdict(Outcome.SKIPPED, ignore_reason(line))
            else:
                found[line.name] = Verdict(Outcome.FAILED, "failed in the batch run")
        return found

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        return located(case.name, read_verdict(case.name, execution), execution)


def located(name: str, verdict: Verdict, execution: Execution) -> Verdict:
    """A failed verdict with the place of the panic that failed it (the one its message
    describes: the last on stderr, else in the test's captured output)."""
    if verdict.outcome is not Outcome.FAILED:
        return verdict
    stdout, stderr = text(execution.stdout), text(execution.stderr)
    panics = find_panics(stderr) or find_panics(failure_outputs(stdout).get(name, ""))
    file, line = panics[-1].place if panics else ("", 0)
    return replace(verdict, file=file, line=line) if file else verdict


def read_verdict(name: str, execution: Execution) -> Verdict:
    """One case's outcome from the execution that ran it alone (one that ran: the runner
    judges a job that was unsupported, crashed, errored or timed out)."""
    stdout, stderr = text(execution.stdout), text(execution.stderr)
    line = next((t for t in reversed(parse_results(stdout)) if t.name == name), None)
    code = execution.exit_code
    if line is not None and line.status is not None and execution.trap is None:
        if line.status == Status.IGNORED:
            return Verdict(Outcome.SKIPPED, ignore_reason(line))
        if line.status == Status.OK:
            if code == 0:
                return Verdict(Outcome.PASSED)
            return Verdict(
                Outcome.FAILED, _join(f"the test passed, then the program exited with {code}", tail(execution))
            )
        message = failure_message(name, stdout, stderr) or tail(execution)
        return Verdict(Outcome.FAILED, _join(message, line.detail))
    if execution.trap is not None:
        panics = find_panics(stderr)
        if panics and execution.trap in PANIC_TRAPS:
            return Verdict(Outcome.FAILED, panics[-1].describe())
        before = "" if line is not None else "before the test started"
        said = _last_lines(stderr, 3)  # e.g. `memory allocation of N bytes failed`
        return Verdict(Outcome.TRAPPED, _join(": ".join(p for p in (before, said) if p), trap_message(execution)))
    summary = parse_summary(stdout)
    if summary is not None and summary.passed + summary.failed + summary.ignored == 0:
        return Verdict(Outcome.SKIPPED, "not run: the suite's args filter it out")  # `--ignored`, `--skip`
    if line is not None and summary is not None and summary.passed == 1 and summary.failed == 0 and code == 0:
        return Verdict(Outcome.PASSED)  # its `ok` was glued to output that did not end a line
    if "\nrunning " not in f"\n{stdout}":
        # libtest refused the command line (exit 101), e.g. an unknown option in the suite's args
        return Verdict(Outcome.ERROR, _join(f"libtest did not run {name} (exit code {code})", tail(execution)))
    panics = find_panics(stderr)
    detail = panics[-1].describe() if panics else tail(execution)
    return Verdict(Outcome.FAILED, _join(f"no result for {name} (exit code {code})", detail))


def _last_lines(output: str, count: int, chars: int = 600) -> str:
    kept = "\n".join([ln.rstrip() for ln in output.splitlines() if ln.strip()][-count:])
    return kept if len(kept) <= chars else "..." + kept[-chars:]


def _join(*parts: str) -> str:
    return "\n".join(p for p in parts if p)


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(LibtestHarness())

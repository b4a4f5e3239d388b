"""Reading an execution's outcome the way the exit-code based harnesses share.

Exit 0 passes, 77 (the Automake convention) is a skip whose reason is the `SKIP: ...` line
of stderr, a trap is `trapped` (`timeout` for the time limit), anything else failed.
"""

from __future__ import annotations

from collections.abc import Callable

from wasitest.model import Execution, Outcome, TrapKind, Verdict

SKIP_EXIT = 77
TAIL_LINES = 10
TAIL_CHARS = 2000


def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def tail(execution: Execution, lines: int = TAIL_LINES, chars: int = TAIL_CHARS) -> str:
    """The last non-blank lines of stderr, or of stdout when stderr has none."""
    for stream in (execution.stderr, execution.stdout):
        kept = [line for line in text(stream).splitlines() if line.strip()][-lines:]
        if kept:
            return "\n".join(kept)[-chars:]
    return ""


def trap_message(execution: Execution) -> str:
    """`KIND: MESSAGE`, e.g. `unreachable: wasm trap: wasm `unreachable` instruction executed`."""
    kind = execution.trap.value if execution.trap is not None else "trap"
    message = execution.trap_message.strip()
    return f"{kind}: {message}" if message else kind


def skip_reason(execution: Execution) -> str:
    for line in text(execution.stderr).splitlines():
        if line.startswith("SKIP:"):
            return line[len("SKIP:") :].strip()
    return ""


def judge(execution: Execution, failure: Callable[[Execution], str] = tail) -> Verdict:
    """The verdict of an exit-code protocol; `failure` writes a failed run's message."""
    if execution.unsupported:
        return Verdict(Outcome.UNSUPPORTED, execution.unsupported)
    if execution.crash:
        return Verdict(Outcome.CRASHED, execution.crash)
    if execution.error:
        return Verdict(Outcome.ERROR, execution.error)
    if execution.trap is not None:
        outcome = Outcome.TIMEOUT if execution.trap is TrapKind.TIMEOUT else Outcome.TRAPPED
        return Verdict(outcome, trap_message(execution))
    code = execution.exit_code
    if code is None:
        return Verdict(Outcome.ERROR, "the runtime reported neither an exit code nor a trap")
    if code == 0:
        return Verdict(Outcome.PASSED)
    if code == SKIP_EXIT:
        return Verdict(Outcome.SKIPPED, skip_reason(execution))
    return Verdict(Outcome.FAILED, failure(execution) or f"exit code {code}")

"""Reading an execution's outcome: the helpers harnesses share, and the verdict of the
exit-code protocol.

Exit 0 passes, 77 (the Automake convention) is a skip whose reason is the `SKIP: ...` line
of stderr, a trap is `trapped`, anything else failed. Like every harness's `verdict`, these
read only executions that ran (see `wasitest.protocols.Harness`): the runner has given its
own verdict to a job that was unsupported, crashed, errored or ran out of time. A listing
run in discovery is nobody's to judge first: `listing_failure` reads it whole.
"""

from __future__ import annotations

from collections.abc import Callable

from wasitest.model import Execution, Outcome, Verdict

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


def no_exit(execution: Execution) -> Verdict | None:
    """The verdict of a run that did not exit (it trapped, or the runtime said neither),
    or None when there is an exit code to judge."""
    if execution.trap is not None:
        return Verdict(Outcome.TRAPPED, trap_message(execution))
    if execution.exit_code is None:
        return Verdict(Outcome.ERROR, "the runtime reported neither an exit code nor a trap")
    return None


def judge(execution: Execution, failure: Callable[[Execution], str] = tail) -> Verdict:
    """The verdict of an exit-code protocol; `failure` writes a failed run's message."""
    stopped = no_exit(execution)
    if stopped is not None:
        return stopped
    code = execution.exit_code
    if code == 0:
        return Verdict(Outcome.PASSED)
    if code == SKIP_EXIT:
        return Verdict(Outcome.SKIPPED, skip_reason(execution))
    return Verdict(Outcome.FAILED, failure(execution) or f"exit code {code}")


def listing_failure(execution: Execution) -> str:
    """Why a run that lists a binary's cases (`prog --list`) gave no usable list, with the
    last line it printed; "" when it did. Discovery runs are not the runner's to judge:
    the harness reads them whole."""
    if execution.error or execution.unsupported:
        problem = execution.error or execution.unsupported
    elif execution.trap is not None:
        problem = f"trapped ({trap_message(execution)})"
    elif execution.exit_code != 0:
        problem = f"exited with {execution.exit_code}"
    elif execution.stdout_truncated:
        problem = "printed more than the output cap"
    else:
        return ""
    detail = "" if execution.error else tail(execution, lines=1, chars=200)
    return problem + (f": {detail}" if detail else "")

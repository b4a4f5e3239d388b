"""From an execution to a recorded result: the runner's part, then the harness's part.

The runner decides what no harness could (the job was unsupported, its worker crashed,
the runtime refused the module, the time ran out), and only the runner: a harness is asked
only about an execution that ran (the contract in `wasitest.protocols.Harness`). Everything
else is the harness's reading of the test binary's own protocol. Expected failures are
applied last.
"""

from __future__ import annotations

from dataclasses import replace

from wasitest.model import Execution, Job, Outcome, Result, TrapKind, Verdict
from wasitest.plugin import Registry


def runner_verdict(job: Job, execution: Execution, timeout_s: float) -> Verdict | None:
    """The runner's own verdict on a job, given before any harness reads the execution:
    skipped by an expectation, unsupported, crashed, refused (`error`), out of time or
    past its disk limit.
    None when the execution ran and is the harness's to read."""
    if job.expectation.startswith("skip"):
        return Verdict(Outcome.SKIPPED, job.expectation)
    if execution.unsupported:
        return Verdict(Outcome.UNSUPPORTED, execution.unsupported)
    if execution.crash:
        return Verdict(Outcome.CRASHED, execution.crash)
    if execution.error:
        return Verdict(Outcome.ERROR, execution.error)
    if execution.trap is TrapKind.TIMEOUT:
        return Verdict(Outcome.TIMEOUT, f"exceeded the {timeout_s:g} s time limit")
    if execution.trap is TrapKind.DISK_LIMIT:  # its files were emptied under it: no harness can read it
        return Verdict(Outcome.TRAPPED, f"{TrapKind.DISK_LIMIT.value}: {execution.trap_message}")
    return None


def _subresults(parent: Result, verdict: Verdict, job: Job) -> list[Result]:
    """One result per subcase. Under an expected failure only a failing subcase is
    `xfailed`: its passing siblings passed, they do not turn `xpassed`."""
    results = []
    for sub in verdict.subcases:
        outcome = sub.outcome
        if job.expected_failure and outcome.is_failure and outcome is not Outcome.ERROR:
            outcome = Outcome.XFAILED
        results.append(
            Result(
                artifact=parent.artifact,
                case=sub.name,
                cell=parent.cell,
                outcome=outcome,
                message=sub.message,
                duration_s=sub.duration_s,
                expectation=job.expectation,
                file=sub.file,
                line=sub.line,
                batched=parent.batched,
            )
        )
    return results


def _apply_expectation(verdict: Verdict, expected_failure: bool) -> Verdict:
    """The verdict under an expected failure; an `xfailed` case keeps where it failed."""
    if not expected_failure:
        return verdict
    if verdict.outcome is Outcome.PASSED:
        return Verdict(Outcome.XPASSED, "declared as expected to fail (xfail), but passed")
    if verdict.outcome.is_failure and verdict.outcome is not Outcome.ERROR:
        return Verdict(Outcome.XFAILED, verdict.message, file=verdict.file, line=verdict.line)
    return verdict


def verdict_for(job: Job, execution: Execution, registry: Registry, timeout_s: float) -> Verdict:
    """The runner's verdict, or else the harness's."""
    verdict = runner_verdict(job, execution, timeout_s)
    if verdict is None:
        verdict = registry.harnesses.get(job.case.artifact.harness).verdict(job.case, execution)
    return verdict


def results_for(job: Job, execution: Execution, registry: Registry, timeout_s: float) -> list[Result]:
    """The job's result, then one per subcase the binary reported (Go subtests, say)."""
    return results_from(job, execution, verdict_for(job, execution, registry, timeout_s))


def results_from(job: Job, execution: Execution, verdict: Verdict, batched: bool = False) -> list[Result]:
    """The job's result and its subcases' from the verdict on its execution (`batched`:
    read from a batch run's, see `result_from_verdict`)."""
    main = _apply_expectation(verdict, job.expected_failure)
    result = Result(
        artifact=job.case.artifact.id,
        case=job.case.name,
        cell=job.cell.id,
        outcome=main.outcome,
        message=main.message,
        exit_code=execution.exit_code,
        trap=execution.trap.value if execution.trap else None,
        duration_s=execution.duration_s,
        stdout=execution.stdout.decode("utf-8", "replace"),
        stderr=execution.stderr.decode("utf-8", "replace"),
        stdout_truncated=execution.stdout_truncated,
        stderr_truncated=execution.stderr_truncated,
        expectation=job.expectation,
        file=main.file,
        line=main.line,
        batched=batched,
    )
    subresults = _subresults(result, verdict, job)
    return [result, *subresults]


def with_attempts(results: list[Result], earlier: list[Result]) -> list[Result]:
    """A retried job's final results, carrying its earlier failed attempts. A job that
    failed and then passed is `flaky`: reported, and it does not fail the run."""
    if not earlier:
        return results
    attempts = tuple(
        {
            "outcome": r.outcome.value,
            "message": r.message,
            "exit_code": r.exit_code,
            "trap": r.trap,
            "duration_s": round(r.duration_s, 6),
        }
        for r in earlier
    )
    main = results[0]
    if main.outcome in {Outcome.PASSED, Outcome.XFAILED}:
        main = replace(
            main,
            outcome=Outcome.FLAKY,
            attempts=attempts,
            message=f"failed {len(earlier)} time(s), then passed: {earlier[0].message}".strip(": "),
        )
    else:
        main = replace(main, attempts=attempts)
    return [main, *results[1:]]


def result_from_verdict(job: Job, verdict: Verdict, duration_s: float) -> list[Result]:
    """A case's results read from a batch run (its share of the batch's time), subcases too:
    as from an execution of its own that carried no exit, trap or output of its own."""
    return results_from(job, Execution(duration_s=duration_s), verdict, batched=True)

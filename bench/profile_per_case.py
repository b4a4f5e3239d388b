"""Where a trivial case's time goes: the per-case path taken apart, layer by layer, in
this process, each layer timed on the same warm module.

    python bench/profile_per_case.py [--size 2000] [--runtime wasmtime] [--top 25]

Layers, each including the one before:
  floor        a bare wasmtime-py loop (no output capture, no limits)   [wasmtime only]
  adapter      the runtime session's `run(invocation)` (capture, limits, fresh instance)
  worker job   the worker's per-job function (scratch dir made, preopened and removed)
  pool         a 1-worker `WorkerPool` fed from this process (pickling, pipe, a process),
               as the marginal cost of a case (its run of N items less its run of one)
then a cProfile of the worker-job loop, by cumulative time (wall clock, so waits on the
output-capture threads show). The full `wasitest run` on top of the pool adds planning,
the journal, verdicts and reports: bench/per_case_wasmtime.py measures that.

The worker's per-job function is the runner's public `wasitest.runner.job.run_job`, the one
way every front end runs a job: this script profiles it as the workers call it.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from collections.abc import Callable
from dataclasses import replace

import _common as c
from _per_case import wasmtime_floor


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 2000, "trivial cases in the generated suite")
    p.add_argument("--runtime", default="wasmtime", help="runtime to profile (default wasmtime)")
    p.add_argument("--top", type=int, default=25, help="cProfile rows shown (default 25)")
    args = p.parse_args()
    c.header(f"per-case path taken apart, {args.runtime}", args)
    from wasitest.config import load_settings
    from wasitest.plugin import load_registry
    from wasitest.runner.cells import open_session
    from wasitest.runner.job import Sessions, WorkItem, process_scratch, run_job
    from wasitest.runner.plan import invocation_for, suites_by_name
    from wasitest.runner.pool import WorkerPool
    from wasitest.runner.run import prepare

    with c.Workdir(args.keep, "bench-profile-") as work:
        project = c.c_suite(work / "suite", args.size)
        c.run(c.wasitest_argv("run", "-j", "1", "-q", "--runtimes", args.runtime, str(project)))
        registry = load_registry()
        settings = load_settings(project, c.bench_env())
        plan = prepare(settings, registry, [args.runtime])
        suites = suites_by_name(plan.settings)
        items = [
            WorkItem(i, job.cell, invocation_for(job, suites.get(job.case.artifact.suite), settings))
            for i, job in enumerate(plan.jobs)
        ]
        cache, scratch = settings.work_dir / "cache", settings.work_dir / "scratch"
        scratch.mkdir(parents=True, exist_ok=True)
        n = len(items)
        module = items[0].invocation.module

        def per_case(label: str, loop: Callable[[], None]) -> float:
            loop()  # warm

            def once() -> float:
                started = time.perf_counter()
                loop()
                return (time.perf_counter() - started) / n

            value, samples = c.median_of(args.repeat, once)
            c.figure(label, value * 1e3, "ms", c.spread(samples, 1e3, "ms"))
            return value

        if args.runtime == "wasmtime":
            wasmtime_floor(module, n, args.repeat)
        session = open_session(registry, items[0].cell, cache)
        # the adapter alone, with the preopens a job gets (scratch at "." and "/tmp")
        folder = scratch / "fixed"
        folder.mkdir(exist_ok=True)
        bare = [replace(it.invocation, preopens=((folder, "."), (folder, "/tmp"))) for it in items]

        def adapter_loop() -> None:
            for invocation in bare:
                session.run(invocation)

        sessions = Sessions(lambda cell: session)
        worker_scratch = process_scratch(scratch)  # as a worker's

        def worker_loop() -> None:
            for item in items:
                run_job(item, sessions, worker_scratch)

        def pool_run(work: list[WorkItem]) -> float:
            started = time.perf_counter()
            for _ in WorkerPool(1, cache, scratch).run(work):
                pass
            return time.perf_counter() - started

        def pool_marginal() -> float:
            """A pool's run of every item against its run of one: the worker's start
            (a spawned interpreter, imports, the registry, the module) cancels out."""
            return (pool_run(items) - pool_run(items[:1])) / max(1, n - 1)

        per_case("adapter: session.run(invocation), per case", adapter_loop)
        per_case("worker job: run_job(item), per case", worker_loop)
        pool_run(items[:1])  # warm
        value, samples = c.median_of(args.repeat, pool_marginal)
        c.figure("pool: 1-worker WorkerPool, marginal per case", value * 1e3, "ms", c.spread(samples, 1e3, "ms"))

        profile = cProfile.Profile(time.perf_counter)
        profile.enable()
        worker_loop()
        profile.disable()
        session.close()
        out = io.StringIO()
        stats = pstats.Stats(profile, stream=out)
        stats.strip_dirs().sort_stats("cumulative").print_stats(args.top)
        print(f"\ncProfile of {n} worker jobs (cumulative, wall clock; divide by {n} for per case):")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
    print(f"load average at the end: {c.load_average()}  (pid {os.getpid()})")


if __name__ == "__main__":
    main()

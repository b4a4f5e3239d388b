"""Scale: 10,000 cases x 2 cells (embedded Wasmtime and Node) in one run: it completes,
the parent process's peak memory stays small, and every report is written quickly.

    python bench/scale.py [--size 10000] [--repeat 3]

The parent's peak RSS is its own `VmHWM` (read from /proc/self/status as it exits), not
the workers': wasitest runs under a small wrapper that reads it. The reports are timed
as `wasitest report results.json --results --junit --markdown --html` (the whole command).
One case in a hundred fails with a message, so the failure paths of the reports run too.
Anchors: the parent's peak in a 1-case run; `wasitest --help` for the reports.
Targets (issue 10): parent peak under 200 MB; all reports under 5 s.
"""

from __future__ import annotations

import json
import sys

import _common as c

WRAPPER = """
import atexit, resource, runpy, sys
out, sys.argv = sys.argv[1], ['wasitest', *sys.argv[2:]]

def peak():
    status = open('/proc/self/status').read().split('\\n')
    hwm = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    open(out, 'w').write(f'{hwm} {children}\\n')

atexit.register(peak)
runpy.run_module('wasitest', run_name='__main__', alter_sys=True)
"""


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 10_000, "cases in the generated suite (times 2 cells)")
    args = p.parse_args()
    c.header("scale: N cases x 2 cells", args)
    env = c.bench_env()
    with c.Workdir(args.keep, "bench-scale-") as work:
        project = c.c_suite(
            work / "big",
            args.size,
            runtimes=("wasmtime", "node"),
            body='if ({i} % 100 == 99) {{ FAIL("case {i} fails on purpose"); }} CHECK(1);',
        )
        wrapper = work / "peak.py"
        wrapper.write_text(WRAPPER)
        peak_file = work / "peak.txt"
        small = c.c_suite(work / "small", 1, runtimes=("wasmtime", "node"))
        for folder in (project, small):
            c.run(c.wasitest_argv("list", str(folder)), env=env)  # build and discover before timing
        c.run([sys.executable, str(wrapper), str(peak_file), "run", "--matrix", "-q", str(small)], env=env)
        small_kb = int(peak_file.read_text().split()[0])
        c.figure("anchor: parent peak RSS of a 1-case run", small_kb / 1024, "MB")
        wall = c.timed(
            [sys.executable, str(wrapper), str(peak_file), "run", "--matrix", "-q", str(project)], env=env, ok=(0, 1)
        )
        own_kb, child_kb = (int(x) for x in peak_file.read_text().split())
        results = project / ".wasitest" / "results.json"
        doc = json.loads(results.read_text())
        counts: dict[str, int] = {}
        for row in doc["results"]:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        c.figure(
            f"wasitest run --matrix, {args.size} cases x 2 cells (wall)",
            wall,
            "s",
            f"{len(doc['results'])} results {counts}; load {c.load_average()}",
        )
        c.figure("parent peak RSS (VmHWM)", own_kb / 1024, "MB")
        c.figure("largest worker peak RSS", child_kb / 1024, "MB")
        c.figure("results.json size", results.stat().st_size / 1e6, "MB")
        out = work / "reports"
        out.mkdir()
        report = c.wasitest_argv(
            "report",
            str(results),
            "--results",
            str(out / "results.json"),
            "--junit",
            str(out / "junit.xml"),
            "--markdown",
            str(out / "summary.md"),
            "--html",
            str(out / "report.html"),
            "-q",
        )
        seconds, samples = c.median_of(args.repeat, lambda: c.timed(report, env=env, ok=(0, 1)))
        c.figure("wasitest report (results.json, JUnit, Markdown, HTML)", seconds, "s", c.spread(samples))
        for name in ("results.json", "junit.xml", "summary.md", "report.html"):
            c.figure(f"  {name}", (out / name).stat().st_size / 1e6, "MB")
        bare = c.median_of(args.repeat, lambda: c.timed(c.wasitest_argv("--help"), env=env))[0]
        c.figure("  of which start-up (wasitest --help)", bare, "s")
    own_peak_mb = own_kb / 1024
    c.absolute("parent peak RSS", own_peak_mb, "MB", "<=", 200)
    c.absolute("all reports written", seconds, "s", "<=", 5)
    c.ratio(f"parent peak {args.size} cases / 1 case", own_kb / small_kb, "<=", None)
    c.ratio("reports / wasitest start-up", seconds / bare, "<=", None)


if __name__ == "__main__":
    main()

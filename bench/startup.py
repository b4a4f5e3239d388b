"""Start-up: `wasitest --help`, and how soon a cached project's run starts its first job.

    python bench/startup.py [--size 1] [--repeat 5]

The first job is timed from process start to the first lines of the journal
(`.wasitest/results.jsonl`): its header is written just before the first job goes to a
worker, its first result line when that job has finished; that line's `duration_s` taken off
gives the moment the job started.
Anchor: the interpreter's own start-up (`python -c pass`), measured in the same run.
Targets: `--help` under 0.3 s (issue 10); the first job of a 1-case run within 0.5 s (issue 19).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import _common as c


def first_lines(project: Path, env: dict[str, str], argv: list[str] | None = None) -> tuple[float, float, float]:
    """Seconds from process start to the journal's header, to the first job's start, to exit,
    of `argv` (default: `wasitest run -j 1 -q PROJECT`), which writes PROJECT's journal."""
    journal = project / ".wasitest" / "results.jsonl"
    journal.unlink(missing_ok=True)
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv or c.wasitest_argv("run", "-j", "1", "-q", str(project)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    header = first = 0.0
    while proc.poll() is None or not first:
        lines = journal.read_bytes().count(b"\n") if journal.exists() else 0
        now = time.perf_counter() - started
        if lines >= 1 and not header:
            header = now
        if lines >= 2 and not first:
            first = now
            break
        if proc.poll() is not None:
            break
        time.sleep(0.002)
    _, err = proc.communicate()
    ended = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bench: wasitest run exited {proc.returncode}: {err.decode()[-300:]}")
    # the first job started its own duration before its line was written
    duration = float(json.loads(journal.read_text().splitlines()[1]).get("duration_s") or 0.0)
    return header, first - duration, ended


def import_profile(top: int) -> list[tuple[int, str]]:
    """The slowest imports of `wasitest --help` by cumulative microseconds (`-X importtime`)."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "wasitest", "--help"],
        capture_output=True,
        text=True,
        env=c.bench_env(),
    ).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = line.split("|")
            try:
                rows.append((int(parts[1]), parts[2].rstrip()))
            except ValueError:
                continue
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 1, "trivial cases in the cached project")
    p.set_defaults(repeat=5)
    args = p.parse_args()
    c.header("start-up", args)
    env = c.bench_env()
    bare, s_bare = c.median_of(args.repeat, lambda: c.timed([sys.executable, "-c", "pass"], env=env))
    c.figure("anchor: python -c pass", bare, "s", c.spread(s_bare))
    helps, s_help = c.median_of(args.repeat, lambda: c.timed(c.wasitest_argv("--help"), env=env))
    c.figure("python -m wasitest --help", helps, "s", c.spread(s_help))
    print("  slowest imports of --help (cumulative ms):")
    for micros, name in import_profile(8):
        print(f"    {micros / 1000:8.1f}  {name.strip()}")
    with c.Workdir(args.keep, "bench-startup-") as work:
        project = c.c_suite(work / "cached", args.size)
        c.run(c.wasitest_argv("run", "-j", "1", "-q", str(project)), env=env)  # cache it
        samples = [first_lines(project, env) for _ in range(max(1, args.repeat))]
    header = sorted(s[0] for s in samples)[len(samples) // 2]
    first = sorted(s[1] for s in samples)[len(samples) // 2]
    total = sorted(s[2] for s in samples)[len(samples) // 2]
    c.figure("cached run: journal header (jobs about to start)", header, "s", c.spread([s[0] for s in samples]))
    c.figure("cached run: first job started (result - duration)", first, "s", c.spread([s[1] for s in samples]))
    c.figure(f"cached run: whole command ({args.size} cases)", total, "s")
    c.absolute("wasitest --help", helps, "s", "<=", 0.3)
    c.absolute("first job started", first, "s", "<=", 0.5)
    c.ratio("--help/python start-up", helps / bare, "<=", None)


if __name__ == "__main__":
    main()

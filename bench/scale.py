"""Scale: N cases x 2 cells (embedded Wasmtime and Node) in one run: it completes, the cost
of a job stays flat from the first jobs to the last, memory stays flat, and every report is
written quickly and opens in a browser.

    python bench/scale.py [--size 10000] [--repeat 3] [--window 10000]

While the run runs, the script samples every half second how many results the journal
(`.wasitest/results.jsonl`, streamed) holds, and the memory (RSS) and CPU time of every
process of the run: the parent, its workers, their Node runners. From the samples:
- the cost of the first and of the last `--window` jobs (default 10,000, at most a
  third of the run): wall time, and CPU time of the whole process tree, which moves less
  with the load other work puts on the machine; the two should be about equal;
- each Node runner's RSS early in the run (the first tenth) and at its end;
- the parent's peak RSS, its own `VmHWM` (read from /proc/self/status as it exits, by a
  small wrapper around wasitest).
The reports are timed as `wasitest report results.json --results --junit --markdown
--html` (the whole command); the HTML report is then opened in headless Chromium (when
there is one): a screenshot of it (time to first paint, less Chromium's own start: the
screenshot of a 1-case report), and the page's own filter applied in it ("failing cases
only", with the time the filter took).
One case in a hundred fails with a message, so the failure paths of the reports run too.
Anchors: the parent's peak in a 1-case run; `wasitest --help` for the reports; the 1-case
report in Chromium.
Targets (issue 19): last/first window <= 1.2x (wall and CPU); runner RSS at the end <=
1.2x its early RSS; parent peak under 250 MB; all reports under 10 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

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
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    """One look at the run: seconds since it started, results in the journal, and per
    process (pid -> (name, RSS in MB, CPU seconds so far))."""

    at: float
    results: int
    processes: dict[int, tuple[str, float, float]] = field(default_factory=dict)


def _processes() -> dict[int, tuple[int, str, float, float]]:
    """Every process: pid -> (parent pid, name, RSS MB, CPU s)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        found[int(entry)] = (int(fields[1]), name, int(fields[21]) * PAGE / 2**20, cpu)
    return found


def _tree(root: int, table: dict[int, tuple[int, str, float, float]]) -> dict[int, tuple[str, float, float]]:
    members, index = [root], 0
    while index < len(members):
        members += [pid for pid, row in table.items() if row[0] == members[index]]
        index += 1
    return {pid: table[pid][1:] for pid in members if pid in table}


class Watch:
    """Samples a running wasitest (its journal, its process tree) on a thread of its own."""

    def __init__(self, proc: subprocess.Popen[bytes], journal: Path, every_s: float = 0.5) -> None:
        self.proc, self.journal, self.every_s = proc, journal, every_s
        self.samples: list[Sample] = []
        self._started = time.perf_counter()
        self._lines, self._offset = 0, 0
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _count(self) -> int:
        """Result lines so far (the header line not counted), reading only what is new."""
        try:
            with self.journal.open("rb") as handle:
                if handle.seek(0, 2) < self._offset:  # a new journal (never here, but cheap to check)
                    self._lines, self._offset = 0, 0
                handle.seek(self._offset)
                data = handle.read()
        except FileNotFoundError:
            return 0
        whole = data.rfind(b"\n") + 1
        self._lines += data.count(b"\n", 0, whole)
        self._offset += whole
        return max(0, self._lines - 1)

    def _loop(self) -> None:
        while self.proc.poll() is None:
            sample = Sample(time.perf_counter() - self._started, self._count(), _tree(self.proc.pid, _processes()))
            self.samples.append(sample)
            time.sleep(self.every_s)

    def join(self) -> None:
        self._thread.join()

    def at(self, jobs: int) -> Sample | None:
        """The first sample that saw at least `jobs` results."""
        return next((s for s in self.samples if s.results >= jobs), None)

    def cpu(self, sample: Sample) -> float:
        return sum(cpu for _, _, cpu in sample.processes.values())

    def window(self, first: int, last: int) -> tuple[float, float, int]:
        """Wall seconds and CPU seconds (the whole tree) between the samples that saw
        `first` and `last` results, and how many results that was."""
        a, b = self.at(first), self.at(last)
        if a is None or b is None or b.results <= a.results:
            return 0.0, 0.0, 0
        return b.at - a.at, self.cpu(b) - self.cpu(a), b.results - a.results

    def runner_rss(self, start: float, end: float) -> list[float]:
        """The largest RSS each Node runner had between the fractions `start` and `end` of
        the samples that saw one (runners that were replaced count as new ones)."""
        seen = [s for s in self.samples if any(name == "node" for name, _, _ in s.processes.values())]
        chosen = seen[int(len(seen) * start) : max(1, int(len(seen) * end))]
        rss: dict[int, float] = {}
        for sample in chosen:
            for pid, (name, mb, _) in sample.processes.items():
                if name == "node":
                    rss[pid] = max(rss.get(pid, 0.0), mb)
        return sorted(rss.values())


def chromium() -> str | None:
    return shutil.which("chromium")


def in_chromium(page: Path, work: Path, *args: str) -> tuple[float, str]:
    """Seconds headless Chromium took over the page with `args`, and what it printed."""
    browser = chromium()
    assert browser is not None
    argv = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", f"--user-data-dir={work / 'chromium-profile'}",
        *args, page.as_uri(),
    ]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=work)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench: chromium failed on {page}: {proc.stderr[-500:]}")
    return took, proc.stdout


#: applies the report's own filter ("failing cases only") and says what it shows and how long it took
FILTER_SCRIPT = (
    '<script>var t0=performance.now(),f=document.getElementById("filters");'
    'f.querySelectorAll("input[name=o]").forEach(function(b){b.checked=b.value==="failed";});'
    'f.dispatchEvent(new Event("change"));'
    'document.title="filtered "+(performance.now()-t0).toFixed(0)+" ms: "+document.getElementById("shown").textContent;'
    "</script></body>"
)


def browse(report: Path, small_report: Path, work: Path) -> None:
    """The HTML report in headless Chromium: first paint (a screenshot) and the filter."""
    shot = ["--window-size=1280,1600"]
    anchor = in_chromium(small_report, work, f"--screenshot={work / 'small.png'}", *shot)[0]
    c.figure("anchor: Chromium screenshot of a 1-case report", anchor, "s")
    seconds = in_chromium(report, work, f"--screenshot={work / 'big.png'}", *shot)[0]
    past = f"{seconds - anchor:.2f} s past the anchor"
    c.figure("Chromium screenshot of the report (first paint)", seconds, "s", past)
    driven = work / "filtered.html"
    page, _, end = report.read_text(encoding="utf-8").rpartition("</body>")
    driven.write_text(page + FILTER_SCRIPT + end, encoding="utf-8")
    took, dom = in_chromium(driven, work, "--dump-dom")
    title = re.search(r"<title>(filtered [^<]*)</title>", dom)
    c.figure("Chromium: load the report and apply its filter", took, "s", title.group(1) if title else "NO FILTER RAN")


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 10_000, "cases in the generated suite (times 2 cells)")
    p.add_argument("--window", type=int, default=10_000, help="jobs at the start and at the end to compare")
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
        journal = project / ".wasitest" / "results.jsonl"
        journal.unlink(missing_ok=True)
        started = time.perf_counter()
        run = [sys.executable, str(wrapper), str(peak_file), "run", "--matrix", "-q", str(project)]
        proc = subprocess.Popen(run, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        watch = Watch(proc, journal)
        _, err = proc.communicate()
        wall = time.perf_counter() - started
        watch.join()
        if proc.returncode not in (0, 1):
            raise SystemExit(f"bench: wasitest run exited {proc.returncode}: {err.decode()[-500:]}")
        own_kb, child_kb = (int(x) for x in peak_file.read_text().split())
        results = project / ".wasitest" / "results.json"
        doc = json.loads(results.read_text())
        counts: dict[str, int] = {}
        for row in doc["results"]:
            counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        jobs = len(doc["results"])
        c.figure(
            f"wasitest run --matrix, {args.size} cases x 2 cells (wall)",
            wall,
            "s",
            f"{jobs} results {counts}; load {c.load_average()}",
        )
        window = max(1, min(args.window, jobs // 3))
        first_wall, first_cpu, first_n = watch.window(window // 10, window // 10 + window)
        last_wall, last_cpu, last_n = watch.window(jobs - window - window // 10, jobs - window // 10)
        windows = (("first", first_wall, first_cpu, first_n), ("last", last_wall, last_cpu, last_n))
        for label, took, cpu, n in windows:
            c.figure(f"{label} {window} jobs: wall per 1000 jobs", 1000 * took / max(1, n), "s",
                     f"CPU (all processes) {1000 * cpu / max(1, n):.2f} s per 1000; {n} results sampled")  # fmt: skip
        early, late = watch.runner_rss(0.0, 0.1), watch.runner_rss(0.9, 1.0)
        c.figure("Node runners' RSS, first tenth of the run", max(early, default=0.0), "MB", f"each: {early}")
        c.figure("Node runners' RSS, last tenth of the run", max(late, default=0.0), "MB", f"each: {late}")
        c.figure("parent peak RSS (VmHWM)", own_kb / 1024, "MB")
        c.figure("largest worker peak RSS", child_kb / 1024, "MB")
        c.figure("results.json size", results.stat().st_size / 1e6, "MB")
        out = work / "reports"
        out.mkdir(exist_ok=True)
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
        if chromium() is not None:
            small_html = work / "small.html"
            c.run(c.wasitest_argv("report", str(small / ".wasitest" / "results.json"), "--html", str(small_html), "-q"),
                  env=env, ok=(0, 1))  # fmt: skip
            browse(out / "report.html", small_html, work)
        else:
            print("  (no chromium: the HTML report was not opened)")
    if first_n and last_n:
        c.ratio(f"last/first {window} jobs, wall", last_wall * first_n / max(1e-9, first_wall * last_n), "<=", 1.2)
        c.ratio(f"last/first {window} jobs, CPU", last_cpu * first_n / max(1e-9, first_cpu * last_n), "<=", 1.2)
    else:
        print("  last/first jobs: not measured (the run was shorter than the samples can resolve)")
    if early and late:
        c.ratio("Node runner RSS, last tenth/first tenth", max(late) / max(early), "<=", 1.2)
    c.absolute("parent peak RSS", own_kb / 1024, "MB", "<=", 250)
    c.absolute("all reports written", seconds, "s", "<=", 10)
    c.ratio(f"parent peak {args.size} cases / 1 case", own_kb / small_kb, "<=", None)
    c.ratio("reports / wasitest start-up", seconds / bare, "<=", None)


if __name__ == "__main__":
    main()

"""Shards balanced by time against shards by hash: the slowest of 4 shards over their mean,
on a suite whose cases take very different times (a few long ones, many short ones).

    python bench/shard_balance.py [--size 48] [--unit 100000000] [--repeat 3]

One bundle of `--size` CPU-bound C cases (embedded Wasmtime), their lengths drawn once from
a log-normal distribution (seeded: the same suite every time), the longest at most half a
shard's share. A first run of the whole bundle is the history (`--durations`). Then, in
the same run of this script and interleaved so that a change of load hits both, the 4
shards by the stable hash and the 4 shards balanced by the history each run as
`wasitest run --bundle --shard K/4 -j 1`, one worker as one CI machine would give each
slice (more workers shorten every shard alike). A shard's time is the CPU time of its whole
command (the process and its worker, start-up included): what a machine of its own would
take. Its wall time is printed too, but on a shared machine it swings with everyone else's
load, by more than the difference being measured.

Target (issue 17): balanced, the slowest shard at most 1.15x the mean. The hash's figure is
the anchor: what the same suite costs without the history.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
from pathlib import Path

import _common as c

SHARDS = 4
SEED = 17
SPIN = """
static unsigned spin(unsigned n) {
    volatile unsigned x = 0;
    for (unsigned k = 0; k < n; k++) x += k * 2654435761u;
    return x;
}
"""


def lengths(cases: int) -> list[float]:
    """Each case's length in units, log-normal (sigma 1.2), the longest capped at half of a
    shard's share so that a perfect split exists; the mean is 1."""
    rng = random.Random(SEED)
    drawn = [rng.lognormvariate(0.0, 1.2) for _ in range(cases)]
    for _ in range(20):  # capping lowers the share: a few rounds settle it
        cap = 0.5 * sum(drawn) / SHARDS
        drawn = [min(d, cap) for d in drawn]
    mean = sum(drawn) / len(drawn)
    return [d / mean for d in drawn]


def suite(folder: Path, cases: int, unit: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    tests = "".join(
        f"TEST({c.case_name(i)}) {{ CHECK(spin({min(max(1, round(length * unit)), 2**32 - 1)}u) != 1u); }}\n"
        for i, length in enumerate(lengths(cases))
    )
    (folder / "t.c").write_text(f'#include "wasitest.h"\n{SPIN}\n{tests}')
    (folder / "wasitest.toml").write_text(
        'runtimes = ["wasmtime"]\ntimeout = 600\n'
        '[suites.bench]\nbuilder = "zig"\nsources = ["t.c"]\nharness = "clist"\n'
    )
    return folder


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def shard_times(work: Path, bundle: Path, durations: Path | None, label: str) -> tuple[list[float], list[float]]:
    """The CPU time and the run's `wall_s` of each of the 4 shards, run one after the other."""
    cpu, wall = [], []
    for k in range(1, SHARDS + 1):
        out = work / f"{label}-{k}"
        out.mkdir(exist_ok=True)
        extra = ["--durations", str(durations)] if durations else []
        before = _children_cpu()
        c.run(c.wasitest_argv("run", str(out), "--bundle", str(bundle), "--shard", f"{k}/{SHARDS}", *extra,
                              "-j", "1", "-q", "--results", str(out / "results.json")))
        cpu.append(_children_cpu() - before)
        wall.append(float(json.loads((out / "results.json").read_text())["stats"]["wall_s"]))
    return cpu, wall


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 48, "cases in the generated suite")
    p.add_argument("--unit", type=int, default=100_000_000,
                   help="loop iterations of a case of mean length (default 100000000)")
    args = p.parse_args()
    c.header("shards by time against shards by hash: slowest of 4 over the mean", args)
    with c.Workdir(args.keep, "bench-shard-balance-") as work:
        project = suite(work / "skewed", args.size, args.unit)
        bundle = work / "bundle"
        c.run(c.wasitest_argv("build", str(project), "--out", str(bundle)))
        history = work / "history.json"
        (work / "history").mkdir(exist_ok=True)
        c.run(c.wasitest_argv("run", str(work / "history"), "--bundle", str(bundle), "-j", "1", "-q",
                              "--results", str(history)))
        seconds = [r["duration_s"] for r in json.loads(history.read_text())["results"]]
        c.figure(f"history: {len(seconds)} cases, one run (sum of job times)", sum(seconds), "s",
                 f"longest {max(seconds):.3g} s, median {statistics.median(seconds):.3g} s")
        ratios: dict[str, list[float]] = {"hash": [], "balanced": []}
        walls: dict[str, list[float]] = {"hash": [], "balanced": []}
        last: dict[str, list[float]] = {}
        for _ in range(max(1, args.repeat)):
            for mode in ("hash", "balanced"):
                cpu, wall = shard_times(work, bundle, history if mode == "balanced" else None, mode)
                ratios[mode].append(max(cpu) / statistics.mean(cpu))
                walls[mode].append(max(wall) / statistics.mean(wall))
                last[mode] = cpu
        for mode in ("hash", "balanced"):
            c.figure(f"{mode}: the 4 shards' CPU time (last round)", max(last[mode]), "s",
                     "shards: " + ", ".join(f"{t:.3g}" for t in last[mode]) + " s")
            c.figure(f"{mode}: slowest / mean, CPU time", statistics.median(ratios[mode]), "x",
                     c.spread(ratios[mode], unit="x"))
            c.figure(f"{mode}: slowest / mean, wall time (shared machine)", statistics.median(walls[mode]), "x",
                     c.spread(walls[mode], unit="x"))
    c.ratio("hash slowest/mean", statistics.median(ratios["hash"]), "<=", None)
    c.ratio("balanced slowest/mean", statistics.median(ratios["balanced"]), "<=", 1.15)
    c.ratio("hash/balanced slowest shard", statistics.median(ratios["hash"]) / statistics.median(ratios["balanced"]),
            ">=", None)


if __name__ == "__main__":
    main()

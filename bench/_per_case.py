"""Per-case cost of `wasitest run -j 1` on a generated suite of trivial C cases.

The figure is the marginal cost of a case: (time of an N-case run - time of a 1-case run)
/ (N - 1), both runs warm (built, listed and compiled before timing), so process start-up,
the build check, discovery and the reports are taken out and what is left is what one more
case costs. The suite is one artifact with N `TEST` cases in the clist protocol (each case
checks one addition and passes), built by wasitest's `zig` builder: the cheapest real case
there is, so the figure is wasitest's own overhead per case.

Each figure is measured twice: wall clock (what the targets are stated in) and CPU time
(user + system, of this process's loop or of every process a command ran: the parent, its
workers, a runtime's helpers). A shared machine's load stretches the wall clock of one run
and not the next; it moves CPU time much less, so a CPU ratio says more when the load is high.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import _common as c

NODE_LOOP = r"""
// A bare in-process loop: one compiled module, a fresh WASI and instance per case.
const fs = require('node:fs');
const { WASI } = require('node:wasi');
const [path, first, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const mod = new WebAssembly.Module(fs.readFileSync(path));
const name = (i) => 'c' + String(i).padStart(5, '0');
const started = process.hrtime.bigint();
let bad = 0;
for (let i = first; i < first + count; i++) {
  const wasi = new WASI({ version: 'preview1', args: ['t', name(i)], env: {}, returnOnExit: true });
  const inst = new WebAssembly.Instance(mod, wasi.getImportObject());
  if (wasi.start(inst) !== 0) bad++;
}
const ns = Number(process.hrtime.bigint() - started);
process.stdout.write(JSON.stringify({ seconds: ns / 1e9, bad }) + '\n');
"""


@dataclass(frozen=True)
class Cost:
    """Seconds a case: wall clock, and CPU time of every process involved."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu() -> float:
    return time.process_time()


def measured(repeat: int, measure: Callable[[], Cost]) -> tuple[Cost, list[Cost]]:
    """The median wall clock and the median CPU time of `repeat` measures (each its own median)."""
    samples = [measure() for _ in range(max(1, repeat))]
    wall = statistics.median(s.wall for s in samples)
    cpu = statistics.median(s.cpu for s in samples)
    return Cost(wall, cpu), samples


def show(label: str, cost: Cost, samples: Sequence[Cost], scale: float = 1e3, unit: str = "ms") -> None:
    """One figure line for the wall clock, one for the CPU time."""
    c.figure(label, cost.wall * scale, unit, c.spread([s.wall for s in samples], scale, unit))
    c.figure("  CPU time (user + system)", cost.cpu * scale, unit, c.spread([s.cpu for s in samples], scale, unit))


def ratios(label: str, numerator: Cost, denominator: Cost, op: str, target: float | None) -> bool | None:
    """The target's ratio line (wall clock), then the same ratio in CPU time (no target)."""
    verdict = c.ratio(label, numerator.wall / denominator.wall, op, target)
    c.ratio(f"{label} (CPU time)", numerator.cpu / denominator.cpu, op, None)
    return verdict


def timed_command(argv: Sequence[str], env: dict[str, str]) -> Cost:
    """Wall clock and CPU time (of the command and every process it waited for) of one command."""
    cpu = _children_cpu()
    wall = c.timed(argv, env=env)
    return Cost(wall, _children_cpu() - cpu)


def marginal(args: argparse.Namespace, work: Path, runtime: str) -> tuple[Cost, Path]:
    """Seconds per case of wasitest beyond a 1-case run; and the built module."""
    big = c.c_suite(work / f"n{args.size}", args.size)
    one = c.c_suite(work / "n1", 1)
    per_case = marginal_of(one, big, args.size, args.repeat, runtime)
    return per_case, Path(c.listing(big)["artifacts"][0]["path"])


def marginal_of(one: Path, big: Path, size: int, repeat: int, runtime: str) -> Cost:
    """Seconds per case of `wasitest run -j 1` on the project `big` (`size` cases) beyond
    the project `one` (1 case), both warmed first (built, listed, modules compiled), so what
    is left is what one more case costs."""
    run_args = ["run", "-j", "1", "-q", "--runtimes", runtime]
    env = c.bench_env()
    for project in (one, big):  # warm: build, list, compile the module, start nothing cold
        c.run(c.wasitest_argv(*run_args, str(project)), env=env)

    def timer(project: Path) -> Callable[[], Cost]:
        return lambda: timed_command(c.wasitest_argv(*run_args, str(project)), env)

    t_one, s_one = measured(repeat, timer(one))
    show("wasitest run -j 1, 1 case (wall)", t_one, s_one, 1, "s")
    t_big, s_big = measured(repeat, timer(big))
    show(f"wasitest run -j 1, {size} cases (wall)", t_big, s_big, 1, "s")
    doc = c.results_stats(big)
    c.figure("  of which the run itself (results.json wall_s)", doc["stats"]["wall_s"], "s")
    durations = sorted(float(r.get("duration_s") or 0.0) for r in doc["results"])
    c.figure("  job duration the adapter reports, median", durations[len(durations) // 2] * 1e3, "ms")
    per_case = Cost((t_big.wall - t_one.wall) / max(1, size - 1), (t_big.cpu - t_one.cpu) / max(1, size - 1))
    c.figure("wasitest marginal cost per case", per_case.wall * 1e3, "ms")
    c.figure("  in CPU time", per_case.cpu * 1e3, "ms")
    return per_case


def wasmtime_floor(module: Path, cases: int, repeat: int) -> Cost:
    """wasmtime-py in this process: the precompiled module instantiated once per case."""
    import wasmtime

    engine = wasmtime.Engine()
    compiled = wasmtime.Module.deserialize(engine, wasmtime.Module(engine, module.read_bytes()).serialize())
    linker = wasmtime.Linker(engine)
    linker.define_wasi()

    def loop() -> Cost:
        started, cpu = time.perf_counter(), _own_cpu()
        for i in range(cases):
            store = wasmtime.Store(engine)
            wasi = wasmtime.WasiConfig()
            wasi.argv = ["t", c.case_name(i)]
            store.set_wasi(wasi)
            instance = linker.instantiate(store, compiled)
            start = instance.exports(store)["_start"]
            assert isinstance(start, wasmtime.Func)
            try:
                start(store)
            except wasmtime.ExitTrap as exc:
                if exc.code != 0:
                    raise SystemExit(f"bench: case {i} exited {exc.code} in the floor loop") from None
            store.close()
        return Cost((time.perf_counter() - started) / cases, (_own_cpu() - cpu) / cases)

    loop()  # warm
    value, samples = measured(repeat, loop)
    show("floor: wasmtime-py loop, per case", value, samples)
    return value


def wasmtime_cli_anchor(module: Path, cases: int, repeat: int, work: Path) -> Cost:
    """One `wasmtime run` process per case, on the module compiled ahead (`wasmtime compile`)."""
    binary = str(c.wasmtime_cli())
    cwasm = work / "t.cwasm"
    c.run([binary, "compile", "-o", str(cwasm), str(module)], env={})

    def loop() -> Cost:
        started, cpu = time.perf_counter(), _children_cpu()
        for i in range(cases):
            proc = subprocess.run(
                [binary, "run", "--allow-precompiled", str(cwasm), c.case_name(i)], env={}, capture_output=True
            )
            if proc.returncode != 0:
                raise SystemExit(f"bench: wasmtime run exited {proc.returncode}: {proc.stderr[-300:]!r}")
        return Cost((time.perf_counter() - started) / cases, (_children_cpu() - cpu) / cases)

    value, samples = measured(repeat, loop)
    show(f"anchor: one wasmtime run per case ({cases} cases)", value, samples)
    return value


def node_floor(module: Path, cases: int, repeat: int, work: Path) -> float:
    """Node's `node:wasi` in one process: one compiled module, a fresh instance per case."""
    script = work / "loop.js"
    script.write_text(NODE_LOOP)
    node = c.node_binary()

    def loop() -> float:
        out = c.run([node, "--no-turbo-fast-api-calls", str(script), str(module), "0", str(cases)]).stdout
        data = json.loads(out.strip().splitlines()[-1])
        if data["bad"]:
            raise SystemExit(f"bench: {data['bad']} case(s) failed in the node loop")
        return float(data["seconds"]) / cases

    loop()
    value, samples = c.median_of(repeat, loop)
    c.figure("floor: node:wasi loop in one process, per case", value * 1e3, "ms", c.spread(samples, 1e3, "ms"))
    return value


def node_anchor(module: Path, cases: int, repeat: int, work: Path) -> float:
    """One `node` process per case (the same loop, one case each)."""
    script = work / "loop.js"
    script.write_text(NODE_LOOP)
    node = c.node_binary()

    def loop() -> float:
        started = time.perf_counter()
        for i in range(cases):
            c.run([node, "--no-turbo-fast-api-calls", str(script), str(module), str(i), "1"])
        return (time.perf_counter() - started) / cases

    value, samples = c.median_of(repeat, loop)
    c.figure(f"anchor: one node process per case ({cases} cases)", value * 1e3, "ms", c.spread(samples, 1e3, "ms"))
    return value

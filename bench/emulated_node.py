"""Per-case cost of the `node` runtime on each emulated host (Debian's Node under qemu user
mode) at `-j 1`, against `node` on the local CPU (the anchor), measured in the same run.

    python bench/emulated_node.py [--size 100] [--local-size 1000] [--hosts linux-s390x,...] [--repeat 3]

The figure for each cell is the marginal cost of a case (see `_per_case.py`): the N-case
run minus the 1-case run, over N - 1, both warm, so the runner's start (seconds under
qemu) is taken out and what is left is what one more job costs in a runner that stays
alive. The local anchor runs more cases (`--local-size`): its cases cost so little that a
hundred of them vanish in the noise of a shared machine. Beside it, one start of the
emulated `node` (`node -e 0` under qemu): what every job would cost if the runtime's
process were not kept across jobs. The hosts must be installed first (`wasitest hosts
install NAME`); the ones that are not are skipped, with why.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import _common as c

HOSTS = ("linux-s390x", "linux-armhf", "linux-i386", "linux-aarch64")


def project(folder: Path, cases: int, hosts: Sequence[str]) -> Path:
    """The generated suite, with a matrix of `node` on this machine and on `hosts`."""
    listed = ", ".join(f'"{h}"' for h in ("local", *hosts))
    return c.c_suite(folder, cases, extra_config=f'[matrix]\nruntime = ["node"]\nhost = [{listed}]\n')


def marginal(one: Path, big: Path, size: int, repeat: int, cell: str) -> float:
    """Seconds per case of `wasitest run -j 1` of one cell, beyond a 1-case run."""
    run_args = ["run", "-j", "1", "-q", "--matrix", "--cells", cell]
    for folder in (one, big):  # warm: build, list, compile, probe
        c.run(c.wasitest_argv(*run_args, str(folder)))

    def timer(folder: Path) -> Callable[[], float]:
        return lambda: c.timed(c.wasitest_argv(*run_args, str(folder)))

    t_one, s_one = c.median_of(repeat, timer(one))
    c.figure(f"{cell}: 1 case (wall)", t_one, "s", c.spread(s_one))
    t_big, s_big = c.median_of(repeat, timer(big))
    c.figure(f"{cell}: {size} cases (wall)", t_big, "s", c.spread(s_big))
    per_case = (t_big - t_one) / max(1, size - 1)
    c.figure(f"{cell}: marginal cost per case", per_case * 1e3, "ms")
    return per_case


def node_start(host: str) -> float:
    """One start of the host's `node` (as the runtime starts it) running nothing."""
    from wasitest.plugin import load_registry

    registry = load_registry()
    runtime = registry.hosts.get(host).runtime(registry.runtimes.get("node"))
    command = getattr(runtime, "command", None)
    if runtime is None or command is None or not runtime.info().available:
        raise SystemExit(f"bench: node on {host} is not available")
    argv = [*command(), "-e", "0"]

    def once() -> float:
        started = time.perf_counter()
        c.run(argv)
        return time.perf_counter() - started

    value, samples = c.median_of(3, once)
    c.figure(f"node@{host}: one start of node -e 0", value * 1e3, "ms", c.spread(samples, 1e3, "ms"))
    return value


def available_hosts(wanted: Sequence[str]) -> list[str]:
    rows = {r["name"]: r for r in json.loads(c.run(c.wasitest_argv("hosts", "--json")).stdout)}
    found = []
    for host in wanted:
        node = next((r for r in rows.get(host, {}).get("runtimes", []) if r["name"] == "node"), None)
        if node is None or not node["available"]:
            print(f"  skipped {host}: {node['reason'] if node else 'no such host'}")
        else:
            found.append(host)
    return found


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 100, "trivial cases in the generated suite")
    p.add_argument("--hosts", default=",".join(HOSTS), help="comma-separated hosts (default: all four)")
    p.add_argument("--local-size", type=int, default=1000, help="cases of the local anchor (default 1000)")
    args = p.parse_args()
    c.header("per-case cost, node on emulated hosts vs node on this CPU, -j 1", args)
    hosts = available_hosts([h for h in args.hosts.split(",") if h])
    if not hosts:
        raise SystemExit("bench: no emulated host is installed (wasitest hosts install NAME)")
    with c.Workdir(args.keep, "bench-emulated-") as work:
        one = project(work / "n1", 1, hosts)
        big = project(work / f"n{args.size}", args.size, hosts)
        many = project(work / f"n{args.local_size}", args.local_size, hosts)
        local = marginal(one, many, args.local_size, args.repeat, "node")
        emulated = {host: marginal(one, big, args.size, args.repeat, f"node@{host}") for host in hosts}
        starts = {host: node_start(host) for host in hosts}
    for host in hosts:
        c.ratio(f"node@{host}/node per case", emulated[host] / local, "<=", None)
        c.ratio(f"node start on {host}/per case there (kept alive)", starts[host] / emulated[host], ">=", None)


if __name__ == "__main__":
    main()

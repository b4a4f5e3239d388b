"""Per-case cost on embedded Wasmtime at `-j 1`, against the floor (a bare wasmtime-py
loop) and the nextest-style anchor (one `wasmtime run` process per case).

    python bench/per_case_wasmtime.py [--size 2000] [--anchor-cases 300] [--repeat 3]

Targets (issue 10): at most 1.5x the floor, so at most a twentieth of the anchor.
"""

from __future__ import annotations

import _common as c
from _per_case import marginal, ratios, wasmtime_cli_anchor, wasmtime_floor


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 2000, "trivial cases in the generated suite")
    p.add_argument("--anchor-cases", type=int, default=300, help="cases timed for the anchor (default 300)")
    args = p.parse_args()
    c.header("per-case cost, embedded Wasmtime, -j 1", args)
    with c.Workdir(args.keep, "bench-wasmtime-") as work:
        per_case, module = marginal(args, work, "wasmtime")
        floor = wasmtime_floor(module, args.size, args.repeat)
        anchor = wasmtime_cli_anchor(module, min(args.size, args.anchor_cases), args.repeat, work)
    ratios("wasitest/floor", per_case, floor, "<=", 1.5)
    ratios("anchor/wasitest", anchor, per_case, ">=", 20)


if __name__ == "__main__":
    main()

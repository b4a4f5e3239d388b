"""Per-case cost on Node's `node:wasi` (runtime `node`, one persistent Node runner per
worker) at `-j 1`, against a bare `node:wasi` loop in one process (the floor) and one
`node` process per case (the anchor).

    python bench/per_case_node.py [--size 2000] [--anchor-cases 100] [--repeat 3]

Target (issue 10): at most 3 ms per case.
"""

from __future__ import annotations

import _common as c
from _per_case import marginal, node_anchor, node_floor


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 2000, "trivial cases in the generated suite")
    p.add_argument("--anchor-cases", type=int, default=100, help="cases timed for the anchor (default 100)")
    args = p.parse_args()
    c.header("per-case cost, node:wasi, -j 1", args)
    with c.Workdir(args.keep, "bench-node-") as work:
        cost, module = marginal(args, work, "node")
        per_case = cost.wall
        floor = node_floor(module, args.size, args.repeat, work)
        anchor = node_anchor(module, min(args.size, args.anchor_cases), args.repeat, work)
    c.absolute("wasitest per case on node", per_case * 1e3, "ms", "<=", 3.0)
    c.ratio("wasitest/floor", per_case / floor, "<=", None)
    c.ratio("anchor/wasitest", anchor / per_case, ">=", None)


if __name__ == "__main__":
    main()

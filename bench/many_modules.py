"""Per-case cost of a suite of many one-case modules with identical content (wasi-testsuite
style: one `.wasm` and one spec each, `builder = "spec"`) on embedded Wasmtime at `-j 1`,
against the floor (a bare wasmtime-py loop: one compiled module, one instance per case) and
the anchor (one `wasmtime run` process per case, each on its own module file).

    python bench/many_modules.py [--size 2000] [--anchor-cases 300] [--repeat 3]

The modules are byte-for-byte copies of one small C program (separate files, separate
inodes, as a checkout of a test suite has them), each with a spec giving it its own
argument. The figure is the marginal cost of a case, as in per_case_wasmtime.py: the
N-module run against a 1-module run, both warm. What it adds over the one-module suite is
per-artifact work: a module per job to find compiled (by content, not path), a spec per
case, a case list per artifact. Targets (issue 19): at most 2x the floor, and at least 20x
cheaper than a process per case.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import _common as c
from _per_case import Cost, marginal_of, measured, ratios, show, timed_command, wasmtime_floor

#: the one program every module is a copy of: passes when given one argument
PROGRAM = """\
#include <string.h>
int main(int argc, char **argv) {
    return (argc == 2 && argv[1][0] == 'c' && strlen(argv[1]) == 6) ? 0 : 1;
}
"""


def build_program(work: Path) -> Path:
    """The program compiled once, with the Zig wasitest builds with."""
    source = work / "one.c"
    source.write_text(PROGRAM)
    module = work / "one.wasm"
    c.run([sys.executable, "-m", "ziglang", "cc", "--target=wasm32-wasi", "-O2", "-s", "-o", str(module), str(source)])
    return module


def spec_suite(folder: Path, module: Path, cases: int) -> Path:
    """A project of `cases` copies of `module`, `tests/cNNNNN.wasm`, each with its spec."""
    tests = folder / "tests"
    tests.mkdir(parents=True, exist_ok=True)
    for i in range(cases):
        name = c.case_name(i)
        shutil.copyfile(module, tests / f"{name}.wasm")
        (tests / f"{name}.json").write_text(json.dumps({"args": [name], "exit_code": 0}))
    (folder / "wasitest.toml").write_text('[suites.bench]\nbuilder = "spec"\nsources = ["tests/*.wasm"]\n')
    return folder


def cli_anchor(project: Path, cases: int, repeat: int) -> Cost:
    """One `wasmtime run` process per case, each on its own module file, as a runner that
    starts the CLI per test does (the CLI's own compilation cache left as it comes)."""
    binary = str(c.wasmtime_cli())
    modules = sorted((project / "tests").glob("*.wasm"))[:cases]
    for module in modules[:2]:  # warm whatever cache the CLI keeps
        subprocess.run([binary, "run", str(module), module.stem], capture_output=True)

    def loop() -> Cost:
        total = Cost(0.0, 0.0)
        for module in modules:
            one = timed_command([binary, "run", str(module), module.stem], {})
            total = Cost(total.wall + one.wall, total.cpu + one.cpu)
        return Cost(total.wall / len(modules), total.cpu / len(modules))

    value, samples = measured(repeat, loop)
    show(f"anchor: one wasmtime run per case ({len(modules)} cases)", value, samples)
    return value


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 2000, "one-case modules in the generated suite")
    p.add_argument("--anchor-cases", type=int, default=300, help="cases timed for the anchor (default 300)")
    args = p.parse_args()
    c.header(f"per-case cost, {args.size} one-case modules of identical content, embedded Wasmtime, -j 1", args)
    with c.Workdir(args.keep, "bench-many-modules-") as work:
        module = build_program(work)
        one = spec_suite(work / "n1", module, 1)
        big = spec_suite(work / f"n{args.size}", module, args.size)
        per_case = marginal_of(one, big, args.size, args.repeat, "wasmtime")
        floor = wasmtime_floor(module, args.size, args.repeat)
        anchor = cli_anchor(big, min(args.size, args.anchor_cases), args.repeat)
    ratios("wasitest/floor", per_case, floor, "<=", 2)
    ratios("anchor/wasitest", anchor, per_case, ">=", 20)


if __name__ == "__main__":
    main()

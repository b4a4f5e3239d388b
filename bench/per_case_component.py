"""Per-case cost of a p2 component on embedded Wasmtime at `-j 1`, against the p1 module
it is made of (the same generated suite, the same run), and both against their floors (a
bare wasmtime-py loop over the precompiled module, then over the precompiled component).

    python bench/per_case_component.py [--size 2000] [--repeat 3]

The component is made by wasitest itself (a `wasmtime:p2` cell makes the p2 twin of the
suite's module with jco) before anything is timed. Target (issue 14): a p2 case costs at
most twice a p1 case.
"""

from __future__ import annotations

import time
from pathlib import Path

import _common as c
from _per_case import Cost, marginal, measured, ratios, show, wasmtime_floor


def component_floor(module: Path, cases: int, repeat: int, work: Path) -> Cost:
    """wasmtime-py in this process: the module made into a component by jco (as wasitest
    does), precompiled, one instance per case through `wasi:cli/run`."""
    import shutil

    import wasmtime
    from wasmtime.component import Component, Linker

    from wasitest import npm, wasmbin
    from wasitest.plugins.builders.component import JCO_ENTRY, TOOL

    node = shutil.which("node")
    if node is None:
        raise SystemExit("bench: node is not on PATH (jco makes the component)")
    made = work / "t.p2.wasm"
    c.run([node, str(npm.tool_dir(TOOL) / JCO_ENTRY), "new", str(module), "--wasi-command", "-o", str(made)])
    data = made.read_bytes()
    run_export = next(e for e in wasmbin.inspect(data).exports if e.startswith("wasi:cli/run@"))
    engine = wasmtime.Engine()
    component = Component.deserialize(engine, bytes(Component(engine, data).serialize()))
    run_index = component.get_export_index("run", component.get_export_index(run_export))
    if run_index is None:
        raise SystemExit(f"bench: {made.name} exports {run_export} without its run function")
    linker = Linker(engine)
    linker.add_wasip2()

    def loop() -> Cost:
        started, cpu = time.perf_counter(), time.process_time()
        for i in range(cases):
            store = wasmtime.Store(engine)
            wasi = wasmtime.WasiConfig()
            wasi.argv = ["t", c.case_name(i)]
            store.set_wasi(wasi)
            run = linker.instantiate(store, component).get_func(store, run_index)
            assert run is not None
            result = run(store)
            if getattr(result, "tag", "") != "ok":
                raise SystemExit(f"bench: case {i} ended {result!r} in the component floor loop")
            store.close()
        return Cost((time.perf_counter() - started) / cases, (time.process_time() - cpu) / cases)

    loop()  # warm
    value, samples = measured(repeat, loop)
    show("floor: wasmtime-py loop over the component, per case", value, samples)
    return value


def main() -> None:
    p = c.parser(__doc__.splitlines()[0], 2000, "trivial cases in the generated suite")
    args = p.parse_args()
    c.header("per-case cost, p2 component against p1 module, embedded Wasmtime, -j 1", args)
    with c.Workdir(args.keep, "bench-component-") as work:
        print("p1: the module (cell wasmtime)")
        p1, module = marginal(args, work, "wasmtime")
        print("p2: the same suite as a component (cell wasmtime:p2)")
        p2, _ = marginal(args, work, "wasmtime:p2")
        floor_p1 = wasmtime_floor(module, args.size, args.repeat)
        floor_p2 = component_floor(module, args.size, args.repeat, work)
    ratios("floor p2/p1 (what a component costs wasmtime-py)", floor_p2, floor_p1, "<=", None)
    ratios("wasitest p2/p1", p2, p1, "<=", 2)


if __name__ == "__main__":
    main()

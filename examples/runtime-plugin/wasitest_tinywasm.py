"""A complete third-party wasitest runtime: Wasmtime's Python API on wasitest's runtime kit."""

import threading
from importlib.metadata import version
from typing import Any

import wasmtime

from wasitest.model import Execution, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter, TrapTable
from wasitest.plugins.runtimes.kit.output import OutputCapture, private_tmp

TRAPS = TrapTable.of(("unreachable", TrapKind.UNREACHABLE), ("call stack exhausted", TrapKind.STACK_OVERFLOW),
                     ("out of bounds memory", TrapKind.MEMORY_OUT_OF_BOUNDS), ("interrupt", TrapKind.TIMEOUT))


class TinySession:
    """One engine per worker process; a fresh store and instance per job; output capped by the kit."""

    def __init__(self, cache_dir: Any) -> None:
        config = wasmtime.Config()
        config.epoch_interruption = True
        self.engine, self.capture = wasmtime.Engine(config), OutputCapture(private_tmp(cache_dir) / f"tiny{id(self)}")
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()

    def run(self, job: Invocation) -> Execution:
        wasi = wasmtime.WasiConfig()
        wasi.argv, wasi.env = list(job.argv), [list(pair) for pair in job.env]
        for host, guest in job.preopens:
            wasi.preopen_dir(str(host), guest)
        wasi.stdin_file, wasi.stdout_file, wasi.stderr_file = map(str, self.capture.begin(job.stdin, job.output_cap))
        store = wasmtime.Store(self.engine)
        store.set_wasi(wasi)
        store.set_limits(memory_size=job.memory_limit)
        store.set_epoch_deadline(1)  # a session runs one job at a time: the timer ends this one
        timer, ending = threading.Timer(job.timeout_s, self.engine.increment_epoch), {"exit_code": 0}
        timer.start()
        try:
            self.linker.instantiate(store, wasmtime.Module.from_file(self.engine, str(job.module))).exports(store)[
                "_start"](store)  # type: ignore[operator]
        except wasmtime.ExitTrap as exc:
            ending = {"exit_code": exc.code}
        except wasmtime.Trap as exc:
            ending = {"trap": TRAPS.kind(str(exc)), "trap_message": str(exc).splitlines()[-1]}
        finally:
            timer.cancel()
            store.close()  # closes the guest's stdout and stderr, so the capture can end
        out, out_cut, err, err_cut = self.capture.end()
        return Execution(**ending, stdout=out, stderr=err, stdout_truncated=out_cut, stderr_truncated=err_cut)

    def close(self) -> None:
        self.capture.close()


class TinyRuntime(RuntimeAdapter):
    name, install_hint = "tinywasm", "pip install wasmtime"

    def probe(self) -> tuple[str, str]:
        return f"tinywasm (wasmtime-py {version('wasmtime')})", ""

    def session(self, cache_dir: Any, options: Any) -> TinySession:
        return TinySession(cache_dir)


@hookimpl
def wasitest_register_runtimes(register: Any) -> None:
    register(TinyRuntime())

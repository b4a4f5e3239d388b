"""Wasmtime, embedded through the `wasmtime` package, inside the worker process.

One engine per session; a module is compiled once per (module hash, engine configuration,
Wasmtime version) and cached on disk in its serialised form, so later runs and other
workers only deserialise it. Every job gets a fresh `Store` and instance.

Limits: time through epoch interruption (a ticker thread bumps the engine's epoch every
`TICK_S`; each store's deadline is its timeout in ticks), memory through
`Store.set_limits`, which makes `memory.grow` past the limit fail as the spec allows.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wasitest.model import Execution, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter, TrapTable
from wasitest.plugins.runtimes.kit.modules import ModuleCache
from wasitest.plugins.runtimes.kit.output import OutputCapture, private_tmp
from wasitest.protocols import Runtime

TICK_S = 0.01
#: Wasmtime's trap codes, by their names (`wasmtime.TrapCode`), onto trap kinds
TRAPS = TrapTable.of(
    ("UNREACHABLE", TrapKind.UNREACHABLE),
    ("MEMORY_OUT_OF_BOUNDS", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("STACK_OVERFLOW", TrapKind.STACK_OVERFLOW),
    ("INTERRUPT", TrapKind.TIMEOUT),
)


def _trap_kind(trap: Any) -> TrapKind:
    code = trap.trap_code
    return TrapKind.OTHER if code is None else TRAPS.kind(code.name)


class _Ticker:
    """Bumps an engine's epoch at a fixed rate, from a daemon thread."""

    def __init__(self, engine: Any) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine,), daemon=True, name="wasitest-epoch")
        self._thread.start()

    def _run(self, engine: Any) -> None:
        while not self._stop.wait(TICK_S):
            engine.increment_epoch()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


#: Wasmtime's default async stack: a bigger wasm stack needs a bigger one
DEFAULT_ASYNC_STACK = 2 * 1024 * 1024
#: the largest wasm stack that traps cleanly on an 8 MiB process stack (measured: 8 MiB
#: on the main thread segfaulted on deep recursion, 4 and 6 MiB trapped)
MAX_WASM_STACK = 6 * 1024 * 1024

#: runtime options a matrix may set on this runtime (its option axes)
OPTIONS = frozenset({"opt_level", "max_wasm_stack", "strategy"})


def _engine_config(wasmtime: Any, options: Mapping[str, str]) -> Any:
    """An engine configuration: epoch interruption always, plus the cell's options."""
    config = wasmtime.Config()
    config.epoch_interruption = True
    if "opt_level" in options:
        config.cranelift_opt_level = options["opt_level"]  # none | speed | speed_and_size
    if "max_wasm_stack" in options:
        size = int(options["max_wasm_stack"])
        if not 0 < size <= MAX_WASM_STACK:
            raise ValueError(f"max_wasm_stack must be between 1 and {MAX_WASM_STACK} bytes here, got {size}")
        if size > DEFAULT_ASYNC_STACK:
            # Wasmtime refuses (aborts the process) when the wasm stack exceeds its async
            # stack size; the package exposes no setter for that but its binding exists.
            from wasmtime import _bindings

            _bindings.wasmtime_config_async_stack_size_set(config.ptr(), size + DEFAULT_ASYNC_STACK)
        config.max_wasm_stack = size
    if "strategy" in options:
        config.strategy = options["strategy"]  # auto | cranelift | winch
    return config


class WasmtimeSession:
    def __init__(self, cache_dir: Path, options: Mapping[str, str] | None = None) -> None:
        import wasmtime

        self._wasmtime = wasmtime
        self.options = dict(sorted((options or {}).items()))
        self.engine = wasmtime.Engine(_engine_config(wasmtime, self.options))
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.cache_dir = cache_dir
        self.capture = OutputCapture(private_tmp(cache_dir) / f"wasmtime-{id(self)}")
        self.modules: ModuleCache[Any] = ModuleCache(lambda path, _limit: self._load(path))
        self.compiled = 0
        self.cache_hits = 0
        self._ticker = _Ticker(self.engine)

    def _load(self, path: Path) -> Any:
        """Deserialise from the disk cache, or compile and store there."""
        data = path.read_bytes()
        version = self._wasmtime.__name__ + _wasmtime_version()
        config_key = f"epoch;{sorted(self.options.items())}".encode()
        key = hashlib.sha256(data + version.encode() + config_key).hexdigest()[:32]
        cached = self.cache_dir / "wasmtime" / f"{key}.cwasm"
        if cached.exists():
            try:
                module = self._wasmtime.Module.deserialize_file(self.engine, str(cached))
                self.cache_hits += 1
                return module
            except self._wasmtime.WasmtimeError:
                cached.unlink(missing_ok=True)
        module = self._wasmtime.Module(self.engine, data)
        self.compiled += 1
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".tmp{threading.get_ident()}")
        tmp.write_bytes(module.serialize())
        tmp.replace(cached)
        return module

    def run(self, invocation: Invocation) -> Execution:
        started = time.perf_counter()
        try:
            module = self.modules.get(invocation.module)
        except self._wasmtime.WasmtimeError as exc:
            return Execution(error=f"cannot load {invocation.module.name}: {_first_line(exc)}")
        if isinstance(module, Execution):
            return module
        paths = self.capture.begin(invocation.stdin, invocation.output_cap)
        store = self._wasmtime.Store(self.engine)
        try:
            outcome = self._start(store, module, invocation, paths)
        finally:
            store.close()  # closes the guest's stdout and stderr, so the capture can end
            out, out_cut, err, err_cut = self.capture.end()
        if isinstance(outcome, Execution):
            return outcome
        exit_code, trap, message = outcome
        return Execution(
            exit_code=exit_code,
            trap=trap,
            trap_message=message,
            stdout=out,
            stderr=err,
            stdout_truncated=out_cut,
            stderr_truncated=err_cut,
            duration_s=time.perf_counter() - started,
        )

    def _start(
        self, store: Any, module: Any, invocation: Invocation, paths: tuple[Path, Path, Path]
    ) -> Execution | tuple[int | None, TrapKind | None, str]:
        """Instantiate and run `_start`: an exit code, or a trap, or why it could not run."""
        wasmtime = self._wasmtime
        wasi = wasmtime.WasiConfig()
        wasi.argv = list(invocation.argv)
        wasi.env = [list(pair) for pair in invocation.env]
        for host, guest in invocation.preopens:
            wasi.preopen_dir(str(host), guest)
        wasi.stdin_file, wasi.stdout_file, wasi.stderr_file = (str(p) for p in paths)
        store.set_wasi(wasi)
        store.set_limits(memory_size=invocation.memory_limit)
        store.set_epoch_deadline(max(1, round(invocation.timeout_s / TICK_S)))
        try:
            instance = self.linker.instantiate(store, module)
        except wasmtime.Trap as exc:  # a start function or a data segment trapped
            return None, _trap_kind(exc), _trap_message(exc)
        except wasmtime.WasmtimeError as exc:
            text = str(exc)
            if "memory" in text and ("limit" in text or "minimum" in text):
                return None, TrapKind.MEMORY_LIMIT, _first_line(exc)
            return Execution(error=f"cannot instantiate {invocation.module.name}: {_first_line(exc)}")
        start = instance.exports(store).get("_start")
        if not isinstance(start, wasmtime.Func):
            return Execution(error=f"{invocation.module.name} has no _start export (not a WASI command)")
        try:
            start(store)
            return 0, None, ""
        except wasmtime.ExitTrap as exc:
            return exc.code, None, ""
        except wasmtime.Trap as exc:
            return None, _trap_kind(exc), _trap_message(exc)
        except wasmtime.WasmtimeError as exc:
            # the guest ran and the runtime stopped it with an error of its own, e.g.
            # proc_exit with a status Wasmtime refuses (126 and above): its behaviour
            return None, TrapKind.OTHER, _trap_message(exc)

    def close(self) -> None:
        self._ticker.stop()
        self.capture.close()
        self.modules.clear()


def _trap_message(exc: BaseException) -> str:
    """Wasmtime's trap text starts with a backtrace heading; the cause is the last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _wasmtime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmtime")
    except PackageNotFoundError:
        return "unknown"


class WasmtimeRuntime(RuntimeAdapter):
    name = "wasmtime"
    install_hint = "pip install wasmtime"
    options = OPTIONS

    def probe(self) -> tuple[str, str]:
        try:
            import wasmtime  # noqa: F401
        except ImportError as exc:
            return "", f"the wasmtime package is not importable: {exc}"
        return f"wasmtime-py {_wasmtime_version()}", ""

    def check_options(self, options: Mapping[str, str]) -> str:
        """Why these option values cannot work here ('' when they can): a strategy the
        wheel was built without, say, makes the cell unavailable before any job runs."""
        import wasmtime

        try:
            wasmtime.Engine(_engine_config(wasmtime, options))
        except (wasmtime.WasmtimeError, ValueError, TypeError) as exc:
            return f"wasmtime cannot use {dict(options)}: {_first_line(exc)}"
        return ""

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> WasmtimeSession:
        return WasmtimeSession(cache_dir, options)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(WasmtimeRuntime())

"""Wasmtime, embedded through the `wasmtime` package, inside the worker process.

One engine per session; a module is compiled once per (module hash, engine configuration,
Wasmtime version) and cached on disk in its serialised form, so later runs and other
workers only deserialise it, once per session and content (`ModuleCache`): a suite of many
byte-identical modules costs one. Every job gets a fresh `Store` and instance; its stdout
and stderr are the session's capture pipes, and a job without stdin gets no stdin file.

Limits: time through epoch interruption (a ticker thread bumps the engine's epoch every
`TICK_S`; each store's deadline is its timeout in ticks), memory through
`Store.set_limits`, which makes `memory.grow` past the limit fail as the spec allows.

Epoch interruption's checks in every loop and call cost a guest 12-16% (a Go test binary).
A `killable` job (a batch, a listing: see `Invocation.killable`) runs on a second engine
without them, made on the first such job: at its time limit the ticker ends the worker
process (`WORKER_EXIT_TIME_LIMIT`), and so does the disk watch past the disk limit
(`WORKER_EXIT_DISK_LIMIT`); the pool reads the verdict from the exit code. Such a job's
compiled module is cached apart (its code differs).

p2 command components run through `wasmtime.component` on the same engine, store, WASI
configuration (argv, env, preopens, stdin and the captured stdout/stderr serve WASI 0.2
too) and limits; the run export's index is looked up once per component. A component's
`wasi:cli/run` returns ok or err only, so a C `exit(3)` is exit code 1 there (the preview-1
adapter inside the component maps every non-zero status to err). A component's trap arrives
as a `WasmtimeError` whose text names it (not as a `Trap` with a code), read with the
trap words of Wasmtime's messages (the CLI's table). p3 needs component-model async, which
the C API wasmtime-py binds does not have: such jobs are `unsupported` (the plan makes them so before they get here).
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wasitest import wasmbin
from wasitest.files import write_atomically
from wasitest.model import WORKER_EXIT_DISK_LIMIT, WORKER_EXIT_TIME_LIMIT, Execution, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter, TrapTable
from wasitest.plugins.runtimes.kit.modules import ModuleCache
from wasitest.plugins.runtimes.kit.output import OutputCapture
from wasitest.plugins.runtimes.wasmtime_cli import TRAPS as MESSAGE_TRAPS  # a component's traps are words
from wasitest.plugins.runtimes.wasmtime_direct import CoreModule, DirectCalls, PublicModule
from wasitest.protocols import Runtime
from wasitest.runner.job_files import private_tmp

TICK_S = 0.01
#: Wasmtime's trap codes, by their names (`wasmtime.TrapCode`), onto trap kinds
TRAPS = TrapTable.of(
    ("UNREACHABLE", TrapKind.UNREACHABLE),
    ("MEMORY_OUT_OF_BOUNDS", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("STACK_OVERFLOW", TrapKind.STACK_OVERFLOW),
    ("INTERRUPT", TrapKind.TIMEOUT),
)


#: how a job ended (exit code, trap, trap message), or the `Execution` that says it could not run
Outcome = Execution | tuple[int | None, TrapKind | None, str]

P3_UNSUPPORTED = "wasmtime-py's C API has no component-model async (p3)"
RUN_INTERFACE = "wasi:cli/run"


def _trap_kind(trap: Any) -> TrapKind:
    code = trap.trap_code
    return TrapKind.OTHER if code is None else TRAPS.kind(code.name)


class _Ticker:
    """Bumps an engine's epoch at a fixed rate, from a daemon thread; and ends this process
    when a job that runs without epoch checks passes its deadline (`end_at`)."""

    def __init__(self, engine: Any) -> None:
        #: `time.monotonic()` past which the process ends (0: no such job is running)
        self.end_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(engine,), daemon=True, name="wasitest-epoch")
        self._thread.start()

    def _run(self, engine: Any) -> None:
        while not self._stop.wait(TICK_S):
            engine.increment_epoch()
            end_at = self.end_at
            if end_at and time.monotonic() > end_at:
                os._exit(WORKER_EXIT_TIME_LIMIT)  # the guest cannot be stopped any other way

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


#: Wasmtime's default async stack: a bigger wasm stack needs a bigger one
DEFAULT_ASYNC_STACK = 2 * 1024 * 1024
#: the largest wasm stack that traps cleanly on the main thread's 8 MiB native stack
#: (measured: 8 MiB there segfaulted on deep recursion, 4 and 6 MiB trapped); a bigger one
#: runs its guests on a thread of their own with a native stack to fit (`GuestThread`)
MAIN_THREAD_WASM_STACK = 6 * 1024 * 1024
#: the largest wasm stack a cell may ask for (Go's own wasip1 runner gives Go tests 8 MiB)
MAX_WASM_STACK = 64 * 1024 * 1024

#: runtime options a matrix may set on this runtime (its option axes)
OPTIONS = frozenset({"opt_level", "max_wasm_stack", "strategy"})
#: the options that change nothing in compiled code, only how it runs: a module compiled
#: under one value loads under another (Wasmtime checks what must match when it loads), so
#: they are left out of the disk cache's key. A cell with a bigger stack then deserialises
#: what discovery (on the plain cell) compiled: a Go test binary takes seconds to compile.
RUN_TIME_OPTIONS = frozenset({"max_wasm_stack"})


def _engine_config(wasmtime: Any, options: Mapping[str, str], *, epoch: bool = True) -> Any:
    """An engine configuration: the cell's options, with epoch interruption unless the
    engine runs only jobs that may be stopped by ending the process (`killable`)."""
    config = wasmtime.Config()
    config.epoch_interruption = epoch
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


class GuestThread:
    """One long-lived thread whose native stack fits a wasm stack bigger than the main
    thread's can hold: guests run on it, one call at a time. Wasm frames live on the native
    stack, so the native stack must hold the whole wasm stack, the async stack Wasmtime sets
    beside it, and the host's own frames; the pages are only reserved until touched."""

    def __init__(self, wasm_stack: int) -> None:
        previous = threading.stack_size(2 * wasm_stack + DEFAULT_ASYNC_STACK + 8 * 1024 * 1024)
        try:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wasitest-guest")
            self._pool.submit(lambda: None).result()  # the thread starts now, with that stack
        finally:
            threading.stack_size(previous)

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        return self._pool.submit(function, *args).result()

    def close(self) -> None:
        self._pool.shutdown()


@dataclass(frozen=True)
class Command:
    """A compiled p2 command component, with the index of its `wasi:cli/run` `run`
    function (valid in every instance of it, so looked up once)."""

    component: Any
    run: Any


class _Engine:
    """One Wasmtime engine and what is made for it: its linkers and its modules, compiled
    once per content (`modules`, whose loader the session gives)."""

    def __init__(
        self,
        wasmtime: Any,
        options: Mapping[str, str],
        *,
        epoch: bool,
        load: Callable[[_Engine, Path, str], CoreModule | Command | Execution],
    ) -> None:
        self.epoch = epoch
        self.engine = wasmtime.Engine(_engine_config(wasmtime, options, epoch=epoch))
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.modules: ModuleCache[CoreModule | Command] = ModuleCache(lambda path, _limit, sha: load(self, path, sha))
        self.component_linker: Any = None


class WasmtimeSession:
    def __init__(self, cache_dir: Path, options: Mapping[str, str] | None = None) -> None:
        import wasmtime

        self._wasmtime = wasmtime
        self.options = dict(sorted((options or {}).items()))
        self._epoch = _Engine(wasmtime, self.options, epoch=True, load=self._load)
        #: the engine of `killable` jobs, made on the first one
        self._free: _Engine | None = None
        #: the C API path for core modules' jobs (None: this wasmtime-py lacks a binding it needs)
        self.direct = DirectCalls.load()
        self.cache_dir = cache_dir
        self.capture = OutputCapture(private_tmp(cache_dir) / f"wasmtime-{id(self)}")
        self.compiled = 0
        self.cache_hits = 0
        self._ticker = _Ticker(self.engine)
        #: the running job's epoch deadline, in ticks (what `interrupt` must pass)
        self._deadline_ticks = 0
        #: the engine of the running (or last) job
        self._running = self._epoch
        stack = int(self.options.get("max_wasm_stack", 0))
        self._guest_thread = GuestThread(stack) if stack > MAIN_THREAD_WASM_STACK else None

    @property
    def engine(self) -> Any:
        """The engine of ordinary jobs (epoch interruption on)."""
        return self._epoch.engine

    @property
    def modules(self) -> ModuleCache[CoreModule | Command]:
        """The modules compiled for ordinary jobs' engine."""
        return self._epoch.modules

    def _free_engine(self) -> _Engine:
        if self._free is None:
            self._free = _Engine(self._wasmtime, self.options, epoch=False, load=self._load)
        return self._free

    def _load(self, engine: _Engine, path: Path, sha256: str) -> CoreModule | Command | Execution:
        """A core module ready to run (`CoreModule`) or a p2 command component (`Command`),
        deserialised from the disk cache or compiled and stored there; or the `Execution`
        that ends every job of it. `sha256` is the content's: a cached core module is
        found by it, and its file read no further than its header (a Go test binary is
        tens of megabytes, which cost more to read and hash than to deserialise)."""
        with path.open("rb") as handle:
            header = handle.read(8)
        if header[:4] == wasmbin.MAGIC and header[4:8] != wasmbin.CORE_VERSION:
            return self._load_component(engine, path, sha256)
        module = self._cached(engine, path, sha256, self._wasmtime.Module)
        if self.direct is not None:
            try:
                return self.direct.prepare(engine.linker, module)
            except self._wasmtime.WasmtimeError:
                pass  # an import the linker lacks: the public path fails at instantiation, with its message
        return PublicModule(engine.linker, module)

    def _cached(self, engine: _Engine, path: Path, sha256: str, kind: Any, data: bytes = b"") -> Any:
        """`kind` (`Module` or `Component`) of the module at `path` (`data`, when read
        already), through the disk cache: keyed by the content's `sha256`, the wasmtime-py
        version and the engine's configuration."""
        version = self._wasmtime.__name__ + _wasmtime_version()
        compiled = sorted((k, v) for k, v in self.options.items() if k not in RUN_TIME_OPTIONS)
        checks = "epoch" if engine.epoch else "free"
        key = hashlib.sha256(f"{sha256};{version};{checks};{compiled}".encode()).hexdigest()[:32]
        cached = self.cache_dir / "wasmtime" / f"{key}.cwasm"
        if cached.exists():
            try:
                loaded = kind.deserialize_file(engine.engine, str(cached))
                self.cache_hits += 1
                return loaded
            except self._wasmtime.WasmtimeError:
                cached.unlink(missing_ok=True)
        loaded = kind(engine.engine, data or path.read_bytes())
        self.compiled += 1
        # another worker may be compiling the same module: each writes its own file and
        # renames it into place (a name by thread alone is shared by forked workers)
        write_atomically(cached, loaded.serialize())
        return loaded

    def _load_component(self, engine: _Engine, path: Path, sha256: str) -> Command | Execution:
        name, data = path.name, path.read_bytes()
        try:
            info = wasmbin.inspect(data)
        except ValueError as exc:
            return Execution(error=f"cannot load {name}: {exc}")
        if info.world == "p3":
            return Execution(unsupported=P3_UNSUPPORTED)
        run = next((export for export in info.exports if export.split("@")[0] == RUN_INTERFACE), None)
        if run is None:
            return Execution(error=f"{name} is a component without a {RUN_INTERFACE} export (not a WASI command)")
        from wasmtime.component import Component

        component = self._cached(engine, path, sha256, Component, data)
        index = component.get_export_index(run)
        func = None if index is None else component.get_export_index("run", index)
        if func is None:
            return Execution(error=f"{name} exports {run} without its run function")
        return Command(component, func)

    def component_linker(self, engine: _Engine | None = None) -> Any:
        """The WASI 0.2 linker of `engine` (default: ordinary jobs'), made at its first
        component (module-only runs never pay for it)."""
        engine = engine or self._epoch
        if engine.component_linker is None:
            from wasmtime.component import Linker

            engine.component_linker = Linker(engine.engine)
            engine.component_linker.add_wasip2()
        return engine.component_linker

    def run(self, invocation: Invocation) -> Execution:
        started = time.perf_counter()
        if invocation.world == "p3":
            return Execution(unsupported=P3_UNSUPPORTED)
        engine = self._running = self._free_engine() if invocation.killable else self._epoch
        try:
            module = engine.modules.get(invocation.module, sha256=invocation.module_sha256)
        except self._wasmtime.WasmtimeError as exc:
            return Execution(error=f"cannot load {invocation.module.name}: {_first_line(exc)}")
        if isinstance(module, Execution):
            return module
        paths = self.capture.begin(invocation.stdin, invocation.output_cap)
        store = self._wasmtime.Store(engine.engine)
        try:
            self._configure(store, invocation, paths)
            call: Callable[[Any, Any, Invocation], Outcome] = (
                self._run_component if isinstance(module, Command) else self._start
            )
            if self._guest_thread is not None:
                outcome = self._guest_thread.call(call, store, module, invocation)
            else:
                outcome = call(store, module, invocation)
        finally:
            self._ticker.end_at = 0.0
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

    def interrupt(self) -> None:
        """End the running job now (another thread asks: the disk watch, past the disk
        limit): the epoch moves past its deadline, so the guest traps as at its time limit;
        a job without epoch checks ends with its process (`WORKER_EXIT_DISK_LIMIT`)."""
        if not self._running.epoch:
            os._exit(WORKER_EXIT_DISK_LIMIT)
        for _ in range(self._deadline_ticks + 1):
            self.engine.increment_epoch()

    def _configure(self, store: Any, invocation: Invocation, paths: tuple[Path, Path, Path]) -> None:
        """The job's WASI (argv, env, preopens, stdio) and limits, for a module or a component."""
        wasi = self._wasmtime.WasiConfig()
        wasi.argv = list(invocation.argv)
        if invocation.env:  # a fresh WasiConfig's environment is empty
            wasi.env = [list(pair) for pair in invocation.env]
        for host, guest in invocation.preopens:
            wasi.preopen_dir(str(host), guest)
        if invocation.stdin:  # without a file the guest's stdin is empty (reads end at once)
            wasi.stdin_file = str(paths[0])
        wasi.stdout_file, wasi.stderr_file = str(paths[1]), str(paths[2])
        store.set_wasi(wasi)
        store.set_limits(memory_size=invocation.memory_limit)
        if self._running.epoch:
            self._deadline_ticks = max(1, round(invocation.timeout_s / TICK_S))
            store.set_epoch_deadline(self._deadline_ticks)
        else:
            self._ticker.end_at = time.monotonic() + invocation.timeout_s

    def _start(self, store: Any, module: CoreModule, invocation: Invocation) -> Outcome:
        """Instantiate and run `_start`: an exit code, or a trap, or why it could not run."""
        wasmtime = self._wasmtime
        try:
            instance = module.instantiate(store)
        except wasmtime.Trap as exc:  # a start function or a data segment trapped
            return None, _trap_kind(exc), _trap_message(exc)
        except wasmtime.WasmtimeError as exc:
            text = str(exc)
            if "memory" in text and ("limit" in text or "minimum" in text):
                return None, TrapKind.MEMORY_LIMIT, _first_line(exc)
            return Execution(error=f"cannot instantiate {invocation.module.name}: {_first_line(exc)}")
        start = module.start_function(store, instance)
        if start is None:
            return Execution(error=f"{invocation.module.name} has no _start export (not a WASI command)")
        try:
            module.call(store, start)
            return 0, None, ""
        except wasmtime.ExitTrap as exc:
            return exc.code, None, ""
        except wasmtime.Trap as exc:
            return None, _trap_kind(exc), _trap_message(exc)
        except wasmtime.WasmtimeError as exc:
            # the guest ran and the runtime stopped it with an error of its own, e.g.
            # proc_exit with a status Wasmtime refuses (126 and above): its behaviour
            return None, TrapKind.OTHER, _trap_message(exc)

    def _run_component(self, store: Any, command: Command, invocation: Invocation) -> Outcome:
        """Instantiate and call `wasi:cli/run`'s `run`: ok is 0, err 1, `exit` its code."""
        wasmtime = self._wasmtime
        try:
            instance = self.component_linker(self._running).instantiate(store, command.component)
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:  # components trap as WasmtimeError
            text = str(exc)
            if "memory" in text and ("limit" in text or "minimum" in text):
                return None, TrapKind.MEMORY_LIMIT, _first_line(exc)
            if "wasm trap" in text:  # a core module's start function trapped
                return None, MESSAGE_TRAPS.kind(text), _trap_message(exc)
            return Execution(error=f"cannot instantiate {invocation.module.name}: {_first_line(exc)}")
        run = instance.get_func(store, command.run)
        if run is None:
            return Execution(error=f"{invocation.module.name}'s {RUN_INTERFACE} export is not a function")
        try:
            result = run(store)
        except wasmtime.ExitTrap as exc:
            return exc.code, None, ""
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            # traps, and errors of the host's own: the guest's behaviour either way
            return None, MESSAGE_TRAPS.kind(str(exc)), _trap_message(exc)
        return (0 if getattr(result, "tag", "") == "ok" else 1), None, ""

    def close(self) -> None:
        self._ticker.stop()
        if self._guest_thread is not None:
            self._guest_thread.close()
        self.capture.close()
        for engine in (self._epoch, self._free):
            if engine is not None:
                engine.modules.clear()


def _trap_message(exc: BaseException) -> str:
    """Wasmtime's trap text starts with a backtrace heading; the cause is the last line,
    without its number in the `Caused by:` chain (`1: wasm trap: ...`)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return re.sub(r"^\d+:\s*", "", lines[-1]) if lines else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@functools.cache
def _wasmtime_version() -> str:
    """The installed wasmtime-py's version: asked once a process (each compiled module's
    cache key has it, and the package's metadata is looked up on every call)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmtime")
    except PackageNotFoundError:
        return "unknown"


class WasmtimeRuntime(RuntimeAdapter):
    name = "wasmtime"
    install_hint = "pip install wasmtime"
    options = OPTIONS
    #: p3 needs component-model async, which wasmtime-py's C API does not bind yet
    worlds = ("p1", "p2")

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

"""A WASI command's `_start`, run through wasmtime-py's C API bindings directly.

Why not the public API: for a job that does almost nothing, its layers cost more than the
job. `Linker.instantiate` resolves every import by name again for each instance,
`instance.exports(store)` wraps every export in a Python object to find one, and
`Func.__call__` builds the function's type (two vectors made and freed) before each call.
Here a module's imports are resolved once (an `InstancePre`, per session and module),
`_start` is found by name, and called with no arguments: a trivial job costs about a third
less than the plain wasmtime-py loop (`bench/per_case_wasmtime.py` measures both).

Errors come back as the exceptions wasmtime-py itself raises (`Trap`, `ExitTrap`,
`WasmtimeError`), made from the same pointers, so the adapter reads one set of outcomes
whichever path ran. The bindings module is private to wasmtime-py: when a version lacks
what this needs, `DirectCalls.load()` is None and the adapter uses the public API.
"""

from __future__ import annotations

import ctypes
import weakref
from typing import Any, TypeAlias

#: the bindings this path calls (`wasmtime._ffi`), checked once
NEEDED = (
    "wasmtime_linker_instantiate_pre",
    "wasmtime_instance_pre_instantiate",
    "wasmtime_instance_pre_delete",
    "wasmtime_instance_export_get",
    "wasmtime_func_call",
    "wasmtime_instance_t",
    "wasmtime_instance_pre_t",
    "wasmtime_extern_t",
    "wasm_trap_t",
    "WASMTIME_EXTERN_FUNC",
)

START = b"_start"


class PreparedModule:
    """A module whose imports are resolved against a linker, ready to instantiate many
    times; freed with the Python object."""

    def __init__(self, calls: DirectCalls, linker: Any, module: Any) -> None:
        ffi = calls.ffi
        self._calls = calls
        self.module = module  # kept alive as long as its pre-instance
        pre = ctypes.POINTER(ffi.wasmtime_instance_pre_t)()
        error = ffi.wasmtime_linker_instantiate_pre(linker.ptr(), module.ptr(), ctypes.byref(pre))
        if error:
            raise calls.error_type._from_ptr(error)
        self._pre = pre
        weakref.finalize(self, ffi.wasmtime_instance_pre_delete, pre)

    def instantiate(self, store: Any) -> Any:
        """A new instance in `store`; raises as `Linker.instantiate` would."""
        ffi = self._calls.ffi
        instance = ffi.wasmtime_instance_t()
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        context = store._context()
        error = ffi.wasmtime_instance_pre_instantiate(self._pre, context, ctypes.byref(instance), ctypes.byref(trap))
        self._calls.raise_for(error, trap)
        return instance

    def start_function(self, store: Any, instance: Any) -> Any:
        """The instance's `_start` function, or None when it exports none."""
        ffi = self._calls.ffi
        item = ffi.wasmtime_extern_t()
        context = store._context()
        if not ffi.wasmtime_instance_export_get(context, ctypes.byref(instance), START, len(START), ctypes.byref(item)):
            return None
        return item if item.kind == self._calls.func_kind else None

    def call(self, store: Any, start: Any) -> None:
        """Call `_start`; raises as `Func.__call__` would (`ExitTrap` for `proc_exit`)."""
        ffi = self._calls.ffi
        trap = ctypes.POINTER(ffi.wasm_trap_t)()
        func = ctypes.byref(start.of.func)
        error = ffi.wasmtime_func_call(store._context(), func, None, 0, None, 0, ctypes.byref(trap))
        self._calls.raise_for(error, trap)


class PublicModule:
    """The same three steps through wasmtime-py's public API: for a module the direct path
    could not prepare (an import the linker lacks fails here, at instantiation, with
    Wasmtime's own message), or a wasmtime-py without the bindings it needs."""

    def __init__(self, linker: Any, module: Any) -> None:
        from wasmtime import Func

        self.linker = linker
        self.module = module
        self._func_type = Func

    def instantiate(self, store: Any) -> Any:
        return self.linker.instantiate(store, self.module)

    def start_function(self, store: Any, instance: Any) -> Any:
        start = instance.exports(store).get("_start")
        return start if isinstance(start, self._func_type) else None

    def call(self, store: Any, start: Any) -> None:
        start(store)


class DirectCalls:
    """The bindings, and how wasmtime-py turns their error and trap pointers into exceptions."""

    def __init__(self, wasmtime: Any, ffi: Any) -> None:
        self.ffi = ffi
        self.error_type = wasmtime.WasmtimeError
        self.trap_type = wasmtime.Trap
        self.func_kind = ffi.WASMTIME_EXTERN_FUNC.value

    @classmethod
    def load(cls) -> DirectCalls | None:
        """The direct path, or None when this wasmtime-py lacks a binding it needs."""
        try:
            import wasmtime
            from wasmtime import _ffi as ffi
        except ImportError:
            return None
        if not all(hasattr(ffi, name) for name in NEEDED):
            return None
        if not all(hasattr(kind, "_from_ptr") for kind in (wasmtime.WasmtimeError, wasmtime.Trap)):
            return None
        return cls(wasmtime, ffi)

    def prepare(self, linker: Any, module: Any) -> PreparedModule:
        return PreparedModule(self, linker, module)

    def raise_for(self, error: Any, trap: Any) -> None:
        """Raise what wasmtime-py raises for a call's error or trap pointer (never both set)."""
        if error:
            raise self.error_type._from_ptr(error)
        if trap:
            raise self.trap_type._from_ptr(trap)


#: a core module, ready to run a job's `_start` either way
CoreModule: TypeAlias = PreparedModule | PublicModule

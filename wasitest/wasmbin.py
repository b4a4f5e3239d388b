"""Just enough of the WebAssembly binary format to inspect a module or component and cap a
module's memory.

`inspect` tells a core module from a component (both start with `\\0asm`; the 16-bit
version and layer fields that follow differ: `01 00 00 00` for a core module, layer 1 for
a component, e.g. `0d 00 01 00`), whether it exports `_start`, and its memories.

`cap_memory` lowers every memory's declared maximum to a byte budget. Runtimes without a
store-level limit (Node's `node:wasi`) enforce the job's memory limit this way: once the
maximum is in the module, `memory.grow` past it returns -1, the same behaviour as
Wasmtime's `Store.set_limits`. Only the limits of the memory and import sections are
re-encoded; every other byte is copied as is.
"""

from __future__ import annotations

from dataclasses import dataclass

MAGIC = b"\0asm"
CORE_VERSION = b"\x01\x00\x00\x00"
PAGE_SIZE = 65536

_IMPORT_SECTION = 2
_MEMORY_SECTION = 5
_EXPORT_SECTION = 7
_COMPONENT_IMPORT_SECTION = 10
_COMPONENT_EXPORT_SECTION = 11

# limits flags: bit 0 has a maximum, bit 1 shared, bit 2 64-bit indices, bit 3 custom page size
_HAS_MAX, _SHARED, _IS_64, _PAGE_SIZE_LOG2 = 1, 2, 4, 8


class MemoryTooLarge(Exception):
    """A memory's initial size alone is over the budget: the module cannot even start.

    Not a `ValueError`: the module is well formed, it just needs more than it may have.
    """

    def __init__(self, index: int, min_bytes: int, max_bytes: int) -> None:
        super().__init__(
            f"memory {index} starts at {min_bytes} bytes, over the limit of {max_bytes} bytes"
        )
        self.index = index
        self.min_bytes = min_bytes
        self.max_bytes = max_bytes


@dataclass(frozen=True)
class Memory:
    """One memory of a module: sizes are in pages of `page_size` bytes."""

    min_pages: int
    max_pages: int | None
    imported: bool = False
    shared: bool = False
    is_64: bool = False
    page_size: int = PAGE_SIZE


@dataclass(frozen=True)
class ModuleInfo:
    """What `inspect` found.

    For a core module: whether it exports `_start`, and its memories. For a component: the
    names of its top-level imports and exports (`wasi:cli/environment@0.2.3`, ...); its
    nested modules and components are not read.
    """

    kind: str  # "module" or "component"
    exports_start: bool = False
    memories: tuple[Memory, ...] = ()
    imports: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()

    @property
    def is_component(self) -> bool:
        return self.kind == "component"

    @property
    def world(self) -> str:
        """Which WASI the binary speaks: `p1` for a core module; for a component `p3` when
        it imports or exports a WASI 0.3 interface, else `p2`."""
        if not self.is_component:
            return "p1"
        versions = [_wasi_version(name) for name in (*self.imports, *self.exports)]
        return "p3" if any(v.startswith("0.3") for v in versions) else "p2"

    @property
    def is_command(self) -> bool:
        """A WASI command: a module with `_start`, or a component exporting `wasi:cli/run`."""
        if not self.is_component:
            return self.exports_start
        return any(name.split("@")[0] == "wasi:cli/run" for name in self.exports)


def _wasi_version(name: str) -> str:
    """`wasi:cli/run@0.2.3` -> `0.2.3`; '' for a name that is not a versioned WASI interface."""
    package, _, version = name.partition("@")
    return version if package.startswith("wasi:") else ""


class _Reader:
    """A cursor over bytes that reports truncation as `ValueError`."""

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def at_end(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise ValueError(f"truncated module: unexpected end at byte {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def bytes(self, count: int) -> bytes:
        if count < 0 or self.pos + count > self.end:
            raise ValueError(f"truncated module: {count} bytes wanted at byte {self.pos}")
        value = self.data[self.pos : self.pos + count]
        self.pos += count
        return value

    def uleb(self, bits: int = 32) -> int:
        result = shift = 0
        start = self.pos
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if shift >= bits:
                raise ValueError(f"malformed module: LEB128 too long at byte {start}")
        if result >> bits:
            raise ValueError(f"malformed module: integer too large at byte {start}")
        return result

    def sleb(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
            if shift > 35:
                raise ValueError(f"malformed module: LEB128 too long at byte {self.pos}")
        if byte & 0x40:
            result -= 1 << shift
        return result

    def name(self) -> str:
        raw = self.bytes(self.uleb())
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"malformed module: name is not UTF-8 at byte {self.pos}") from None


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


@dataclass(frozen=True)
class _Limits:
    flags: int
    min: int
    max: int | None
    page_size_log2: int
    start: int
    end: int

    @property
    def page_size(self) -> int:
        return 1 << self.page_size_log2

    def memory(self, imported: bool) -> Memory:
        return Memory(self.min, self.max, imported, bool(self.flags & _SHARED), bool(self.flags & _IS_64),
                      self.page_size)

    def capped(self, max_pages: int) -> bytes:
        new_max = max_pages if self.max is None else min(self.max, max_pages)
        out = _uleb(self.flags | _HAS_MAX) + _uleb(self.min) + _uleb(new_max)
        if self.flags & _PAGE_SIZE_LOG2:
            out += _uleb(self.page_size_log2)
        return out


def _limits(reader: _Reader) -> _Limits:
    start = reader.pos
    flags = reader.uleb()
    if flags & ~0x0F:
        raise ValueError(f"malformed module: unknown memory limits flags {flags:#x} at byte {start}")
    bits = 64 if flags & _IS_64 else 32
    minimum = reader.uleb(bits)
    maximum = reader.uleb(bits) if flags & _HAS_MAX else None
    log2 = reader.uleb() if flags & _PAGE_SIZE_LOG2 else 16
    if log2 > 16:
        raise ValueError(f"malformed module: page size 2**{log2} at byte {start}")
    return _Limits(flags, minimum, maximum, log2, start, reader.pos)


def _skip_table_limits(reader: _Reader) -> None:
    flags = reader.uleb()
    bits = 64 if flags & _IS_64 else 32
    reader.uleb(bits)
    if flags & _HAS_MAX:
        reader.uleb(bits)


def _skip_reftype(reader: _Reader) -> None:
    code = reader.byte()
    if code in (0x63, 0x64):  # (ref null? heaptype): GC proposal encodings
        reader.sleb()


def _skip_valtype(reader: _Reader) -> None:
    _skip_reftype(reader)


def _sections(data: bytes) -> list[tuple[int, int, int, int]]:
    """Each section as (id, header start, content start, content end)."""
    reader = _Reader(data, 8)
    sections = []
    while not reader.at_end():
        header = reader.pos
        section_id = reader.byte()
        size = reader.uleb()
        start = reader.pos
        if start + size > len(data):
            raise ValueError(
                f"truncated module: section {section_id} at byte {header} needs {size} bytes, "
                f"{len(data) - start} left"
            )
        sections.append((section_id, header, start, start + size))
        reader.pos = start + size
    return sections


def _kind(data: bytes) -> str:
    if len(data) < 8:
        raise ValueError(f"truncated module: {len(data)} bytes, shorter than the 8-byte header")
    if data[:4] != MAGIC:
        raise ValueError("not a WebAssembly binary: it does not start with \\0asm")
    if data[4:8] == CORE_VERSION:
        return "module"
    if data[6:8] == b"\x01\x00":
        return "component"
    raise ValueError(f"unknown WebAssembly version/layer bytes {data[4:8].hex(' ')}")


def _imported_memories(data: bytes, start: int, end: int) -> list[_Limits]:
    reader = _Reader(data, start, end)
    found = []
    for _ in range(reader.uleb()):
        reader.name()
        reader.name()
        kind = reader.byte()
        if kind == 0x00:  # function: type index
            reader.uleb()
        elif kind == 0x01:  # table
            _skip_reftype(reader)
            _skip_table_limits(reader)
        elif kind == 0x02:  # memory
            found.append(_limits(reader))
        elif kind == 0x03:  # global
            _skip_valtype(reader)
            reader.byte()
        elif kind == 0x04:  # tag (exception handling)
            reader.byte()
            reader.uleb()
        else:
            raise ValueError(f"malformed module: unknown import kind {kind:#x} at byte {reader.pos - 1}")
    if reader.pos != end:
        raise ValueError(f"malformed module: import section ends at byte {reader.pos}, declared {end}")
    return found


def _defined_memories(data: bytes, start: int, end: int) -> list[_Limits]:
    reader = _Reader(data, start, end)
    found = [_limits(reader) for _ in range(reader.uleb())]
    if reader.pos != end:
        raise ValueError(f"malformed module: memory section ends at byte {reader.pos}, declared {end}")
    return found


def _exports_start(data: bytes, start: int, end: int) -> bool:
    reader = _Reader(data, start, end)
    found = False
    for _ in range(reader.uleb()):
        name = reader.name()
        kind = reader.byte()
        reader.uleb()
        found = found or (name == "_start" and kind == 0x00)
    return found


def _extern_name(reader: _Reader) -> str:
    """A component import or export name: `0x00 name`, or `0x01 name version-suffix`."""
    tag = reader.byte()
    if tag not in (0x00, 0x01):
        raise ValueError(f"malformed component: unknown name form {tag:#x} at byte {reader.pos - 1}")
    name = reader.name()
    if tag == 0x01:
        reader.name()
    return name


def _skip_externdesc(reader: _Reader) -> None:
    kind = reader.byte()
    if kind == 0x00:  # core module: 0x11 typeidx
        reader.byte()
        reader.uleb()
    elif kind in (0x01, 0x04, 0x05):  # func, component, instance: typeidx
        reader.uleb()
    elif kind in (0x02, 0x03):  # value or type bound: a form byte, then a type (none for `sub resource`)
        form = reader.byte()
        if not (kind == 0x03 and form == 0x01):
            reader.sleb()
    else:
        raise ValueError(f"malformed component: unknown extern kind {kind:#x} at byte {reader.pos - 1}")


def _component_imports(data: bytes, start: int, end: int) -> list[str]:
    reader = _Reader(data, start, end)
    names = []
    for _ in range(reader.uleb()):
        names.append(_extern_name(reader))
        _skip_externdesc(reader)
    return names


def _component_exports(data: bytes, start: int, end: int) -> list[str]:
    reader = _Reader(data, start, end)
    names = []
    for _ in range(reader.uleb()):
        names.append(_extern_name(reader))
        if reader.byte() == 0x00:  # sort: a core sort follows
            reader.byte()
        reader.uleb()
        if reader.byte() == 0x01:  # an ascribed type
            _skip_externdesc(reader)
    return names


def _inspect_component(data: bytes) -> ModuleInfo:
    imports: list[str] = []
    exports: list[str] = []
    for section_id, _header, start, end in _sections(data):
        if section_id == _COMPONENT_IMPORT_SECTION:
            imports += _component_imports(data, start, end)
        elif section_id == _COMPONENT_EXPORT_SECTION:
            exports += _component_exports(data, start, end)
    return ModuleInfo("component", imports=tuple(imports), exports=tuple(exports))


def inspect(data: bytes) -> ModuleInfo:
    """Read the header and the import, memory and export sections (of a component, its
    top-level import and export sections).

    Raises `ValueError` with a readable message for anything truncated or malformed.
    """
    kind = _kind(data)
    if kind == "component":
        return _inspect_component(data)
    memories: list[Memory] = []
    exports_start = False
    for section_id, _header, start, end in _sections(data):
        if section_id == _IMPORT_SECTION:
            memories += [limits.memory(True) for limits in _imported_memories(data, start, end)]
        elif section_id == _MEMORY_SECTION:
            memories += [limits.memory(False) for limits in _defined_memories(data, start, end)]
        elif section_id == _EXPORT_SECTION:
            exports_start = _exports_start(data, start, end)
    return ModuleInfo("module", exports_start, tuple(memories))


def cap_memory(data: bytes, max_bytes: int) -> bytes:
    """The module with each memory's maximum lowered to at most `max_bytes`.

    A memory's new maximum is `min(its maximum, max_bytes // page size)`; a memory without
    a maximum gets one. Raises `MemoryTooLarge` when a memory's minimum is already over the
    budget, and `ValueError` for a component or a malformed module.
    """
    if _kind(data) != "module":
        raise ValueError("a component, not a core module: its memories cannot be capped")
    out = bytearray(data[:8])
    index = 0
    last = 8
    for section_id, header, start, end in _sections(data):
        if section_id == _IMPORT_SECTION:
            found = _imported_memories(data, start, end)
        elif section_id == _MEMORY_SECTION:
            found = _defined_memories(data, start, end)
        else:
            continue
        if not found:
            continue
        body = bytearray()
        pos = start
        for limits in found:
            max_pages = max_bytes // limits.page_size
            if limits.min > max_pages:
                raise MemoryTooLarge(index, limits.min * limits.page_size, max_bytes)
            body += data[pos : limits.start] + limits.capped(max_pages)
            pos = limits.end
            index += 1
        body += data[pos:end]
        out += data[last:header] + bytes([section_id]) + _uleb(len(body)) + body
        last = end
    out += data[last:]
    return bytes(out)

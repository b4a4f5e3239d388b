"""The package's structure, checked from its source with `ast`: no import cycle among its
modules, a core that imports no plugin, and no module reaching into another's private names.

Every `import` and `from ... import` counts, wherever it stands: inside functions and under
`if TYPE_CHECKING:` too, since a cycle hidden there is still a cycle in the design.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "wasitest"
#: the folders whose modules may import plugins: the plugins themselves, and the pytest
#: plugin (which is one, of pytest's)
MAY_IMPORT_PLUGINS = ("wasitest.plugins", "wasitest.pytest_plugin")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    """One imported name: `module` is the package module it resolves to, `names` the
    dotted path of what was imported (module path, then the name taken from it)."""

    importer: str
    line: int
    module: str
    names: tuple[str, ...]


def _resolve(dotted: str) -> str:
    """The longest prefix of `dotted` that is a module of the package ("" if none)."""
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted


def _tree(module: str) -> ast.Module:
    path = MODULES[module]
    return ast.parse(path.read_text(encoding="utf-8"), str(path))


def _from(node: ast.ImportFrom, module: str) -> str:
    """The absolute module a `from` import names (`from . import x`, `from ..y import z`)."""
    base = node.module or ""
    if not node.level:
        return base
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
    return ".".join([*anchor, *([base] if base else [])])


def _imports(module: str) -> Iterator[Import]:
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target:
                    yield Import(module, node.lineno, target, tuple(alias.name.split(".")))
        elif isinstance(node, ast.ImportFrom):
            base = _from(node, module)
            for alias in node.names:
                # `from wasitest import x` imports the module wasitest.x when there is one
                target = _resolve(f"{base}.{alias.name}") or _resolve(base)
                if target:
                    yield Import(module, node.lineno, target, (*base.split("."), alias.name))


IMPORTS: list[Import] = [imp for module in MODULES for imp in _imports(module)]


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_import_graph_is_read() -> None:
    """The checks below see the package: its modules, and imports of every form."""
    assert {"wasitest.model", "wasitest.runner.job", "wasitest.plugins.harnesses.reading"} <= set(MODULES)
    edges = {(i.importer, i.module) for i in IMPORTS}
    assert ("wasitest.runner.worker", "wasitest.runner.job") in edges  # from-import of names
    assert ("wasitest.hookspec", "wasitest.runplan") in edges  # under `if TYPE_CHECKING:`
    assert ("wasitest.results", "wasitest") in edges  # `from wasitest import __version__`


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    edges: dict[str, set[str]] = {module: set() for module in MODULES}
    for imp in IMPORTS:
        if imp.module != imp.importer:
            edges[imp.importer].add(imp.module)
    cycles = _cycles(edges)
    where = [
        "\n".join(f"  {i.importer}:{i.line} imports {i.module}" for i in IMPORTS if {i.importer, i.module} <= set(c))
        for c in cycles
    ]
    assert not cycles, "import cycles:\n" + "\n\n".join(where)


def _core_modules() -> list[str]:
    return [m for m in MODULES if not any(m == p or m.startswith(f"{p}.") for p in MAY_IMPORT_PLUGINS)]


@pytest.mark.parametrize("module", _core_modules())
def test_the_core_imports_no_plugin(module: str) -> None:
    """Outside `plugins/` and `pytest_plugin/`, no module imports `wasitest.plugins`: the
    core reaches plugins only through the hooks (DESIGN.md: "the core imports no plugin")."""
    found = [
        f"{i.importer}:{i.line} imports {'.'.join(i.names)}"
        for i in IMPORTS
        if i.importer == module and (i.module == "wasitest.plugins" or i.module.startswith("wasitest.plugins."))
    ]
    assert not found, "\n".join(found)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_uses(module: str) -> Iterator[str]:
    """Private names of other package modules that `module` imports, or reaches through a
    module it imported (`from wasitest.runner import worker; worker._x`)."""
    for imp in IMPORTS:
        if imp.importer == module and imp.module != module and any(_private(n) for n in imp.names):
            yield f"{module}:{imp.line} imports {'.'.join(imp.names)}"
    tree = _tree(module)
    bound: dict[str, str] = {}  # a local name -> the package module it names
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bound.update((a.asname, a.name) for a in node.names if a.asname and a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            base = _from(node, module)
            bound.update(
                (a.asname or a.name, f"{base}.{a.name}") for a in node.names if f"{base}.{a.name}" in MODULES
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            target = bound.get(node.value.id)
            if target is not None and target != module:
                yield f"{module}:{node.lineno} uses {target}.{node.attr}"


@pytest.mark.parametrize("module", list(MODULES))
def test_no_module_imports_private_names(module: str) -> None:
    """A name with a leading underscore is its module's own: another module that needs it
    needs a public name (the one job runner, `run_job`, is the example)."""
    found = list(_private_uses(module))
    assert not found, "\n".join(found)

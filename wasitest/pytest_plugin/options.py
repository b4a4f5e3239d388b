"""The plugin's command-line and ini options, and their reading into one value.

Every option has an ini twin so a project can make it the default (`wasi = true` in
`[tool.pytest.ini_options]`); the command line wins over the ini file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from wasitest.config import find_config
from wasitest.errors import WasitestError
from wasitest.matrix.shard import Shard, parse_shard

#: the marker every collected wasm case carries (`-m wasi` runs only them)
CASE_MARKER = "wasi"


def runtime_marker(runtime: str) -> str:
    """`wasi_node` for `node`: a name `-m` accepts (non-word characters become `_`)."""
    return f"{CASE_MARKER}_" + re.sub(r"\W", "_", runtime)


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("wasitest", "wasitest: WebAssembly test cases as pytest items")
    group.addoption(
        "--wasi",
        action="store_true",
        dest="wasi",
        default=None,
        help="collect every case of every [tool.wasitest] suite as a pytest item per cell",
    )
    group.addoption(
        "--no-wasi", action="store_false", dest="wasi", help="do not, even if the ini file says wasi = true"
    )
    group.addoption(
        "--wasi-matrix",
        action="store_true",
        dest="wasi_matrix",
        default=None,
        help="one item per cell of the matrix ([tool.wasitest.matrix] or `runtimes`), not only the default",
    )
    group.addoption(
        "--wasi-runtimes",
        dest="wasi_runtimes",
        metavar="A,B",
        help="the runtimes to run the cases (and the wasi_run fixture) on, e.g. wasmtime,node",
    )
    group.addoption(
        "--wasi-shard",
        dest="wasi_shard",
        metavar="K/N",
        help="collect only slice K of N of the cases (a stable hash of case and cell)",
    )
    group.addoption(
        "--wasi-project",
        dest="wasi_project",
        metavar="DIR",
        help="the folder holding [tool.wasitest] (default: the nearest one to the paths given, or to the folder "
        "pytest runs in)",
    )
    parser.addini("wasi", type="bool", default=False, help="collect the wasitest cases as if --wasi were given")
    parser.addini("wasi_matrix", type="bool", default=False, help="as --wasi-matrix")
    parser.addini("wasi_runtimes", type="args", default=[], help="as --wasi-runtimes (space- or comma-separated)")
    parser.addini("wasi_project", type="string", default="", help="as --wasi-project, relative to the rootdir")


@dataclass(frozen=True)
class WasiOptions:
    enabled: bool
    matrix: bool
    #: None: the project's choice (its default runtime, or its matrix with --wasi-matrix)
    runtimes: tuple[str, ...] | None
    shard: Shard | None
    project: Path


def _split(values: list[str]) -> tuple[str, ...] | None:
    names = tuple(name.strip() for value in values for name in value.split(",") if name.strip())
    return names or None


def read_options(config: pytest.Config) -> WasiOptions:
    """The options in force; a malformed value is a usage error, reported before collection."""
    enabled = config.getoption("wasi")
    matrix = config.getoption("wasi_matrix")
    runtimes = config.getoption("wasi_runtimes")
    shard_text = config.getoption("wasi_shard")
    project_arg = config.getoption("wasi_project")
    project_ini = str(config.getini("wasi_project") or "")
    try:
        shard = parse_shard(shard_text) if shard_text else None
    except WasitestError as exc:
        raise pytest.UsageError(f"wasitest: {for_pytest(exc.one_line())}") from None
    return WasiOptions(
        enabled=bool(config.getini("wasi") if enabled is None else enabled),
        matrix=bool(config.getini("wasi_matrix") if matrix is None else matrix),
        runtimes=_split([runtimes]) if runtimes is not None else _split(list(config.getini("wasi_runtimes"))),
        shard=shard,
        project=_project(config, project_arg, project_ini),
    )


def _project(config: pytest.Config, from_command_line: str | None, from_ini: str) -> Path:
    """The command line's folder is relative to where pytest was started, the ini's to the
    rootdir; without either, the nearest project (`nearest_project`)."""
    if from_command_line:
        return (config.invocation_params.dir / from_command_line).resolve()
    if from_ini:
        return (config.rootpath / from_ini).resolve()
    return nearest_project(config)


def nearest_project(config: pytest.Config) -> Path:
    """The folder of the wasitest configuration nearest to the first path given on the
    command line, else to the folder pytest was started in, looking upwards. The rootdir
    is where pytest found its own ini file, which in a bigger repository is often not the
    wasitest project's folder (`pytest --wasi` inside examples/quickstart must use the
    quickstart's configuration, not the repository's). Without one, the rootdir."""
    invoked = config.invocation_params.dir
    given = config.args if config.args_source is pytest.Config.ArgsSource.ARGS else []
    starts = [invoked / arg.split("::")[0] for arg in given if (invoked / arg.split("::")[0]).exists()]
    folder = (starts[0] if starts else invoked).resolve()
    folder = folder if folder.is_dir() else folder.parent
    for candidate in (folder, *folder.parents):
        if _has_config(candidate):
            return candidate
    return config.rootpath


def _has_config(folder: Path) -> bool:
    try:
        return find_config(folder)[0] is not None
    except WasitestError:
        return True  # a broken one is still the nearest: its error says what is wrong


#: the `wasitest` command's options in messages, and what does the same under pytest
_PYTEST_NAMES = {
    "--debug": "WASITEST_DEBUG=1",
    "--matrix": "--wasi-matrix",
    "--runtimes": "--wasi-runtimes",
    "--shard": "--wasi-shard",
}
_CLI_OPTION = re.compile(r"(?<![\w-])(--debug|--matrix|--runtimes|--shard)(?![\w-])")


def for_pytest(text: str) -> str:
    """A message of the core as it must read under pytest: the options it names are the
    ones that work there (pytest's own `--debug` writes pytest's debug log)."""
    return _CLI_OPTION.sub(lambda match: _PYTEST_NAMES[match.group(1)], text)

from __future__ import annotations

from pathlib import Path

import pytest

from wasitest.config import load_settings, parse_size
from wasitest.errors import ConfigError


def _project(tmp_path: Path, body: str, name: str = "pyproject.toml") -> Path:
    (tmp_path / name).write_text(body)
    return tmp_path


def test_suite_table_is_read_with_every_key(tmp_path: Path) -> None:
    project = _project(
        tmp_path,
        """
[tool.wasitest]
runtimes = ["wasmtime", "node"]
timeout = 30
[tool.wasitest.suites.unit]
builder = "zig"
sources = ["tests/*.c"]
harness = "clist"
env = { A = "1", B = 2 }
timeout = "5s"
memory = "64MiB"
xfail = ["x::y"]
""",
    )
    settings = load_settings(project, {})
    assert settings.runtimes == ("wasmtime", "node")
    assert settings.timeout_s == 30
    (suite,) = settings.suites
    assert (suite.name, suite.builder, suite.harness) == ("unit", "zig", "clist")
    assert suite.env == (("A", "1"), ("B", "2"))
    assert suite.timeout_s == 5.0
    assert suite.memory == 64 * 1024 * 1024
    assert suite.xfail == ("x::y",)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "[tool.wasitest]\nruntime = ['node']\n",
            "unknown key 'runtime' in [tool.wasitest] (did you mean 'runtimes'?)",
        ),
        ("[tool.wasitest.suites.u]\nbuilder='zig'\nsources=['a.c']\nharnes='clist'\n", "did you mean 'harness'?"),
        ("[tool.wasitest.suites.u]\nbuilder='zig'\n", "missing 'sources'"),
        ("[tool.wasitest.suites.u]\nbuilder='zig'\nsources=['a.c']\nmemory='lots'\n", "expected a size"),
        ("[tool.wasitest.suites.u]\nbuilder='zig'\nsources=['a.c']\ntimeout=-1\n", "must be positive"),
        ("[tool.wasitest\n", "invalid TOML"),
    ],
)
def test_bad_config_is_one_clear_error(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(_project(tmp_path, body), {})
    assert expected in info.value.one_line()
    assert "\n" not in info.value.one_line()


def test_wasitest_toml_wins_and_environment_overrides(tmp_path: Path) -> None:
    _project(tmp_path, "[tool.wasitest]\njobs = 1\n")
    _project(tmp_path, "jobs = 3\nruntimes = ['node']\n", "wasitest.toml")
    settings = load_settings(tmp_path, {"WASITEST_RUNTIMES": "wasmtime, node", "WASITEST_TIMEOUT": "7"})
    assert settings.config_file == tmp_path / "wasitest.toml"
    assert settings.jobs == 3
    assert settings.runtimes == ("wasmtime", "node")
    assert settings.timeout_s == 7.0


def test_unknown_environment_variable_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean 'RUNTIMES'"):
        load_settings(tmp_path, {"WASITEST_RUNTIME": "node"})


@pytest.mark.parametrize(
    ("text", "size"), [("64MiB", 64 << 20), ("1GiB", 1 << 30), ("500MB", 500_000_000), (4096, 4096)]
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text, "x") == size

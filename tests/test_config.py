from __future__ import annotations

from pathlib import Path

import pytest

from wasitest.config import load_settings, parse_size
from wasitest.errors import ConfigError, WasitestWarning
from wasitest.options import collect_options
from wasitest.plugin import load_registry


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


def test_unknown_environment_variable_is_a_warning(tmp_path: Path) -> None:
    """CI systems set many variables: an unknown one is ignored with a warning (issue 16)."""
    with pytest.warns(WasitestWarning, match="did you mean 'RUNTIMES'"):
        settings = load_settings(tmp_path, {"WASITEST_RUNTIME": "node"})
    assert settings.runtimes == ()


def test_the_junit_reporters_key_and_variable(tmp_path: Path) -> None:
    """`junit` and `WASITEST_JUNIT` are declared by the JUnit reporter, not the core."""
    options = collect_options(load_registry({"WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"}).pm)
    _project(tmp_path, '[tool.wasitest]\njunit = "out/junit.xml"\n')
    settings = load_settings(tmp_path, {}, options)
    assert settings.extra["junit"] == tmp_path.resolve() / "out" / "junit.xml"
    assert settings.outputs == (tmp_path.resolve() / "out" / "junit.xml",)
    assert load_settings(tmp_path, {"WASITEST_JUNIT": "e.xml"}, options).extra["junit"] == Path("e.xml")
    assert load_settings(tmp_path, {}, options).extra["quiet"] is False  # the console's flag, not given
    _project(tmp_path, '[tool.wasitest]\njunti = "x.xml"\n')
    with pytest.raises(ConfigError, match="did you mean 'junit'"):
        load_settings(tmp_path, {}, options)
    (tmp_path / "pyproject.toml").unlink()
    with pytest.warns(WasitestWarning, match="did you mean 'JUNIT'"):
        load_settings(tmp_path, {"WASITEST_JUNTI": "x"}, options)


@pytest.mark.parametrize(
    ("text", "size"), [("64MiB", 64 << 20), ("1GiB", 1 << 30), ("500MB", 500_000_000), (4096, 4096)]
)
def test_sizes(text: object, size: int) -> None:
    assert parse_size(text, "x") == size

"""One report path: `run`, `report` and `merge` render through the reporter plugins, the
plugins declare their own options (`wasitest_addoption`), and the core imports no plugin."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from wasitest import npm
from wasitest.cli import build_parser, main
from wasitest.config import Settings, load_settings
from wasitest.diff import DiffOptions, find_divergences
from wasitest.errors import ConfigError, ExitCode, WasitestWarning
from wasitest.markdown import render_markdown
from wasitest.model import Cell, Outcome, Result, RuntimeInfo
from wasitest.options import OptionParser, collect_options
from wasitest.plugin import Registry, get_plugin_manager, hookimpl
from wasitest.results import ResultsDocument, load_results, write_results
from wasitest.runplan import RunSummary
from wasitest.runtime_install import install_runtime, installable

PACKAGE = Path(__file__).resolve().parents[1] / "wasitest"


def _document() -> ResultsDocument:
    cells = [Cell("wasmtime", runtime_version="1.0"), Cell("node", runtime_version="22")]
    results = [
        Result("s/a", "same", "wasmtime", Outcome.PASSED),
        Result("s/a", "same", "node", Outcome.PASSED),
        Result("s/a", "differs", "wasmtime", Outcome.PASSED),
        Result("s/a", "differs", "node", Outcome.FAILED, "boom", exit_code=1, stderr="boom\n"),
    ]
    return ResultsDocument(cells=cells, results=results, divergences=find_divergences(results, DiffOptions()))


def _registry(*plugins: object) -> Registry:
    pm = get_plugin_manager({"WASITEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    for number, plugin in enumerate(plugins):
        pm.register(plugin, name=f"test-plugin-{number}")
    return Registry.collect(pm)


class Spy:
    """Sees what the reporters see at the end, and which reporters were registered then."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.summaries: list[RunSummary] = []
        self.reporters: list[str] = []

    @hookimpl
    def wasitest_run_end(self, summary: RunSummary) -> None:
        self.summaries.append(summary)
        self.reporters = sorted(n for n, _ in self.registry.pm.list_name_plugin() if n.startswith("reporter-"))


@pytest.mark.parametrize("command", ["merge", "report"])
def test_merge_and_report_write_every_report_through_the_hooks(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "shard.json"
    write_results(_document(), source)
    registry = _registry()
    spy = Spy(registry)
    registry.pm.register(spy, name="spy")
    out = {name: tmp_path / "out" / name for name in ("r.html", "s.md", "m.md", "j.xml", "r.json")}
    code = main([command, str(source), "--html", str(out["r.html"]), "--markdown", str(out["s.md"]),
                 "--matrix-md", str(out["m.md"]), "--junit", str(out["j.xml"]), "--results", str(out["r.json"])],
                registry)
    assert code == int(ExitCode.TESTS_FAILED)
    (summary,) = spy.summaries
    assert summary.plan is None and summary.exit_code is ExitCode.TESTS_FAILED
    assert spy.reporters == ["reporter-console", "reporter-html", "reporter-junit", "reporter-markdown",
                             "reporter-matrix-md", "reporter-results-json"]
    assert not [n for n, _ in registry.pm.list_name_plugin() if n.startswith("reporter-")]  # for this command only
    merged = load_results(out["r.json"])
    assert out["s.md"].read_text(encoding="utf-8") == render_markdown(merged)
    assert "differs" in out["m.md"].read_text(encoding="utf-8") and "<testsuites" in out["j.xml"].read_text()
    assert "<!DOCTYPE html>" in out["r.html"].read_text(encoding="utf-8")[:200]
    assert "wasitest results" in capsys.readouterr().out  # the console reporter's summary


def test_merge_and_report_render_the_same_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`merge` then `report` of what it wrote: the same HTML, Markdown and matrix."""
    write_results(_document(), tmp_path / "shard.json")
    outputs = ("--html", "a.html", "--markdown", "a.md", "--matrix-md", "a-matrix.md")
    main(["merge", str(tmp_path / "shard.json"), "--results", str(tmp_path / "merged.json"), "-q",
          *(str(tmp_path / "merge" / a) if a[0] != "-" else a for a in outputs)], _registry())
    main(["report", str(tmp_path / "merged.json"), "-q",
          *(str(tmp_path / "report" / a) if a[0] != "-" else a for a in outputs)], _registry())
    for name in ("a.html", "a.md", "a-matrix.md"):
        assert (tmp_path / "merge" / name).read_bytes() == (tmp_path / "report" / name).read_bytes()
    assert capsys.readouterr().out == ""  # -q, declared by the console reporter


def test_report_and_merge_write_no_results_json_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_results(_document(), tmp_path / "in.json")
    monkeypatch.chdir(tmp_path)
    for command in ("merge", "report"):
        main([command, str(tmp_path / "in.json"), "-q"], _registry())
    assert not (tmp_path / ".wasitest").exists()


def test_run_refuses_an_unwritable_report_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every output a plugin declares is checked as `--junit` always was: before the build."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    (tmp_path / "wasitest.toml").write_text("")  # no suites: a run that got further would say so
    assert main(["run", str(tmp_path), "--html", str(blocker / "r.html")], _registry()) == int(ExitCode.OUTPUT)
    assert "r.html: its folder is not writable" in capsys.readouterr().err
    assert not (tmp_path / ".wasitest").exists()


class ShoutReporter:
    """A third-party reporter: one line per cell, in capitals, to the file `--shout` names."""

    def __init__(self, path: Path, loud: bool) -> None:
        self.path = path
        self.loud = loud

    @hookimpl
    def wasitest_run_end(self, summary: RunSummary) -> None:
        lines = [c.id.upper() + ("!" if self.loud else "") for c in summary.document.cells]
        self.path.write_text("\n".join(lines) + "\n")


class ShoutPlugin:
    def __init__(self) -> None:
        self.settings: list[Settings] = []

    @hookimpl
    def wasitest_addoption(self, parser: OptionParser) -> None:
        parser.add_option("--shout", kind="output", key="shout", env="SHOUT", help="shout the cells here")
        parser.add_option("--loud", kind="flag", key="loud", env="LOUD", commands=("report",), help="louder")

    @hookimpl
    def wasitest_register_reporters(self, register: Any) -> None:
        register("shout", self._factory)

    def _factory(self, settings: Settings) -> ShoutReporter | None:
        self.settings.append(settings)
        path = settings.extra.get("shout")
        return ShoutReporter(Path(path), bool(settings.extra.get("loud"))) if path else None


def test_a_third_party_reporter_declares_its_option_and_sees_it(tmp_path: Path) -> None:
    plugin = ShoutPlugin()
    registry = _registry(plugin)
    write_results(_document(), tmp_path / "in.json")
    assert main(["report", str(tmp_path / "in.json"), "-q", "--shout", str(tmp_path / "s.txt"), "--loud"],
                registry) == int(ExitCode.TESTS_FAILED)
    assert (tmp_path / "s.txt").read_text() == "WASMTIME!\nNODE!\n"
    assert plugin.settings[-1].extra["shout"] == (tmp_path / "s.txt").resolve()
    main(["merge", str(tmp_path / "in.json"), "-q", "--shout", str(tmp_path / "m.txt")], registry)
    assert (tmp_path / "m.txt").read_text() == "WASMTIME\nNODE\n"
    # on the subcommands it names, only
    options = collect_options(registry.pm)
    assert build_parser(options).parse_args(["run", "--shout", "x"]).shout.name == "x"
    with pytest.raises(SystemExit):
        build_parser(options).parse_args(["merge", "in.json", "--loud"])


def test_a_plugins_config_key_and_variable_are_layered(tmp_path: Path) -> None:
    options = collect_options(_registry(ShoutPlugin()).pm)
    (tmp_path / "wasitest.toml").write_text('shout = "out/cells.txt"\nloud = true\n')
    settings = load_settings(tmp_path, {}, options)
    assert settings.extra["shout"] == tmp_path.resolve() / "out" / "cells.txt" and settings.extra["loud"] is True
    assert settings.outputs == (tmp_path.resolve() / "out" / "cells.txt",)  # checked before a run
    settings = load_settings(tmp_path, {"WASITEST_SHOUT": "elsewhere.txt", "WASITEST_LOUD": "0"}, options)
    assert settings.extra["shout"] == Path("elsewhere.txt") and settings.extra["loud"] is False
    (tmp_path / "wasitest.toml").write_text('shuot = "x"\n')
    with pytest.raises(ConfigError, match="did you mean 'shout'"):
        load_settings(tmp_path, {}, options)
    (tmp_path / "wasitest.toml").write_text("")
    with pytest.warns(WasitestWarning, match="did you mean 'SHOUT'"):  # a variable: a warning (issue 16)
        load_settings(tmp_path, {"WASITEST_SHOTU": "x"}, options)


class Clash:
    def __init__(self, *flags: str, key: str | None = None) -> None:
        self.flags = flags
        self.key = key

    @hookimpl
    def wasitest_addoption(self, parser: OptionParser) -> None:
        parser.add_option(*self.flags, dest="clash", key=self.key)


@pytest.mark.parametrize(
    ("plugin", "needle"),
    [
        (Clash("--junit"), "option flag '--junit'"),  # the JUnit reporter's
        (Clash("--results"), "--results clashes"),  # the core's
        (Clash("--x", key="junit"), "option key 'junit'"),
        (Clash("--x", key="jobs"), "key 'jobs', which is wasitest's own"),
    ],
)
def test_a_clashing_option_is_a_config_error(
    plugin: Clash, needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    registry = _registry(plugin)
    (tmp_path / "in.json").write_text("{}")
    argv = ["run", str(tmp_path)] if plugin.key == "jobs" else ["report", str(tmp_path / "in.json")]
    assert main(argv, registry) == int(ExitCode.CONFIG)
    assert needle in capsys.readouterr().err


# ------------------------------------------------------------------------- npm runtimes


class FakeNpmRuntime:
    """An adapter from the npm registry: it says so with `npm_tool` and `npm_packages`."""

    name = "fake_npm"
    npm_tool = "fake_tool"
    npm_packages = ("@fake/engine@2", "helper@1")
    installed = False

    def __init__(self) -> None:
        self._info: RuntimeInfo | None = None

    def info(self) -> RuntimeInfo:  # cached per object, as the kit's adapters do
        if self._info is None:
            reason = "" if FakeNpmRuntime.installed else "not installed"
            self._info = RuntimeInfo(self.name, not reason, version="2.0.1" if not reason else "", reason=reason)
        return self._info


class NotFromNpm:
    name = "plain"
    npm_tool = ""
    npm_packages: tuple[str, ...] = ()

    def info(self) -> RuntimeInfo:
        return RuntimeInfo(self.name, True)


def test_npm_runtimes_are_found_through_the_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runtime = FakeNpmRuntime()
    assert not runtime.info().available
    assert set(installable([runtime, NotFromNpm(), object()])) == {"fake_npm"}
    calls: list[tuple[str, tuple[str, ...]]] = []

    def fake_install(tool: str, packages: tuple[str, ...]) -> Path:
        calls.append((tool, tuple(packages)))
        FakeNpmRuntime.installed = True
        return tmp_path / tool

    monkeypatch.setattr(npm, "install", fake_install)
    monkeypatch.setattr(npm, "installed_version", lambda tool, package: "2.0.1" if package == "@fake/engine" else None)
    monkeypatch.setattr(FakeNpmRuntime, "installed", False)
    message = install_runtime("fake_npm", [runtime, NotFromNpm()])
    assert calls == [("fake_tool", ("@fake/engine@2", "helper@1"))]
    assert message == f"installed @fake/engine 2.0.1 into {tmp_path / 'fake_tool'}; fake_npm is available (2.0.1)"


# ------------------------------------------------------------------------- imports

#: core modules: everything outside the plugin packages (`pytest_plugin` is a front end
#: that loads like a plugin)
CORE = sorted(
    p for p in PACKAGE.rglob("*.py")
    if p.relative_to(PACKAGE).parts[0] not in ("plugins", "pytest_plugin")
)


def _imported_modules(source: str, package: str) -> set[str]:
    """Every module `source` (a module of `package`) imports, at any depth: lazy imports
    in functions too, relative ones resolved."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _package_of(path: Path) -> str:
    return ".".join(("wasitest", *path.relative_to(PACKAGE).parts[:-1]))


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_imports_no_plugin(path: Path) -> None:
    modules = _imported_modules(path.read_text(encoding="utf-8"), _package_of(path))
    plugins = sorted(m for m in modules if m == "wasitest.plugins" or m.startswith("wasitest.plugins."))
    assert not plugins, f"{path.relative_to(PACKAGE.parent)} imports {plugins}"


def test_the_import_check_sees_lazy_and_relative_imports() -> None:
    source = "\n".join(
        ["from . import api", "def f():", "    from ..plugins.reporters import markdown",
         "    import wasitest.plugins.x"]
    )
    modules = _imported_modules(source, "wasitest.github")
    assert {"wasitest.plugins.reporters.markdown", "wasitest.plugins.x", "wasitest.github.api"} <= modules
    assert {"cli.py", "runtime_install.py", "github/command.py", "github/comment.py"} <= {
        str(p.relative_to(PACKAGE)) for p in CORE}

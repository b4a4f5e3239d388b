"""Configuration: defaults, then `[tool.wasitest]` (or `wasitest.toml`), then `WASITEST_*`
environment variables, then the command line, each overriding the one before.

The keys and variables below are the core's. Plugins declare their own (the JUnit
reporter's `junit` and `WASITEST_JUNIT`, for one) through `wasitest_addoption`; a caller
passes those declarations (`options.collect_options`) to `load_settings`, and their values
land in `Settings.extra`, layered the same way.

Unknown keys are errors with a "did you mean" suggestion: a typo in a CI config should
fail the build, not silently run with defaults. An unknown `WASITEST_*` variable is only a
warning (with the suggestion): the environment of a CI job holds variables of many tools.
"""

from __future__ import annotations

import glob
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from wasitest.diff import BUILTIN_NORMALISERS, DiffOptions
from wasitest.errors import ConfigError, warn
from wasitest.matrix.spec import MatrixSpec, parse_matrix
from wasitest.model import WORLDS, check_world
from wasitest.options import Option, defaults, output_dests

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY = 512 * 1024 * 1024
#: what a job may write into its scratch dir: as much as its memory, which no unit test
#: needs more of, while a CI runner's free disk (often ~14 GB) survives a worker per core
DEFAULT_DISK = 512 * 1024 * 1024
DEFAULT_OUTPUT_CAP = 1024 * 1024
#: the runtime of a run that names none, and the one cases are listed on (discovery) when
#: it is available: the one definition of both
DEFAULT_RUNTIME = "wasmtime"

TOP_KEYS = frozenset(
    {
        "runtimes",
        "jobs",
        "timeout",
        "memory",
        "disk",
        "output_cap",
        "results",
        "journal",
        "suites",
        "matrix",
        "diff",
        "expect",
        "retries",
        "allow_unsafe",
        "isolation",
    }
)
SUITE_KEYS = frozenset(
    {
        "builder",
        "sources",
        "harness",
        "env",
        "timeout",
        "memory",
        "disk",
        "output_cap",
        "xfail",
        "flags",
        "args",
        "toolchain",
        "isolation",
        "world",
    }
)
ENV_PREFIX = "WASITEST_"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only for a typo: not on every command's way in

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B?|B)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "B": 1,
    "K": 1000,
    "KB": 1000,
    "KIB": 1024,
    "KI": 1024,
    "M": 10**6,
    "MB": 10**6,
    "MIB": 1024**2,
    "MI": 1024**2,
    "G": 10**9,
    "GB": 10**9,
    "GIB": 1024**3,
    "GI": 1024**3,
}


def parse_size(value: object, where: str) -> int:
    """`64MiB`, `1GiB`, `500MB` or a number of bytes."""
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a size like '64MiB', got {value!r}")
    if isinstance(value, int) and value > 0:
        return value
    match = _SIZE.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ConfigError(f"{where}: expected a size like '64MiB', got {value!r}", "use B, KiB, MiB or GiB")
    return int(float(match.group(1)) * _UNITS[(match.group(2) or "").upper()])


def parse_seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{where}: expected a number of seconds, got {value!r}")
    try:
        seconds = float(str(value).rstrip("s"))
    except ValueError:
        raise ConfigError(f"{where}: expected a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError(f"{where}: the timeout must be positive, got {value!r}")
    return seconds


def _str_list(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: expected a list of strings, got {value!r}")


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(
                f"unknown key {key!r} in {where}{did_you_mean(key, allowed)}",
                f"allowed keys: {', '.join(sorted(allowed))}",
            )


@dataclass(frozen=True)
class SuiteConfig:
    """One `[tool.wasitest.suites.NAME]` table, resolved against the project folder."""

    name: str
    builder: str
    sources: tuple[str, ...]
    harness: str
    root: Path
    env: tuple[tuple[str, str], ...] = ()
    timeout_s: float | None = None
    memory: int | None = None
    disk: int | None = None
    output_cap: int | None = None
    xfail: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    #: for builders that can use more than one compiler (`c`: "zig" or "clang")
    toolchain: str = ""
    #: "case" (every case its own instance) or "batch" (one instance runs an artifact's
    #: cases; the failing and unreported ones run again alone); "" means the run's default
    isolation: str = ""
    #: the world its artifacts run in: `p2` makes a builder's p1 modules into p2 command
    #: components (the modules stay as their p1 twins); "" keeps what the builder made
    world: str = ""


@dataclass(frozen=True)
class Expectation:
    """A known behaviour of one runtime, declared like a wasi-testsuite expectation file:
    cases matching `cases` (fnmatch on `ARTIFACT::CASE` or `SUITE/ARTIFACT::CASE`) in cells
    matching `runtime` (fnmatch on the cell id) are skipped or expected to fail."""

    runtime: str
    cases: tuple[str, ...]
    action: str  # "skip" | "xfail"
    reason: str = ""


EXPECT_KEYS = frozenset({"runtime", "cases", "action", "reason", "file", "suites"})
DIFF_KEYS = frozenset({"normalise", "baseline", "rerun"})


def parse_expectations(value: object, where: str, base: Path | None = None) -> tuple[Expectation, ...]:
    """`[[tool.wasitest.expect]]`; an entry with a `file` loads a wasi-testsuite expectation
    file (relative to `base`, the project folder) with `load_expectation_file`."""
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ConfigError(f"{where}: expected an array of tables ([[tool.wasitest.expect]])")
    found: list[Expectation] = []
    for number, entry in enumerate(value, start=1):
        here = f"{where}[{number}]"
        _check_keys(entry, EXPECT_KEYS, here)
        if "file" in entry:
            found += load_expectation_file(entry, base or Path.cwd(), here)
            continue
        if "suites" in entry:
            raise ConfigError(f"{here}: `suites` goes with `file` (a wasi-testsuite expectation file)")
        if "runtime" not in entry or "cases" not in entry:
            raise ConfigError(f"{here}: needs `runtime` and `cases`")
        action = str(entry.get("action", "xfail"))
        if action not in {"skip", "xfail"}:
            raise ConfigError(f"{here}.action: expected 'skip' or 'xfail', got {action!r}")
        found.append(
            Expectation(
                str(entry["runtime"]), _str_list(entry["cases"], f"{here}.cases"), action, str(entry.get("reason", ""))
            )
        )
    return tuple(found)


def load_expectation_file(entry: Mapping[str, Any], base: Path, where: str) -> list[Expectation]:
    """The expectations of a wasi-testsuite expectation file, for the cells matching the
    entry's `runtime` (such a file describes one runtime, e.g. `expectations/wasmtime/linux.toml`).

    The file is TOML: `version = 1`, then `[[suite]]` tables (`name`, the suite's manifest
    name) of `[[suite.test]]` tables (`name`, the module's stem) with `action = "skip"`
    and/or `expected = "fail"` (skip wins). A test matches the case of that name in every
    wasitest suite, or, when the entry has `suites = {"FILE SUITE" = "WASITEST SUITE"}`,
    only in the wasitest suites (names or fnmatch patterns) mapped from its file suite;
    file suites the mapping leaves out are not loaded.
    """
    for key in ("cases", "action"):
        if key in entry:
            raise ConfigError(f"{where}: `{key}` does not go with `file`", "the file says each test's action")
    if "runtime" not in entry or not isinstance(entry["file"], str):
        raise ConfigError(f"{where}: needs `runtime` and `file` (a path)")
    mapping = entry.get("suites")
    if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
        raise ConfigError(f'{where}.suites: expected a table of suite names, e.g. {{ "WASI C tests" = "wasi-c" }}')
    path = base / entry["file"]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}.file: {path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}.file: cannot read {path}: {exc}", "give a path relative to the project") from None
    if data.get("version", 1) != 1:
        raise ConfigError(f"{path}: expectation file version {data.get('version')!r}; this wasitest reads version 1")
    suites = data.get("suite", [])
    if not isinstance(suites, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in suites):
        raise ConfigError(f"{path}: expected [[suite]] tables, each with a string `name`")
    missing = sorted(set(mapping or {}) - {s["name"] for s in suites})
    if missing:
        raise ConfigError(f"{where}.suites: {path.name} has no suite {missing[0]!r}")
    found = []
    for suite in suites:
        if mapping is not None and suite["name"] not in mapping:
            continue
        target = mapping[suite["name"]] if mapping is not None else "*"
        tests = suite.get("test", [])
        if not isinstance(tests, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str)
                                                  for t in tests):
            raise ConfigError(f"{path}: suite {suite['name']!r}: expected [[suite.test]] tables with a string `name`")
        for test in tests:
            action = _file_action(test, f"{path}: test {test['name']!r}")
            name = glob.escape(test["name"])  # a test name is a name, not a pattern
            if action:
                reason = str(entry.get("reason", "")) or f"{entry['file']} ({suite['name']})"
                found.append(Expectation(str(entry["runtime"]), (f"{target}/{name}::{name}",), action, reason))
    return found


def _file_action(test: Mapping[str, Any], where: str) -> str:
    """`skip`, `xfail` or "" (`expected = "pass"` alone) for one `[[suite.test]]`."""
    action, expected = test.get("action"), test.get("expected")
    if action not in (None, "skip") or expected not in (None, "pass", "fail") or (action is None and expected is None):
        raise ConfigError(f'{where}: expected action = "skip" and/or expected = "fail" (or "pass")')
    return "skip" if action == "skip" else "xfail" if expected == "fail" else ""


def parse_diff(value: object, where: str) -> DiffOptions:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table")
    _check_keys(value, DIFF_KEYS, where)
    extra = []
    for pattern in _str_list(value.get("normalise", []), f"{where}.normalise"):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{where}.normalise: bad regular expression {pattern!r}: {exc}") from None
        extra.append((pattern, "<masked>"))
    baseline = value.get("baseline")
    rerun = value.get("rerun", 1)
    if not isinstance(rerun, int) or isinstance(rerun, bool) or rerun < 0:
        raise ConfigError(f"{where}.rerun must be a whole number >= 0 (0: report output divergences unconfirmed)")
    return DiffOptions(BUILTIN_NORMALISERS + tuple(extra), str(baseline) if baseline else None, rerun)


def isolation_of(settings: Settings, suite: SuiteConfig | None) -> str:
    return settings.isolation_override or (suite.isolation if suite else "") or settings.isolation


@dataclass(frozen=True)
class Settings:
    """Everything a run needs to know, after every layer of configuration."""

    project_dir: Path
    config_file: Path | None = None
    suites: tuple[SuiteConfig, ...] = ()
    runtimes: tuple[str, ...] = ()
    jobs: int = 0
    timeout_s: float = DEFAULT_TIMEOUT_S
    memory: int = DEFAULT_MEMORY
    #: what a job may write into its scratch dir (a suite's own `disk` wins)
    disk: int = DEFAULT_DISK
    output_cap: int = DEFAULT_OUTPUT_CAP
    results: Path | None = None
    journal: Path | None = None
    matrix: bool = False
    matrix_spec: MatrixSpec | None = None
    diff: DiffOptions = field(default_factory=DiffOptions)
    #: the default isolation mode; a suite's own `isolation` wins over it, and the command
    #: line's `--isolation` (`isolation_override`) over both
    isolation: str = "case"
    isolation_override: str = ""
    #: fnmatch patterns of cells allowed to run without the guarantees in `model.WAIVABLE`
    allow_unsafe: tuple[str, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    retries: int = 0
    fail_on_divergence: bool = False
    color: bool | None = None
    #: the values of the options plugins declare (`wasitest_addoption`), by their `dest`
    extra: Mapping[str, Any] = field(default_factory=dict)
    #: which of `extra` are files a plugin writes (options of kind "output")
    output_options: tuple[str, ...] = ()

    @property
    def work_dir(self) -> Path:
        return self.project_dir / ".wasitest"

    @property
    def outputs(self) -> tuple[Path, ...]:
        """The files the plugins were asked to write, for a run to check before it starts."""
        return tuple(Path(self.extra[d]) for d in self.output_options if self.extra.get(d))

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def find_config(project_dir: Path) -> tuple[Path | None, dict[str, Any]]:
    """`wasitest.toml` wins over `pyproject.toml`'s `[tool.wasitest]`."""
    standalone = project_dir / "wasitest.toml"
    pyproject = project_dir / "pyproject.toml"
    if standalone.is_file():
        return standalone, _read_toml(standalone)
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("wasitest")
        if table is not None:
            if not isinstance(table, dict):
                raise ConfigError(f"{pyproject}: [tool.wasitest] must be a table")
            return pyproject, table
    return None, {}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}", "fix the syntax at the position given") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None


def parse_suite(name: str, table: object, root: Path, where: str) -> SuiteConfig:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: must be a table")
    _check_keys(table, SUITE_KEYS, where)
    for required in ("builder", "sources"):
        if required not in table:
            raise ConfigError(f"{where}: missing {required!r}", "see the README's configuration section")
    env = table.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, (str, int, float)) for v in env.values()):
        raise ConfigError(f'{where}.env: expected a table of strings, e.g. env = {{ GREETING = "hello" }}')
    return SuiteConfig(
        name=name,
        builder=str(table["builder"]),
        sources=_str_list(table["sources"], f"{where}.sources"),
        harness=str(table.get("harness", "")),
        root=root,
        env=tuple((str(k), str(v)) for k, v in env.items()),
        timeout_s=parse_seconds(table["timeout"], f"{where}.timeout") if "timeout" in table else None,
        memory=parse_size(table["memory"], f"{where}.memory") if "memory" in table else None,
        disk=parse_size(table["disk"], f"{where}.disk") if "disk" in table else None,
        output_cap=parse_size(table["output_cap"], f"{where}.output_cap") if "output_cap" in table else None,
        xfail=_str_list(table.get("xfail", []), f"{where}.xfail"),
        flags=_str_list(table.get("flags", []), f"{where}.flags"),
        args=_str_list(table.get("args", []), f"{where}.args"),
        toolchain=str(table.get("toolchain", "")),
        isolation=_isolation(table.get("isolation", ""), f"{where}.isolation"),
        world=_world(table.get("world", ""), f"{where}.world"),
    )


ISOLATION_MODES = ("case", "batch")


def _world(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, one of {', '.join(WORLDS)}")
    check_world(value, where)
    return value


def _isolation(value: object, where: str) -> str:
    if value in ("", *ISOLATION_MODES):
        return str(value)
    raise ConfigError(f"{where}: expected 'case' or 'batch', got {value!r}{did_you_mean(str(value), ISOLATION_MODES)}")


def load_settings(project_dir: Path, environ: Mapping[str, str], options: Sequence[Option] = ()) -> Settings:
    """Read the project's configuration and the `WASITEST_*` variables from `environ`.

    `options` are the plugins' declared options: their keys and variables are read too
    (into `Settings.extra`). Without them only the core's keys are known.
    """
    if project_dir.is_file():
        raise ConfigError(f"{project_dir} is a file, not a project folder",
                          f"pass the folder holding pyproject.toml or wasitest.toml, e.g. {project_dir.parent}")
    if not project_dir.is_dir():
        raise ConfigError(f"project folder {project_dir} does not exist", "pass the folder holding pyproject.toml")
    project_dir = project_dir.resolve()
    config_file, table = find_config(project_dir)
    where = "[tool.wasitest]" if config_file and config_file.name == "pyproject.toml" else "wasitest.toml"
    plugin_keys = {o.key: o for o in options if o.key is not None}
    for key in plugin_keys.keys() & TOP_KEYS:
        raise ConfigError(f"a plugin declares the key {key!r}, which is wasitest's own", "rename the plugin's key")
    _check_keys(table, TOP_KEYS | frozenset(plugin_keys), where)
    suites_table = table.get("suites", {})
    if not isinstance(suites_table, dict):
        raise ConfigError(f"{where}.suites must be a table of suites")
    suites = tuple(
        parse_suite(name, body, project_dir, f"{where}.suites.{name}") for name, body in suites_table.items()
    )
    settings = Settings(
        project_dir=project_dir,
        config_file=config_file,
        suites=suites,
        runtimes=_str_list(table.get("runtimes", []), f"{where}.runtimes"),
        jobs=_positive_int(table.get("jobs", 0), f"{where}.jobs"),
        timeout_s=parse_seconds(table.get("timeout", DEFAULT_TIMEOUT_S), f"{where}.timeout"),
        memory=parse_size(table.get("memory", DEFAULT_MEMORY), f"{where}.memory"),
        disk=parse_size(table.get("disk", DEFAULT_DISK), f"{where}.disk"),
        output_cap=parse_size(table.get("output_cap", DEFAULT_OUTPUT_CAP), f"{where}.output_cap"),
        results=_path(table.get("results"), project_dir),
        journal=_path(table.get("journal"), project_dir),
        matrix_spec=parse_matrix(table["matrix"], f"{where}.matrix") if "matrix" in table else None,
        diff=parse_diff(table.get("diff", {}), f"{where}.diff"),
        expectations=parse_expectations(table.get("expect", []), f"{where}.expect", project_dir),
        retries=_positive_int(table.get("retries", 0), f"{where}.retries"),
        isolation=_isolation(table.get("isolation", "case"), f"{where}.isolation") or "case",
        allow_unsafe=_str_list(table.get("allow_unsafe", []), f"{where}.allow_unsafe"),
        extra={**defaults(options), **{o.dest: _from_config(o, table[o.key], project_dir, f"{where}.{o.key}")
                                       for o in options if o.key is not None and o.key in table}},
        output_options=output_dests(options),
    )
    return apply_environment(settings, environ, options)


ENV_KEYS = frozenset(
    {
        "RUNTIMES",
        "JOBS",
        "TIMEOUT",
        "MEMORY",
        "DISK",
        "RESULTS",
        "DISABLE_PLUGIN_AUTOLOAD",
        "DEBUG",
        "CACHE_DIR",
        "FAIL_ON_DIVERGENCE",
        "ALLOW_UNSAFE",
    }
)


def apply_environment(settings: Settings, environ: Mapping[str, str], options: Sequence[Option] = ()) -> Settings:
    plugin_vars = {o.env: o for o in options if o.env is not None}
    for name in plugin_vars.keys() & ENV_KEYS:
        raise ConfigError(f"a plugin declares the variable {ENV_PREFIX}{name}, which is wasitest's own",
                          "rename the plugin's variable")
    known = ENV_KEYS | plugin_vars.keys()
    changes: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        short = key[len(ENV_PREFIX) :]
        if short not in known:  # CI systems set many variables: a warning, not a failed build
            close = did_you_mean(short, known)
            warn(f"ignoring the unknown environment variable {key}{close}"
                 + ("" if close else f" (known: {', '.join(ENV_PREFIX + k for k in sorted(known))})"))
            continue
        where = f"${key}"
        if short in plugin_vars:
            option = plugin_vars[short]
            extra[option.dest] = _from_environment(option, value)
        elif short == "RUNTIMES":
            changes["runtimes"] = tuple(r.strip() for r in value.split(",") if r.strip())
        elif short == "JOBS":
            changes["jobs"] = _positive_int(value, where)
        elif short == "TIMEOUT":
            changes["timeout_s"] = parse_seconds(value, where)
        elif short == "MEMORY":
            changes["memory"] = parse_size(value, where)
        elif short == "DISK":
            changes["disk"] = parse_size(value, where)
        elif short == "RESULTS":
            changes["results"] = Path(value)
        elif short == "ALLOW_UNSAFE":
            changes["allow_unsafe"] = tuple(p.strip() for p in value.split(",") if p.strip())
        elif short == "FAIL_ON_DIVERGENCE":
            changes["fail_on_divergence"] = _true(value)
    if extra:
        changes["extra"] = {**settings.extra, **extra}
    return settings.with_overrides(**changes)


def _true(value: str) -> bool:
    return value.lower() in {"1", "true", "yes", "on"}


def _from_config(option: Option, value: object, project_dir: Path, where: str) -> object:
    """A declared option's value as `[tool.wasitest]` gives it; paths are the project's."""
    if option.kind == "flag":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if option.kind == "text":
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return _path(value, project_dir)


def _from_environment(option: Option, value: str) -> object:
    if option.kind == "flag":
        return _true(value)
    return value if option.kind == "text" else Path(value)


def _positive_int(value: object, where: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise ConfigError(f"{where}: expected a whole number, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"{where}: must not be negative, got {value!r}")
    return number


def _path(value: object, base: Path) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"expected a path, got {value!r}")
    return base / value

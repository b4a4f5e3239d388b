"""`wasi_run` and `wasi_runtime`: run a `.wasm` from a Python test, on each runtime.

A test that asks for `wasi_run` is parametrised by `wasi_runtime` over the runtimes (see
`runtime_params`), and `wasi_run(module, *args, env=..., files=..., timeout=...)` runs the
module there with the same isolation a wasitest job gets, through the core's `run_job`: a
fresh instance, a fresh scratch directory preopened at `.` and `/tmp`, only the environment
given, hard limits. The runtime sessions are opened once per pytest session in this
process and closed at its end; one whose adapter failed is opened afresh for the next run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from wasitest.config import (
    DEFAULT_DISK,
    DEFAULT_MEMORY,
    DEFAULT_OUTPUT_CAP,
    DEFAULT_TIMEOUT_S,
    load_settings,
    parse_seconds,
    parse_size,
)
from wasitest.errors import InputError, WasitestError
from wasitest.model import Cell, Execution, Invocation, RuntimeInfo
from wasitest.options import collect_options
from wasitest.plugin import Registry
from wasitest.pytest_plugin.nodes import register_markers
from wasitest.pytest_plugin.options import runtime_marker
from wasitest.pytest_plugin.state import get_state
from wasitest.runner.job import Sessions, WorkItem, run_job

FIXTURE_RUNTIME = "wasi_runtime"
#: the session-scoped fixture holding the runtime sessions `wasi_run` uses (a name with
#: an underscore: it is not meant to be requested by tests)
SESSIONS_FIXTURE = "_wasi_sessions"


class WasiRunner:
    """What `wasi_run` is: call it to run a module; `scratch` is the last run's scratch dir."""

    def __init__(self, runtime: str, info: RuntimeInfo, sessions: Sessions, scratch_base: Path) -> None:
        self.runtime = runtime
        self.info = info
        self._sessions = sessions
        self._scratch_base = scratch_base
        self._count = 0
        self.scratch: Path | None = None
        self.last: Execution | None = None

    def __call__(
        self,
        module: str | os.PathLike[str],
        *args: str,
        env: Mapping[str, str] | None = None,
        files: Mapping[str, str | bytes] | None = None,
        stdin: bytes = b"",
        timeout: float | str = DEFAULT_TIMEOUT_S,
        memory: int | str = DEFAULT_MEMORY,
        disk: int | str = DEFAULT_DISK,
        output_cap: int | str = DEFAULT_OUTPUT_CAP,
        argv0: str | None = None,
        preopen: bool = True,
    ) -> Execution:
        """Run `module` with argv `[argv0, *args]` (argv0 defaults to the file name).
        `preopen=False` grants no directory at all (for runtimes that cannot preopen)."""
        path = Path(module).resolve()
        if not path.is_file():
            raise InputError(f"wasi_run: no module at {module}", "build it first, or pass the path of a .wasm file")
        if files and not preopen:
            raise InputError("wasi_run: files= needs the scratch directory", "drop preopen=False, or the files")
        self._count += 1
        scratch = self._scratch_base / f"wasi-scratch-{self._count}"
        scratch.mkdir(parents=True)
        _write_files(scratch, files or {})
        invocation = Invocation(
            module=path,
            argv=(argv0 if argv0 is not None else path.name, *map(str, args)),
            env=tuple((str(k), str(v)) for k, v in (env or {}).items()),
            stdin=stdin,
            timeout_s=parse_seconds(timeout, "wasi_run(timeout=...)"),
            memory_limit=parse_size(memory, "wasi_run(memory=...)"),
            disk_limit=parse_size(disk, "wasi_run(disk=...)"),
            output_cap=parse_size(output_cap, "wasi_run(output_cap=...)"),
        )
        item = WorkItem(self._count, Cell(self.runtime), invocation, scratch=preopen)
        missing = sorted(c.value for c in item.needs() - self.info.capabilities)
        if missing:
            reason = f"{self.runtime} cannot enforce or provide: {', '.join(missing)}"
            raise pytest.skip.Exception(reason, _use_item_location=True)
        execution = run_job(item, self._sessions, scratch, keep_scratch=True)
        self.scratch, self.last = scratch, execution
        return execution


def _write_files(scratch: Path, files: Mapping[str, str | bytes]) -> None:
    root = scratch.resolve()
    for name, content in files.items():
        target = (scratch / name).resolve()
        if root not in target.parents:
            raise InputError(
                f"wasi_run: file {name!r} would be outside the scratch directory",
                "use a relative path such as 'data/input.txt'",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")


def _parametrized_by_user(metafunc: pytest.Metafunc) -> bool:
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if FIXTURE_RUNTIME in names:
            return True
    return False


def runtime_params(config: pytest.Config) -> list[object]:
    """The runtimes `wasi_runtime` takes: `--wasi-runtimes` (or the ini's `wasi_runtimes`),
    else the project's `[tool.wasitest] runtimes`, else every available runtime. A runtime
    that was named but cannot run here is kept as a skipped parameter that says why."""
    state = get_state(config)
    if state.fixture_params is None:
        registry = state.registry
        named = state.options.runtimes or _configured_runtimes(state.project, registry)
        names = list(named) if named else registry.runtimes.names()
        try:
            infos = {name: registry.runtimes.get(name).info() for name in names}
        except WasitestError as exc:
            raise pytest.UsageError(f"wasitest: {exc.one_line()}") from None
        if not named:
            infos = {name: info for name, info in infos.items() if info.available}
        register_markers(config, infos)
        params: list[object] = []
        for name, info in infos.items():
            marks = [getattr(pytest.mark, runtime_marker(name))]
            if not info.available:
                why = f"runtime {name} is not available: {info.reason or 'unknown reason'}"
                marks.append(pytest.mark.skip(reason=why + (f" ({info.install_hint})" if info.install_hint else "")))
            params.append(pytest.param(name, id=name, marks=marks))
        state.fixture_params = params
        state.fixture_infos = infos
    return state.fixture_params


def _configured_runtimes(project: Path, registry: Registry) -> tuple[str, ...]:
    try:
        settings = load_settings(project, os.environ, collect_options(registry.pm))
    except WasitestError:
        return ()  # a project that is not (validly) set up for wasitest: every available runtime
    return settings.runtimes if settings.config_file is not None else ()


def generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE_RUNTIME in metafunc.fixturenames and not _parametrized_by_user(metafunc):
        metafunc.parametrize(FIXTURE_RUNTIME, runtime_params(metafunc.config), indirect=True)


@pytest.fixture(scope="session", name=SESSIONS_FIXTURE)
def wasi_sessions(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    cache = getattr(pytestconfig, "cache", None)
    cache_dir = cache.mkdir("wasitest") if cache is not None else tmp_path_factory.mktemp("wasitest-cache")
    sessions = Sessions.of(get_state(pytestconfig).registry, Path(cache_dir), reopen_after_failure=True)
    yield sessions
    sessions.close()


@pytest.fixture
def wasi_runtime(request: pytest.FixtureRequest) -> str:
    """The runtime this test runs on; wasitest parametrises it over the runtimes."""
    runtime = getattr(request, "param", None)
    if not isinstance(runtime, str):
        pytest.fail("wasi_runtime has no value: request it from a test function (wasitest parametrises it)")
    return runtime


@pytest.fixture
def wasi_run(
    wasi_runtime: str, _wasi_sessions: Sessions, tmp_path: Path, pytestconfig: pytest.Config
) -> WasiRunner:
    """Run a `.wasm` on this test's runtime: `wasi_run(module, *args, env=, files=, timeout=, memory=, disk=)`."""
    state = get_state(pytestconfig)
    info = (state.fixture_infos or {}).get(wasi_runtime) or state.registry.runtimes.get(wasi_runtime).info()
    return WasiRunner(wasi_runtime, info, _wasi_sessions, tmp_path)

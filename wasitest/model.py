"""The words of DESIGN.md as small frozen dataclasses.

Everything that crosses a process boundary (invocations to workers, executions back) is
made of these, so they hold only plain, picklable values.
"""

from __future__ import annotations

import base64
import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import Any

from wasitest.errors import ConfigError


class Outcome(enum.StrEnum):
    """A job's outcome. The string values are what `results.json` stores."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    TIMEOUT = "timeout"
    TRAPPED = "trapped"
    CRASHED = "crashed"
    ERROR = "error"
    UNSUPPORTED = "unsupported"
    #: declared as expected to fail, and did fail (any non-passing, non-skipped way)
    XFAILED = "xfailed"
    #: declared as expected to fail, but passed: counts as a failure (strict xfail)
    XPASSED = "xpassed"
    #: failed, then passed when retried (`--retries`): reported, but does not fail the run
    FLAKY = "flaky"

    @property
    def is_failure(self) -> bool:
        """Whether this outcome makes the run fail (exit code 1)."""
        return self in _FAILURES


_FAILURES = frozenset(
    {Outcome.FAILED, Outcome.TIMEOUT, Outcome.TRAPPED, Outcome.CRASHED, Outcome.ERROR, Outcome.XPASSED}
)


class TrapKind(enum.StrEnum):
    """Runtime-independent trap kinds; each adapter maps its own messages onto these."""

    UNREACHABLE = "unreachable"
    MEMORY_OUT_OF_BOUNDS = "memory_out_of_bounds"
    STACK_OVERFLOW = "stack_overflow"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    #: wrote more than the job's disk limit into its scratch dir (the runner's own watch)
    DISK_LIMIT = "disk_limit"
    OTHER = "other"


class Capability(enum.StrEnum):
    """What a runtime adapter can enforce or provide; a job that needs one it lacks is
    `unsupported` on that runtime rather than run unsafely."""

    PREOPEN = "preopen"
    STDIN = "stdin"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    ENV_ISOLATION = "env_isolation"
    #: nothing a module can name or make (`..`, absolute paths, its own links, links in the
    #: test data copied in) leads outside its preopened directories
    FS_CONTAINMENT = "fs_containment"


#: what a user may waive for a runtime (`allow_unsafe`); limits and env isolation never
WAIVABLE = frozenset({Capability.FS_CONTAINMENT})

#: which WASI an artifact speaks: `p1`, a core module (wasm32-wasip1); `p2` and `p3`,
#: components of the `wasi:cli/command` world of WASI 0.2 and 0.3
WORLDS = ("p1", "p2", "p3")


def job_id(artifact: str, case: str, cell: str) -> str:
    """What a job is known by (`Job.id`, `Result.job_id`): `ARTIFACT::CASE[CELL]`."""
    return f"{artifact}::{case}[{cell}]"


def check_world(world: str, where: str) -> None:
    """A world name must be one of `WORLDS` ("" is no world named)."""
    if world and world not in WORLDS:
        raise ConfigError(f"{where}: unknown world {world!r}", f"worlds are {', '.join(WORLDS)}")


#: how long past a job's time limit the worker pool waits for its answer before it kills the
#: worker running it; the one grace of the timeout (see `Invocation.backstop_s`)
TIMEOUT_GRACE_S = 10.0

#: how a pool worker ends itself when it stops a `killable` job at its time limit, or past
#: its disk limit: the pool reads the job's verdict from the exit code (GNU `timeout`'s 124)
WORKER_EXIT_TIME_LIMIT = 124
WORKER_EXIT_DISK_LIMIT = 125


@dataclass(frozen=True)
class Invocation:
    """One run of one module: what a runtime adapter is asked to do.

    `argv[0]` is the program name. `preopens` maps a host directory to its guest path.
    `timeout_s` and `memory_limit` are hard limits the adapter must enforce;
    `output_cap` bounds how many bytes of each of stdout and stderr are kept.
    `disk_limit` bounds what the job may write into its scratch dir: the runner enforces
    it for every runtime (`wasitest.runner.disk`), adapters need not look at it.
    """

    module: Path
    argv: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    preopens: tuple[tuple[Path, str], ...] = ()
    stdin: bytes = b""
    timeout_s: float = 60.0
    memory_limit: int = 512 * 1024 * 1024
    output_cap: int = 1024 * 1024
    disk_limit: int = 512 * 1024 * 1024
    #: the module's world: `p1` for a core module, `p2`/`p3` for a component
    world: str = "p1"
    #: the sha256 of `module`'s content when the build recorded it ("" when not known): a
    #: runtime's module cache keys by it instead of reading and hashing the file, which
    #: for a suite of thousands of small modules costs more than running each
    module_sha256: str = ""
    #: the job may be stopped by ending the process that runs it (a pool worker), so a
    #: runtime may run it without time checks of its own (embedded Wasmtime's epoch checks
    #: cost a guest 12-16%): only for jobs whose output matters to no one once they are past
    #: their limits, a batch (its cases run again alone) or a listing (it fails either way)
    killable: bool = False

    @property
    def backstop_s(self) -> float:
        """When an adapter stops a runtime of its own (a process, a helper) that ignored the
        time limit: half-way into the pool's grace, so the adapter reports what it saw
        before the pool gives up on the worker."""
        return self.timeout_s + TIMEOUT_GRACE_S / 2

    def with_preopens(self, preopens: tuple[tuple[Path, str], ...]) -> Invocation:
        """This invocation with other preopens. The runner makes one such copy a job (its
        scratch dir added), so it copies the fields as they are rather than through
        `dataclasses.replace`, whose field-by-field construction costs several times more."""
        copy = object.__new__(Invocation)
        copy.__dict__.update(self.__dict__)
        copy.__dict__["preopens"] = preopens
        return copy

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (to a worker, a batch at a time) with the module's path as text: a
        `Path` unpickles by parsing its parts again, which for a suite of thousands of
        modules cost a worker more than the rest of the invocation (5 us of 6)."""
        values = tuple(self.__dict__[name] for name in _INVOCATION_FIELDS[1:])
        return _unpickled_invocation, (str(self.module), values)

    def needs(self) -> frozenset[Capability]:
        """The capabilities a runtime must have to run this invocation safely."""
        needed = {Capability.TIMEOUT, Capability.MEMORY_LIMIT, Capability.ENV_ISOLATION}
        if self.preopens:
            needed |= {Capability.PREOPEN, Capability.FS_CONTAINMENT}
        if self.stdin:
            needed.add(Capability.STDIN)
        return frozenset(needed)


_INVOCATION_FIELDS = tuple(f.name for f in fields(Invocation))
assert _INVOCATION_FIELDS[0] == "module"


@functools.lru_cache(maxsize=4096)
def _module_path(text: str) -> Path:
    """A module's path, parsed once a process (a worker runs a module's cases one by one)."""
    return Path(text)


def _unpickled_invocation(module: str, values: tuple[Any, ...]) -> Invocation:
    invocation = object.__new__(Invocation)
    invocation.__dict__.update(zip(_INVOCATION_FIELDS, (_module_path(module), *values), strict=True))
    return invocation


@dataclass(frozen=True)
class Execution:
    """What a runtime reports back for one invocation.

    Exactly one of `exit_code` and `trap` is set, unless `error` says the runtime could not
    run the module at all (a bad module, an adapter failure), `unsupported` says it must not
    (a capability the job needs is missing), or `crash` says the worker process died.
    """

    exit_code: int | None = None
    trap: TrapKind | None = None
    trap_message: str = ""
    stdout: bytes = b""
    stderr: bytes = b""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration_s: float = 0.0
    error: str = ""
    unsupported: str = ""
    #: set by the worker pool when the process running the job died
    crash: str = ""


@dataclass(frozen=True)
class RuntimeInfo:
    """What `wasitest runtimes` shows for one runtime on this host."""

    name: str
    available: bool
    version: str = ""
    reason: str = ""
    install_hint: str = ""
    capabilities: frozenset[Capability] = frozenset()
    #: the runtime options (matrix axes) `open_session(cache_dir, options=...)` accepts
    options: frozenset[str] = frozenset()
    #: the worlds it runs (see `WORLDS`); a job of another world is `unsupported` there
    worlds: tuple[str, ...] = ("p1",)


@dataclass(frozen=True)
class Cell:
    """One column of the matrix: a runtime on a host, with runtime options, in a world.

    Its id is `RUNTIME`, then `@HOST` unless the host is `local`, then `:WORLD` when the
    cell runs every artifact in one world (the matrix's `world` axis; by default each
    artifact runs in its own), then `+KEY=VALUE` for each option: `wasmtime`,
    `wasmtime-cli@linux-aarch64`, `wasmtime:p2`, `wasmtime+opt_level=0`.
    """

    runtime: str
    host: str = "local"
    runtime_version: str = ""
    options: tuple[tuple[str, str], ...] = ()
    #: the OS and CPU the runtime really ran on, e.g. `linux-x86_64`; set when the run starts
    platform: str = ""
    #: guarantees the user waived for this cell (`allow_unsafe`), reported with its results
    unsafe: tuple[str, ...] = field(default=(), compare=False)
    #: the world every artifact runs in here ("": each in its own)
    world: str = ""

    @cached_property
    def id(self) -> str:
        text = self.runtime if self.host == "local" else f"{self.runtime}@{self.host}"
        text += f":{self.world}" if self.world else ""
        return text + "".join(f"+{key}={value}" for key, value in self.options)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "runtime": self.runtime,
            "runtime_version": self.runtime_version,
            "host": self.host,
            "platform": self.platform,
        }
        if self.options:
            data["options"] = dict(self.options)
        if self.unsafe:
            data["unsafe"] = list(self.unsafe)
        if self.world:
            data["world"] = self.world
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        options = tuple(sorted((str(k), str(v)) for k, v in dict(data.get("options", {})).items()))
        return cls(
            str(data["runtime"]),
            str(data.get("host", "local")),
            str(data.get("runtime_version", "")),
            options,
            str(data.get("platform", "")),
            tuple(str(u) for u in data.get("unsafe", [])),
            str(data.get("world", "")),
        )


@dataclass(frozen=True)
class Twin:
    """The same tests as an artifact, built for another world (a p1 module made into a p2
    component, say): a cell of that world runs this file instead."""

    world: str
    path: Path
    sha256: str


@dataclass(frozen=True)
class Artifact:
    """One built `.wasm` with what the harness and the manifest need to know about it.

    `world` is the one it speaks; `twins` are the same tests in other worlds. A cell of
    the matrix's `world` axis runs the form of its world (`form`); cases are the same in
    every form, so results of all forms compare, and differ only by the cell.
    """

    suite: str
    name: str
    path: Path
    harness: str
    sha256: str
    toolchain: str = ""
    flags: tuple[str, ...] = ()
    #: the folder a case runs "from" (tests that read `testdata/`); preopened read-only as '.'
    source_dir: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    world: str = "p1"
    twins: tuple[Twin, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.suite}/{self.name}"

    def form(self, world: str) -> Twin | None:
        """The file that speaks `world` ("" for the artifact's own), or None."""
        if world in ("", self.world):
            return Twin(self.world, self.path, self.sha256)
        return next((twin for twin in self.twins if twin.world == world), None)

    @property
    def worlds(self) -> tuple[str, ...]:
        return (self.world, *(twin.world for twin in self.twins))

    def to_json(self, *, portable: bool = False) -> dict[str, Any]:
        """What `results.json` and the journal record of the artifact: which module was
        built, from what and how. `portable` adds the harness's `extra` data, which a
        bundle needs to run it elsewhere; the module's path is for the bundle to give, as
        the file moves with it (see `from_json`)."""
        data: dict[str, Any] = {
            "id": self.id,
            "suite": self.suite,
            "name": self.name,
            "sha256": self.sha256,
            "harness": self.harness,
            "toolchain": self.toolchain,
            "flags": list(self.flags),
            "world": self.world,
        }
        if self.twins:
            data["twins"] = [{"world": t.world, "sha256": t.sha256} for t in self.twins]
        if portable:
            data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: Path, twin_paths: Mapping[str, Path] | None = None) -> Artifact:
        """The artifact `to_json(portable=True)` wrote, its module now at `path` and its
        twins' at `twin_paths` (by world); a missing or malformed key raises KeyError,
        TypeError or ValueError."""
        paths = twin_paths or {}
        return cls(
            suite=data["suite"],
            name=data["name"],
            path=path,
            harness=data["harness"],
            sha256=data["sha256"],
            toolchain=data["toolchain"],
            flags=tuple(data["flags"]),
            extra=data.get("extra", {}),
            world=str(data.get("world", "p1")),
            twins=tuple(Twin(str(t["world"]), paths[t["world"]], str(t["sha256"])) for t in data.get("twins", [])),
        )


@dataclass(frozen=True)
class Case:
    """One test inside an artifact, and how to run exactly it.

    `env` adds to the suite's granted environment. `copy_in` names host files or folders
    copied into the job's scratch directory (at the given relative path) before it runs:
    test data is copied, never granted in place. `meta` is the harness's own JSON-able
    data (expected outputs, say), cached with the case list. `scratch_preopens` preopens
    folders of the scratch dir at further guest paths (a spec's `dirs`, or `/`);
    `default_preopens=False` leaves out the scratch dir itself at `.` and `/tmp`, so those
    are the only preopens (a wasi-testsuite spec grants exactly the folders it names).
    """

    artifact: Artifact
    name: str
    argv: tuple[str, ...]
    stdin: bytes = b""
    env: tuple[tuple[str, str], ...] = ()
    copy_in: tuple[tuple[str, str], ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: (path inside the scratch dir, guest path): more preopens, all inside the scratch dir
    scratch_preopens: tuple[tuple[str, str], ...] = ()
    #: whether the scratch dir itself is preopened at "." and "/tmp" (SCRATCH_GUEST_PATHS)
    default_preopens: bool = True

    @property
    def id(self) -> str:
        return f"{self.artifact.id}::{self.name}"

    def to_json(self) -> dict[str, Any]:
        """The case without its artifact, under which it is stored (the case cache, a
        bundle's manifest); `stdin` is base64."""
        return {
            "name": self.name,
            "argv": list(self.argv),
            "stdin": base64.b64encode(self.stdin).decode(),
            "env": [list(pair) for pair in self.env],
            "copy_in": [list(pair) for pair in self.copy_in],
            "meta": dict(self.meta),
            "scratch_preopens": [list(pair) for pair in self.scratch_preopens],
            "default_preopens": self.default_preopens,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], artifact: Artifact) -> Case:
        """The case `to_json` wrote, of `artifact`. Case lists written before
        `scratch_preopens` existed read as the defaults. A missing or malformed key raises
        KeyError, TypeError or ValueError (bad base64 too)."""
        stdin = data["stdin"]
        return cls(
            artifact,
            data["name"],
            tuple(data["argv"]),
            b"" if stdin == "" else base64.b64decode(stdin),
            _pairs(data["env"]),
            _pairs(data["copy_in"]),
            data["meta"],
            _pairs(data.get("scratch_preopens", ())),
            bool(data.get("default_preopens", True)),
        )


def _pairs(rows: Sequence[Sequence[str]]) -> tuple[tuple[str, str], ...]:
    """Pairs read back from JSON lists; a row that is not a pair raises ValueError. Most
    are empty: a suite of thousands of one-case modules reads four per case every run."""
    return tuple((first, second) for first, second in rows) if rows else ()


@dataclass(frozen=True)
class SubVerdict:
    """A test inside the case that the binary reported on its own (a Go subtest, say).
    `name` is the full case name, e.g. `TestSplit/empty`."""

    name: str
    outcome: Outcome
    message: str = ""
    duration_s: float = 0.0
    #: where in the test's sources it failed or skipped (see `Verdict.file`)
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Verdict:
    """A harness's reading of one execution. `unreported` names subcases the instance
    started but never reported on because it died in another one (Go prints a subtest's
    result only when its parent ends): the runner runs each of them alone
    (`SubcaseHarness`), rather than charge them with a death that was not theirs."""

    outcome: Outcome
    message: str = ""
    subcases: tuple[SubVerdict, ...] = ()
    unreported: tuple[str, ...] = ()
    #: where in the test's sources it failed or skipped, as the binary named it (`tests/a.c`
    #: and line 12 from `tests/a.c:12: check failed`); "" and 0 when it did not say. The
    #: result carries them into results.json and the JUnit `file`/`line` attributes.
    file: str = ""
    line: int = 0


@dataclass(frozen=True)
class Job:
    """One case in one cell."""

    case: Case
    cell: Cell
    expected_failure: bool = False
    #: a per-runtime expectation that applies: `xfail: REASON` or `skip: REASON`
    expectation: str = ""

    @property
    def id(self) -> str:
        return job_id(self.case.artifact.id, self.case.name, self.cell.id)


@dataclass(frozen=True)
class Result:
    """A job's recorded result: what goes into `results.jsonl` and `results.json`."""

    artifact: str
    case: str
    cell: str
    outcome: Outcome
    message: str = ""
    exit_code: int | None = None
    trap: str | None = None
    duration_s: float = 0.0
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    #: a per-runtime expectation that applied (`xfail: REASON` or `skip: REASON`)
    expectation: str = ""
    #: earlier attempts of a retried job: outcome, message, duration of each
    attempts: tuple[Mapping[str, Any], ...] = ()
    #: where the harness located the failure in the test's sources
    file: str = ""
    line: int = 0
    #: read from a batch run of its artifact (`batch` isolation), not from an instance of its own
    batched: bool = False
    #: run again to confirm an output divergence, this cell's output came out different:
    #: its output is not deterministic, so it makes no divergence
    output_varies: bool = False

    @property
    def job_id(self) -> str:
        return job_id(self.artifact, self.case, self.cell)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "artifact": self.artifact,
            "case": self.case,
            "cell": self.cell,
            "outcome": self.outcome.value,
            "message": self.message,
            "exit_code": self.exit_code,
            "trap": self.trap,
            "duration_s": round(self.duration_s, 6),
            "stdout": self.stdout,
            "stderr": self.stderr,
        }
        if self.stdout_truncated:
            data["stdout_truncated"] = True
        if self.stderr_truncated:
            data["stderr_truncated"] = True
        if self.expectation:
            data["expectation"] = self.expectation
        if self.attempts:
            data["attempts"] = [dict(a) for a in self.attempts]
        if self.file:
            data["file"], data["line"] = self.file, self.line
        if self.batched:
            data["batched"] = True
        if self.output_varies:
            data["output_varies"] = True
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Result:
        return cls(
            artifact=str(data["artifact"]),
            case=str(data["case"]),
            cell=str(data["cell"]),
            outcome=Outcome(data["outcome"]),
            message=str(data.get("message", "")),
            exit_code=data.get("exit_code"),
            trap=data.get("trap"),
            duration_s=float(data.get("duration_s", 0.0)),
            stdout=str(data.get("stdout", "")),
            stderr=str(data.get("stderr", "")),
            stdout_truncated=bool(data.get("stdout_truncated", False)),
            stderr_truncated=bool(data.get("stderr_truncated", False)),
            expectation=str(data.get("expectation", "")),
            attempts=tuple(dict(a) for a in data.get("attempts", [])),
            file=str(data.get("file", "")),
            line=int(data.get("line", 0)),
            batched=bool(data.get("batched", False)),
            output_varies=bool(data.get("output_varies", False)),
        )

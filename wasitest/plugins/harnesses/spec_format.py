"""wasi-testsuite's JSON spec, in both of its forms, read and checked.

The **flat form** (`args`, `env`, `dirs`, `exit_code`, `stdout`, `stderr`, plus wasitest's
own `root`) is how most of wasi-testsuite's preview-1 tests are written. The **operations
form** is its current format (`doc/specification.md`): a script of operations run in
order against one instance of the module,

    {"proposals": ["http"], "world": "wasi:cli/command", "endpoints": [...],
     "operations": [{"type": "run", "args": [], "env": {}, "dirs": []},
                    {"type": "write", "id": "stdin", "payload": "..."},
                    {"type": "read", "id": "stdout", "payload": "..."},
                    {"type": "wait", "exit_code": 0}]}

with `connect`/`send`/`recv` (a socket to a server the module runs), `request` (an HTTP
request to the module, when it is a `wasi:http/service`) and `kill` (a signal) besides.
`endpoints` are routes of an HTTP server the runner starts for the module to call. The
two forms do not mix, as in the reference runner.

Every spec is checked here as the reference runner's validator checks it: each `run` ends
with a `wait`, streams are used only while the module runs, `read` names stdout or
stderr, `write` names stdin, `send` and `recv` name a connection made before. What wasitest
can honour of a valid spec, and what it must report as `unsupported`, is decided by
`unsupported_reason`: the one place the components work extends when a runtime can honour
more.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from wasitest.config import did_you_mean
from wasitest.errors import InputError

#: the keys of the flat form; `wasi_functions` is informational in wasi-testsuite and ignored
SPEC_KEYS = frozenset({"args", "env", "dirs", "root", "exit_code", "stdout", "stderr", "wasi_functions"})
#: the keys of the operations form
OPERATION_SPEC_KEYS = frozenset({"operations", "proposals", "world", "endpoints", "wasi_functions"})
#: each operation's fields besides `type`
OPERATION_FIELDS: Mapping[str, frozenset[str]] = {
    "run": frozenset({"args", "env", "dirs"}),
    "wait": frozenset({"exit_code"}),
    "read": frozenset({"id", "payload"}),
    "write": frozenset({"id", "payload"}),
    "connect": frozenset({"id", "protocol_type"}),
    "send": frozenset({"id", "payload"}),
    "recv": frozenset({"id", "payload"}),
    "request": frozenset({"method", "path", "response"}),
    "kill": frozenset({"signal"}),
}
#: operations that talk to the module while it runs
INTERACTIVE = ("connect", "send", "recv", "request", "kill")
PROPOSALS = ("http", "sockets")
COMMAND_WORLD = "wasi:cli/command"
SPEC_WORLDS = (COMMAND_WORLD, "wasi:http/service")
PROTOCOLS = ("tcp", "udp", "http")
RESPONSE_KEYS = frozenset({"status", "headers", "body"})
ENDPOINT_KEYS = frozenset({"method", "path", "response"})
#: wasi-testsuite's WASI versions (a suite folder's name, or its manifest's `version`), as worlds
WASI_VERSIONS: Mapping[str, str] = {"wasm32-wasip1": "p1", "wasm32-wasip2": "p2", "wasm32-wasip3": "p3"}


@dataclass(frozen=True)
class Spec:
    """One parsed spec; the defaults are wasi-testsuite's: no args, empty env, exit 0.

    The flat form fills the first seven fields. The operations form fills `operations`
    (every operation with its defaults filled in), `proposals`, `world` and `endpoints`;
    `script` reads from it what one instance of the module is given and must do.
    """

    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    dirs: tuple[str, ...] = ()
    root: str | None = None
    exit_code: int = 0
    stdout: str | None = None
    stderr: str | None = None
    operations: tuple[Mapping[str, Any], ...] = ()
    proposals: tuple[str, ...] = ()
    world: str = ""
    endpoints: tuple[Mapping[str, Any], ...] = ()

    def folders(self) -> list[str]:
        """Every folder the spec names, each once: they are copied into the scratch dir."""
        if self.operations:
            return list(dict.fromkeys(d for op in self.operations if op["type"] == "run" for d in op["dirs"]))
        return list(dict.fromkeys([*self.dirs, *([self.root] if self.root else [])]))

    def to_json(self) -> dict[str, Any]:
        """The spec as `spec_from_json` reads it back (the builder stores it with the artifact)."""
        if self.operations:
            data: dict[str, Any] = {
                "operations": [dict(op) for op in self.operations],
                "proposals": list(self.proposals),
                "world": self.world,
            }
            if self.endpoints:
                data["endpoints"] = [dict(e) for e in self.endpoints]
            return data
        data = {"args": list(self.args), "env": dict(self.env), "dirs": list(self.dirs), "exit_code": self.exit_code}
        for key in ("root", "stdout", "stderr"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class Script:
    """What one instance of the module is given and must do, read from the operations form.

    The instance is the first `run`, up to its `wait`. Its `write`s to stdin are given to
    it up front, in order (the reference runner writes them while it runs; a program reading
    stdin cannot tell, since the runner's writes never depend on what it printed). Its
    `read`s of one stream, joined, are what that stream must start with: the reference
    runner reads exactly that many characters and checks them, and leaves the rest unread.
    """

    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    dirs: tuple[str, ...]
    stdin: str
    stdout: str
    stderr: str
    exit_code: int
    #: how many times the spec runs the module, and which interactive operations it uses
    runs: int
    interactive: tuple[str, ...]


def script(spec: Spec) -> Script:
    """The first instance of an operations-form spec (`spec.operations` is not empty)."""
    runs = [op for op in spec.operations if op["type"] == "run"]
    first = runs[0]
    start = list(spec.operations).index(first)
    span: list[Mapping[str, Any]] = []
    for op in spec.operations[start + 1 :]:
        span.append(op)
        if op["type"] == "wait":
            break

    def joined(kind: str, stream: str) -> str:
        return "".join(op["payload"] for op in span if op["type"] == kind and op["id"] == stream)

    return Script(
        args=tuple(first["args"]),
        env=tuple(first["env"].items()),
        dirs=tuple(first["dirs"]),
        stdin=joined("write", "stdin"),
        stdout=joined("read", "stdout"),
        stderr=joined("read", "stderr"),
        exit_code=int(span[-1]["exit_code"]),
        runs=len(runs),
        interactive=tuple(dict.fromkeys(op["type"] for op in spec.operations if op["type"] in INTERACTIVE)),
    )


def unsupported_reason(needs: Mapping[str, Any], worlds: Sequence[str]) -> str:
    """Why wasitest cannot honour what a spec needs, for an artifact with these `worlds`
    (its own and its twins'), or "" when it can.

    `needs` is what the harness recorded on the case: `wasi_version` (the suite's, from its
    folder name or manifest), the spec's `world`, `proposals` and `endpoints`, and of the
    operations form, how many `runs` and which `interactive` operations. This is the hook
    the components work extends as runtimes learn to honour more (a served world, a
    proposal's flags, a server started per job).
    """
    components = [w for w in worlds if w != "p1"]
    version = str(needs.get("wasi_version", ""))
    wanted = WASI_VERSIONS.get(version, "p1")
    if wanted != "p1" and wanted not in worlds:
        return f"the suite is {version}: needs a {wanted} component runtime, and this artifact has no {wanted} form"
    world = str(needs.get("world", ""))
    if world and world != COMMAND_WORLD:
        if not components:
            return f"its spec names the world {world}: needs a p2 component runtime, and this artifact is a core module"
        return f"its spec names the world {world}: needs a runtime serving it; wasitest's runtimes run commands only"
    proposals = [str(p) for p in needs.get("proposals", [])]
    if proposals and not components:
        return f"needs the WASI {proposals[0]} proposal, which a core module cannot use: needs a p2 component runtime"
    if proposals:
        return f"needs the WASI {proposals[0]} proposal enabled in the runtime, which wasitest does not do yet"
    interactive = list(needs.get("interactive", []))
    if interactive:
        return (
            f"talks to the module while it runs ({', '.join(interactive)}): a wasitest job is one instance "
            "whose input is given up front"
        )
    runs = int(needs.get("runs", 1))
    if runs > 1:
        return f"runs the module {runs} times in one test, and a wasitest case is one instance"
    if needs.get("endpoints"):
        return "needs an HTTP server with its `endpoints`, which wasitest does not start for a job"
    return ""


# ---- reading ------------------------------------------------------------------------------


def _folder(value: object, where: str) -> str:
    """A folder beside the spec: relative, inside the spec's folder, not the folder itself."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where}: expected a folder name, got {value!r}", "name a folder beside the spec file")
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or str(path) == ".":
        raise InputError(
            f"{where}: {value!r} is not a folder beside the spec",
            'name a subfolder of the spec\'s folder, e.g. "fs-tests.dir"',
        )
    return str(path)


def _check_keys(data: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise InputError(
                f"{where}: unknown key {key!r}{did_you_mean(key, allowed)}",
                f"allowed keys: {', '.join(sorted(allowed))}",
            )


def _string(data: Mapping[str, Any], key: str, default: str, where: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise InputError(f"{where}: `{key}` must be a string, got {value!r}")
    return value


def _whole(data: Mapping[str, Any], key: str, default: int, where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: `{key}` must be a whole number, got {value!r}")
    return value


def _args(data: Mapping[str, Any], where: str) -> list[str]:
    args = data.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InputError(f"{where}: `args` must be a list of strings, got {args!r}")
    return args


def _env(data: Mapping[str, Any], where: str) -> dict[str, str]:
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise InputError(f"{where}: `env` must be an object of strings, got {env!r}", 'e.g. {"HOME": "/"}')
    return {str(k): v for k, v in env.items()}


def _dirs(data: Mapping[str, Any], where: str) -> list[str]:
    dirs = data.get("dirs", [])
    if not isinstance(dirs, list):
        raise InputError(f"{where}: `dirs` must be a list of folder names, got {dirs!r}")
    return [_folder(d, f"{where}: dirs") for d in dirs]


def _object(value: object, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{where}: {what} must be a JSON object, got {value!r}")
    return value


def _response(value: object, where: str) -> dict[str, Any]:
    """An HTTP response (an expected one, or an endpoint's): status, headers, body."""
    data = _object(value, "`response`", where)
    _check_keys(data, RESPONSE_KEYS, f"{where}: response")
    headers = data.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise InputError(f"{where}: response `headers` must be an object of strings, got {headers!r}")
    return {
        "status": _whole(data, "status", 200, f"{where}: response"),
        "headers": {str(k): v for k, v in headers.items()},
        "body": _string(data, "body", "", f"{where}: response"),
    }


def _operation(value: object, where: str) -> dict[str, Any]:
    """One operation with every field its type has, defaults filled in as the reference
    runner fills them."""
    data = _object(value, "an operation", where)
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in OPERATION_FIELDS:
        shown = did_you_mean(kind, OPERATION_FIELDS) if isinstance(kind, str) else ""
        raise InputError(
            f"{where}: unknown operation type {kind!r}{shown}", f"types: {', '.join(OPERATION_FIELDS)}"
        )
    where = f"{where} ({kind})"
    _check_keys(data, OPERATION_FIELDS[kind] | {"type"}, where)
    op: dict[str, Any] = {"type": kind}
    if kind == "run":
        op.update(args=_args(data, where), env=_env(data, where), dirs=_dirs(data, where))
    elif kind == "wait":
        op["exit_code"] = _whole(data, "exit_code", 0, where)
    elif kind in ("read", "write"):
        default = "stdout" if kind == "read" else "write"  # the reference runner's: a write must name stdin
        op.update(id=_string(data, "id", default, where), payload=_string(data, "payload", "", where))
    elif kind == "connect":
        protocol = _string(data, "protocol_type", "tcp", where)
        if protocol not in PROTOCOLS:
            raise InputError(f"{where}: unknown protocol_type {protocol!r}", f"one of {', '.join(PROTOCOLS)}")
        op.update(id=_string(data, "id", "server", where), protocol_type=protocol)
    elif kind in ("send", "recv"):
        if "id" not in data:
            raise InputError(f"{where}: needs the `id` of a connection made by `connect`")
        op.update(id=_string(data, "id", "", where), payload=_string(data, "payload", "", where))
    elif kind == "request":
        op.update(
            method=_string(data, "method", "GET", where),
            path=_string(data, "path", "/", where),
            response=_response(data.get("response", {}), where),
        )
    else:  # kill
        name = _string(data, "signal", "SIGTERM", where)
        if name not in signal.Signals.__members__:
            raise InputError(f"{where}: unknown signal {name!r}", "e.g. SIGINT or SIGTERM")
        op["signal"] = name
    return op


TO_MODULE, FROM_MODULE, CONNECTION = "pipe to the module", "pipe from the module", "connection"


def _check_script(operations: Sequence[Mapping[str, Any]], where: str) -> None:
    """The reference runner's validation: streams exist only while the module runs, each
    `run` ends with a `wait`, connections are named once and used after they are made."""
    running = False
    streams: dict[str, str] = {}
    for number, op in enumerate(operations, start=1):
        kind = op["type"]
        here = f"{where}: operation {number} ({kind})"
        if kind == "run":
            if running:
                raise InputError(f"{here}: the module from the `run` before still runs", "end that one with a `wait`")
            running = True
            streams = {"stdin": TO_MODULE, "stdout": FROM_MODULE, "stderr": FROM_MODULE}
            continue
        if not running:
            raise InputError(f"{here}: no module runs here", "put it between a `run` and its `wait`")
        if kind == "wait":
            running = False
            streams = {}
        elif kind in ("read", "write"):
            wanted = FROM_MODULE if kind == "read" else TO_MODULE
            if streams.get(op["id"]) != wanted:
                names = "stdout or stderr" if kind == "read" else "stdin"
                raise InputError(f"{here}: cannot {kind} {op['id']!r}", f"`id` must be {names}")
        elif kind == "connect":
            if op["id"] in streams:
                raise InputError(f"{here}: the id {op['id']!r} is taken", "give each connection its own id")
            streams[op["id"]] = CONNECTION
        elif kind in ("send", "recv") and streams.get(op["id"]) != CONNECTION:
            raise InputError(f"{here}: no connection {op['id']!r}", "make it with a `connect` first")
    if running:
        raise InputError(f"{where}: the last `run` has no `wait`", 'end it with {"type": "wait"}')


def _operations_form(data: Mapping[str, Any], where: str) -> Spec:
    _check_keys(data, OPERATION_SPEC_KEYS, where)
    raw = data.get("operations", [{"type": "run"}, {"type": "wait"}])
    if not isinstance(raw, list):
        raise InputError(f"{where}: `operations` must be a list of operations, got {raw!r}")
    operations = [_operation(op, f"{where}: operation {number}") for number, op in enumerate(raw, start=1)]
    if not any(op["type"] == "run" for op in operations):
        raise InputError(
            f"{where}: the `operations` form of wasi-testsuite specs is not supported without a `run` "
            "operation: these operations run nothing",
            'start with {"type": "run"} and end with {"type": "wait"}',
        )
    _check_script(operations, where)
    proposals = data.get("proposals", [])
    if not isinstance(proposals, list) or not all(isinstance(p, str) and p in PROPOSALS for p in proposals):
        raise InputError(f"{where}: `proposals` must be a list of {', '.join(PROPOSALS)}, got {proposals!r}")
    world = _string(data, "world", COMMAND_WORLD, where)
    if world not in SPEC_WORLDS:
        raise InputError(f"{where}: unknown world {world!r}", f"one of {', '.join(SPEC_WORLDS)}")
    endpoints = data.get("endpoints", [])
    if not isinstance(endpoints, list):
        raise InputError(f"{where}: `endpoints` must be a list of routes, got {endpoints!r}")
    routes = []
    for number, value in enumerate(endpoints, start=1):
        here = f"{where}: endpoint {number}"
        route = _object(value, "an endpoint", here)
        _check_keys(route, ENDPOINT_KEYS, here)
        routes.append(
            {
                "method": _string(route, "method", "GET", here),
                "path": _string(route, "path", "/", here),
                "response": _response(route.get("response", {}), here),
            }
        )
    return Spec(
        operations=tuple(operations),
        proposals=tuple(dict.fromkeys(proposals)),
        world=world,
        endpoints=tuple(routes),
    )


def _flat_form(data: Mapping[str, Any], where: str) -> Spec:
    _check_keys(data, SPEC_KEYS, where)
    root = data.get("root")
    outputs: dict[str, str | None] = {}
    for key in ("stdout", "stderr"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: `{key}` must be a string, got {value!r}")
        outputs[key] = value
    return Spec(
        args=tuple(_args(data, where)),
        env=tuple(_env(data, where).items()),
        dirs=tuple(_dirs(data, where)),
        root=_folder(root, f"{where}: root") if root is not None else None,
        exit_code=_whole(data, "exit_code", 0, where),
        stdout=outputs["stdout"],
        stderr=outputs["stderr"],
    )


def spec_from_json(data: object, where: str) -> Spec:
    """Check a decoded spec of either form; `where` (the file) is named in every error."""
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: a spec must be a JSON object, got {type(data).__name__}",
            'write e.g. {"args": ["x"], "exit_code": 0}',
        )
    operation_keys = (data.keys() & OPERATION_SPEC_KEYS) - {"wasi_functions"}
    if not operation_keys:
        return _flat_form(data, where)
    flat_keys = sorted((data.keys() & SPEC_KEYS) - {"wasi_functions"})
    if flat_keys:
        raise InputError(
            f"{where}: a spec cannot mix the flat form ({', '.join(flat_keys)}) with the operations form "
            f"({', '.join(sorted(operation_keys))})",
            "move args, env and dirs into the `run` operation, exit_code into `wait`, stdout and stderr into `read`s",
        )
    return _operations_form(data, where)


def read_json(path: Path, label: str, what: str) -> Any:
    """A JSON file of a wasi-testsuite folder (`what`: "spec file", "manifest"); unreadable
    or malformed, a one-line `InputError` naming `label`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{label}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", f"fix the {what}'s syntax"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {label}: {exc}") from None


def read_spec(path: Path, label: str) -> Spec:
    """Read and check a spec file; a malformed one is a one-line `InputError` naming `label`."""
    return spec_from_json(read_json(path, label, "spec file"), label)

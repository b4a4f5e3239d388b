"""The `spec` harness: wasi-testsuite style modules, each judged against its JSON spec.

A spec (`NAME.json` beside `NAME.wasm`, read by the `spec` builder) says how to run the
module and what it must do; every field is optional:

    {"args": ["a", "b"], "env": {"K": "V"}, "dirs": ["fs-tests.dir"], "root": "rootfs",
     "exit_code": 0, "stdout": "exact text\\n", "stderr": ""}

The module is one case. It passes when it exits with `exit_code` (default 0) and, for each
of `stdout` and `stderr` that the spec gives, printed exactly that; absent ones are not
checked. Folders named in `dirs` are copied into the job's scratch directory under their own
name and preopened at that name; `root` is copied the same way and preopened as `/`. Those
are the module's only preopens, as wasi-testsuite runs it: not the scratch directory itself
at `.` and `/tmp`, as other harnesses' cases get. docs/spec.md has the whole format.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from wasitest.config import did_you_mean
from wasitest.errors import InputError
from wasitest.model import Artifact, Case, Execution, Outcome, Verdict
from wasitest.plugin import hookimpl
from wasitest.plugins.harnesses.reading import no_exit, text
from wasitest.protocols import Execute, Harness

#: the keys a spec may have; `wasi_functions` is informational in wasi-testsuite and ignored
SPEC_KEYS = frozenset({"args", "env", "dirs", "root", "exit_code", "stdout", "stderr", "wasi_functions"})
MAX_SHOWN = 120


@dataclass(frozen=True)
class Spec:
    """One parsed spec; the defaults are wasi-testsuite's: no args, empty env, exit 0."""

    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    dirs: tuple[str, ...] = ()
    root: str | None = None
    exit_code: int = 0
    stdout: str | None = None
    stderr: str | None = None

    def folders(self) -> list[str]:
        """Every folder the spec names, each once: they are copied into the scratch dir."""
        return list(dict.fromkeys([*self.dirs, *([self.root] if self.root else [])]))

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "args": list(self.args),
            "env": dict(self.env),
            "dirs": list(self.dirs),
            "exit_code": self.exit_code,
        }
        for key in ("root", "stdout", "stderr"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


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


def spec_from_json(data: object, where: str) -> Spec:
    """Check a decoded spec; `where` (the file) is named in every error."""
    if not isinstance(data, dict):
        raise InputError(
            f"{where}: a spec must be a JSON object, got {type(data).__name__}",
            'write e.g. {"args": ["x"], "exit_code": 0}',
        )
    if "operations" in data:
        raise InputError(
            f"{where}: the `operations` form of wasi-testsuite specs is not supported",
            "use the flat form: args, env, dirs, root, exit_code, stdout, stderr",
        )
    for key in data:
        if key not in SPEC_KEYS:
            raise InputError(
                f"{where}: unknown key {key!r}{did_you_mean(key, SPEC_KEYS)}",
                f"allowed keys: {', '.join(sorted(SPEC_KEYS))}",
            )
    args = data.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise InputError(f"{where}: `args` must be a list of strings, got {args!r}")
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
        raise InputError(f"{where}: `env` must be an object of strings, got {env!r}", 'e.g. {"HOME": "/"}')
    dirs = data.get("dirs", [])
    if not isinstance(dirs, list):
        raise InputError(f"{where}: `dirs` must be a list of folder names, got {dirs!r}")
    root = data.get("root")
    code = data.get("exit_code", 0)
    if isinstance(code, bool) or not isinstance(code, int):
        raise InputError(f"{where}: `exit_code` must be a whole number, got {code!r}")
    outputs: dict[str, str | None] = {}
    for key in ("stdout", "stderr"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: `{key}` must be a string, got {value!r}")
        outputs[key] = value
    return Spec(
        args=tuple(args),
        env=tuple((str(k), v) for k, v in env.items()),
        dirs=tuple(_folder(d, f"{where}: dirs") for d in dirs),
        root=_folder(root, f"{where}: root") if root is not None else None,
        exit_code=code,
        stdout=outputs["stdout"],
        stderr=outputs["stderr"],
    )


def read_spec(path: Path, label: str) -> Spec:
    """Read and check a spec file; a malformed one is a one-line `InputError` naming `label`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{label}: invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "fix the spec file's syntax"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {label}: {exc}") from None
    return spec_from_json(data, label)


def _show(line: str | None) -> str:
    if line is None:
        return "end of output"
    shown = repr(line)
    return shown if len(shown) <= MAX_SHOWN else shown[: MAX_SHOWN - 4] + "...'"


def first_difference(name: str, expected: str, actual: str) -> str:
    """`stdout line 2: expected 'b\\n', got 'c\\n'`: the first line (with its ending) that differs."""
    want, got = expected.splitlines(keepends=True), actual.splitlines(keepends=True)
    for index in range(max(len(want), len(got))):
        a = want[index] if index < len(want) else None
        b = got[index] if index < len(got) else None
        if a != b:
            return f"{name} line {index + 1}: expected {_show(a)}, got {_show(b)}"
    return f"{name} differs"  # only reached for undecodable bytes that decode alike


def check_output(name: str, expected: str, actual: bytes, truncated: bool) -> str:
    """What differs between the output and the spec's, or an empty string when nothing does."""
    if actual == expected.encode():
        return ""
    if truncated:
        return f"{name} was cut at the output cap ({len(actual)} bytes kept), so it cannot match; raise output_cap"
    return first_difference(name, expected, text(actual))


class SpecHarness:
    """Runs the module once with its spec's args, env and folders; compares exit code and output."""

    name = "spec"

    def discover(self, artifact: Artifact, execute: Execute) -> Sequence[Case]:
        if "spec" not in artifact.extra:
            raise InputError(
                f"{artifact.id} has no spec: the spec harness runs what the spec builder built",
                'use builder = "spec" for this suite',
            )
        spec = spec_from_json(artifact.extra["spec"], artifact.id)
        data: Mapping[str, str] = artifact.extra.get("data", {})
        missing = [f for f in spec.folders() if f not in data]
        if missing:
            raise InputError(
                f"{artifact.id}: the folder {missing[0]!r} its spec names was not staged",
                'use builder = "spec" for this suite',
            )
        preopens = [(folder, folder) for folder in spec.dirs] + ([(spec.root, "/")] if spec.root else [])
        meta: dict[str, Any] = {"exit_code": spec.exit_code}
        for key in ("stdout", "stderr"):
            if getattr(spec, key) is not None:
                meta[key] = getattr(spec, key)
        return [
            Case(
                artifact=artifact,
                name=artifact.name,
                argv=(artifact.name, *spec.args),
                env=spec.env,
                copy_in=tuple((data[folder], folder) for folder in spec.folders()),
                scratch_preopens=tuple(preopens),
                default_preopens=False,
                meta=meta,
            )
        ]

    def verdict(self, case: Case, execution: Execution) -> Verdict:
        stopped = no_exit(execution)
        if stopped is not None:
            return stopped
        problems = []
        expected_code = int(case.meta.get("exit_code", 0))
        if execution.exit_code != expected_code:
            last = [line for line in text(execution.stderr).splitlines() if line.strip()][-1:]
            problems.append(
                f"exit code {execution.exit_code}, expected {expected_code}"
                + (f" (stderr: {last[0][:MAX_SHOWN]})" if last else "")
            )
        for name, actual, truncated in (
            ("stdout", execution.stdout, execution.stdout_truncated),
            ("stderr", execution.stderr, execution.stderr_truncated),
        ):
            expected = case.meta.get(name)
            if isinstance(expected, str):
                problem = check_output(name, expected, actual, truncated)
                if problem:
                    problems.append(problem)
        if problems:
            return Verdict(Outcome.FAILED, "\n".join(problems))
        return Verdict(Outcome.PASSED)


@hookimpl
def wasitest_register_harnesses(register: Callable[[Harness], None]) -> None:
    register(SpecHarness())

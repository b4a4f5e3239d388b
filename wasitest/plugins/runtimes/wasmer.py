"""Wasmer, through its Python SDK (the `wasmer-sdk` package): each job runs as a command in a
fresh Wasmer sandbox.

The SDK's own run timeout returns on time but does not stop a spinning guest: its thread
keeps running inside the process (measured: about a third of a CPU for each timed-out job,
for as long as the process lives). So the SDK runs in a helper process
(`python -m wasitest.plugins.runtimes.wasmer`, one per session) that is retired after a
job that timed out, and killed outright if it has not answered by `Invocation.backstop_s`.

Memory: through a copy of the module whose memories' maximum is lowered to the job's limit
(`wasmbin.cap_memory`); Wasmer has no limit of its own (a memory bomb grows to 2 GiB).

No preopens: a sandbox has a virtual file system of its own (`/`, `.` and `/` again are
preopened; `/tmp`, `/dev`, `/bin` exist in it) and the host can read and write only its
`/workspace` folder. A job's scratch directory is preopened at `.` and `/tmp`, one host
folder at two guest paths, which that cannot reproduce, so the capability is left out and
the runner reports every job that needs preopens as `unsupported`; a session asked to run
one anyway refuses it the same way.

Other differences, as measured (see the tests):
- the environment reaches the guest in an order of Wasmer's own (a hash map), not as given;
- `argv[0]` is the name of the package's command, which must be made of ASCII letters,
  digits and `-_.+`: another `argv[0]` becomes `main`;
- exit codes are cut: `proc_exit(256)` is seen as 0 and `proc_exit(-1)` as 65535;
- a trap discards whatever the guest had written to stdout and stderr.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from wasitest.model import Capability, Invocation, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.runtimes.kit import RuntimeAdapter, TrapTable
from wasitest.plugins.runtimes.kit.helper import HelperSession, serve
from wasitest.protocols import Runtime, RuntimeSession

NAME = "wasmer"
INSTALL_HINT = "pip install 'wasitest[wasmer]'"
CAPABILITIES = frozenset({Capability.STDIN, Capability.TIMEOUT, Capability.MEMORY_LIMIT, Capability.ENV_ISOLATION})
HELPER = __name__ if __name__ != "__main__" else "wasitest.plugins.runtimes.wasmer"
NO_PREOPENS = (
    "wasmer cannot preopen host directories: its sandboxes have a virtual file system that the host "
    "reaches only under /workspace"
)
_COMMAND_NAME = re.compile(r"[A-Za-z0-9_.+-]+")

#: Wasmer's trap text (`RuntimeError: unreachable`, ...)
TRAPS = TrapTable.of(
    ("unreachable", TrapKind.UNREACHABLE),
    ("out of bounds memory access", TrapKind.MEMORY_OUT_OF_BOUNDS),
    ("call stack exhausted", TrapKind.STACK_OVERFLOW),
)
trap_kind = TRAPS.kind


def command_name(argv0: str) -> str:
    """The package command name that makes the guest's `argv[0]`: argv[0] when Wasmer allows
    it as a name, else `main`."""
    return argv0 if _COMMAND_NAME.fullmatch(argv0) and argv0 not in (".", "..") else "main"


def _sdk() -> Any:
    """The wasmer_sdk package, imported only when used."""
    return importlib.import_module("wasmer_sdk")


def sdk_version() -> tuple[str, str]:
    try:
        _sdk()
    except ImportError as exc:
        return "", f"the wasmer-sdk package is not importable: {exc}"
    except OSError as exc:  # its native library could not be loaded
        return "", f"the wasmer-sdk package cannot load its native library: {exc}"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wasmer-sdk"), ""
    except PackageNotFoundError:
        return "unknown", ""


class WasmerSession(HelperSession):
    """Jobs go to the SDK in the helper process; the SDK captures the output itself."""

    helper = HELPER
    traps = TRAPS
    killed_message = "Wasmer did not stop at its timeout; killed it"

    def __init__(self, cache_dir: Path) -> None:
        super().__init__(cache_dir, NAME)

    def refuse(self, invocation: Invocation) -> str:
        return NO_PREOPENS if invocation.preopens else ""

    def job(self, invocation: Invocation, module: Path) -> dict[str, Any]:
        return {
            "module": str(module),
            "cache": str(self.cache_dir / "sdk"),
            "argv": list(invocation.argv),
            "env": [list(pair) for pair in invocation.env],
            "stdin": invocation.stdin,
            "cap": invocation.output_cap,
            "timeout": invocation.timeout_s,
        }


class WasmerRuntime(RuntimeAdapter):
    name = NAME
    install_hint = INSTALL_HINT
    capabilities = CAPABILITIES

    def probe(self) -> tuple[str, str]:
        version, reason = sdk_version()
        return f"wasmer-sdk {version}", reason

    def session(self, cache_dir: Path, options: Mapping[str, str]) -> RuntimeSession:
        return WasmerSession(cache_dir)


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(WasmerRuntime())


# ------------------------------------------------------------- the helper process's side


class _Helper:
    """The SDK client, its event loop and the packages made so far, for the helper's life."""

    def __init__(self) -> None:
        import asyncio

        self.loop = asyncio.new_event_loop()
        self.client: Any = None
        self.packages: dict[tuple[str, str], Any] = {}

    def package(self, module: str, command: str) -> Any:
        sdk = _sdk()
        key = (module, command)
        if key not in self.packages:
            definition = sdk.PackageDefinition(
                modules={"main": Path(module).read_bytes()},
                commands={command: sdk.PackageCommandDefinition("main")},
                entrypoint=command,
            )
            self.packages[key] = self.loop.run_until_complete(self.client.packages.create(definition))
        return self.packages[key]

    def run(self, job: dict[str, Any]) -> dict[str, Any]:
        sdk = _sdk()
        if self.client is None:
            self.client = sdk.Wasmer(cache_root=job["cache"])
        started = time.perf_counter()
        try:
            package = self.package(job["module"], command_name(job["argv"][0] if job["argv"] else ""))
        except sdk.WasmerError as exc:
            return {"status": "error", "error": f"wasmer cannot load the module: {exc}"}

        async def go() -> Any:
            sandbox = await self.client.sandboxes.create(packages=[package], env={})
            try:
                command = sandbox.command(package, job["argv"][1:], env=dict(job["env"]))
                return await command.run(
                    stdin=job["stdin"], timeout=job["timeout"], output_bytes=job["cap"], check=False
                )
            finally:
                await sandbox.close()

        try:
            output = self.loop.run_until_complete(go())
        except sdk.WasmerError as exc:
            text = str(exc).removeprefix("command execution failed: ").strip()
            trapped = exc.code == "EXECUTION_ERROR" and not text.startswith("unable to spawn")
            message = text.splitlines()[0] if text else exc.code
            return {
                "status": "trap" if trapped else "error",
                "trap_message" if trapped else "error": message,
                "duration_s": time.perf_counter() - started,
            }
        answer = {
            "stdout": output.stdout.bytes,
            "stderr": output.stderr.bytes,
            "stdout_truncated": output.stdout.truncated,
            "stderr_truncated": output.stderr.truncated,
            "duration_s": time.perf_counter() - started,
        }
        if output.reason is sdk.ExitReason.TIMEOUT:
            return {**answer, "status": "timeout", "trap_message": "Wasmer's run timeout", "retire": True}
        if output.reason is not sdk.ExitReason.EXITED:
            return {**answer, "status": "error", "error": f"the guest ended: {output.reason.value}"}
        return {**answer, "status": "exit", "exit_code": output.exit_code}


_HELPER: _Helper | None = None


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    global _HELPER
    if _HELPER is None:
        _HELPER = _Helper()
    return _HELPER.run(job)


if __name__ == "__main__":
    serve(run_job)

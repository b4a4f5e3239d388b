"""WASI preview 2 command components under Node.js: transpiled by jco, run on
@bytecodealliance/preview2-shim in the JS runner (`js_runner.mjs` + `jco_worker.mjs`).

jco and the shim come from the npm registry into the same folder of wasitest's npm cache
as the component builder's (`wasitest runtimes install jco`; the builder installs them on
first use too); `node` 20 or newer must be on PATH.

Each component is transpiled once (`jco transpile --instantiation async`) into the cache,
keyed by its content and jco's version: an ES module and the component's core modules.
Per memory limit the session writes copies of the core modules whose memories cannot grow
past it (`wasmbin.cap_memory`, as for core modules on Node) and a small JSON file naming
them, which is what the runner's engine loads (see `jco_worker.mjs`): it compiles the
cores once and instantiates the whole component afresh for every job, in a Worker that is
terminated when the job runs out of time. The guest gets exactly the job's argv and
environment, stdio over the job's capped files, the job's preopens, no network; `exit`
ends the job, never the runner. A p2 component's exit is ok or err, so C's `exit(3)`
arrives as exit code 1 (as on Wasmtime); `exit-with-code` (WASI 0.2.12's unstable
interface) keeps its code.

Containment, measured before the capabilities were declared: tests/hostile's escapes.c,
exits.c, limits_*.c and argv.c, built as p2 components by the project's own builders and
run through `wasitest run` on this runtime (and on the Wasmtime CLI for comparison):
- held: every escape route of escapes.c was refused and the canaries were untouched, with
  the shim's own path resolution alone: `..` above a preopen, absolute paths (no preopen
  at "/"), /etc/passwd and /proc/self/*, links planted in the test data (absolute and
  relative), links the guest made (absolute ones refused when made; relative ones leading
  out, moved ones and `x/..` chains refused when followed: the shim resolves each link
  itself against the preopen, and `x/..` lexically, so such a chain stays at the preopen,
  where a host would go up); the guest saw exactly the granted environment and nothing of
  the runner's own descriptors (a component names only the resources it is given);
- leaked, found by reading the shim and then measured (`tests/runtimes/test_jco.py`,
  `swap_escape`): a directory descriptor is a host path to the shim, so a guest that moves
  an opened folder away and puts a relative link to "../../.." in its place read a host
  file and listed `/` through it. `jco_worker.mjs` refuses, while a job runs, every host
  path whose real path is outside the job's preopens; with it the case is refused, so
  FS_CONTAINMENT is declared;
- limits: the time limit (a Worker blocked in a host call, such as `sleep`, is terminated
  too), the memory limit (a hog got 23 MiB under 64, as on Wasmtime) and the output caps
  held; exit codes over a byte arrive as 1, never 0 (a p2 exit is ok or err, as on
  Wasmtime); argv over about 64 KiB traps in the preview-1 adapter inside the component
  (on Wasmtime too);
- network: not measurable from C here (network.c imports WASIX sockets, and such a
  module cannot be made into a component); a native p2 component gets `wasi:sockets`
  with the network denied and `wasi:http` outgoing requests refused.
Per job it costs about 9 ms (a fresh instance of every core module and of jco's bindings)
against about 2.5 ms for a core module on `node`; stdout is slower than Wasmtime's (about
300 MiB/s through jco's bindings, so a 2 GiB flood times out where Wasmtime finishes).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from wasitest import npm, wasmbin
from wasitest.files import write_atomically
from wasitest.model import Execution, TrapKind
from wasitest.plugin import hookimpl
from wasitest.plugins.builders.component import JCO_ENTRY, PACKAGE, PACKAGES, TOOL, jco_failure
from wasitest.plugins.runtimes.kit.js import NodePackageAdapter, runner_env
from wasitest.plugins.runtimes.kit.modules import Prepare
from wasitest.protocols import Runtime

#: how long one `jco transpile` may take
TRANSPILE_TIMEOUT_S = 300.0
#: the name of the transpiled files (`component.js`, `component.core.wasm`, ...)
STEM = "component"
#: `jco transpile`'s flags: an ES module whose `instantiate` takes the core modules and the
#: WASI imports per call (the engine gives each job its own), every core module in a file of
#: its own (none inlined as base64: each is memory-capped), no TypeScript
TRANSPILE_FLAGS = (
    "--name", STEM, "--instantiation", "async", "--base64-cutoff", "0", "--no-typescript", "--quiet",
)  # fmt: skip
#: part of the cache key: other flags make other files
FLAGS_KEY = hashlib.sha256(" ".join(TRANSPILE_FLAGS).encode()).hexdigest()[:8]


class Transpiler:
    """What a jco session makes of a component: transpiled once per content and jco
    version under `cache_dir`, then memory-capped once per limit (`prepare`)."""

    def __init__(self, node: str, jco_entry: Path, jco_version: str, cache_dir: Path) -> None:
        self.node = node
        self.jco_entry = jco_entry
        self.jco_version = jco_version
        self.cache_dir = cache_dir

    def prepare(self, component: Path, limit: int, _sha256: str = "") -> Path | Execution:
        """The JSON file the engine loads for `component` under a memory limit of `limit`
        bytes, or the execution that ends every such job."""
        data = component.read_bytes()
        problem = self._problem(component.name, data)
        if problem is not None:
            return problem
        folder = self._transpiled(component.name, data)
        if isinstance(folder, Execution):
            return folder
        return self._capped(folder, limit)

    @staticmethod
    def _problem(name: str, data: bytes) -> Execution | None:
        """Why `data` is no p2 command component this runtime can run, or None."""
        try:
            info = wasmbin.inspect(data)
        except ValueError as exc:
            return Execution(error=f"cannot load {name}: {exc}")
        if not info.is_component:
            return Execution(error=f"{name} is a core module; jco runs components only")
        if not info.is_command:
            return Execution(error=f"{name} is a component without a wasi:cli/run export (a library, not a command)")
        if info.world != "p2":
            return Execution(unsupported=f"{name} is a {info.world} component; jco runs p2 components only")
        return None

    def _transpiled(self, name: str, data: bytes) -> Path | Execution:
        digest = hashlib.sha256(data).hexdigest()[:32]
        folder = self.cache_dir / f"{digest}-jco{self.jco_version}-{FLAGS_KEY}"
        if (folder / f"{STEM}.js").is_file():
            return folder
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{digest}-", dir=self.cache_dir))
        try:
            source = work / "component.wasm"
            source.write_bytes(data)
            out = work / "out"
            command = [self.node, str(self.jco_entry), "transpile", str(source), "-o", str(out), *TRANSPILE_FLAGS]
            try:
                done = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=TRANSPILE_TIMEOUT_S,
                    env=runner_env(),
                    cwd=work,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return Execution(error=f"cannot transpile {name} with jco: {exc}")
            if done.returncode != 0 or not (out / f"{STEM}.js").is_file():
                return Execution(error=f"jco cannot transpile {name}: {jco_failure(done.stderr or done.stdout)}")
            try:
                out.rename(folder)
            except OSError:  # another worker was first: its copy is the same
                if not (folder / f"{STEM}.js").is_file():
                    raise
            return folder
        finally:
            shutil.rmtree(work, ignore_errors=True)

    @staticmethod
    def _capped(folder: Path, limit: int) -> Path | Execution:
        """The engine's JSON for `folder` with every core module's memories capped to
        `limit`, written once (per folder and limit)."""
        manifest = folder / f"memory-{limit}" / f"{STEM}.json"
        if manifest.is_file():
            return manifest
        cores: dict[str, str] = {}
        for core in sorted(folder.glob("*.wasm")):
            target = manifest.parent / core.name
            try:
                capped = wasmbin.cap_memory(core.read_bytes(), limit)
            except wasmbin.MemoryTooLarge as exc:
                return Execution(trap=TrapKind.MEMORY_LIMIT, trap_message=f"{core.name}: {exc}")
            except ValueError as exc:
                return Execution(error=f"cannot cap the memory of {core.name}, transpiled by jco: {exc}")
            write_atomically(target, capped)
            cores[core.name] = os.path.abspath(target)
        text = json.dumps({"js": os.path.abspath(folder / f"{STEM}.js"), "cores": cores})
        write_atomically(manifest, text.encode())
        return manifest


class JcoRuntime(NodePackageAdapter):
    name = "jco"
    install_hint = "wasitest runtimes install jco"
    worlds = ("p2",)
    npm_tool = TOOL
    npm_packages = PACKAGES
    #: the engine imports the shim; jco itself only transpiles, in the session
    package = "@bytecodealliance/preview2-shim"
    entry = "dist/nodejs/index.js"
    min_node = 20
    engine = "jco_worker.mjs"
    label = "jco's preview2-shim"

    def __init__(self, node: str | None = None) -> None:
        super().__init__(node)
        self._jco: tuple[Path, str] | None = None

    def probe(self) -> tuple[str, str]:
        jco_version = npm.installed_version(self.npm_tool, PACKAGE)
        jco_entry = npm.tool_dir(self.npm_tool) / JCO_ENTRY
        if jco_version is None or not jco_entry.is_file():
            return "", f"{PACKAGE} is not installed in wasitest's npm cache"
        version, reason = super().probe()
        if reason:
            return "", reason
        self._jco = (jco_entry, jco_version)
        return f"jco {jco_version}, {version}", ""

    def preparer(self, cache_dir: Path) -> Prepare[Path]:
        assert self._found is not None and self._jco is not None, "session() before a successful probe()"
        node, _shim = self._found
        jco_entry, jco_version = self._jco
        return Transpiler(node, jco_entry, jco_version, cache_dir / self.name).prepare


@hookimpl
def wasitest_register_runtimes(register: Callable[[Runtime], None]) -> None:
    register(JcoRuntime())

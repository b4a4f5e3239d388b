"""The runtimes that come from the npm registry: Bun's `node:wasi`, @bjorn3/browser_wasi_shim
and @wasmer/sdk under Node, against the real packages, and `wasitest runtimes install`.

Each is skipped with its reason when it is not installed (`wasitest runtimes install NAME`;
CI installs all three). The probe module is `probes/probe.c` (one mode per argv[1]);
`FSOPS` below is a second probe for file-system changes, built the same way.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunCli, copy_example, zig_cc
from wasitest.errors import UsageError
from wasitest.model import Capability, Execution, Invocation, RuntimeInfo, TrapKind
from wasitest.plugins.runtimes.browser_shim import BrowserShimRuntime
from wasitest.plugins.runtimes.bun import BunRuntime
from wasitest.plugins.runtimes.kit.js import JS_TRAPS, JsSession
from wasitest.plugins.runtimes.wasmer_js import WasmerJsRuntime
from wasitest.runtime_install import install_runtime, installable

PROBES = Path(__file__).with_name("probes")
MIB = 1024 * 1024

FACTORIES: dict[str, Callable[[], Any]] = {
    "bun": BunRuntime,
    "browser_shim": BrowserShimRuntime,
    "wasmer_js": WasmerJsRuntime,
}
ALL = list(FACTORIES)
#: the runtimes that can show a host directory to the guest
WITH_PREOPEN = ["bun", "browser_shim"]

FSOPS = r"""
/* fsops OP ARGS... [OP ARGS...]: file-system operations in order; stops at the first that
 * fails, printing why, and exits 2. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what) { perror(what); return 2; }

int main(int argc, char **argv) {
    for (int i = 1; i < argc;) {
        const char *op = argv[i++];
        if (!strcmp(op, "mkdir")) { if (mkdir(argv[i++], 0755)) return fail(argv[i - 1]); }
        else if (!strcmp(op, "rm")) { if (unlink(argv[i++])) return fail(argv[i - 1]); }
        else if (!strcmp(op, "rmdir")) { if (rmdir(argv[i++])) return fail(argv[i - 1]); }
        else if (!strcmp(op, "mv")) { if (rename(argv[i], argv[i + 1])) return fail(argv[i]); i += 2; }
        else if (!strcmp(op, "write")) {
            FILE *f = fopen(argv[i], "w");
            if (!f) return fail(argv[i]);
            fputs(argv[i + 1], f);
            fclose(f);
            i += 2;
        } else if (!strcmp(op, "cat")) {
            FILE *f = fopen(argv[i++], "r");
            if (!f) return fail(argv[i - 1]);
            for (int c; (c = fgetc(f)) != EOF;) putchar(c);
            fclose(f);
        } else if (!strcmp(op, "ls")) {
            DIR *d = opendir(argv[i++]);
            if (!d) return fail(argv[i - 1]);
            for (struct dirent *e; (e = readdir(d));)
                if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) printf("%s\n", e->d_name);
            closedir(d);
        } else if (!strcmp(op, "trap")) { __builtin_trap(); }
        else { fprintf(stderr, "unknown op %s\n", op); return 64; }
    }
    return 0;
}
"""


@pytest.fixture(scope="session")
def probe(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "probe.c", tmp_path_factory.mktemp("npm-probes") / "probe.wasm")


@pytest.fixture(scope="session")
def fsops(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("npm-fsops")
    (folder / "fsops.c").write_text(FSOPS)
    return zig_cc(folder / "fsops.c", folder / "fsops.wasm")


def _available(name: str) -> Any:
    runtime = FACTORIES[name]()
    info = runtime.info()
    if not info.available:
        pytest.skip(f"{name} is not available: {info.reason} ({info.install_hint})")
    return runtime


class Sessions:
    """One session per runtime for the whole module, opened on first use."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.open: dict[str, JsSession] = {}

    def __call__(self, name: str) -> JsSession:
        if name not in self.open:
            self.open[name] = _available(name).open_session(self.cache_dir / name)
        return self.open[name]

    def close(self) -> None:
        for session in self.open.values():
            session.close()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sessions]:
    opened = Sessions(tmp_path_factory.mktemp("npm-cache"))
    yield opened
    opened.close()


Run = Callable[..., Execution]


@pytest.fixture
def run(sessions: Sessions, probe: Path) -> Callable[[str], Run]:
    """run(name)("mode", "arg", ..., env=..., stdin=...) runs the probe on runtime `name`."""

    def on(name: str) -> Run:
        session = sessions(name)

        def go(*args: str, module: Path = probe, argv0: str = "probe", **fields: Any) -> Execution:
            fields.setdefault("timeout_s", 30.0)
            return session.run(Invocation(module=module, argv=(argv0, *args), **fields))

        return go

    return on


# ------------------------------------------------------------------------------ the runtimes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bun", frozenset(Capability)),
        ("browser_shim", frozenset(Capability)),
        ("wasmer_js", frozenset(Capability) - {Capability.PREOPEN, Capability.FS_CONTAINMENT}),
    ],
)
def test_info_reports_version_and_capabilities(name: str, expected: frozenset[Capability]) -> None:
    info: RuntimeInfo = _available(name).info()
    assert info.name == name
    assert info.capabilities == expected
    assert info.install_hint == f"wasitest runtimes install {name}"
    version = info.version.split(" ")
    assert version[0] in {"bun", "@bjorn3/browser_wasi_shim", "@wasmer/sdk"}
    assert version[1][:1].isdigit()


@pytest.mark.parametrize("name", ALL)
def test_info_when_not_installed(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WASITEST_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no bun on PATH either
    info = FACTORIES[name]().info()
    assert not info.available
    assert "not installed" in info.reason
    assert info.install_hint == f"wasitest runtimes install {name}"
    assert info.capabilities == frozenset()


@pytest.mark.parametrize("name", ["browser_shim", "wasmer_js"])
def test_info_without_node(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _available(name)
    monkeypatch.setenv("PATH", str(tmp_path))
    info = FACTORIES[name]().info()
    assert not info.available
    assert "`node` is not on PATH" in info.reason
    assert "Node.js" in info.install_hint


def test_info_with_a_broken_bun(tmp_path: Path) -> None:
    fake = tmp_path / "bun"
    fake.write_text("#!/bin/sh\necho 'Illegal instruction' >&2\nexit 132\n")
    fake.chmod(0o755)
    info = BunRuntime(bun=str(fake)).info()
    assert not info.available
    assert "Illegal instruction" in info.reason


@pytest.mark.parametrize("name", ALL)
def test_registers_through_the_hook(name: str) -> None:
    from wasitest.plugin import load_registry

    assert name in load_registry().runtimes.names()


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("Unreachable code should not be executed (evaluating 'instance')", TrapKind.UNREACHABLE),
        ("Out of bounds memory access (evaluating 'instance')", TrapKind.MEMORY_OUT_OF_BOUNDS),
        ("memory access out of bounds", TrapKind.MEMORY_OUT_OF_BOUNDS),
        ("Maximum call stack size exceeded.", TrapKind.STACK_OVERFLOW),
        ("Division by zero", TrapKind.OTHER),
    ],
)
def test_trap_messages_of_both_engines(message: str, kind: TrapKind) -> None:
    assert JS_TRAPS.kind(message) is kind


# ----------------------------------------------------------------------- running the probe


@pytest.mark.parametrize("name", ALL)
def test_argv_is_passed_exactly(run: Callable[[str], Run], name: str) -> None:
    args = ("args", "two words", "", "ünïcödé", "a=b", "--flag", "*")
    result = run(name)(*args)
    assert result.exit_code == 0, result
    assert result.stdout.decode().split("\n")[:-1] == ["probe", *args]


def test_wasmer_js_refuses_an_argv0_that_is_no_command_name(run: Callable[[str], Run]) -> None:
    result = run("wasmer_js")("args", argv0="dir/probe")
    assert "argv[0]" in result.unsupported and result.exit_code is None


@pytest.mark.parametrize("name", ALL)
def test_env_is_exactly_the_invocation_env(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, probe: Path
) -> None:
    monkeypatch.setenv("WASITEST_HOST_SECRET", "leaked")
    session = _available(name).open_session(tmp_path)  # a runner started with the secret
    try:
        env = (("B", "1"), ("10", "ten"), ("A", "x=y"), ("EMPTY", ""), ("U", "ü"))
        result = session.run(Invocation(module=probe, argv=("probe", "env"), env=env))
        assert result.exit_code == 0, result
        lines = result.stdout.decode().split("\n")[:-1]
        if name == "wasmer_js":  # the SDK keeps the environment in a sorted map
            assert sorted(lines) == sorted(f"{k}={v}" for k, v in env)
        else:
            assert lines == [f"{k}={v}" for k, v in env]
        empty = session.run(Invocation(module=probe, argv=("probe", "env")))
        assert (empty.exit_code, empty.stdout) == (0, b"")
    finally:
        session.close()


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("code", [0, 1, 3, 255])
def test_exit_codes(run: Callable[[str], Run], name: str, code: int) -> None:
    result = run(name)("exit", str(code))
    assert (result.exit_code, result.trap, result.error) == (code, None, "")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bun", (256, 0xFFFFFFFF)),  # kept as WASI's u32, as on Wasmtime and Node
        ("browser_shim", (256, 0xFFFFFFFF)),
        ("wasmer_js", (0, 0xFFFF)),  # the SDK's exit status: 256 wraps to 0, -1 is 65535
    ],
)
def test_exit_codes_outside_a_byte(run: Callable[[str], Run], name: str, expected: tuple[int, int]) -> None:
    assert (run(name)("exit", "256").exit_code, run(name)("exit", "-1").exit_code) == expected


@pytest.mark.parametrize("name", ALL)
def test_stdout_and_stderr_are_captured_and_capped(run: Callable[[str], Run], name: str) -> None:
    small = run(name)("write", "5", output_cap=10)
    assert (small.stdout, small.stderr, small.stdout_truncated, small.stderr_truncated) == (
        b"ooooo",
        b"eeeee",
        False,
        False,
    )
    big = run(name)("write", "20000", output_cap=10)
    assert big.exit_code == 0
    assert (big.stdout, big.stderr) == (b"o" * 10, b"e" * 10)
    assert big.stdout_truncated and big.stderr_truncated


@pytest.mark.parametrize("name", ALL)
def test_stdin_is_read(run: Callable[[str], Run], name: str) -> None:
    data = bytes(range(256)) * 100
    assert run(name)("cat", stdin=data).stdout == data
    empty = run(name)("cat")
    assert (empty.exit_code, empty.stdout) == (0, b"")
    if name == "bun":  # Bun's own stdin reading sleeps 50 ms at end of input
        assert empty.duration_s < 0.04


@pytest.mark.parametrize("name", ALL)
def test_closing_stdout_does_not_hurt_the_runner(run: Callable[[str], Run], sessions: Sessions, name: str) -> None:
    """Bun's node:wasi maps guest fd 1 to a host fd: had it stayed the runner's own stdout,
    `close(1)` would have cut the protocol."""
    go = run(name)
    go("exit", "0")
    pid = sessions(name).pid
    assert go("close-stdout").exit_code == 0
    assert go("args").stdout == b"probe\nargs\n"
    assert sessions(name).pid == pid


@pytest.mark.parametrize("name", ALL)
def test_timeout_ends_an_infinite_loop(run: Callable[[str], Run], name: str) -> None:
    started = time.perf_counter()
    result = run(name)("loop", timeout_s=0.5)
    elapsed = time.perf_counter() - started
    assert result.trap is TrapKind.TIMEOUT and result.exit_code is None, result
    assert 0.5 <= result.duration_s < 2.5
    assert elapsed < 8
    assert run(name)("exit", "7").exit_code == 7  # the next job runs normally


def test_bun_replaces_its_process_after_a_timeout(run: Callable[[str], Run], sessions: Sessions) -> None:
    """Bun cannot terminate a Worker running WebAssembly: the whole runner goes."""
    go = run("bun")
    go("exit", "0")
    before = sessions("bun").pid
    assert go("loop", timeout_s=0.3).trap is TrapKind.TIMEOUT
    assert go("exit", "0").exit_code == 0
    assert sessions("bun").pid not in (None, before)


@pytest.mark.parametrize("name", ALL)
def test_memory_bomb_hits_the_limit(run: Callable[[str], Run], name: str) -> None:
    result = run(name)("membomb", memory_limit=64 * MIB)
    assert result.exit_code == 42, result  # malloc returned NULL
    assert 8 < int(result.stdout) < 48  # MiB allocated beside the 16 MiB the module starts with


@pytest.mark.parametrize("name", ALL)
def test_initial_memory_over_the_limit_is_a_memory_limit_trap(run: Callable[[str], Run], name: str) -> None:
    result = run(name)("exit", "0", memory_limit=1 * MIB)
    assert result.trap is TrapKind.MEMORY_LIMIT, result
    assert "over the limit" in result.trap_message


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    ("mode", "kind"),
    [("trap", TrapKind.UNREACHABLE), ("recurse", TrapKind.STACK_OVERFLOW), ("oob", TrapKind.MEMORY_OUT_OF_BOUNDS)],
)
def test_traps(run: Callable[[str], Run], name: str, mode: str, kind: TrapKind) -> None:
    result = run(name)(mode)
    assert (result.trap, result.exit_code, result.error) == (kind, None, ""), result
    assert result.trap_message


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"#!/bin/sh\necho hi\n", "not a WebAssembly binary"),
        (b"\0asm\x0d\x00\x01\x00", "component"),
        (b"\0asm\x01\x00\x00\x00", "_start"),
    ],
)
def test_modules_that_cannot_run_are_errors(
    sessions: Sessions, tmp_path: Path, name: str, content: bytes, words: str
) -> None:
    module = tmp_path / "m.wasm"
    module.write_bytes(content)
    result = sessions(name).run(Invocation(module=module, argv=("m",)))
    assert words in result.error, result
    assert "node:wasi" not in result.error or name == "bun"


@pytest.mark.parametrize("name", ALL)
def test_truncated_module_is_an_error(sessions: Sessions, probe: Path, tmp_path: Path, name: str) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(probe.read_bytes()[:5000])
    result = sessions(name).run(Invocation(module=broken, argv=("broken",)))
    assert "truncated" in result.error
    assert result.exit_code is None and result.trap is None


@pytest.mark.parametrize("name", ALL)
def test_an_unknown_import_is_an_error_and_the_runner_lives_on(
    sessions: Sessions, probe: Path, tmp_path: Path, name: str
) -> None:
    wasmtime = pytest.importorskip("wasmtime")
    odd = tmp_path / "odd.wasm"
    odd.write_bytes(
        wasmtime.wat2wasm('(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))')
    )
    session = sessions(name)
    session.run(Invocation(module=probe, argv=("probe", "exit", "0")))
    pid = session.pid
    result = session.run(Invocation(module=odd, argv=("odd",)))
    # (@wasmer/sdk alone would call this an exit with status 45: its runner checks imports)
    assert result.error and result.exit_code is None and result.trap is None, result
    assert "cannot instantiate" in result.error and "env" in result.error
    assert session.run(Invocation(module=probe, argv=("probe", "exit", "4"))).exit_code == 4
    assert session.pid == pid


# ------------------------------------------------------------------------ files and preopens


@pytest.mark.parametrize("name", WITH_PREOPEN)
def test_files_in_a_preopen(run: Callable[[str], Run], name: str, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "in.txt").write_text("from the host")
    both = ((scratch, "."), (scratch, "/tmp"))
    assert run(name)("touch", "/tmp/out.txt", "from the guest", preopens=both).exit_code == 0
    assert (scratch / "out.txt").read_text() == "from the guest"
    assert run(name)("read", "./in.txt", preopens=both).stdout == b"from the host"
    assert run(name)("read", "/tmp/out.txt", preopens=both).stdout == b"from the guest"


@pytest.mark.parametrize("name", WITH_PREOPEN)
def test_nothing_outside_the_preopens_is_visible(run: Callable[[str], Run], name: str, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("no")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert run(name)("read", "/tmp/../secret", preopens=((scratch, "/tmp"),)).exit_code == 2
    assert run(name)("read", str(tmp_path / "secret"), preopens=((scratch, "/tmp"),)).exit_code == 2
    assert run(name)("read", str(tmp_path / "secret")).exit_code == 2


def test_bun_refuses_symlinks_out_of_a_preopen(run: Callable[[str], Run], tmp_path: Path) -> None:
    """Unlike Node's node:wasi, Bun's checks a path's real location against the preopen's."""
    (tmp_path / "outside.txt").write_text("outside")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "link").symlink_to(tmp_path)
    (scratch / "inside.txt").write_text("inside")
    (scratch / "ok").symlink_to("inside.txt")
    result = run("bun")("read", "/tmp/link/outside.txt", preopens=((scratch, "/tmp"),))
    assert (result.exit_code, result.stdout) == (2, b"")
    assert b"Capabilities insufficient" in result.stderr
    assert run("bun")("read", "/tmp/ok", preopens=((scratch, "/tmp"),)).stdout == b"inside"


def test_a_missing_preopen_is_an_error(run: Callable[[str], Run], tmp_path: Path) -> None:
    for name in WITH_PREOPEN:
        result = run(name)("read", "/x/y", preopens=((tmp_path / "missing", "/x"),))
        assert result.error and result.exit_code is None, (name, result)


def test_wasmer_js_refuses_preopens(run: Callable[[str], Run], tmp_path: Path) -> None:
    result = run("wasmer_js")("read", "/tmp/x", preopens=((tmp_path, "/tmp"),))
    assert "cannot preopen" in result.unsupported
    assert result.exit_code is None and not result.error


def test_wasmer_js_guest_files_stay_in_its_sandbox(run: Callable[[str], Run], tmp_path: Path) -> None:
    """What the guest writes lives and dies with its sandbox: the next job sees none of it,
    and nothing lands on the host."""
    before = set(os.listdir(tmp_path))
    assert run("wasmer_js")("touch", "/tmp/left.txt", "x").exit_code == 0
    assert run("wasmer_js")("read", "/tmp/left.txt").exit_code == 2
    assert set(os.listdir(tmp_path)) == before


def _tree(folder: Path) -> dict[str, str | None]:
    """Every file (its text) and folder (None) under `folder`, by relative path."""
    return {
        str(path.relative_to(folder)): (path.read_text() if path.is_file() else None)
        for path in sorted(folder.rglob("*"))
    }


def test_browser_shim_writes_changes_back_faithfully(run: Callable[[str], Run], fsops: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    (scratch / "sub").mkdir(parents=True)
    (scratch / "keep.txt").write_text("untouched")
    (scratch / "old.txt").write_text("to delete")
    (scratch / "a.txt").write_text("renamed")
    (scratch / "sub" / "inner.txt").write_text("inner")
    (scratch / "emptydir").mkdir()
    os.utime(scratch / "keep.txt", (1_000_000, 1_000_000))
    ops = (
        "mkdir", "/tmp/new", "write", "new/f.txt", "made", "rm", "old.txt", "mv", "/tmp/a.txt", "b.txt",
        "rm", "sub/inner.txt", "rmdir", "/tmp/sub", "write", "keep2.txt", "second",
    )  # fmt: skip
    result = run("browser_shim")(*ops, module=fsops, argv0="fsops", preopens=((scratch, "."), (scratch, "/tmp")))
    assert (result.exit_code, result.stderr) == (0, b""), result
    assert _tree(scratch) == {
        "b.txt": "renamed",
        "emptydir": None,
        "keep.txt": "untouched",
        "keep2.txt": "second",
        "new": None,
        "new/f.txt": "made",
    }
    assert (scratch / "keep.txt").stat().st_mtime == 1_000_000  # not rewritten


def test_browser_shim_writes_back_after_a_trap_too(run: Callable[[str], Run], fsops: Path, tmp_path: Path) -> None:
    result = run("browser_shim")("write", "/tmp/x", "before the trap", "trap", module=fsops, argv0="fsops",
                                 preopens=((tmp_path, "/tmp"),))  # fmt: skip
    assert result.trap is TrapKind.UNREACHABLE
    assert (tmp_path / "x").read_text() == "before the trap"


def test_browser_shim_one_host_folder_under_two_names(run: Callable[[str], Run], fsops: Path, tmp_path: Path) -> None:
    result = run("browser_shim")("write", "/tmp/x", "shared", "cat", "x", "ls", ".", module=fsops, argv0="fsops",
                                 preopens=((tmp_path, "."), (tmp_path, "/tmp")))  # fmt: skip
    assert result.stdout == b"sharedx\n", result


def test_browser_shim_refuses_a_scratch_dir_with_a_symlink(run: Callable[[str], Run], tmp_path: Path) -> None:
    (tmp_path / "target.txt").write_text("t")
    (tmp_path / "link").symlink_to("target.txt")
    result = run("browser_shim")("touch", "/tmp/out.txt", "x", preopens=((tmp_path, "/tmp"),))
    assert "symlink" in result.unsupported, result
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize(
    ("name", "jobs", "budget_s"), [("bun", 40, 0.05), ("browser_shim", 40, 0.05), ("wasmer_js", 10, 0.25)]
)
def test_many_jobs_share_one_runner(
    run: Callable[[str], Run], sessions: Sessions, name: str, jobs: int, budget_s: float
) -> None:
    go = run(name)
    go("exit", "0")  # start-up and compile
    pid = sessions(name).pid
    started = time.perf_counter()
    for i in range(jobs):
        assert go("exit", str(i % 4)).exit_code == i % 4
    per_job = (time.perf_counter() - started) / jobs
    print(f"{name}: {per_job * 1000:.1f} ms per job")
    assert sessions(name).pid == pid
    assert per_job < budget_s


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("name", WITH_PREOPEN)
def test_descriptors_do_not_leak(run: Callable[[str], Run], sessions: Sessions, tmp_path: Path, name: str) -> None:
    (tmp_path / "f").write_text("x")
    pre = ((tmp_path, "/a"), (tmp_path, "/b"))
    go = run(name)
    go("exit", "0")
    pid = sessions(name).pid
    before = len(os.listdir(f"/proc/{pid}/fd"))
    for mode in ("leak-fd", "close-stdout", "trap"):
        for _ in range(30):
            go(mode, "/a/f", preopens=pre)
    assert sessions(name).pid == pid
    assert len(os.listdir(f"/proc/{pid}/fd")) <= before + 5


# --------------------------------------------------------------------------- install, CLI


def test_install_refuses_unknown_names() -> None:
    with pytest.raises(UsageError, match=r"did you mean 'bun'") as caught:
        install_runtime("bunn")
    assert "browser_shim" in caught.value.hint and "wasmer_js" in caught.value.hint
    assert set(installable()) == set(ALL) | {"jco"}


def test_install_into_a_fresh_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A real `npm install` of the smallest of the three into an empty cache folder."""
    _available("browser_shim")  # CI installs it; a machine without npm access skips here
    cache = tmp_path / "cache"
    monkeypatch.setenv("WASITEST_CACHE_DIR", str(cache))
    message = install_runtime("browser_shim")
    assert "browser_shim is available" in message
    manifest = cache / "npm" / "browser_wasi_shim" / "node_modules" / "@bjorn3" / "browser_wasi_shim" / "package.json"
    assert json.loads(manifest.read_text())["version"].startswith("0.4.")
    assert BrowserShimRuntime().info().available


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example("quickstart", tmp_path_factory.mktemp("npm-qs"))


#: outcome per quickstart case where a runtime differs from Wasmtime (everything else passes
#: there as on Wasmtime; `slow_checks` skips, `known_bug` is xfailed)
QUICKSTART_DIFFERENCES: dict[str, dict[str, tuple[str, str]]] = {
    # the open fails as it should, with ENOTCAPABLE instead of EEXIST: Bun refuses to open
    # any path whose last component is a dangling symlink
    "bun": {"excl_create_refuses_dangling_symlink": ("failed", "Capabilities insufficient")},
    # no symlinks in the in-memory file system at all
    "browser_shim": {"excl_create_refuses_dangling_symlink": ("failed", 'symlink("target.txt", "link") == 0')},
}


@pytest.mark.parametrize("name", ALL)
def test_quickstart_through_the_cli(run_cli: RunCli, quickstart: Path, tmp_path: Path, name: str) -> None:
    _available(name)
    results = tmp_path / "results.json"
    proc = run_cli("run", str(quickstart), "--runtimes", name, "--results", str(results))
    assert proc.returncode in (0, 1), proc.stderr
    document = json.loads(results.read_text())
    outcomes = {r["case"]: (r["outcome"], r["message"]) for r in document["results"]}
    assert len(outcomes) >= 13
    if name == "wasmer_js":
        # every job gets a scratch directory preopened at "." and "/tmp": refused at plan time
        assert {outcome for outcome, _ in outcomes.values()} == {"unsupported"}
        assert all("cannot enforce or provide: fs_containment, preopen" in message for _, message in outcomes.values())
        assert proc.returncode == 0
        return
    expected = QUICKSTART_DIFFERENCES[name]
    for case, (outcome, message) in outcomes.items():
        if case in expected:
            assert outcome == expected[case][0] and expected[case][1] in message, (case, outcome, message)
        elif case == "known_bug":
            assert outcome == "xfailed"
        elif case == "slow_checks":
            assert outcome == "skipped"
        else:
            assert outcome == "passed", (case, outcome, message)
    assert proc.returncode == 1

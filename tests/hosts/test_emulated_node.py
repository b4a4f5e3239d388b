"""`node` on each emulated host, through the same JS runner as the local Node: the CPU it
really runs on, a job's exit status, output and files, and the limits (a time limit ends
the job, not the runner; the memory limit holds), in one runner per host that stays alive
from job to job.

An emulated Node takes seconds to start, so each host gets one session for this whole
module (`sessions`), and each test checks a handful of things.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import zig_cc
from tests.hosts.conftest import HOSTS, PROBES, emulated_node
from wasitest.model import Execution, Invocation, TrapKind
from wasitest.plugins.runtimes.kit.js import JsSession

MIB = 1024 * 1024
#: the 32-bit hosts
THIRTY_TWO_BIT = {"linux-armhf", "linux-i386"}


@pytest.fixture(scope="module")
def sessions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, JsSession]]:
    """One session per host, opened at its first use and closed at the end of the module."""
    opened: dict[str, JsSession] = {}
    yield opened
    for session in opened.values():
        session.close()


@pytest.fixture(params=sorted(HOSTS))
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def session(host: str, sessions: dict[str, JsSession], tmp_path_factory: pytest.TempPathFactory) -> JsSession:
    if host not in sessions:
        opened = emulated_node(host).open_session(tmp_path_factory.mktemp(f"cache-{host}"))
        assert isinstance(opened, JsSession)
        sessions[host] = opened
    return sessions[host]


def _run(
    session: JsSession,
    probe: Path,
    *args: str,
    timeout_s: float = 60.0,
    memory_limit: int = 512 * MIB,
    preopens: tuple[tuple[Path, str], ...] = (),
) -> Execution:
    invocation = Invocation(probe, ("probe", *args), preopens=preopens, timeout_s=timeout_s, memory_limit=memory_limit)
    return session.run(invocation)


def test_node_reports_the_target_cpu(host: str) -> None:
    """The probe's Node says which CPU and byte order it runs on: the target's, not ours."""
    arch, order = HOSTS[host]
    version = emulated_node(host).info().version
    assert version.startswith("node 18."), version  # Debian 12's Node
    assert f"({arch} {order}," in version, version


def test_a_job_runs_writes_and_exits(host: str, session: JsSession, runtime_probe: Path, tmp_path: Path) -> None:
    touched = _run(session, runtime_probe, "touch", "/sandbox/out.txt", "big-endian or not",
                   preopens=((tmp_path, "/sandbox"),))
    assert touched.exit_code == 0, touched
    assert (tmp_path / "out.txt").read_text() == "big-endian or not"
    pid = session.pid
    status = _run(session, runtime_probe, "args", "ünï", "two words")
    assert status.exit_code == 0, status
    assert status.stdout == "probe\nargs\nünï\ntwo words\n".encode()
    assert _run(session, runtime_probe, "exit", "3").exit_code == 3
    assert session.pid == pid, "the emulated runner must serve job after job"


def test_a_time_limit_ends_the_job_not_the_runner(host: str, session: JsSession, runtime_probe: Path) -> None:
    _run(session, runtime_probe, "exit", "0")
    pid = session.pid
    spun = _run(session, runtime_probe, "loop", timeout_s=1.0)
    assert spun.trap is TrapKind.TIMEOUT, spun
    after = _run(session, runtime_probe, "exit", "0")
    assert after.exit_code == 0, after
    assert session.pid == pid, "a timeout terminates the job's Worker, not the emulated Node"


def test_a_stack_overflow_traps_by_the_hosts_word_size(host: str, session: JsSession, runtime_probe: Path) -> None:
    """A real host divergence: a C program's stack lives in linear memory. On a 32-bit V8
    the recursion runs out of it (and stores below address 0) before V8's own native stack
    is exhausted; on a 64-bit one, the other way round."""
    overflowed = _run(session, runtime_probe, "recurse")
    expected = TrapKind.MEMORY_OUT_OF_BOUNDS if host in THIRTY_TWO_BIT else TrapKind.STACK_OVERFLOW
    assert overflowed.trap is expected, overflowed


def test_the_memory_limit_holds(host: str, session: JsSession, runtime_probe: Path) -> None:
    bombed = _run(session, runtime_probe, "membomb", memory_limit=64 * MIB)
    assert bombed.exit_code == 42, bombed  # malloc returned NULL at the limit
    assert 10 < int(bombed.stdout) < 64



@pytest.fixture(scope="module")
def bigmem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "bigmem.c", tmp_path_factory.mktemp("bigmem") / "bigmem.wasm")


def test_32_bit_hosts_cannot_grow_memory_as_far(host: str, session: JsSession, bigmem: Path) -> None:
    """A real host divergence: a 32-bit engine cannot reserve what a 64-bit one can. Node 18
    grows a module's memory to about 1 GiB on armhf and i386 (how far varies from run to
    run, with the address space left), past 2 GiB on the 64-bit hosts."""
    grown = _run(session, bigmem, memory_limit=3 * 1024 * MIB)
    assert grown.exit_code == 0, grown
    mib = int(grown.stdout.split()[2])
    if host in THIRTY_TWO_BIT:
        assert 256 <= mib < 2048, grown.stdout
    else:
        assert mib > 2048, grown.stdout


def _file_system(path: Path) -> str:
    done = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False)
    return done.stdout.strip()


@pytest.fixture(scope="module")
def listing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return zig_cc(PROBES / "listing.c", tmp_path_factory.mktemp("listing") / "listing.wasm")


def test_a_listing_on_tmpfs_sees_the_file(host: str, session: JsSession, listing: Path) -> None:
    shm = Path("/dev/shm")
    if _file_system(shm) != "tmpfs":
        pytest.skip("no tmpfs at /dev/shm")
    scratch = Path(tempfile.mkdtemp(prefix="wasitest-listing-", dir=shm))
    try:
        listed = _run(session, listing, preopens=((scratch, "/scratch"),))
    finally:
        shutil.rmtree(scratch)
    assert (listed.exit_code, listed.stdout) == (0, b"seen 1\n"), listed


def test_a_listing_on_ext4_is_empty_for_32_bit_guests_under_qemu(
    host: str, session: JsSession, listing: Path, tmp_path: Path
) -> None:
    """An emulation artifact, not a property of 32-bit CPUs (docs/hosts.md): ext4 gives
    64-bit directory cookies to 64-bit system calls, which is what qemu user mode makes of a
    32-bit guest's; Node 18's uvwasi keeps its place in a listing with the guest's 32-bit
    `telldir`, which cannot hold them, and the listing comes out empty (Node's own
    `fs.readdirSync` lists the folder fine). A real 32-bit process, native or under a 64-bit
    kernel's compat calls, gets 32-bit cookies. Pinned: the day that changes, this says so."""
    if _file_system(tmp_path) not in {"ext2/ext3", "ext4"}:
        pytest.skip(f"the test folder is on {_file_system(tmp_path)}, not ext4")
    listed = _run(session, listing, preopens=((tmp_path, "/scratch"),))
    if host in THIRTY_TWO_BIT:
        assert (listed.exit_code, listed.stdout) == (1, b"seen 0\n"), listed
    else:
        assert (listed.exit_code, listed.stdout) == (0, b"seen 1\n"), listed

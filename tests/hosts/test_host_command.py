"""`wasitest hosts` and `wasitest hosts install`, and what a user who asks for a host that
cannot run meets: one line each, with the fix, and the exit code the README promises."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunCli, write_project
from tests.hosts.conftest import PROBES
from wasitest.cli import main
from wasitest.errors import ExitCode, RuntimeUnavailable
from wasitest.hosts_command import describe
from wasitest.plugin import load_registry
from wasitest.plugins.hosts.debian import _depends, _stanzas
from wasitest.plugins.hosts.qemu import QemuHost
from wasitest.plugins.hosts.targets import S390X, Target


def test_hosts_lists_every_cpu_with_its_byte_order_and_word_size(run_cli: RunCli) -> None:
    proc = run_cli("hosts", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {row["name"]: row for row in json.loads(proc.stdout)}
    assert next(iter(rows)) == "local"
    facts = {name: (row["endianness"], row["word_bits"]) for name, row in rows.items() if name != "local"}
    assert facts == {
        "linux-aarch64": ("little-endian", 64),
        "linux-s390x": ("big-endian", 64),
        "linux-armhf": ("little-endian", 32),
        "linux-i386": ("little-endian", 32),
    }
    assert {row["platform"] for name, row in rows.items() if name != "local"} == set(facts)
    assert [r["name"] for r in rows["linux-aarch64"]["runtimes"]] == ["node", "wasmtime-cli"]
    assert [r["name"] for r in rows["linux-s390x"]["runtimes"]] == ["node"]


def test_a_host_without_its_packages_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WASITEST_CACHE_DIR", str(tmp_path))
    registry = load_registry()
    row = describe(registry, registry.hosts.get("linux-s390x"))
    if "qemu-s390x is not installed" in row["reason"]:
        pytest.skip(row["reason"])
    assert row["available"] is False
    (node,) = row["runtimes"]
    assert node["available"] is False
    assert node["reason"] == (
        "Debian's Node for s390x is not in wasitest's cache folder (run: wasitest hosts install linux-s390x)"
    )


def test_a_run_on_a_host_without_its_packages_exits_6(tmp_path: Path, run_cli: RunCli) -> None:
    config = '[tool.wasitest.matrix]\nruntime = ["node"]\nhost = ["linux-s390x"]\n' \
             '[tool.wasitest.suites.cpu]\nbuilder = "zig"\nsources = ["nan.c"]\n'
    project = write_project(tmp_path / "p", config, {"nan.c": (PROBES / "nan.c").read_text()})
    proc = run_cli("run", "--matrix", str(project), env={"WASITEST_CACHE_DIR": str(tmp_path / "cache")})
    assert proc.returncode == ExitCode.RUNTIME, proc.stdout + proc.stderr
    (line,) = [line for line in proc.stderr.splitlines() if line.startswith("wasitest: error:")]
    assert "node@linux-s390x" in line
    assert "(run: wasitest hosts install linux-s390x)" in line or "qemu-s390x is not installed" in line


def test_an_unknown_host_in_the_matrix_suggests_the_right_one(tmp_path: Path, run_cli: RunCli) -> None:
    config = '[tool.wasitest.matrix]\nruntime = ["node"]\nhost = ["linux-s390"]\n' \
             '[tool.wasitest.suites.cpu]\nbuilder = "zig"\nsources = ["nan.c"]\n'
    project = write_project(tmp_path / "p", config, {"nan.c": (PROBES / "nan.c").read_text()})
    proc = run_cli("matrix", str(project))
    assert proc.returncode == ExitCode.CONFIG, proc.stdout + proc.stderr
    assert "unknown host 'linux-s390' (did you mean 'linux-s390x'?)" in proc.stderr


def test_installing_an_unknown_host_suggests_the_right_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hosts", "install", "linux-s390z"]) == ExitCode.USAGE
    (line,) = capsys.readouterr().err.splitlines()
    assert "'linux-s390z' is not a host (did you mean 'linux-s390x'?)" in line
    assert main(["hosts", "install", "local"]) == ExitCode.USAGE
    assert "'local' needs nothing installed" in capsys.readouterr().err


def test_installing_without_qemu_names_the_package(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu, no apt-get
    assert main(["hosts", "install", "linux-s390x"]) == ExitCode.RUNTIME
    (line,) = capsys.readouterr().err.splitlines()
    assert line == (
        "wasitest: error: cannot install host linux-s390x: qemu-s390x is not installed (run: apt-get install qemu-user)"
    )


def test_an_architecture_the_package_sources_lack_is_one_line_and_leaves_the_system_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """apt's lists of a host's architecture are wasitest's own: the system's dpkg is never
    told of the architecture, and one its package sources do not carry is one line."""
    if shutil.which("apt-get") is None or shutil.which("qemu-mips") is None:
        pytest.skip("needs apt-get and qemu-user")
    monkeypatch.setenv("WASITEST_CACHE_DIR", str(tmp_path))
    foreign_before = subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True, text=True).stdout
    host = QemuHost(Target("linux-mips", "mips", "qemu-mips", "mips-linux-gnu", "MIPS", True, 32))
    with pytest.raises(RuntimeUnavailable) as raised:
        host.install()
    line = raised.value.one_line()
    assert "\n" not in line
    # Debian dropped 32-bit big-endian mips after bullseye; no network is the other way to fail
    assert line in (
        "cannot install host linux-mips: the system's package sources have no packages for mips",
    ) or line.startswith("cannot install host linux-mips: apt-get update for mips failed: "), line
    assert raised.value.exit_code == ExitCode.RUNTIME
    assert (tmp_path / "hosts" / "linux-mips" / "apt" / "lists").is_dir()
    assert subprocess.run(["dpkg", "--print-foreign-architectures"], capture_output=True, text=True).stdout == (
        foreign_before
    )


STANZAS = """Package: libnode108
Architecture: s390x
Version: 18.20.4+dfsg-1~deb12u2
Pre-Depends: libc6 (>= 2.34)
Depends: libbrotli1 (>= 1.0.0), zlib1g (>= 1:1.1.4), node-acorn (>= 6.2.1~), sse2-support | x
Description: evented I/O
 for V8 javascript

Package: node-acorn
Architecture: all
Depends: node-xtend, nodejs:any | nodejs (<< 12.22.5~dfsg-4~)
"""


def test_dependencies_are_read_first_alternative_without_versions() -> None:
    first, second = _stanzas(STANZAS)
    assert (first["Package"], first["Architecture"]) == ("libnode108", "s390x")
    assert _depends(first) == ["libc6", "libbrotli1", "zlib1g", "node-acorn", "sse2-support"]
    assert _depends(second) == ["node-xtend", "nodejs"]


def test_the_s390x_target_is_big_endian() -> None:
    assert (S390X.endianness, S390X.word_bits, S390X.qemu) == ("big-endian", 64, "qemu-s390x")

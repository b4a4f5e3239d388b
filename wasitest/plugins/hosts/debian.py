"""Debian's packages for another CPU, as a folder of files: fetched with `apt-get download`,
unpacked with `dpkg -x` into wasitest's cache folder, never installed into the system.

An emulated host runs a program built for its CPU (Debian's `node` for s390x, say) with
the libraries it was linked against; Debian builds both for every architecture it
supports, so the packages of one architecture, unpacked into one folder, are a root file
system that `qemu-ARCH -L FOLDER` (or the folder's own dynamic loader) runs the program
from.

What is fetched: the closure of the roots' `Depends` and `Pre-Depends` over libraries
(`lib*`, `zlib1g`) and Node's externalised JavaScript builtins (`node-*`, architecture `all`). The
rest of a dependency tree (dpkg, perl, debconf, `sse2-support`, ...) serves installing a
package, not running it.

Whose package lists: wasitest's own (`Apt`), of the one architecture, read from the
system's package sources into a folder of wasitest's cache. So no root is needed, and
dpkg is never told of a foreign architecture: that would make every later `apt-get update`
of the system fetch its lists, and fail whenever a mirror serves one of them half-synced
(seen for armhf and i386 of the security archive). An index that fails here (the security
or updates suite of the architecture) is a warning; only the architecture's main list
must be there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

#: the dependencies worth following: shared libraries and Node's JavaScript builtins
FOLLOWED = re.compile(r"^(lib|zlib|node)")
#: the file in a finished folder that lists what it holds (written last: its presence means
#: the folder is complete)
MANIFEST = "packages.txt"


class PackageError(Exception):
    """apt-get or dpkg could not provide the packages; the message says why in one line,
    with the fix."""


@dataclass(frozen=True)
class Package:
    name: str
    architecture: str  # the package's own: the target's, or `all`
    version: str

    @property
    def spec(self) -> str:
        """What `apt-get download` takes: `nodejs:s390x=18.20.4+dfsg-1~deb12u2`."""
        return f"{self.name}:{self.architecture}={self.version}"


def _run(command: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(command), capture_output=True, text=True, check=False, cwd=cwd, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PackageError(f"cannot run {command[0]}: {exc}") from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or lines or ["no output"])[-1]


def system_problem() -> str:
    """What this machine lacks to fetch Debian's packages, as one line with the fix; "" when
    nothing is missing."""
    missing = [tool for tool in ("apt-get", "apt-cache", "dpkg") if shutil.which(tool) is None]
    if missing:
        return f"{', '.join(missing)} not found: fetching Debian's packages needs a Debian or Ubuntu machine"
    return ""


@dataclass(frozen=True)
class Apt:
    """apt-get and apt-cache on package lists of one architecture kept in `state`, not in
    the system's: they read the system's package sources and configuration (proxies,
    mirrors) but nothing it has installed or fetched."""

    arch: str
    state: Path

    def options(self) -> list[str]:
        options = {
            "APT::Architecture": self.arch,
            "APT::Architectures": self.arch,
            "Dir::State::Lists": str(self.state / "lists"),
            "Dir::Cache": str(self.state / "cache"),
            "Dir::State::status": str(self.state / "status"),
            "Debug::NoLocking": "1",  # the folder is wasitest's; no system lock to take
        }
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            # apt drops to its `_apt` user, who may not enter wasitest's cache folder
            options["APT::Sandbox::User"] = "root"
        return [arg for key, value in options.items() for arg in ("-o", f"{key}={value}")]

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return _run([tool, *self.options(), *args], cwd=cwd)

    def update(self) -> list[str]:
        """Fetch the architecture's package lists; returns the indexes that failed (apt
        then keeps what it had, or goes without). Raises `PackageError` when the main list
        is still missing: nothing of the architecture can be resolved."""
        for folder in (self.state / "lists" / "partial", self.state / "cache" / "archives" / "partial"):
            folder.mkdir(parents=True, exist_ok=True)
        (self.state / "status").touch()
        done = self.run("apt-get", "update", "-q")
        failed = [
            _index_name(line.split()[4]) for line in done.stderr.splitlines() if line.startswith("E: Failed to fetch ")
        ]
        if not self.run("apt-cache", "show", "--no-all-versions", f"libc6:{self.arch}").stdout.strip():
            if done.returncode:
                raise PackageError(f"apt-get update for {self.arch} failed: {_last_line(done.stderr)}")
            raise PackageError(f"the system's package sources have no packages for {self.arch}")
        return failed


def _index_name(url: str) -> str:
    """`bookworm-security/main/binary-armhf/Packages.xz` of an index's URL."""
    return url.partition("/dists/")[2] or url


def _stanzas(text: str) -> Iterable[dict[str, str]]:
    """The `Key: value` paragraphs of `apt-cache show` (continuation lines are dropped:
    none of the fields read here has any)."""
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line.startswith(" "):
                fields[key] = value.strip()
        if "Package" in fields:
            yield fields


def _depends(fields: dict[str, str]) -> list[str]:
    """The package names a stanza depends on: of each `a | b` group, the first; without
    versions or architecture qualifiers."""
    names = []
    for field in ("Pre-Depends", "Depends"):
        for group in filter(None, (g.strip() for g in fields.get(field, "").split(","))):
            first = group.split("|")[0].strip()
            names.append(re.split(r"[\s:(]", first, maxsplit=1)[0])
    return names


def resolve(apt: Apt, roots: Sequence[str]) -> list[Package]:
    """The packages of `arch` (and `all`) that `roots` need to run, from apt's package lists.
    Raises `PackageError` when a root is not in them.

    One `apt-cache show` per level of the tree (each reads every package list: seconds),
    asking for `NAME:ARCH` and `NAME:all` at once; of what it shows, the package built for
    `arch` wins, else the one for `all`.
    """
    arch = apt.arch
    found: dict[str, Package] = {}
    wanted = list(roots)
    while wanted:
        names = [f"{name}:{kind}" for name in wanted for kind in (arch, "all")]
        done = apt.run("apt-cache", "show", "--no-all-versions", *names)
        stanzas: dict[str, dict[str, str]] = {}
        for fields in _stanzas(done.stdout):
            built_for = fields.get("Architecture")
            if built_for == arch or (built_for == "all" and fields["Package"] not in stanzas):
                stanzas[fields["Package"]] = fields
        for root in roots:
            if root in wanted and root not in stanzas:
                raise PackageError(f"apt knows no package {root}:{arch} ({_last_line(done.stderr)})")
        following = []
        for name in wanted:
            stanza = stanzas.get(name)
            if stanza is None:  # a virtual package, or one this release lacks: not needed to run
                continue
            found[name] = Package(name, stanza["Architecture"], stanza.get("Version", ""))
            following += [dep for dep in _depends(stanza) if FOLLOWED.match(dep)]
        wanted = sorted(set(following) - set(found))
    return sorted(found.values(), key=lambda p: p.name)


def unpack(apt: Apt, packages: Sequence[Package], folder: Path, triplet: str) -> None:
    """Download `packages` and unpack them all into `folder` (made afresh, complete or not
    at all) as a root a program of theirs runs from (`qemu-ARCH -L FOLDER`):

    - `lib/<triplet>` is merged into `usr/lib/<triplet>` (and becomes a link to it), as on
      a usr-merged system: the loader looks for some libraries in one and not the other;
    - an empty `etc/ld.so.cache`, so that the loader never reads the host's cache, which
      names the host's libraries (an i386 libc in `/lib32`, found before the root's own);
    - then the MANIFEST.
    """
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="wasitest-debs-") as tmp:
        done = apt.run("apt-get", "download", "-q", *(p.spec for p in packages), cwd=Path(tmp))
        debs = sorted(Path(tmp).glob("*.deb"))
        if done.returncode != 0 or len(debs) != len(packages):
            raise PackageError(f"apt-get download failed: {_last_line(done.stderr + done.stdout)}")
        for deb in debs:
            unpacked = _run(["dpkg", "-x", str(deb), str(partial)])
            if unpacked.returncode != 0:
                raise PackageError(f"dpkg -x {deb.name} failed: {_last_line(unpacked.stderr)}")
    _merge(partial / "lib" / triplet, partial / "usr" / "lib" / triplet)
    (partial / "etc").mkdir(exist_ok=True)
    (partial / "etc" / "ld.so.cache").write_bytes(b"")
    (partial / MANIFEST).write_text("".join(f"{p.spec}\n" for p in packages))
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def _merge(source: Path, destination: Path) -> None:
    """Move every entry of `source` into `destination` and leave a link in its place, so
    that both paths lead to one folder (a usr-merged system's layout)."""
    if not source.is_dir() or source.is_symlink():
        return
    destination.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        target = destination / entry.name
        if not target.exists() and not target.is_symlink():
            entry.rename(target)
    shutil.rmtree(source)
    source.symlink_to(os.path.relpath(destination, source.parent))


def installed(folder: Path) -> list[str]:
    """The package specs a finished folder holds; [] when it is not (completely) there."""
    try:
        return (folder / MANIFEST).read_text().split()
    except OSError:
        return []

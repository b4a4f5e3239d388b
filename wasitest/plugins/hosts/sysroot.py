"""Debian's Node for a target CPU in wasitest's cache folder, and how to start programs from it.

`wasitest hosts install NAME` (`install`) unpacks Debian's `nodejs` for the target's
architecture, with the libraries it links and Node's externalised builtins, into
`$WASITEST_CACHE_DIR/hosts/NAME/debian` (see `debian.py`; apt's lists of the architecture
are kept beside it, in `apt`): a root file system holding `usr/bin/node`. `launcher` says
how to start a program of that root here: under `qemu-ARCH -L ROOT`, which finds the
program's loader, libraries and every other absolute path in the root first.

Always under qemu, even for i386 on an x86-64 kernel that could run it natively: Debian's
Node loads its externalised builtins (`cjs-module-lexer`, `undici`, `acorn`) from absolute
paths under `/usr/share/nodejs`, which only qemu's `-L` leads into the root.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from wasitest.npm import cache_root
from wasitest.plugins.hosts import debian
from wasitest.plugins.hosts.targets import Target

#: what is unpacked: Node (its dependencies come along)
ROOT_PACKAGES = ("nodejs",)
QEMU_HINT = "apt-get install qemu-user"


def install_hint(target: Target) -> str:
    return f"wasitest hosts install {target.name}"


def root(target: Target) -> Path:
    """Where the target's packages are unpacked."""
    return cache_root() / "hosts" / target.name / "debian"


def node(target: Target) -> Path:
    return root(target) / "usr" / "bin" / "node"


def installed(target: Target) -> list[str]:
    """The package specs unpacked for `target`; [] when they are not (all) there."""
    return debian.installed(root(target)) if node(target).is_file() else []


def setup_problem(target: Target) -> str:
    """What this machine lacks to install `target` or run its programs, in one line with
    the fix; "" when nothing is missing."""
    if shutil.which(target.qemu) is None:
        return f"{target.qemu} is not installed (run: {QEMU_HINT})"
    return debian.system_problem()


def install(target: Target) -> str:
    """Fetch the architecture's package lists, then fetch and unpack the target's
    packages, unless the same versions are there already; returns one line saying what is
    where (and which package indexes failed). Raises `debian.PackageError` with the fix
    when it cannot."""
    problem = setup_problem(target)
    if problem:
        raise debian.PackageError(problem)
    apt = debian.Apt(target.arch, cache_root() / "hosts" / target.name / "apt")
    failed = apt.update()
    packages = debian.resolve(apt, ROOT_PACKAGES)
    folder = root(target)
    version = next((p.version for p in packages if p.name == "nodejs"), "?")
    if installed(target) == [p.spec for p in packages]:
        done = f"Debian's nodejs {version} for {target.arch} is up to date in {folder}"
    else:
        debian.unpack(apt, packages, folder, target.triplet)
        done = f"unpacked {len(packages)} Debian packages (nodejs {version}) for {target.arch} into {folder}"
    if failed:
        done += f" (without the package lists the mirror failed to serve: {', '.join(failed)})"
    return done


def launcher(target: Target) -> tuple[str, ...]:
    """The command prefix that runs a program of the unpacked root (the program's path
    follows it); raises `debian.PackageError` when the emulator is missing."""
    qemu = shutil.which(target.qemu)
    if qemu is None:
        raise debian.PackageError(f"{target.qemu} is not installed (run: {QEMU_HINT})")
    return (qemu, "-L", str(root(target)))

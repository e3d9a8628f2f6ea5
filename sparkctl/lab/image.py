"""The Debian base root filesystem shared (read-only, as overlay lower dir) by every lab node.

Built once with debootstrap and cached under CACHE_ROOT/base-<hash>, where the hash covers
the recipe (suite, variant, packages, post-install steps): change the recipe and the next
`lab up` builds a new image; otherwise every lab reuses the cached one.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sparkctl.errors import EnvironmentProblem, RunFailed
from sparkctl.lab import node_os, paths
from sparkctl.lab.access import LAB_GROUPS, LAB_UID, LAB_USER
from sparkctl.lab.system import require_binaries, require_root, run

DEFAULT_MIRROR = "http://deb.debian.org/debian"
BUILD_TIMEOUT_S = 900.0

# Debian 13 (trixie), not 12: DGX OS is Ubuntu 24.04 (systemd 255, NetworkManager 1.46,
# netplan 1.0); trixie has systemd 257, NetworkManager 1.52 and netplan 1.1.2, bookworm
# systemd 252, NetworkManager 1.42 and netplan 0.106 (whose `apply` aborts on the container's
# udevadm trigger failure). Reasons in notes/lab.md.
DEFAULT_SUITE = "trixie"

# What a simulated Spark needs: systemd as PID 1 with dbus and logind, NetworkManager and
# netplan (the DGX OS network stack; systemd-networkd comes with systemd), sshd and python3
# for Ansible, iproute2/ethtool/ping/iperf3 for link checks, openmpi + mpi4py for the CPU
# all-reduce, iptables for the drop-tcp fault, cron as on Ubuntu desktop, earlyoom for the
# earlyoom role (lab nodes have no internet to apt-get it).
NODE_PACKAGES = (
    "systemd", "systemd-sysv", "libpam-systemd", "dbus", "network-manager", "netplan.io",
    "openssh-server", "openssh-client", "iproute2", "iputils-ping", "python3", "python3-apt",
    "iperf3", "ethtool", "procps", "sudo", "kmod", "openmpi-bin", "python3-mpi4py", "rsync",
    "iptables", "ca-certificates", "less", "cron", "earlyoom",
    # Ubuntu's systemd ships these sysctls (Debian 13 moved them here), among them
    # net.ipv4.ping_group_range, which lets the login user ping without a raw socket.
    "linux-sysctl-defaults",
)

POST_INSTALL = (
    # Host keys are made per node by `lab up` (never shared through the image).
    "rm -f /etc/ssh/ssh_host_*",
    # Each node gets its own machine id (nodes.py); an empty file makes systemd treat the
    # image as unprovisioned, as a fresh install is.
    ": > /etc/machine-id",
    "apt-get clean",
    "rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/locale/*",
    # DGX OS's first user (access.py); password locked until `lab up` sets one per lab.
    f"useradd --create-home --uid {LAB_UID} --user-group --shell /bin/bash "
    f"--groups {','.join(LAB_GROUPS)} {LAB_USER}",
    f"install -d -m 700 -o {LAB_USER} -g {LAB_USER} /home/{LAB_USER}/.ssh",
)


def _files() -> tuple[tuple[str, str, int], ...]:
    return tuple((f.path, f.content, f.mode) for f in node_os.FILES)


def _diversions() -> tuple[tuple[str, str], ...]:
    return tuple((d.path, d.replacement) for d in node_os.DIVERSIONS)


@dataclass(frozen=True)
class ImageRecipe:
    suite: str = DEFAULT_SUITE
    variant: str = "minbase"
    packages: tuple[str, ...] = NODE_PACKAGES
    post_install: tuple[str, ...] = POST_INSTALL
    # DGX OS files and lab shims (node_os.py), so changing one rebuilds the image.
    files: tuple[tuple[str, str, int], ...] = field(default_factory=_files)
    diversions: tuple[tuple[str, str], ...] = field(default_factory=_diversions)
    unit_steps: tuple[str, ...] = field(default_factory=node_os.unit_steps)
    # Bump when the build procedure changes in a way the fields above do not show.
    revision: int = 2

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BaseImage:
    root: Path  # the rootfs directory (overlay lower dir)
    digest: str
    built_now: bool
    build_seconds: float | None


def image_dir(recipe: ImageRecipe) -> Path:
    return paths.CACHE_ROOT / f"base-{recipe.digest()}"


def cached_image(recipe: ImageRecipe) -> BaseImage | None:
    directory = image_dir(recipe)
    if (directory / "complete").is_file() and (directory / "rootfs" / "usr/sbin/sshd").exists():
        _mark_used(directory)
        return BaseImage(directory / "rootfs", recipe.digest(), False, None)
    return None


def _mark_used(directory: Path) -> None:
    try:
        (directory / "last-used").touch()
    except OSError:
        pass  # a read-only cache still works; it only ages sooner


def ensure_base_image(recipe: ImageRecipe | None = None, *, mirror: str | None = None,
                      log=None) -> BaseImage:
    """Return the cached image for this recipe, building it first when absent."""
    recipe = recipe or ImageRecipe()
    found = cached_image(recipe)
    if found:
        return found
    require_root("building the lab base image")
    require_binaries(["debootstrap", "chroot"])
    paths.CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    with open(paths.CACHE_ROOT / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second builder waits, then finds the cache
        found = cached_image(recipe)
        if found:
            return found
        return _build(recipe, mirror or os.environ.get("SPARKCTL_LAB_MIRROR", DEFAULT_MIRROR),
                      log)


def _build(recipe: ImageRecipe, mirror: str, log) -> BaseImage:
    started = time.monotonic()
    final = image_dir(recipe)
    scratch = paths.CACHE_ROOT / f".build-{recipe.digest()}-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    rootfs = scratch / "rootfs"
    rootfs.mkdir(parents=True)
    debs = paths.CACHE_ROOT / "debs"  # keeps downloads across recipe changes
    debs.mkdir(exist_ok=True)
    if log:
        log(f"building lab base image {recipe.digest()} with debootstrap (about a minute)...")
    try:
        run(["debootstrap", f"--variant={recipe.variant}", f"--cache-dir={debs}",
             f"--include={','.join(recipe.packages)}", recipe.suite, str(rootfs), mirror],
            timeout=BUILD_TIMEOUT_S, what="debootstrap")
        for step in recipe.post_install:
            _chroot(rootfs, step)
        for path, content, mode in recipe.files:
            _write(rootfs, path, content, mode)
        for path, replacement in recipe.diversions:
            _chroot(rootfs, f"dpkg-divert --quiet --local --rename --divert {path}.distrib "
                    f"--add {path}")
            _write(rootfs, path, replacement, 0o755)
        for step in recipe.unit_steps:
            _chroot(rootfs, step)
    except RunFailed as exc:
        shutil.rmtree(scratch, ignore_errors=True)
        raise EnvironmentProblem(
            f"cannot build the lab base image: {exc.message}",
            hint=f"debootstrap needs the Debian mirror {mirror} (set SPARKCTL_LAB_MIRROR to "
            "another one) and about 400 MB under " + str(paths.CACHE_ROOT),
        ) from exc
    (scratch / "recipe.json").write_text(json.dumps(asdict(recipe), indent=1, sort_keys=True))
    (scratch / "complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%S%z\n"))
    shutil.rmtree(final, ignore_errors=True)  # a half-built leftover without "complete"
    os.rename(scratch, final)
    prune_images(keep={recipe.digest()})
    elapsed = time.monotonic() - started
    if log:
        log(f"base image ready in {elapsed:.0f} s: {final}")
    return BaseImage(final / "rootfs", recipe.digest(), True, elapsed)


# Several checkouts of sparkctl (branches, worktrees) may share one cache with different
# recipes: an image is only pruned once no lab runs on it and nothing used it for this long.
PRUNE_AFTER_S = 3 * 24 * 3600


def _chroot(rootfs: Path, step: str) -> None:
    run(["chroot", str(rootfs), "/bin/sh", "-c", step], timeout=120,
        what=f"base image step {step!r}")


def _write(rootfs: Path, path: str, content: str, mode: int) -> None:
    target = rootfs / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    os.chmod(target, mode)


def prune_images(keep: set[str]) -> list[Path]:
    """Delete cached images of other recipes that no lab on this machine runs on and that
    no `lab up` used for PRUNE_AFTER_S."""
    from sparkctl.lab import state

    in_use = set(keep)
    for name in state.list_names():
        try:
            record = state.load(name)
        except Exception:  # noqa: BLE001 - an unreadable record: keep every image to be safe
            return []
        if record is not None:
            in_use.add(record.image)
    removed = []
    now = time.time()
    for directory in paths.CACHE_ROOT.glob("base-*"):
        stamps = [directory / "last-used", directory / "complete"]
        used = max((s.stat().st_mtime for s in stamps if s.exists()), default=0.0)
        if directory.name.removeprefix("base-") not in in_use and now - used > PRUNE_AFTER_S:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed

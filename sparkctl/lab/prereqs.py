"""Host packages the lab needs, and the apt-get command that installs them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from sparkctl.lab.system import require_root, run

# Debian package -> a command it provides (how we tell whether it is installed).
HOST_PACKAGES: dict[str, str] = {
    "iproute2": "ip",
    "util-linux": "unshare",
    "mount": "mount",
    "debootstrap": "debootstrap",
    "openssh-client": "ssh",
    "iperf3": "iperf3",
    "ethtool": "ethtool",
    "procps": "pgrep",
    "openssl": "openssl",
    "systemd-container": "systemd-nspawn",
}
INSTALL_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class PackageState:
    package: str
    command: str
    present: bool


def check() -> list[PackageState]:
    return [PackageState(pkg, cmd, shutil.which(cmd) is not None)
            for pkg, cmd in HOST_PACKAGES.items()]


def install_command(missing_only: bool = False) -> list[str]:
    packages = [s.package for s in check() if not (missing_only and s.present)]
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def install() -> None:
    require_root("installing the lab's host packages")
    run(["apt-get", "update"], timeout=INSTALL_TIMEOUT_S, what="apt-get update")
    run(install_command(), timeout=INSTALL_TIMEOUT_S, what="apt-get install")

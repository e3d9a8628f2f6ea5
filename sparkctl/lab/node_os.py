"""What a lab node's OS has beyond stock Debian: the DGX OS parts Debian lacks, and every
lab-only shim, each with its reason. The one place that lists them (notes/lab.md mirrors it;
a unit test keeps the two in step).

Two kinds:
- `dgx-os`: makes Debian behave like DGX OS (Ubuntu 24.04 desktop) where they differ.
  These are not shortcuts: a real Spark has the same file.
- `shim`: bridges what a container cannot do. Each is the smallest stand-in for one missing
  piece, and nothing on the sparkctl side (roles, probes, checks) knows about it.
"""

from __future__ import annotations

from dataclasses import dataclass

DGX_OS = "dgx-os"
SHIM = "shim"
# The node root runs this when the lab's udev stand-in is invoked (see UDEV_NM_BRIDGE).
BRIDGE_PATH = "/usr/local/libexec/sparkctl-lab/udev-nm-bridge"
BRIDGE_UNIT = "sparkctl-lab-udev-nm.service"


@dataclass(frozen=True)
class ImageFile:
    path: str
    content: str
    mode: int
    kind: str
    why: str


@dataclass(frozen=True)
class UnitChange:
    action: str  # "mask", "disable" or "enable" (systemctl verb, offline, in the image)
    unit: str
    kind: str
    why: str


@dataclass(frozen=True)
class Diversion:
    path: str  # the distribution's binary, moved aside to PATH.distrib by dpkg-divert
    replacement: str
    kind: str
    why: str


NM_DEFAULT_RENDERER = """\
# As on Ubuntu 24.04 desktop (package ubuntu-settings): NetworkManager renders every
# netplan definition that does not name a renderer itself.
network:
  version: 2
  renderer: NetworkManager
"""

# Ubuntu's network-manager package ships this; Debian's does not. netplan masks it with an
# empty /run/NetworkManager/conf.d/10-globally-managed-devices.conf whenever NetworkManager is
# netplan's global renderer or renders any definition (canonical/netplan src/generate.c).
NM_GLOBALLY_MANAGED = """\
[keyfile]
unmanaged-devices=*,except:type:wifi,except:type:gsm,except:type:cdma
"""

UDEVADM_WRAPPER = """\
#!/bin/sh
# sparkctl lab shim (see sparkctl/lab/node_os.py): a container has no udevd, so
# `udevadm control` (netplan apply reloads udev rules with it) has nothing to talk to. The
# reload's purpose, udev rules reaching NetworkManager, is done by the lab's bridge instead.
# Every other udevadm call goes to the real binary (trigger fails on the read-only /sys;
# netplan >= 1.1 ignores that, LP: #2095203).
case "${1:-}" in
    control) exec BRIDGE ;;
esac
exec /usr/bin/udevadm.distrib "$@"
""".replace("BRIDGE", BRIDGE_PATH)

UDEV_NM_BRIDGE = r'''#!/usr/bin/python3
"""sparkctl lab shim (sparkctl/lab/node_os.py): what udevd would do with netplan's rules.

netplan tells NetworkManager which devices are its own through udev: it writes
/run/udev/rules.d/90-netplan.rules with ENV{NM_UNMANAGED}="1" for definitions another
renderer owns (the ConnectX-7 twins under networkd) and "0" for NetworkManager's own
(canonical/netplan src/nm.c, netplan_state_finish_nm_write). A container has no udevd to run
those rules, so this writes the same decision as NetworkManager device config. Run before
NetworkManager starts at boot, and by `udevadm control` during `netplan apply`.
"""
import os
import re

RULES = "/run/udev/rules.d/90-netplan.rules"
OUT = "/run/NetworkManager/conf.d/90-sparkctl-lab-udev.conf"
RULE = re.compile(r'ENV\{ID_NET_NAME\}=="([^"]+)",\s*ENV\{NM_UNMANAGED\}="([01])"')

decided = {"1": [], "0": []}
try:
    with open(RULES, encoding="utf-8") as rules:
        for line in rules:
            match = RULE.search(line)
            if match and match.group(1) not in decided[match.group(2)]:
                decided[match.group(2)].append(match.group(1))
except FileNotFoundError:
    pass
lines = ["# Written by the sparkctl lab's udev stand-in from " + RULES, ""]
for flag, managed, label in (("1", 0, "unmanaged"), ("0", 1, "managed")):
    if decided[flag]:
        lines += ["[device-sparkctl-lab-udev-%s]" % label,
                  "match-device=" + ";".join("interface-name:" + n for n in decided[flag]),
                  "managed=%d" % managed, ""]
os.makedirs(os.path.dirname(OUT), exist_ok=True)
tmp = OUT + ".tmp"
with open(tmp, "w", encoding="utf-8") as out:
    out.write("\n".join(lines))
os.replace(tmp, OUT)
'''

BRIDGE_SERVICE = f"""\
# sparkctl lab shim (sparkctl/lab/node_os.py): udev's coldplug would apply netplan's
# NM_UNMANAGED rules before NetworkManager starts; this does it for the container.
[Unit]
Description=sparkctl lab: netplan's udev rules to NetworkManager (no udevd in a container)
DefaultDependencies=no
After=local-fs.target
Before=NetworkManager.service

[Service]
Type=oneshot
ExecStart={BRIDGE_PATH}

[Install]
WantedBy=NetworkManager.service
"""

FILES: tuple[ImageFile, ...] = (
    ImageFile("/usr/lib/netplan/00-network-manager-all.yaml", NM_DEFAULT_RENDERER, 0o600,
              DGX_OS, "NetworkManager is netplan's default renderer on Ubuntu 24.04 desktop "
              "(DGX OS); Debian has no such file."),
    ImageFile("/usr/lib/NetworkManager/conf.d/10-globally-managed-devices.conf",
              NM_GLOBALLY_MANAGED, 0o644, DGX_OS,
              "Ubuntu's network-manager ships it (NetworkManager only manages wifi/wwan unless "
              "netplan masks it); without it the renderer trap of a global `renderer: "
              "networkd` could not happen in the lab."),
    ImageFile(BRIDGE_PATH, UDEV_NM_BRIDGE, 0o755, SHIM,
              "No udevd in a container (read-only /sys): netplan's NM_UNMANAGED udev rules "
              "reach NetworkManager as device config instead."),
    ImageFile(f"/etc/systemd/system/{BRIDGE_UNIT}", BRIDGE_SERVICE, 0o644, SHIM,
              "Runs that bridge at boot before NetworkManager, where udev's coldplug would."),
)

DIVERSIONS: tuple[Diversion, ...] = (
    Diversion("/usr/bin/udevadm", UDEVADM_WRAPPER, SHIM,
              "`netplan apply` calls `udevadm control --reload`, which fails without udevd "
              "(exit 1, apply aborts with NetworkManager stopped); the wrapper runs the bridge "
              "instead and passes every other udevadm call through."),
)

UNITS: tuple[UnitChange, ...] = (
    UnitChange("enable", BRIDGE_UNIT, SHIM, "Runs the udev stand-in at every boot."),
    UnitChange("mask", "sshd-keygen.service", SHIM,
               "`lab up` makes each node's ed25519 host key (and records it); generating RSA "
               "and ECDSA keys on every first boot costs ~1 s of CPU per node."),
    UnitChange("disable", "apt-daily.timer", SHIM,
               "Nodes have no internet; a timed apt run would only take the dpkg lock."),
    UnitChange("disable", "apt-daily-upgrade.timer", SHIM,
               "Nodes have no internet; unattended upgrades cannot run."),
)


def divert_steps() -> tuple[str, ...]:
    """Chroot steps that move each diverted binary aside (the builder then writes its
    replacement in place)."""
    return tuple(f"dpkg-divert --quiet --local --rename --divert {d.path}.distrib --add {d.path}"
                 for d in DIVERSIONS)


def unit_steps() -> tuple[str, ...]:
    return tuple(f"systemctl {u.action} {u.unit}" for u in UNITS)


def shim_table() -> list[tuple[str, str, str, str]]:
    """(kind, what, where, why) for every entry: the table `lab shims` prints."""
    rows = [(f.kind, "file", f.path, f.why) for f in FILES]
    rows += [(d.kind, "wrapper", d.path, d.why) for d in DIVERSIONS]
    rows += [(u.kind, f"systemctl {u.action}", u.unit, u.why) for u in UNITS]
    return rows

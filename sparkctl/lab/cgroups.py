"""One cgroup (v2) per lab node, so every node's systemd manages its own tree.

systemd-nspawn --keep-unit puts a container's cgroups below its own cgroup. Started from the
same shell, every node would share one `payload` tree: their systemds would see each other's
units, and on a cgroup-v1 (hybrid) host, empty-cgroup notifications never reach a container's
systemd (measured: a reboot then hangs ~90 s per stopping unit). So each node's boot loop
moves itself into its own cgroup2 group first, and nspawn gives the node a pure cgroup2
hierarchy (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1).
"""

from __future__ import annotations

from pathlib import Path

from sparkctl.errors import EnvironmentProblem

PARENT = "sparkctl-lab"


def cgroup2_root(mounts: str | None = None) -> Path:
    """Where the host mounts cgroup2: /sys/fs/cgroup (unified) or /sys/fs/cgroup/unified."""
    text = mounts if mounts is not None else Path("/proc/self/mounts").read_text()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == "cgroup2":
            return Path(fields[1])
    raise EnvironmentProblem("this machine has no cgroup2 mount; lab nodes need one",
                             hint="mount -t cgroup2 none /sys/fs/cgroup/unified")


def node_cgroup(netns: str, root: Path | None = None) -> Path:
    return (root or cgroup2_root()) / PARENT / netns


def remove(path: Path) -> None:
    """Remove a node's cgroup tree, deepest first (cgroups go with rmdir only, once empty)."""
    if not path.is_dir():
        return
    for child in sorted((p for p in path.rglob("*") if p.is_dir()),
                        key=lambda p: len(p.parts), reverse=True):
        try:
            child.rmdir()
        except OSError:
            pass
    try:
        path.rmdir()
    except OSError:
        pass

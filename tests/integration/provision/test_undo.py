"""Undo on a real direct lab (issue 17 items 2 and 4), in order on one lab:
1. a plan that cuts management is rolled back by the node's dead-man timer and the run
   fails saying so; the node is as before;
2. provision, then `sparkctl network restore`: the netplan files and the twins' addresses
   and MTUs are the pre-provision ones again, file by file and address by address;
3. provision again, then `sparkctl uninstall --keep-access`: every listed path is as before
   provisioning; then `uninstall` without --keep-access removes the sudoers drop-in too."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from .conftest import sparkctl

pytestmark = pytest.mark.lab
LAB = "provun"
NODE = "spark-1"
CX7 = ["enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"]
# Everything sparkctl may write on a node (the roles' paths and the manifests'), as trees.
LISTED = ["/etc/netplan", "/run/netplan", "/etc/sparkctl", "/usr/local/libexec/sparkctl",
          "/var/lib/sparkctl", "/run/sparkctl", "/opt/sparkctl", "/etc/default/earlyoom",
          "/home/nvidia/.ssh", "/home/nvidia/.local",
          "/etc/systemd/system/sparkctl-health.service",
          "/etc/systemd/system/sparkctl-health.timer"]
_SNAPSHOT = r"""
import hashlib, json, os, subprocess, sys
paths, out = json.loads(sys.argv[1]), {}
def entry(p):
    st = os.lstat(p)
    if os.path.islink(p):
        return [oct(st.st_mode & 0o7777), "link", os.readlink(p)]
    if os.path.isdir(p):
        return [oct(st.st_mode & 0o7777), "dir", st.st_uid]
    with open(p, "rb") as h:
        return [oct(st.st_mode & 0o7777), hashlib.sha256(h.read()).hexdigest(), st.st_uid]
for top in paths:
    if not os.path.lexists(top):
        out[top] = None
        continue
    out[top] = entry(top)
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(root, name)
            out[p] = entry(p)
links = json.loads(subprocess.run(["ip", "-j", "addr", "show"], capture_output=True,
                                  text=True).stdout)
net = {l["ifname"]: [l["mtu"], sorted(f"{a['local']}/{a['prefixlen']}"
                                      for a in l.get("addr_info", []) if a["family"] == "inet")]
       for l in links}
pkg = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", "earlyoom"],
                     capture_output=True, text=True).stdout
print(json.dumps({"paths": out, "net": net, "earlyoom": pkg}))
"""


def console(*argv: str):
    """A root command on the node's console (no SSH, no sudo: works whatever the network
    and the sudoers say)."""
    import shlex

    # The console runs `sh -c` on its words joined: one word, quoted for sh.
    return sparkctl("lab", "console", "--name", LAB, "--timeout", "60", NODE, "--",
                    shlex.join(argv), check=False, timeout=90)


def snapshot(lab) -> dict:
    proc = console("python3", "-c", _SNAPSHOT, json.dumps(LISTED))
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def network_of(snap: dict) -> dict:
    wanted = CX7 + ["enP7s7"]
    return {"netplan": {p: v for p, v in snap["paths"].items()
                        if p.startswith(("/etc/netplan", "/run/netplan"))},
            "links": {n: v for n, v in snap["net"].items() if n in wanted}}


@pytest.fixture(scope="module")
def lab(lab_factory, state_dir):
    made = lab_factory("direct", LAB)
    return made


@pytest.fixture(scope="module")
def before(lab) -> dict:
    return snapshot(lab)


def _run(state_dir, *args: str, timeout: float = 600):
    return sparkctl(*args, "--lab", LAB, "--runs-dir", str(state_dir / "runs"),
                    check=False, timeout=timeout)


def test_a_plan_that_cuts_management_is_rolled_back_and_the_run_fails_saying_so(
        lab, before, state_dir):
    inventory = yaml.safe_load(lab.inventory.read_text())
    sparks = inventory["all"]["children"]["sparks"]
    interfaces = sparks["hosts"][NODE]["sparkctl_interfaces"]
    subnet = sparks["vars"]["sparkctl_lab_mgmt_subnet"]
    controller = subnet.rsplit(".", 1)[0] + ".254/24"  # the lab bridge: this controller
    bad = [dict(interfaces[0], address=controller)] + interfaces[1:]
    host_vars = lab.inventory.parent / "host_vars" / f"{NODE}.yml"
    host_vars.parent.mkdir(exist_ok=True)
    host_vars.write_text(yaml.safe_dump({"sparkctl_interfaces": bad, "network_deadman_s": 20,
                                         "network_reconnect_timeout_s": 8}))
    began = time.monotonic()
    try:
        proc = _run(state_dir, "provision", "--tags", "network", "--limit", NODE)
    finally:
        host_vars.unlink()
    print(f"\nbad plan: run failed after {time.monotonic() - began:.1f} s")
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    assert "the new network plan was rolled back" in out, out[-3000:]
    assert "dead-man: no confirmation from the controller within 20 s" in out, out[-3000:]
    after = snapshot(lab)  # reachable again over management, as before
    assert network_of(after) == network_of(before)
    marker = console("cat", "/var/lib/sparkctl/network-journal/rolled-back.json")
    assert json.loads(marker.stdout)["files_removed"] == ["/etc/netplan/40-sparkctl.yaml"]


def test_restore_brings_a_provisioned_node_back_to_its_journal(lab, before, state_dir):
    proc = _run(state_dir, "provision")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    provisioned = snapshot(lab)
    assert network_of(provisioned) != network_of(before)  # the plan changed the twins
    proc = _run(state_dir, "network", "restore")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    restored = network_of(snapshot(lab))
    expected = network_of(before)
    assert restored["netplan"] == expected["netplan"]  # file by file: mode and sha256
    assert restored["links"] == expected["links"]  # address by address, and MTU


def test_uninstall_returns_every_listed_path_to_its_state_before_provisioning(
        lab, before, state_dir):
    proc = _run(state_dir, "provision")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert snapshot(lab)["paths"] != before["paths"]
    proc = _run(state_dir, "uninstall", "--keep-access")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    after = snapshot(lab)
    differing = {p: (before["paths"].get(p), after["paths"].get(p))
                 for p in set(before["paths"]) | set(after["paths"])
                 if before["paths"].get(p) != after["paths"].get(p)}
    assert differing == {}
    assert after["net"] == before["net"] and after["earlyoom"] == before["earlyoom"]
    sudoers = "/etc/sudoers.d/sparkctl-nvidia"
    assert console("test", "-e", sudoers).returncode == 0  # --keep-access
    proc = _run(state_dir, "uninstall")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert console("test", "-e", sudoers).returncode == 1

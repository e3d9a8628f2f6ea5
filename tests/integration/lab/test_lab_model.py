"""Pure parts of the lab (no root needed): names, rates, link plans, image recipe, keys."""

from __future__ import annotations

import dataclasses

import pytest

from sparkctl.cluster import Cluster
from sparkctl.errors import InputError
from sparkctl.lab import names, paths, wiring
from sparkctl.lab.image import ImageRecipe
from sparkctl.lab.keys import known_hosts_lines
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.topology.hardware import netdev


@pytest.mark.parametrize("text, mbit", [("2gbit", 2000), ("500mbit", 500), ("1.5gbit", 1500),
                                         ("750", 750), ("2GBIT", 2000)])
def test_rates(text, mbit):
    assert wiring.parse_rate_mbit(text) == mbit


@pytest.mark.parametrize("text", ["", "fast", "0mbit", "500gbit", "2 tbit", "-1gbit"])
def test_bad_rates(text):
    with pytest.raises(InputError, match="cannot use link rate"):
        wiring.parse_rate_mbit(text)


@pytest.mark.parametrize("name", ["lab", "a", "ci2", "abcdefgh"])
def test_lab_names_fit_interface_names(name):
    paths.validate_lab_name(name)
    for ifname in (names.mgmt_bridge(name), names.mgmt_host_veth(name, 3)):
        assert len(ifname) <= 15 and name in ifname


@pytest.mark.parametrize("name", ["", "Lab", "9lab", "lab-1", "abcdefghi", "a/b"])
def test_bad_lab_names(name):
    with pytest.raises(InputError, match="invalid lab name"):
        paths.validate_lab_name(name)


def test_node_names_must_be_hostnames():
    names.check_node_name("spark-1")
    for bad in ("switch", "-x", "a_b", "x" * 64, "a.b"):
        with pytest.raises(InputError):
            names.check_node_name(bad)


@pytest.mark.parametrize("topology", list(BUILTINS))
def test_link_plan_follows_the_graph(topology):
    spec = builtin_spec(topology)
    cluster = Cluster.from_spec(spec)
    _, links = wiring.plan_links("lab", spec)
    plugged = [li for li in links if li.plugged]
    assert len(plugged) == 2 * len(spec.cables)  # one veth pair per rail per cable
    # Every (node, port, rail) appears exactly once, plugged or not: all four twins exist.
    node_ends = [(e.node, e.port, e.rail) for li in links for e in (li.a, li.b)
                 if e.node in spec.node_names]
    assert sorted(node_ends) == sorted((n, p, r) for n in spec.node_names
                                       for p in (0, 1) for r in (0, 1))
    for li in links:
        for end in (li.a, li.b):
            if end.node in spec.node_names:
                assert end.ifname == netdev(end.port, end.rail)
    # Plugged ends match the address plan's peers.
    for li in plugged:
        if li.b.node == "switch":
            continue
        item = cluster.plan.interface(li.a.node, li.a.ifname)
        assert (li.b.node, li.b.ifname) in {(p.host, p.interface) for p in item.peers}


def test_image_digest_follows_the_recipe():
    base = ImageRecipe()
    assert base.digest() == ImageRecipe().digest()
    more = dataclasses.replace(base, packages=base.packages + ("tcpdump",))
    assert more.digest() != base.digest()


def test_known_hosts_lines():
    text = known_hosts_lines([(["spark-1", "10.250.0.1"], b"ssh-ed25519 AAAAkey root@spark-1\n")])
    assert text == "spark-1,10.250.0.1 ssh-ed25519 AAAAkey\n"


def test_image_digest_covers_the_dgx_os_files_and_shims():
    from sparkctl.lab import node_os

    base = ImageRecipe()
    assert base.suite == "trixie"
    assert {path for path, _, _ in base.files} == {f.path for f in node_os.FILES}
    changed = dataclasses.replace(base, files=base.files[:-1])
    assert changed.digest() != base.digest()
    assert "linux-sysctl-defaults" in base.packages and "network-manager" in base.packages


def test_every_shim_is_listed_with_its_reason_in_the_notes():
    """node_os.py is the one list; notes/lab.md's table must name every entry of it."""
    from pathlib import Path

    from sparkctl.lab import node_os

    notes = (Path(__file__).resolve().parents[3] / "notes" / "lab.md").read_text()
    table = notes[notes.index("## DGX OS files and lab-only shims"):]
    table = table[:table.index("\n## ")]
    rows = node_os.shim_table()
    assert len(rows) >= 6
    for kind, _, where, why in rows:
        assert kind in (node_os.DGX_OS, node_os.SHIM) and len(why) > 20
        assert where in table, f"{where} ({kind}) is missing from notes/lab.md"
    assert all(f.kind == node_os.SHIM for f in node_os.FILES if "sparkctl-lab" in f.path)


def test_mgmt_netplan_file_names_no_renderer_and_configured_file_names_networkd():
    import yaml

    from sparkctl.lab import netplan_files

    mgmt = netplan_files.mgmt_file("10.250.3.1", 24)
    assert mgmt.path == "/etc/netplan/00-installer-config.yaml" and mgmt.mode == 0o600
    network = yaml.safe_load(mgmt.content)["network"]
    assert "renderer" not in network and "renderer" not in network["ethernets"]["enP7s7"]
    assert network["ethernets"]["enP7s7"]["addresses"] == ["10.250.3.1/24"]
    plan = Cluster.from_spec(builtin_spec("direct")).plan.interfaces["spark-1"]
    configured = yaml.safe_load(netplan_files.configured_file(plan).content)["network"]
    assert "renderer" not in configured
    ethernets = configured["ethernets"]
    assert set(ethernets) == {"enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"}
    assert {e["renderer"] for e in ethernets.values()} == {"networkd"}
    assert ethernets["enp1s0f1np1"]["addresses"] == ["192.168.100.1/24"]
    assert ethernets["enp1s0f1np1"]["mtu"] == 9000
    assert all("link-local" not in e for e in ethernets.values())  # health's probe needs it
    assert "addresses" not in ethernets["enp1s0f0np0"]


def test_cgroup2_root_is_found_on_unified_and_hybrid_hosts():
    from pathlib import Path

    from sparkctl.lab import cgroups

    here = Path("/proc/self/mounts").read_text()
    if " cgroup2 " in here:
        assert cgroups.cgroup2_root().is_dir()
    hybrid = ("tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
              "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
              "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n")
    assert cgroups.cgroup2_root(hybrid) == Path("/sys/fs/cgroup/unified")
    assert cgroups.cgroup2_root("cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n") == Path(
        "/sys/fs/cgroup")
    with pytest.raises(Exception, match="no cgroup2 mount"):
        cgroups.cgroup2_root("proc /proc proc rw 0 0\n")


def test_shadow_gets_the_password_hash_of_one_user_only():
    from sparkctl.errors import EnvironmentProblem
    from sparkctl.lab import access

    shadow = "root:*:20000:0:99999:7:::\nnvidia:!:20000:0:99999:7:::\n"
    out = access.shadow_with_password(shadow, "nvidia", "$6$salt$hash")
    assert out.splitlines() == ["root:*:20000:0:99999:7:::",
                                "nvidia:$6$salt$hash:20000:0:99999:7:::"]
    with pytest.raises(EnvironmentProblem, match="no user 'nobody2'"):
        access.shadow_with_password(shadow, "nobody2", "$6$x")
    password = access.new_password()
    assert len(password) == 24 and password.isalnum() and password != access.new_password()


def test_lab_shims_prints_every_entry_with_its_reason():
    import json
    import subprocess
    import sys

    from sparkctl.lab import node_os

    out = subprocess.run([sys.executable, "-m", "sparkctl", "lab", "shims", "-f", "json"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["shims"]
    assert [(r["kind"], r["where"]) for r in rows] == [(k, p) for k, _, p, _ in
                                                       node_os.shim_table()]
    assert {"/usr/bin/udevadm", "/usr/lib/netplan/00-network-manager-all.yaml"} <= {
        r["where"] for r in rows}

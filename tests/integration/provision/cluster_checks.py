"""What a provisioned cluster must look like on every node; shared by the per-topology
test modules (each brings up its own lab and provisions it twice)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from sparkctl.provision.runner import ProvisionRequest, RunResult, provision
from sparkctl.render.bundle import previews_for
from sparkctl.targets import resolve_target

from .conftest import Lab
from .probe import probe

CX7 = ["enp1s0f0np0", "enP2p1s0f0np0", "enp1s0f1np1", "enP2p1s0f1np1"]
# path on node -> expected mode
MODES = {
    "/etc/netplan/40-sparkctl.yaml": 0o600,
    "/etc/sparkctl/nccl.env": 0o644,
    "/etc/sparkctl/hostfile": 0o644,
    "~/.ssh": 0o700,
    "~/.ssh/sparkctl_cluster_ed25519": 0o600,
    "~/.ssh/authorized_keys": 0o600,
    "~/.ssh/config": 0o600,
    "~/.ssh/sparkctl_known_hosts": 0o644,
}
# preview file -> path on node
PREVIEWED = {"40-sparkctl.yaml": "/etc/netplan/40-sparkctl.yaml",
             "nccl.env": "/etc/sparkctl/nccl.env", "hostfile": "/etc/sparkctl/hostfile"}


@dataclass
class Provisioned:
    lab: Lab
    first: RunResult
    second: RunResult
    hostvars: dict[str, dict]
    previews: dict[str, str]
    probes: dict[str, dict]


def provision_lab(lab: Lab, runs_dir: Path) -> Provisioned:
    import sys
    import time

    import testinfra

    began = time.monotonic()
    target = resolve_target(lab=lab.name)
    first = provision(target, ProvisionRequest(runs_dir=runs_dir))
    second = provision(target, ProvisionRequest(runs_dir=runs_dir))
    print(f"\n{lab.name}: provision {first.duration_s:.1f} s, again {second.duration_s:.1f} s",
          file=sys.stderr)
    hostvars = target.hostvars  # Ansible's view of the inventory (sparkctl.targets)
    groups = {"sparks": target.node_names}
    previews = previews_for(hostvars, {"all": target.node_names, **groups}, target_roles())
    probes = {}
    for host in testinfra.get_hosts([f"ansible://sparks?ansible_inventory={lab.inventory}"]):
        name = host.backend.host
        pings = [(i["name"], p["address"], i["mtu"] - 28)
                 for i in hostvars[name]["sparkctl_interfaces"] for p in i["peers"]]
        probes[name] = probe(host, list(MODES), pings, list(groups["sparks"]))
    print(f"{lab.name}: provisioned and probed in {time.monotonic() - began:.1f} s",
          file=sys.stderr)
    return Provisioned(lab, first, second, hostvars, previews, probes)


def target_roles() -> Path:
    from sparkctl.render.bundle import content_dir

    return content_dir("playbooks") / "roles"


class ProvisionedClusterChecks:
    """Each test reads `cluster` (a Provisioned) from the module's fixture."""

    def test_first_run_succeeds_on_every_node(self, cluster: Provisioned):
        result = cluster.first
        assert result.ok, result.failures
        assert set(result.stats) == set(cluster.hostvars)
        assert result.changed > 0  # from scratch: something had to change

    def test_second_run_changes_nothing(self, cluster: Provisioned):
        result = cluster.second
        assert result.ok, result.failures
        changed = {h: s.changed for h, s in result.stats.items()}
        assert changed == {h: 0 for h in cluster.hostvars}

    def test_addresses_and_mtu_per_plan_on_every_rail(self, cluster: Provisioned):
        for host, data in cluster.probes.items():
            links = {link["ifname"]: link for link in data["ip"]}
            planned = {i["name"]: i for i in cluster.hostvars[host]["sparkctl_interfaces"]}
            for name in CX7:
                if name not in links:
                    continue
                link = links[name]
                ipv4 = [f"{a['local']}/{a['prefixlen']}" for a in link.get("addr_info", [])
                        if a["family"] == "inet"]
                ll6 = [a for a in link.get("addr_info", [])
                       if a["family"] == "inet6" and a.get("scope") == "link"]
                if name in planned:
                    assert ipv4 == [planned[name]["address"]], (host, name)
                    assert link["mtu"] == planned[name]["mtu"], (host, name)
                    assert "UP" in link["flags"], (host, name)
                    assert ll6 == [], f"{host} {name} has IPv6 link-local {ll6}"
                else:
                    assert ipv4 == [], f"{host} {name} is not in the plan but has {ipv4}"

    def test_df_ping_at_mtu_minus_28_to_every_peer_on_every_rail(self, cluster: Provisioned):
        expected = sum(len(i["peers"]) for v in cluster.hostvars.values()
                       for i in v["sparkctl_interfaces"])
        results = [p for data in cluster.probes.values() for p in data["ping"]]
        assert len(results) == expected
        failed = [p for p in results if p["rc"] != 0]
        assert failed == []

    def test_key_based_ssh_to_every_peer_by_name_over_the_data_network(self, cluster):
        for host, data in cluster.probes.items():
            assert len(data["ssh"]) == len(cluster.hostvars)
            for result in data["ssh"]:
                peer = result["name"]
                assert result["rc"] == 0, f"{host} -> ssh {peer}: {result['err']}"
                name, connection = result["out"].split("\n")[:2]
                assert name == peer
                server_address = connection.split()[2]
                data_addresses = [i["address"].split("/")[0]
                                  for i in cluster.hostvars[peer]["sparkctl_interfaces"]]
                if data_addresses and cluster.hostvars[host]["sparkctl_interfaces"]:
                    assert server_address in data_addresses, (host, peer, connection)
                else:  # single node: no data network, by name over management
                    assert server_address == cluster.hostvars[peer]["ansible_host"]

    def test_nccl_env_hostfile_and_netplan_are_what_the_plan_renders(self, cluster):
        for host, data in cluster.probes.items():
            for preview, path in PREVIEWED.items():
                on_node = data["files"][path]["text"]
                assert on_node == cluster.previews[f"preview/{host}/{preview}"], (host, path)
            env = dict(line.split("=", 1) for line in
                       data["files"]["/etc/sparkctl/nccl.env"]["text"].splitlines()
                       if line and not line.startswith("#"))
            expected = cluster.hostvars[host]["sparkctl_nccl_env"]
            assert env == {k: str(v) for k, v in expected.items()}

    def test_file_modes(self, cluster: Provisioned):
        for host, data in cluster.probes.items():
            modes = {path: data["files"][path]["mode"] for path in MODES}
            assert modes == MODES, host

    def test_known_hosts_pin_real_keys_for_every_name_and_address(self, cluster):
        for host, data in cluster.probes.items():
            text = data["files"]["~/.ssh/sparkctl_known_hosts"]["text"]
            for peer, hvars in cluster.hostvars.items():
                names = [peer, hvars["ansible_host"]] + [
                    i["address"].split("/")[0] for i in hvars["sparkctl_interfaces"]]
                lines = [ln for ln in text.splitlines() if ln.split(",")[0] == peer]
                assert lines, f"{host} has no pinned key for {peer}"
                assert all(ln.split()[0] == ",".join(names) for ln in lines)


def lab_cluster(lab_factory, state_dir: Path, topology: str, name: str) -> Provisioned:
    lab = lab_factory(topology, name)
    try:
        return provision_lab(lab, state_dir / "runs")
    except Exception as exc:  # pragma: no cover - surfaced by every test of the module
        pytest.fail(f"provisioning lab {name} ({topology}) failed: {exc}")

"""Fresh lab -> bootstrap (password on stdin, --accept-new) -> provision -K (become password
on stdin) -> validate, then bootstrap again; the checks every topology must pass."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .conftest import Login, bootstrap, files_under, grep, login_of, sparkctl
from .fresh import FreshCluster


@dataclass
class Flow:
    cluster: FreshCluster
    state: Path
    first: tuple  # (CompletedProcess, report)
    second: tuple
    provision: object
    provision_again: object
    validate: object
    login: Login
    hostvars: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)

    def peer_addresses(self, peer: str) -> list[str]:
        hv = self.hostvars[peer]
        return [i["address"].split("/")[0] for i in hv["sparkctl_interfaces"]] + \
            [hv["ansible_host"]]


def run_flow(cluster: FreshCluster, state: Path) -> Flow:
    seconds = {}
    began = time.monotonic()
    first = bootstrap(cluster, "--accept-new")
    seconds["bootstrap"] = time.monotonic() - began
    assert first[0].returncode == 0, first[0].stderr + first[0].stdout
    login = login_of(first[1])
    began = time.monotonic()
    provision = sparkctl("provision", *cluster.target_args(), "--become-password-stdin",
                         stdin=cluster.password + "\n", timeout=900)
    seconds["provision"] = time.monotonic() - began
    again = sparkctl("provision", *cluster.target_args(), "--become-password-stdin",
                     stdin=cluster.password + "\n", timeout=900)
    validate = sparkctl("validate", *cluster.target_args(), "--format", "json", timeout=600)
    second = bootstrap(cluster, "--accept-new")
    data = yaml.safe_load(cluster.inventory.read_text())
    hostvars = data["all"]["children"]["sparks"]["hosts"]
    print(f"\n{cluster.lab}: bootstrap {seconds['bootstrap']:.1f} s, provision -K "
          f"{seconds['provision']:.1f} s", file=sys.stderr)
    return Flow(cluster, state, first, second, provision, again, validate, login, hostvars,
                seconds)


def _summary(run_output: str) -> str:
    return run_output[-3000:]


class FreshClusterChecks:
    """Each test reads `flow` (a Flow) from the module's fixture."""

    def test_bootstrap_reports_every_node(self, flow: Flow):
        proc, report = flow.first
        assert report["ok"] and report["changed"]
        assert [n["name"] for n in report["nodes"]] == flow.cluster.nodes
        for node in report["nodes"]:
            assert node["ok"], node
            assert node["host_key"].startswith("pinned on first use")
            assert node["fingerprints"] and all(
                f.startswith("256 SHA256:") and f.endswith(f" {node['name']} (ED25519)")
                for f in node["fingerprints"])
            assert node["key_login"].startswith("works")
            assert node["sudo"].startswith("asks for the password")
            assert node["mgmt_interface"] == "enP7s7"
            assert node["mgmt_address"] == flow.cluster.addresses[node["name"]]
            assert node["os"] and node["dgx_name"] is None  # the lab has no /etc/dgx-release
        assert "Trusting host keys on first use (--accept-new), NOT verified" in proc.stderr

    def test_second_bootstrap_changes_nothing_and_says_so(self, flow: Flow):
        proc, report = flow.second
        assert proc.returncode == 0, proc.stderr
        assert report["ok"] and not report["changed"]
        assert all(n["changes"] == [] and n["host_key"] == "already pinned"
                   for n in report["nodes"])

    def test_provision_with_become_password_then_converged(self, flow: Flow):
        assert flow.provision.returncode == 0, _summary(flow.provision.stdout +
                                                        flow.provision.stderr)
        assert flow.provision_again.returncode == 0, flow.provision_again.stderr
        runs = sorted((flow.state / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
        last = json.loads((runs[-1] / "summary.json").read_text())
        assert last["status"] == "successful"
        assert {h: s["changed"] for h, s in last["hosts"].items()} == \
            {h: 0 for h in flow.cluster.nodes}

    def test_validate_passes(self, flow: Flow):
        assert flow.validate.returncode == 0, _summary(flow.validate.stdout)
        assert json.loads(flow.validate.stdout)["verdict"] == "pass"

    def test_password_and_private_keys_are_in_no_record(self, flow: Flow):
        records = files_under(flow.state / "runs")
        assert any(p.match("*/job_events/*.json") for p in records)  # the grep has data
        assert grep(records, flow.cluster.password) == []
        assert grep(records, "PRIVATE KEY") == []
        # nor anywhere else sparkctl keeps state (the key store holds keys, not passwords)
        assert grep(files_under(flow.state), flow.cluster.password) == []

    def test_ssh_by_data_address_management_address_and_name_from_every_node(self, flow):
        for node in flow.cluster.nodes:
            targets = []
            for peer in flow.cluster.nodes:
                if peer != node:
                    targets += flow.peer_addresses(peer) + [peer, f"{peer}-mgmt"]
            script = "; ".join(f"ssh -o BatchMode=yes {t} hostname || echo FAILED {t}"
                               for t in targets)
            done = flow.login.ssh(flow.cluster.addresses[node], script, timeout=120)
            assert done.returncode == 0, done.stderr
            assert "FAILED" not in done.stdout, (node, done.stdout, done.stderr)
            assert len(done.stdout.split()) == len(targets)

    def test_one_marked_mesh_key_in_authorized_keys(self, flow: Flow):
        for node in flow.cluster.nodes:
            text = flow.login.ssh(flow.cluster.addresses[node],
                                  "cat ~/.ssh/authorized_keys").stdout
            assert text.count("# BEGIN sparkctl mesh key") == 1
            assert text.count("sparkctl-mesh:") == 1 and text.count("sparkctl-login:") == 1

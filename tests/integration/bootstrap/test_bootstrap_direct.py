"""Fresh direct lab: bootstrap -> provision -K -> validate; then --sudo nopasswd and a
provision without a become password; then a mesh key rotation."""

from __future__ import annotations

import pytest

from .conftest import bootstrap, sparkctl
from .flow import Flow, FreshClusterChecks, run_flow

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def flow(fresh_lab, state_dir) -> Flow:
    return run_flow(fresh_lab("direct", "bootdr"), state_dir)


class TestFreshDirect(FreshClusterChecks):
    pass


def test_nopasswd_sudo_then_provision_without_become_password(flow: Flow):
    proc, report = bootstrap(flow.cluster, "--sudo", "nopasswd")
    assert proc.returncode == 0, proc.stderr
    assert all(n["sudo"].startswith("no password needed: wrote /etc/sudoers.d/sparkctl-nvidia")
               for n in report["nodes"])
    for node in flow.cluster.nodes:
        done = flow.login.ssh(flow.cluster.addresses[node],
                              "sudo -n stat -c %a:%U:%G /etc/sudoers.d/sparkctl-nvidia; "
                              "sudo -n ls -a /etc/sudoers.d")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == "440:root:root"
        assert ".sparkctl-" not in done.stdout  # no candidate left behind
    again, report = bootstrap(flow.cluster, "--sudo", "nopasswd")
    assert again.returncode == 0 and not report["changed"]
    run = sparkctl("provision", *flow.cluster.target_args(), timeout=900)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def test_rotating_the_mesh_key_removes_the_old_line_everywhere(flow: Flow):
    before = {n: flow.login.ssh(flow.cluster.addresses[n], "cat ~/.ssh/authorized_keys").stdout
              for n in flow.cluster.nodes}
    old = {line for text in before.values() for line in text.splitlines()
           if "sparkctl-mesh:" in line}
    assert len(old) == 1
    proc, report = bootstrap(flow.cluster, "--rotate-mesh-key")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert report["mesh"].startswith("rotated")
    for node in flow.cluster.nodes:
        text = flow.login.ssh(flow.cluster.addresses[node], "cat ~/.ssh/authorized_keys").stdout
        mesh = [line for line in text.splitlines() if "sparkctl-mesh:" in line]
        assert len(mesh) == 1 and mesh[0] not in old, node
        peer = next(p for p in flow.cluster.nodes if p != node)
        done = flow.login.ssh(flow.cluster.addresses[node],
                              f"ssh -o BatchMode=yes {peer} hostname")
        assert done.stdout.strip() == peer, done.stderr

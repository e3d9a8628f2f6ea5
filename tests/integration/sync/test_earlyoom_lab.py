"""The earlyoom role on the lab: real Ansible over SSH, idempotent, and earlyoom itself run
with the arguments the role wrote (--dryrun: it picks a victim but sends nothing).

What runs here and what does not: the lab image carries the earlyoom package (nodes have no
internet), so the role's install step finds it and installs nothing; the nodes run systemd,
so the service step runs as on DGX OS. The daemon's thresholds and its choice of victim are
exercised for real.
"""

from __future__ import annotations

import re

import pytest

from .conftest import NODES

pytestmark = pytest.mark.lab

ARGS = ('EARLYOOM_ARGS="-m 6,3 -s 100,100 -r 3600 --prefer (vllm|VLLM|sglang|trtllm|'
        'tritonserver|llama-server|ray|python|all_reduce_perf|all_gather_perf) --avoid '
        '(systemd|sshd|dockerd|containerd|dbus-daemon|NetworkManager|earlyoom)"')


@pytest.fixture(scope="module")
def runs(lab, tmp_path_factory):
    from sparkctl.provision.runner import ProvisionRequest, provision
    from sparkctl.targets import resolve_target

    records = tmp_path_factory.mktemp("runs")
    request = ProvisionRequest(tags=("earlyoom",), runs_dir=records)
    first = provision(resolve_target(lab=lab.name), request)
    second = provision(resolve_target(lab=lab.name), request)
    return first, second


def test_the_role_converges_then_changes_nothing(runs):
    first, second = runs
    assert first.ok, first.failures
    assert set(first.stats) == set(NODES)
    assert all(s.changed > 0 for s in first.stats.values())  # the arguments file
    assert second.ok, second.failures
    assert {h: s.changed for h, s in second.stats.items()} == {h: 0 for h in NODES}


def test_every_node_has_the_arguments_with_their_reasons(lab, runs):
    for node in NODES:
        text = lab.sh(node, "cat /etc/default/earlyoom")
        assert ARGS in text.splitlines(), node
        assert "SIGKILL at 3 %" in text and "128 GB unified pool" in text
        assert lab.sh(node, "stat -c '%a %U' /etc/default/earlyoom").strip() == "644 root"


def test_earlyoom_takes_the_arguments_and_would_kill_the_model_server_first(lab, runs):
    node = "spark-3"
    # a stand-in model server (a process named vllm) and sshd are both there
    lab.sh(node, "cp /bin/sleep /tmp/vllm && (setsid /tmp/vllm 30 >/dev/null 2>&1 &)")
    try:
        out = lab.sh(node, "set -f; . /etc/default/earlyoom; timeout 2 earlyoom $EARLYOOM_ARGS "
                     "--dryrun 2>&1; true")
        # earlyoom 1.7 (Ubuntu 24.04, DGX OS) says "mem <=", 1.8 (the lab's trixie) "mem avail <="
        assert re.search(r"sending SIGTERM when mem (avail )?<=  6\.00% and "
                         r"swap (free )?<= 100\.00%", out), out
        assert re.search(r"SIGKILL when mem (avail )?<=  3\.00% and swap (free )?<= 100\.00%",
                         out), out
        assert "Will avoid killing process names that match regex '(systemd|sshd|" in out
        # Force the low-memory branch to see whom it would pick: a later -m wins (99 is its
        # limit), and a 2 GiB hog (tail buffering a line that never ends) takes the machine's
        # available memory below it whatever else runs here.
        lab.sh(node, "(setsid sh -c 'head -c 2G /dev/zero | tail >/dev/null' "
                     ">/dev/null 2>&1 &)")
        out = lab.sh(node, "set -f; . /etc/default/earlyoom; timeout 4 earlyoom $EARLYOOM_ARGS "
                     "-m 99,98 --dryrun 2>&1; true")
        assert re.search(r'sending SIG(TERM|KILL) to process \d+ uid \d+ "vllm"', out), out
        assert "dryrun, not actually sending any signal" in out
        assert '"sshd"' not in out
    finally:
        lab.sh(node, "pkill -x vllm; pkill -x tail; rm -f /tmp/vllm; true")

"""inventories/ holds one example per built-in topology; this test keeps them fresh.

Regenerate after an intended change with:
    SPARKCTL_UPDATE_EXAMPLES=1 pytest tests/unit/test_inventories.py
"""

import json
import os
import subprocess

import pytest

from sparkctl.cluster import Cluster
from sparkctl.render.inventory import build_inventory, dump_inventory
from sparkctl.topology.builtins import BUILTINS, builtin_spec


def rendered(name: str) -> str:
    return dump_inventory(build_inventory(Cluster.from_spec(builtin_spec(name))))


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_example_inventory_is_fresh(name, repo):
    path = repo / "inventories" / f"{name}.yml"
    if os.environ.get("SPARKCTL_UPDATE_EXAMPLES"):
        path.write_text(rendered(name))
    assert path.exists(), f"missing {path}; run with SPARKCTL_UPDATE_EXAMPLES=1"
    assert path.read_text() == rendered(name), (
        f"{path} is stale; regenerate with SPARKCTL_UPDATE_EXAMPLES=1 pytest {__file__}")


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_ansible_inventory_accepts_example(name, repo, ansible_bin):
    proc = subprocess.run(
        [str(ansible_bin / "ansible-inventory"), "-i", str(repo / "inventories" / f"{name}.yml"),
         "--list"], capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    hosts = data["_meta"]["hostvars"]
    assert sorted(hosts) == [f"spark-{i}" for i in range(1, BUILTINS[name].nodes + 1)]
    first = hosts["spark-1"]
    # NVIDIA keeps MTU 1500 through a switch (facts: "MTU on a switch"); 9000 between Sparks.
    mtu = 1500 if name.startswith("switch") else 9000
    assert first["sparkctl_topology"] == name and first["sparkctl_mtu"] == mtu
    assert len(first["sparkctl_interfaces"]) == 2 * len({i["port"] for i in
                                                          first["sparkctl_interfaces"]})


def test_stale_example_is_detected(repo, tmp_path):
    # The freshness check must be able to fail: a changed MTU changes the rendering.
    import dataclasses

    spec = dataclasses.replace(builtin_spec("ring3"), mtu=1500)
    other = dump_inventory(build_inventory(Cluster.from_spec(spec)))
    assert other != (repo / "inventories" / "ring3.yml").read_text()

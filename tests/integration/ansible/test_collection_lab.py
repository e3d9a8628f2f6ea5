"""The installed collection, used the Ansible way against a lab: a plain playbook with the
roles by FQCN and the inventory plugin (a cluster file plus group/host vars, no sparkctl
inventory in between) converges the nodes, and a second run changes nothing. Then a bundle
rendered under one HOME runs from another directory and another controller state.

Root only; the lab is named ansfq and always brought down."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from ...collection_support import ansible_env, build_collection, install_collection

pytestmark = pytest.mark.lab

BIN = Path(sys.executable).parent
LAB = "ansfq"
ROLES = ("preflight", "network", "ssh_mesh", "rdma", "drivers", "mpi", "nccl")
BECOME = "{{ sparkctl_become | default((ansible_user | default('')) != 'root') }}"


def sparkctl(*args: str, timeout: float = 900, check: bool = True,
             env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "sparkctl"), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"sparkctl {' '.join(args)} -> {proc.returncode}\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    sparkctl("lab", "down", "--name", LAB, check=False)
    sparkctl("lab", "up", "--topology", "direct", "--name", LAB)
    from sparkctl.lab.paths import lab_inventory_path

    try:
        yield lab_inventory_path(LAB)
    finally:
        sparkctl("lab", "down", "--name", LAB, check=False, timeout=300)


@pytest.fixture(scope="module")
def project(lab, tmp_path_factory) -> dict:
    """What an Ansible user keeps in a repository: a cluster file, the plugin file, the
    connection variables in host_vars, a playbook naming the roles by FQCN."""
    work = tmp_path_factory.mktemp("ansible-user")
    artifact, _ = build_collection(work / "build")
    install_collection(artifact, work / "collections")
    inventory = yaml.safe_load(lab.read_text())
    group = inventory["all"]["children"]["sparks"]
    gvars = group["vars"]
    cluster = {"name": gvars["sparkctl_cluster_name"], "platform": gvars["sparkctl_platform"],
               "mtu": gvars["sparkctl_mtu"], "topology": gvars["sparkctl_topology"],
               "nodes": [{"name": h, "address": v["ansible_host"]}
                         for h, v in group["hosts"].items()]}
    repo = work / "repo"
    (repo / "inventory" / "host_vars").mkdir(parents=True)
    (repo / "inventory" / "cluster.yaml").write_text(yaml.safe_dump(cluster, sort_keys=False))
    (repo / "inventory" / "spark.cluster.yml").write_text(
        "plugin: sparkctl.dgx_spark.cluster\ncluster_file: cluster.yaml\n")
    for host, hvars in group["hosts"].items():
        connection = {k: v for k, v in hvars.items() if k.startswith("ansible_")
                      and k != "ansible_host"}
        (repo / "inventory" / "host_vars" / f"{host}.yml").write_text(yaml.safe_dump(connection))
    play = [{"name": "Configure the Sparks with the collection", "hosts": "sparks",
             "gather_facts": False,
             "vars": {"ssh_mesh_key_dir": str(work / "state" / "keys")},
             "roles": [{"role": f"sparkctl.dgx_spark.{r}", **({} if r in ("preflight", "ssh_mesh")
                                                              else {"become": BECOME})}
                       for r in ROLES]}]
    (repo / "site.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = ansible_env(work / "collections", ANSIBLE_HOST_KEY_CHECKING="True",
                      ANSIBLE_INVENTORY_UNPARSED_FAILED="True", ANSIBLE_RETRY_FILES_ENABLED="0",
                      ANSIBLE_PIPELINING="True", ANSIBLE_SSH_CONTROL_PATH_DIR=str(work / "cp"))
    return {"repo": repo, "env": env, "lab_inventory": inventory, "work": work}


def playbook(project: dict, *args: str, cwd: Path | None = None,
             env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ansible-playbook"), *args], cwd=cwd or project["repo"],
                          env=env or project["env"], capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)


def recap(stdout: str) -> dict[str, dict[str, int]]:
    found = {}
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", stdout, re.M):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    return found


@pytest.fixture(scope="module")
def runs(project) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    first = playbook(project, "-i", "inventory/spark.cluster.yml", "site.yml")
    second = playbook(project, "-i", "inventory/spark.cluster.yml", "site.yml")
    return first, second


def test_the_plugin_gives_the_lab_inventory(project):
    proc = subprocess.run([str(BIN / "ansible-inventory"), "-i", "inventory/spark.cluster.yml",
                           "--list"], cwd=project["repo"], env=project["env"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)["_meta"]["hostvars"]
    lab = project["lab_inventory"]["all"]["children"]["sparks"]
    for host, hvars in lab["hosts"].items():
        expected = {**lab["vars"], **hvars}
        # The lab's own bookkeeping (rate, scale) is not part of the cluster description.
        expected = {k: v for k, v in expected.items() if not k.startswith("sparkctl_lab_")}
        assert got[host] == expected, host


def test_fqcn_playbook_converges_the_lab(runs):
    first, _ = runs
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-2000:]
    counts = recap(first.stdout)
    assert sorted(counts) == ["spark-1", "spark-2"]
    assert all(c["failed"] == 0 and c["unreachable"] == 0 for c in counts.values())
    assert all(c["changed"] > 0 for c in counts.values())
    # The roles ran from the installed collection, not from a checkout.
    assert ("sparkctl.dgx_spark.network : Write the netplan plan for the ConnectX-7 twins"
            in first.stdout)
    assert "Validating arguments against arg spec 'main'" in first.stdout


def test_second_run_changes_nothing(runs):
    _, second = runs
    assert second.returncode == 0, second.stdout[-5000:] + second.stderr[-2000:]
    counts = recap(second.stdout)
    assert sorted(counts) == ["spark-1", "spark-2"]
    assert {h: c["changed"] for h, c in counts.items()} == {"spark-1": 0, "spark-2": 0}


def test_nodes_hold_the_plan(runs, project):
    first, _ = runs
    assert first.returncode == 0
    hosts = project["lab_inventory"]["all"]["children"]["sparks"]["hosts"]
    for host, hvars in hosts.items():
        for iface in hvars["sparkctl_interfaces"]:
            shown = sparkctl("lab", "ssh", "--name", LAB, host, "--",
                             f"ip -4 -br addr show {iface['name']}", timeout=60).stdout
            assert iface["address"] in shown, (host, iface["name"], shown)
        files = sparkctl("lab", "ssh", "--name", LAB, host, "--",
                         "cat /etc/sparkctl/hostfile /etc/sparkctl/nccl.env", timeout=60).stdout
        assert "spark-1 slots=1" in files and "NCCL_IB_HCA=" in files
    assert (project["work"] / "state" / "keys" / "sparkctl_cluster_ed25519").is_file()


@pytest.fixture
def short_dir():
    # ssh's ControlPath must stay under 108 bytes; pytest's tmp paths are long.
    path = Path(tempfile.mkdtemp(prefix="spk-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_bundle_runs_from_another_place_and_controller_state(runs, project, tmp_path,
                                                               short_dir):
    """Rendered with one HOME and state directory, copied elsewhere, run with another: the
    bundle finds its own files and keeps its controller state where it runs."""
    render_env = {**os.environ, "HOME": str(tmp_path / "renderer-home"),
                  "SPARKCTL_STATE_DIR": str(tmp_path / "renderer-state")}
    sparkctl("render", "--lab", LAB, "-o", str(tmp_path / "rendered"), env=render_env)
    moved = tmp_path / "other-machine" / "bundle"
    shutil.copytree(tmp_path / "rendered", moved, symlinks=True)
    shutil.rmtree(tmp_path / "rendered")
    state = short_dir / "state"
    env = {k: v for k, v in project["env"].items() if k != "ANSIBLE_SSH_CONTROL_PATH_DIR"}
    env.update(HOME=str(tmp_path / "runner-home"), SPARKCTL_STATE_DIR=str(state))
    env.pop("ANSIBLE_COLLECTIONS_PATH")  # the bundle carries its roles
    proc = playbook(project, "site.yml", cwd=moved, env=env)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
    assert all(c["failed"] == 0 for c in recap(proc.stdout).values())
    # The mesh key is the cluster id's (the bundle names the id), under the runner's state.
    bundle_vars = yaml.safe_load((moved / "group_vars" / "all" / "sparkctl.yml").read_text())
    cluster_id = bundle_vars["sparkctl_cluster_id"]
    assert (state / "clusters" / cluster_id / "mesh" / "sparkctl_cluster_ed25519").is_file()
    assert not (state / "keys").exists()
    assert any((state / "cp").iterdir())  # ControlPersist sockets in the runner's state
    # The renderer only recorded which id the cluster has; the run left nothing there.
    renderer = tmp_path / "renderer-state"
    assert not list(renderer.rglob("sparkctl_cluster_ed25519"))
    assert not (renderer / "cp").exists()

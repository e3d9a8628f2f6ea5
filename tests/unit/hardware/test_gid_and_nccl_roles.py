"""GID index (issue 13.8): the rdma role measures it per HCA from sysfs and writes the node's
own /etc/sparkctl/rdma.env; nccl.env takes the measured value (never the planned 3), each node
its own, and -1 (NCCL's per-HCA choice) where one node's HCAs differ. NCCL's build (13.1):
>= 2.30.7-1 with checksums, and the library path keeps CUDA's and the caller's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from .roleplay import ROLES, local_hosts, run_play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="role tests run as root")

# /sys/class/infiniband/<hca>/ports/1/{gids,gid_attrs/types}/<n> (kernel
# Documentation/ABI/testing/sysfs-class-infiniband). RoCE v2 IPv4 GIDs are ::ffff:a.b.c.d;
# the index of the planned address is what is measured. Values are synthetic.
_V1_LINK_LOCAL = ("fe80:0000:0000:0000:0000:0000:0000:0001", "IB/RoCE v1")


def _gid(ip: str) -> str:
    a, b, c, d = (int(x) for x in ip.split("."))
    return f"0000:0000:0000:0000:0000:ffff:{a:02x}{b:02x}:{c:02x}{d:02x}"


def _sysfs(root: Path, hca: str, ip: str, index: int) -> None:
    port = root / hca / "ports" / "1"
    (port / "gids").mkdir(parents=True)
    (port / "gid_attrs" / "types").mkdir(parents=True)
    entries = {0: _V1_LINK_LOCAL, 1: (_V1_LINK_LOCAL[0], "RoCE v2"),
               index - 1: (_gid(ip), "IB/RoCE v1"), index: (_gid(ip), "RoCE v2")}
    for n, (gid, kind) in entries.items():
        (port / "gids" / str(n)).write_text(gid + "\n")
        (port / "gid_attrs" / "types" / str(n)).write_text(kind + "\n")


PLANNED = {"NCCL_IB_GID_INDEX": "3", "NCCL_IB_HCA": "rocep1s0f1,roceP2p1s0f1",
           "NCCL_IB_SUBNET_AWARE_ROUTING": "1", "NCCL_SOCKET_IFNAME": "enP7s7",
           "OMPI_MCA_btl_tcp_if_include": "enP7s7", "UCX_NET_DEVICES": "enP7s7"}


@pytest.fixture
def cluster(tmp_path):
    """spark-1: both HCAs at index 3. spark-2: 5 and 3 (IPv6 addresses came and went)."""
    hosts = {}
    for host, n, indexes in (("spark-1", 1, (3, 3)), ("spark-2", 2, (5, 3))):
        sysfs = tmp_path / "sys" / host
        ifaces = []
        for (name, hca, subnet), index in zip(
                (("enp1s0f1np1", "rocep1s0f1", 100), ("enP2p1s0f1np1", "roceP2p1s0f1", 101)),
                indexes, strict=True):
            ip = f"192.168.{subnet}.{n}"
            _sysfs(sysfs, hca, ip, index)
            ifaces.append({"name": name, "hca": hca, "port": 1, "rail": int(subnet == 101),
                           "address": f"{ip}/24", "mtu": 9000, "peers": []})
        (tmp_path / "etc" / host).mkdir(parents=True)
        hosts[host] = {"sparkctl_interfaces": ifaces, "sysfs": str(sysfs),
                       "etc": str(tmp_path / "etc" / host)}
    return local_hosts(hosts, sparkctl_nccl_env=PLANNED)


_PATHS = {"nccl_env_path": "{{ etc }}/nccl.env", "nccl_config_dir": "{{ etc }}",
          "nccl_rdma_env_path": "{{ etc }}/rdma.env", "nccl_build": False}


def _rdma_then_nccl() -> list[dict]:
    return [{"hosts": "sparks", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "rdma", "tasks_from": "gid"},
         "vars": {"rdma_sysfs": "{{ sysfs }}", "rdma_env_path": "{{ etc }}/rdma.env",
                  "rdma_config_dir": "{{ etc }}"}},
        {"ansible.builtin.include_role": {"name": "nccl"}, "vars": _PATHS}]}]


def _nccl_only() -> list[dict]:
    return [{"hosts": "sparks", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "nccl"}, "vars": _PATHS}]}]


def _values(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if line and not line.startswith("#"))


def test_each_node_gets_its_own_measured_index(tmp_path, cluster):
    proc = run_play(tmp_path, _rdma_then_nccl(), cluster)
    assert proc.returncode == 0, proc.stdout[-4000:]
    one, two = (_values(tmp_path / "etc" / h / "rdma.env") for h in ("spark-1", "spark-2"))
    assert one == {"SPARKCTL_GID_INDEX_rocep1s0f1": "3", "SPARKCTL_GID_INDEX_roceP2p1s0f1": "3",
                   "NCCL_IB_GID_INDEX": "3"}
    assert two == {"SPARKCTL_GID_INDEX_rocep1s0f1": "5", "SPARKCTL_GID_INDEX_roceP2p1s0f1": "3",
                   "NCCL_IB_GID_INDEX": "-1"}
    assert "spark-2: RoCE v2 GID indexes differ across HCAs" in proc.stdout
    assert _values(tmp_path / "etc" / "spark-1" / "nccl.env")["NCCL_IB_GID_INDEX"] == "3"
    nccl2 = (tmp_path / "etc" / "spark-2" / "nccl.env").read_text()
    assert _values(tmp_path / "etc" / "spark-2" / "nccl.env")["NCCL_IB_GID_INDEX"] == "-1"
    assert "measured on this node by the rdma role" in nccl2
    again = run_play(tmp_path, _rdma_then_nccl(), cluster)
    assert again.returncode == 0 and again.stdout.count("changed=0") == 2, again.stdout[-2000:]


def test_nccl_alone_reads_the_measurement_and_refuses_without_one(tmp_path, cluster):
    assert run_play(tmp_path, _rdma_then_nccl(), cluster).returncode == 0
    # A planned value a hand edit left behind is replaced by the measurement again.
    env = tmp_path / "etc" / "spark-2" / "nccl.env"
    env.write_text(env.read_text().replace("NCCL_IB_GID_INDEX=-1", "NCCL_IB_GID_INDEX=3"))
    alone = run_play(tmp_path, _nccl_only(), cluster)
    assert alone.returncode == 0, alone.stdout[-3000:]
    assert _values(env)["NCCL_IB_GID_INDEX"] == "-1"
    (tmp_path / "etc" / "spark-1" / "rdma.env").unlink()
    missing = run_play(tmp_path, _nccl_only(), cluster)
    assert missing.returncode != 0
    assert "spark-1: no measured RoCE GID index" in missing.stdout
    assert "Run the rdma role first" in missing.stdout


def _defaults() -> dict:
    return yaml.safe_load((ROLES / "nccl" / "defaults" / "main.yml").read_text())


def test_nccl_release_has_subnet_aware_routing_and_every_download_a_checksum():
    d = _defaults()
    assert tuple(int(x) for x in d["nccl_version"].split("-")[0].split(".")) >= (2, 30, 7)
    assert d["nccl_tests_version"] == "2.19.6"  # newest tag, 2026-07-09
    # TensorFlow/XLA's pin for v2.30.7-1 (third_party/nccl/workspace.bzl).
    assert d["nccl_source_checksums"][d["nccl_version"]] == (
        "sha256:292a7f7a27b6754acaf46b5506a60758ca7b18cc1dfbd3d1d4e1e229d0863b4e")
    assert d["nccl_tests_source_checksums"][d["nccl_tests_version"]].startswith("sha256:")
    build = yaml.safe_load((ROLES / "nccl" / "tasks" / "build.yml").read_text())
    downloads = [t["ansible.builtin.get_url"] for t in build if "ansible.builtin.get_url" in t]
    assert len(downloads) == 2 and all("checksum" in g for g in downloads)


def _build_play(version: str) -> list[dict]:
    return [{"hosts": "sparks", "gather_facts": False, "tasks": [
        {"ansible.builtin.include_role": {"name": "nccl", "tasks_from": "build"},
         "vars": {"nccl_version": version, "nccl_root": "{{ etc }}/opt"}}]}]


def test_build_refuses_an_nccl_older_than_2_30_7_and_a_version_without_checksum(tmp_path,
                                                                               cluster):
    old = run_play(tmp_path, _build_play("2.28.9-1"), cluster)
    assert old.returncode != 0
    assert "nccl_version 2.28.9-1 has no NCCL_IB_SUBNET_AWARE_ROUTING" in old.stdout
    unknown = run_play(tmp_path, _build_play("2.31.0-1"), cluster)
    assert unknown.returncode != 0
    assert "no sha256 for NCCL 2.31.0-1 (missing)" in unknown.stdout
    assert not (tmp_path / "etc" / "spark-1" / "opt").exists()  # nothing downloaded


def test_library_path_keeps_cuda_and_the_callers_value(tmp_path):
    import shlex

    from sparkctl.render.jinja import strict_environment

    d = _defaults()
    context = {**{k: v for k, v in d.items() if "{{" not in str(v)},
               "nccl_prefix": "/opt/sparkctl/nccl-2.30.7-1-sm121",
               "nccl_tests_prefix": "/opt/sparkctl/nccl-tests-2.19.6-nccl-2.30.7-1-sm121"}
    jinja = strict_environment(ROLES / "nccl" / "templates")
    jinja.filters["quote"] = shlex.quote  # Ansible's quote filter
    text = jinja.get_template("nccl-paths.env.j2").render(**context)
    env_file = tmp_path / "nccl-paths.env"
    env_file.write_text(text)
    probe = f'set -a; . {env_file}; set +a; printf "%s|%s" "$LD_LIBRARY_PATH" "$NCCL_TESTS_BIN"'
    base = "/opt/sparkctl/nccl-2.30.7-1-sm121/lib:/usr/local/cuda/lib64:" \
           "/usr/lib/aarch64-linux-gnu/openmpi/lib"
    caller = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30,
                            env={"LD_LIBRARY_PATH": "/opt/caller/lib", "PATH": "/usr/bin:/bin"})
    assert caller.stdout == f"{base}:/opt/caller/lib|" \
                            "/opt/sparkctl/nccl-tests-2.19.6-nccl-2.30.7-1-sm121"
    bare = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30,
                          env={"PATH": "/usr/bin:/bin"})
    assert bare.stdout.split("|")[0] == base

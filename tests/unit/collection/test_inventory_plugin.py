"""`ansible-inventory -i spark.cluster.yml --list` (the collection's inventory plugin) equals
`ansible-inventory` on what `sparkctl inventory` writes, for every built-in topology and for
a cluster file with explicit cables; its errors are sparkctl's, pointing into the file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sparkctl.topology.builtins import BUILTINS

from ...collection_support import BIN, ansible_env

PLUGIN = "plugin: sparkctl.dgx_spark.cluster\n"


@pytest.fixture
def collections(built) -> Path:
    return built["collections"]


def inventory_list(collections: Path, source: Path, *extra: str,
                   **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "ansible-inventory"), "-i", str(source), "--list", *extra],
                          capture_output=True, text=True, timeout=120, cwd=source.parent,
                          env=ansible_env(collections, **env))


def listed(collections: Path, source: Path, *extra: str) -> dict:
    proc = inventory_list(collections, source, *extra, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def sparkctl_inventory(cluster_file: Path) -> Path:
    out = cluster_file.with_name("sparkctl-inventory.yml")
    proc = subprocess.run([str(BIN / "sparkctl"), "inventory", "--cluster", str(cluster_file),
                           "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def cluster_text(topology: str) -> str:
    count = BUILTINS[topology].nodes
    nodes = "".join(f"  - {{name: spark-{i}, address: 10.0.0.{10 + i}}}\n"
                    for i in range(1, count + 1))
    # A user, a port and an MTU so host and group variables beyond the defaults show up.
    return (f"name: ci-{topology}\nssh_user: nvidia\nmtu: 4200\nnodes:\n{nodes}"
            f"topology: {topology}\n").replace("address: 10.0.0.12}", "address: 10.0.0.12, "
                                               "port: 2222}")


# A custom cabling (a chain, which no built-in is), a lab platform and a pool of its own.
EXPLICIT = """\
name: bench
platform: lab
nodes:
  - {name: alpha, address: 10.1.0.1}
  - {name: beta, address: 10.1.0.2, user: ops}
  - {name: gamma, address: 10.1.0.3}
cables:
  - 'alpha:p0 -- beta:p1'
  - 'beta:p0 -- gamma:p1'
pool: [10.20.0.0/22, 10.20.4.0/22]
"""


CASES = {**{t: cluster_text(t) for t in BUILTINS}, "explicit-cables": EXPLICIT}


@pytest.mark.parametrize("case", list(CASES))
def test_plugin_equals_sparkctl_inventory(collections, tmp_path, case):
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(CASES[case])
    source = tmp_path / "spark.cluster.yml"
    source.write_text(PLUGIN + "cluster_file: cluster.yaml\n")
    expected = listed(collections, sparkctl_inventory(cluster))
    got = listed(collections, source)
    assert got == expected
    # The comparison saw a real cluster: every node, its rails and peers, the group vars.
    hostvars = got["_meta"]["hostvars"]
    assert sorted(hostvars) == sorted(got["sparks"]["hosts"])
    assert len(hostvars) == (BUILTINS[case].nodes if case in BUILTINS else 3)
    first = hostvars[sorted(hostvars)[0]]
    assert first["sparkctl_cluster_name"] in (f"ci-{case}", "bench")
    if case != "single":
        assert first["sparkctl_interfaces"] and first["sparkctl_interfaces"][0]["peers"]


def test_export_keeps_group_vars_in_the_group(collections, tmp_path):
    (tmp_path / "cluster.yaml").write_text(CASES["ring3"])
    source = tmp_path / "spark.cluster.yml"
    source.write_text(PLUGIN + "cluster_file: cluster.yaml\n")
    got = listed(collections, source, "--export")
    assert got == listed(collections, sparkctl_inventory(tmp_path / "cluster.yaml"), "--export")
    assert got["sparks"]["vars"]["sparkctl_topology"] == "ring3"
    assert got["sparks"]["vars"]["sparkctl_mtu"] == 4200


def test_inline_cluster_equals_the_cluster_file(collections, tmp_path):
    (tmp_path / "cluster.yaml").write_text(EXPLICIT)
    by_file = tmp_path / "file.cluster.yml"
    by_file.write_text(PLUGIN + "cluster_file: cluster.yaml\n")
    inline = tmp_path / "inline.cluster.yml"
    inline.write_text(PLUGIN + "cluster:\n" + "".join(f"  {line}\n"
                                                      for line in EXPLICIT.splitlines()))
    assert listed(collections, inline) == listed(collections, by_file)


def test_inline_cluster_without_a_name_is_named_after_the_file(collections, tmp_path):
    source = tmp_path / "rack7.cluster.yaml"
    source.write_text(PLUGIN + "cluster: {topology: direct, nodes: [s1, s2]}\n")
    hostvars = listed(collections, source)["_meta"]["hostvars"]
    assert hostvars["s1"]["sparkctl_cluster_name"] == "rack7"


def _failure(collections: Path, source: Path) -> str:
    proc = inventory_list(collections, source, ANSIBLE_INVENTORY_UNPARSED_FAILED="true")
    assert proc.returncode != 0, proc.stdout
    return proc.stderr


def test_an_error_in_an_inline_cluster_points_at_its_line(collections, tmp_path):
    source = tmp_path / "bad.cluster.yml"
    source.write_text(PLUGIN + "cluster:\n  nodes:\n    - spark-1\n"
                      "    - {name: spark-2, prot: 22}\n  topology: direct\n")
    message = _failure(collections, source)
    assert f"{source}:5:" in message and "unknown node key 'prot'" in message


def test_an_error_in_a_cluster_file_names_the_node_and_port(collections, tmp_path):
    (tmp_path / "cluster.yaml").write_text(
        "nodes: [a, b]\ncables: ['a:p0 -- b:p1', 'a:p0 -- b:p0']\n")
    source = tmp_path / "spark.cluster.yml"
    source.write_text(PLUGIN + "cluster_file: cluster.yaml\n")
    message = _failure(collections, source)
    assert "a:p0" in message and "cluster.yaml" in message


@pytest.mark.parametrize(("body", "expected"), [
    ("cluster_file: c.yaml\ncluster: {nodes: [a], topology: single}\n", "exactly one of"),
    ("", "exactly one of"),
    ("clusterfile: c.yaml\n", "unknown key 'clusterfile'"),
    ("cluster_file: missing.yaml\n", "does not exist"),
])
def test_bad_plugin_files_are_refused_clearly(collections, tmp_path, body, expected):
    source = tmp_path / "spark.cluster.yml"
    source.write_text(PLUGIN + body)
    assert expected in _failure(collections, source)


def test_without_sparkctl_the_plugin_says_how_to_install_it(collections, tmp_path):
    (tmp_path / "cluster.yaml").write_text(CASES["single"])
    source = tmp_path / "spark.cluster.yml"
    source.write_text(PLUGIN + "cluster_file: cluster.yaml\n")
    # ansible-inventory in a Python where `import sparkctl` fails.
    code = ("import sys; sys.modules['sparkctl'] = None; sys.argv[0] = 'ansible-inventory'; "
            "from ansible.cli.inventory import main; main()")
    proc = subprocess.run([sys.executable, "-c", code, "-i", str(source), "--list"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=ansible_env(collections, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    assert proc.returncode != 0
    assert "pip install dgx-sparkctl" in proc.stderr


def test_a_plain_cluster_file_is_not_claimed(collections, tmp_path):
    # verify_file: only *.cluster.yml / *.cluster.yaml files are this plugin's.
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(PLUGIN + "cluster: {topology: single, nodes: [a]}\n")
    message = _failure(collections, cluster)
    assert "could not be verified by inventory plugin 'sparkctl.dgx_spark.cluster'" in message

import pytest
import yaml

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.errors import InputError
from sparkctl.render.inventory import build_inventory
from sparkctl.targets import resolve_target
from sparkctl.validate import collective, table
from sparkctl.validate.runner import ValidateOptions, validate_run


def test_target_from_builtin(make_context):
    target = make_context("switch4", 4)
    assert [n.name for n in target.nodes] == ["spark-1", "spark-2", "spark-3", "spark-4"]
    assert collective.data_netdevs(target, "spark-1") == ["enp1s0f1np1", "enP2p1s0f1np1"]
    assert collective.rails_shared_by_all(target)
    assert target.platform.has_rdma and target.platform.link_speed_mbps == 200_000


def write_inventory(tmp_path, topology, n, **group_vars):
    target = resolve_target(topology=topology, hosts=",".join(f"s{i}" for i in range(n)))
    data = build_inventory(target.cluster, host_vars={}, group_vars=group_vars)
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_inventory_plan_is_read_from_the_inventory(tmp_path):
    path = write_inventory(tmp_path, "ring3", 3)
    data = yaml.safe_load(path.read_text())
    first = data["all"]["children"]["sparks"]["hosts"]["s0"]["sparkctl_interfaces"][0]
    first["address"] = "10.9.9.1/24"  # what provisioning applied wins over a re-plan
    path.write_text(yaml.safe_dump(data))
    target = resolve_target(inventory=path)
    names = {str(i.address) for i in target.node("s0").interfaces}
    assert "10.9.9.1/24" in names


def test_lab_inventory_without_rate_cannot_judge_rails(tmp_path):
    path = write_inventory(tmp_path, "switch2", 2)
    data = yaml.safe_load(path.read_text())
    data["all"]["children"]["sparks"]["vars"]["sparkctl_platform"] = "lab"
    path.write_text(yaml.safe_dump(data))
    target = resolve_target(inventory=path)
    assert not target.platform.has_rdma and target.platform.link_speed_mbps is None
    with pytest.raises(InputError, match="sparkctl_lab_rate_mbit"):
        validate_run(target, ValidateOptions(phases=("rails",), budget_s=5))
    data["all"]["children"]["sparks"]["vars"]["sparkctl_lab_rate_mbit"] = 2000
    path.write_text(yaml.safe_dump(data))
    platform = resolve_target(inventory=path).platform
    assert platform.rail_expectation.minimum == 1.8 and platform.rail_parallel == 2


def test_malformed_inventory_interface_names_host(tmp_path):
    path = write_inventory(tmp_path, "switch2", 2)
    data = yaml.safe_load(path.read_text())
    del data["all"]["children"]["sparks"]["hosts"]["s1"]["sparkctl_interfaces"][0]["mtu"]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(InputError, match="host s1, sparkctl_interfaces\\[0\\]"):
        resolve_target(inventory=path)


def check(cid, subject):
    return CheckResult(cid, "link", subject, Verdict.PASS)


def test_table_rows_group_by_node_then_rail():
    checks = [check("collective.all_reduce", "cluster"),
              check("link.ping", "spark-2/enp1s0f1np1 -> spark-1/enp1s0f1np1"),
              check("link.mtu", "spark-1/enP2p1s0f1np1"),
              check("link.mtu", "spark-1/enp1s0f1np1"),
              check("node.ssh", "spark-1"),
              check("rdma.port", "spark-1/rocep1s0f1")]
    got = [(r.node, r.rail, r.check.id) for r in table.rows(checks)]
    assert got == [("spark-1", "", "node.ssh"), ("spark-1", "p1 r0", "link.mtu"),
                   ("spark-1", "p1 r0", "rdma.port"), ("spark-1", "p1 r1", "link.mtu"),
                   ("spark-2", "p1 r0", "link.ping"), ("cluster", "", "collective.all_reduce")]

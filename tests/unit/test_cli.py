import json

import pytest
import yaml
from typer.testing import CliRunner

from sparkctl import __version__
from sparkctl.cli.app import app

runner = CliRunner(env={"COLUMNS": "200"})


def run(*args):
    return runner.invoke(app, list(args))


def test_version():
    result = run("--version")
    assert result.exit_code == 0 and __version__ in result.output


def test_topology_list_json_names_every_builtin():
    data = json.loads(run("topology", "list", "--format", "json").output)["topologies"]
    assert [t["name"] for t in data] == ["single", "direct", "direct-dual", "ring3", "switch2",
                                         "switch3", "switch4"]


def test_show_json_shape():
    result = run("topology", "show", "ring3", "--hosts", "a,b,c", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert set(data) == {"schema_version", "name", "topology", "platform", "mtu", "nodes",
                         "cables", "subnets", "hostfile"}
    assert [c["a"] + " -- " + c["b"] for c in data["cables"]] == [
        "a:p0 -- b:p1", "b:p0 -- c:p1", "c:p0 -- a:p1"]
    rail = data["cables"][0]["rails"][1]
    assert rail["subnet"] == "192.168.101.0/24"
    assert [e["interface"] for e in rail["ends"]] == ["enP2p1s0f0np0", "enP2p1s0f1np1"]
    assert data["nodes"][0]["nccl_env"]["NCCL_IB_MERGE_NICS"] == "0"


def test_show_table_lists_cables_rails_subnets():
    result = run("topology", "show", "direct-dual")
    assert result.exit_code == 0
    for text in ("spark-1:p0 -- spark-2:p0", "enP2p1s0f1np1", "192.168.103.0/24"):
        assert text in result.output


@pytest.mark.parametrize("fmt,needle", [("dot", '"spark-1" -- "switch" ['),
                                        ("mermaid", "sw{{")])
def test_show_graph_formats(fmt, needle):
    result = run("topology", "show", "switch2", "--format", fmt)
    assert result.exit_code == 0 and needle in result.output


def test_draw_svg(tmp_path):
    out = tmp_path / "ring3.svg"
    result = run("topology", "draw", "ring3", "-o", str(out))
    assert result.exit_code == 0, result.output
    svg = out.read_text()
    assert svg.lstrip().startswith("<?xml") and "enP2p1s0f0np0" in svg and "192.168.105" in svg


def test_init_writes_a_file_that_show_accepts(tmp_path):
    out = tmp_path / "cluster.yaml"
    assert run("init", "-t", "ring3", "-H", "a,b,c", "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("# sparkctl cluster file")
    assert run("init", "-t", "ring3", "-H", "a,b,c", "-o", str(out)).exit_code == 2  # exists
    result = run("topology", "show", str(out), "--format", "json")
    assert json.loads(result.output)["topology"] == "ring3"


def test_inventory_to_file_and_back(tmp_path):
    out = tmp_path / "inv.yml"
    assert run("inventory", "-t", "switch3", "-H", "x,y,z", "-o", str(out)).exit_code == 0
    inv = yaml.safe_load(out.read_text())
    hosts = inv["all"]["children"]["sparks"]["hosts"]
    assert list(hosts) == ["x", "y", "z"]
    assert hosts["y"]["sparkctl_interfaces"][0]["address"] == "192.168.100.2/24"
    again = run("topology", "show", str(out), "--format", "json")
    assert json.loads(again.output)["cables"][2] == json.loads(
        run("topology", "show", "switch3", "-H", "x,y,z", "--format", "json").output)["cables"][2]


BAD_CALLS = [
    (["topology", "show", "ring3", "--hosts", "a,b"], "needs exactly 3 hosts"),
    (["topology", "show", "switch4", "--hosts", ""], "--hosts is empty"),
    (["topology", "show", "switch2", "--hosts", "a,,b"], "empty name"),
    (["topology", "show", "nosuch"], "neither a built-in topology nor a file"),
    (["inventory"], "give exactly one target"),
    (["inventory", "-t", "ring3", "-c", "x.yaml"], "give exactly one target"),
    (["inventory", "-c", "/nonexistent/c.yaml"], "does not exist"),
    (["inventory", "--lab", "nosuch"], "no lab named 'nosuch'"),
    (["init", "-t", "ring3", "-H", "a,b,c", "--mtu", "100"], "MTU 100 is outside"),
    (["init", "-t", "direct", "--platform", "foo"], "unknown platform"),
    (["topology", "draw", "ring3", "-o", "x.txt"], "unknown format"),
    (["topology", "show", "ring3", "-H", "a,a,b"], "declared twice"),
    (["topology", "show", "switch2", "--format", "xml"], "Invalid value"),
]


@pytest.mark.parametrize("argv,message", BAD_CALLS, ids=[" ".join(a) for a, _ in BAD_CALLS])
def test_bad_calls_exit_2_with_message(argv, message):
    result = run(*argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["direct-dual", "ring3", "switch4"])
def test_inventory_round_trip_keeps_every_address(name, tmp_path):
    # Re-planning from an inventory must give back the addresses provisioning applied.
    from sparkctl.cluster import Cluster
    from sparkctl.render.inventory import build_inventory, write_inventory
    from sparkctl.targets import load_inventory_file
    from sparkctl.topology.builtins import builtin_spec

    cluster = Cluster.from_spec(builtin_spec(name))
    path = write_inventory(tmp_path / "inv.yml", build_inventory(cluster))
    again = load_inventory_file(path)

    def addresses(c):
        # A cable's orientation is not in the inventory; addresses and peers are.
        return {(i.node, i.name): (i.address, sorted(i.peers, key=str))
                for i in c.plan.all_interfaces()}

    assert addresses(again) == addresses(cluster)

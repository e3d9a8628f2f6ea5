"""Every crafted case of issue 12, kept as a regression test: exit 2, a message naming the
field, no traceback, nothing written."""

from __future__ import annotations

import copy
import os
import signal
from pathlib import Path

import pytest

from .helpers import assert_refused, dump, run_cli, sandbox, valid_inventory, write

RING3 = "name: lab3\ntopology: ring3\nnodes: [spark-1, spark-2, spark-3]\n"


def _bomb(levels: int = 9) -> str:
    lines = ["name: bomb", "topology: single", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    lines.append(f"nodes: *a{levels - 1}")
    return "\n".join(lines) + "\n"


CLUSTER_CASES = {
    # (file text, names the message must contain)
    "name-with-slash": ("name: a/b\ntopology: direct\nnodes: [s1, s2]\n", ["name"]),
    "topology-as-list": ("topology: [ring3]\nnodes: [a, b, c]\n", ["topology"]),
    "unhashable-key": ("? [a, b]\n: 1\nnodes: [a]\ntopology: single\n", ["key"]),
    "mapping-key": ("? {a: 1}\n: 1\nnodes: [a]\ntopology: single\n", ["key"]),
    "nesting-5000": ("nodes: " + "[" * 5000 + "]" * 5000 + "\n", ["nest"]),
    "alias-bomb": (_bomb(), ["aliases repeat"]),
    "recursive-alias": ("nodes: &n [a, *n]\ntopology: single\n", ["recursive"]),
    "overlapping-pool": (RING3 + "pool: [192.168.100.0/22, 192.168.100.0/23]\n",
                         ["overlap"]),
    "duplicate-pool": (RING3 + "pool: [192.168.100.0/22, 192.168.100.0/22]\n", ["overlap"]),
    "pool-nested-list": (RING3 + "pool: [[192.168.100.0/22]]\n", ["pool"]),
    "mtu-huge": (RING3 + "mtu: " + "9" * 400 + "\n", ["mtu"]),
    "mtu-nan": (RING3 + "mtu: .nan\n", ["mtu"]),
    "port-float": ("topology: single\nnodes: [{name: a, port: 22.5}]\n", ["port"]),
    "node-null": ("topology: single\nnodes: [null]\n", ["node"]),
    "python-tag": ("topology: single\nnodes: !!python/object/apply:os.system [id]\n",
                   ["constructor"]),
    "not-utf8": (None, ["UTF-8"]),
}


@pytest.mark.parametrize("case", sorted(CLUSTER_CASES))
@pytest.mark.parametrize("command", ["render", "provision", "topology"])
def test_crafted_cluster_file_is_refused(case, command):
    text, names = CLUSTER_CASES[case]
    with sandbox() as root:
        path = root / "cluster.yaml"
        if text is None:
            path.write_bytes(b"name: caf\xe9\nnodes: [a]\ntopology: single\n")
        else:
            path.write_text(text, encoding="utf-8")
        args = {"render": ["render", "--cluster", str(path), "-o", str(root / "out")],
                "provision": ["provision", "--cluster", str(path), "--runs-dir",
                              str(root / "runs")],
                "topology": ["topology", "show", str(path)]}[command]
        outcome = run_cli(args, root, inputs=(path,))
        assert_refused(outcome, *names)
        assert not (root / "out").exists() and not (root / "runs").exists()
        # the position of the problem, not just the file
        assert f"{path}:" in outcome.output


def test_huge_cluster_file_is_refused_without_reading_it():
    with sandbox() as root:
        path = root / "huge.yaml"
        with path.open("w") as handle:
            handle.write(RING3)
            handle.write("# " + "x" * (2 << 20) + "\n")
        outcome = run_cli(["render", "--cluster", str(path), "-o", str(root / "out")], root,
                          inputs=(path,))
        assert_refused(outcome, "larger than 1024 KiB")


@pytest.mark.parametrize("kind", ["fifo", "directory", "device"])
def test_a_cluster_path_that_is_not_a_regular_file_is_refused(kind):
    with sandbox() as root:
        path = {"fifo": root / "fifo.yaml", "directory": root / "dir.yaml",
                "device": Path("/dev/zero")}[kind]
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "directory":
            path.mkdir()
        # A FIFO with no writer would block open() forever; the alarm turns a hang into a
        # failure instead of a stuck test run.
        previous = signal.signal(signal.SIGALRM, _hung)
        signal.alarm(30)
        try:
            outcome = run_cli(["topology", "show", str(path)], root)
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        outcome.left = [p for p in outcome.left if p != "fifo.yaml"]
        assert_refused(outcome, "not a regular file")


def _hung(signum, frame):
    raise AssertionError("loading the file hung")


def _set(data: dict, path: tuple, value) -> None:
    node = data
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _delete(data: dict, path: tuple) -> None:
    node = data
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]


HOSTS = ("all", "children", "sparks", "hosts")
VARS = ("all", "children", "sparks", "vars")
IFACE0 = (*HOSTS, "spark-1", "sparkctl_interfaces", 0)
# Hand edits of a sparkctl inventory: (path, new value or DELETE, names in the message)
DELETE = object()
INVENTORY_CASES = {
    "ansible-port-abc": ((*HOSTS, "spark-1", "ansible_port"), "abc", ["ansible_port"]),
    "ansible-port-zero": ((*HOSTS, "spark-1", "ansible_port"), 0, ["ansible_port"]),
    "ansible-port-list": ((*HOSTS, "spark-1", "ansible_port"), [22], ["ansible_port"]),
    "bad-address": ((*IFACE0, "address"), "192.168.300.1/24", ["address"]),
    "address-without-prefix": ((*IFACE0, "address"), "192.168.100.1", ["address"]),
    "null-interface-entry": (IFACE0, None, ["sparkctl_interfaces"]),
    "interfaces-null": ((*HOSTS, "spark-1", "sparkctl_interfaces"), None,
                        ["sparkctl_interfaces"]),
    "interfaces-mapping": ((*HOSTS, "spark-1", "sparkctl_interfaces"), {"a": 1},
                           ["sparkctl_interfaces"]),
    "interface-without-port": ((*IFACE0, "port"), DELETE, ["port"]),
    "rail-7": ((*IFACE0, "rail"), 7, ["rail"]),
    "peers-null": ((*IFACE0, "peers"), None, ["peers"]),
    "peer-without-host": ((*IFACE0, "peers", 0, "host"), DELETE, ["host"]),
    "peer-unknown-host": ((*IFACE0, "peers", 0, "host"), "spark-9", ["spark-9"]),
    "peer-unknown-interface": ((*IFACE0, "peers", 0, "interface"), "eth0", ["interface"]),
    "node-index-string": ((*HOSTS, "spark-1", "sparkctl_node_index"), "one",
                          ["sparkctl_node_index"]),
    "node-index-duplicate": ((*HOSTS, "spark-1", "sparkctl_node_index"), 1,
                             ["sparkctl_node_index"]),
    "hosts-null": (HOSTS, None, ["hosts"]),
    "vars-list": (VARS, [1, 2], ["vars"]),
    "mtu-jumbo": ((*VARS, "sparkctl_mtu"), "jumbo", ["sparkctl_mtu"]),
    "topology-list": ((*VARS, "sparkctl_topology"), ["ring3"], ["sparkctl_topology"]),
    "pool-overlap": ((*VARS, "sparkctl_pool"), ["192.168.100.0/22", "192.168.100.0/23"],
                     ["overlap"]),
    "pool-empty": ((*VARS, "sparkctl_pool"), [], ["sparkctl_pool"]),
    "nccl-env-list": ((*VARS, "sparkctl_nccl_env"), ["NCCL_IB_HCA"], ["sparkctl_nccl_env"]),
    "hostfile-extra-line": ((*VARS, "sparkctl_mpi_hostfile"),
                            "spark-1 slots=1\nspark-2 slots=1 -x LD_PRELOAD=/tmp/x.so\n",
                            ["sparkctl_mpi_hostfile"]),
    "twins-one-subnet": ((*HOSTS, "spark-1", "sparkctl_interfaces", 1, "address"),
                         "192.168.100.9/24", ["subnet"]),
    "host-name-with-space": (None, None, ["host name"]),
}


@pytest.mark.parametrize("case", sorted(INVENTORY_CASES))
@pytest.mark.parametrize("command", ["render", "topology"])
def test_hand_edited_inventory_is_refused(case, command):
    path_in, value, names = INVENTORY_CASES[case]
    data = copy.deepcopy(valid_inventory("ring3"))
    if case == "host-name-with-space":
        hosts = data["all"]["children"]["sparks"]["hosts"]
        hosts["spark 1"] = hosts.pop("spark-1")
    elif value is DELETE:
        _delete(data, path_in)
    else:
        _set(data, path_in, value)
    with sandbox() as root:
        path = write(root, "inventory.yml", dump(data))
        args = {"render": ["render", "--inventory", str(path), "-o", str(root / "out")],
                "topology": ["topology", "show", str(path)]}[command]
        assert_refused(run_cli(args, root, inputs=(path,)), *names)


def test_null_host_vars_do_not_crash():
    """Ansible accepts `spark-1:` with nothing under it; sparkctl must not crash on it."""
    data = valid_inventory("ring3")
    data["all"]["children"]["sparks"]["hosts"]["spark-1"] = None
    with sandbox() as root:
        path = write(root, "inventory.yml", dump(data))
        outcome = run_cli(["topology", "show", str(path)], root, inputs=(path,))
        assert outcome.exit_code in (0, 2), outcome.output
        assert outcome.exception is None or isinstance(outcome.exception, SystemExit)
        assert "Traceback" not in outcome.output


def test_ansible_port_as_digit_string_is_accepted():
    # Ansible reads `ansible_port: "2222"` as 2222; so does sparkctl.
    data = valid_inventory("direct")
    data["all"]["children"]["sparks"]["hosts"]["spark-1"]["ansible_port"] = "2222"
    with sandbox() as root:
        path = write(root, "inventory.yml", dump(data))
        outcome = run_cli(["topology", "show", str(path), "--format", "json"], root,
                          inputs=(path,))
        assert outcome.exit_code == 0, outcome.output
        assert '"ssh_port": 2222' in outcome.output


OPTION_CASES = [
    (["validate", "-t", "single", "--budget", "inf"], "--budget"),
    (["validate", "-t", "single", "--budget", "nan"], "--budget"),
    (["health", "-t", "single", "--budget", "nan"], "--budget"),
    (["health", "-t", "single", "--budget", "inf"], "--budget"),
    (["plan", "-m", "gpt-oss-120b", "--usable-gib", "nan"], "--usable-gib"),
    (["validate", "-t", "single", "--regression-pct", "nan"], "--regression-pct"),
]


@pytest.mark.parametrize(("args", "name"), OPTION_CASES, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else v)
def test_non_finite_numbers_are_refused(args, name):
    with sandbox() as root:
        assert_refused(run_cli(args, root), name)


def test_render_into_proc_is_refused():
    with sandbox() as root:
        assert_refused(run_cli(["render", "-t", "direct", "-o", "/proc/x"], root),
                       "cannot write /proc/x")


def test_lock_file_that_is_a_directory_is_refused():
    with sandbox() as root:
        (root / "lockdir").mkdir()
        outcome = run_cli(["health", "-t", "single", "--lock-file", str(root / "lockdir")],
                          root)
        assert_refused(outcome, "--lock-file")


def test_provision_with_a_cluster_name_that_is_a_path_writes_no_run_directory():
    with sandbox() as root:
        path = write(root, "c.yaml", "name: ../../escape\ntopology: single\nnodes: [a]\n")
        outcome = run_cli(["provision", "--cluster", str(path), "--runs-dir",
                           str(root / "runs")], root, inputs=(path,))
        assert_refused(outcome, "name")
        assert not (root.parent / "escape").exists()

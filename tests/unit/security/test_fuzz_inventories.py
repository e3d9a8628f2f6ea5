"""Fuzz: inventories with a wrong value in a variable sparkctl reads, and random hand edits.

A wrong value exits 2 naming the variable (and its line); no hand edit at all gives a
traceback or leaves a file behind.
"""

from __future__ import annotations

import copy
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from .conftest import FUZZ
from .helpers import (
    assert_no_traceback,
    assert_refused,
    dump,
    line_range,
    run_cli,
    sandbox,
    valid_inventory,
    write,
)
from .strategies import wrong_value

BASES = {name: valid_inventory(name) for name in ("ring3", "switch3", "direct")}
for _name, _data in BASES.items():
    _host = _data["all"]["children"]["sparks"]["hosts"]["spark-1"]
    _host.update(ansible_user="nvidia", ansible_port=2222,
                 ansible_ssh_private_key_file="/home/nvidia/.ssh/id_sparkctl")
H = ("all", "children", "sparks", "hosts")
V = ("all", "children", "sparks", "vars")
I0 = (*H, "spark-2", "sparkctl_interfaces", 0)
FIELDS = [
    (*H, "spark-1"), (*H, "spark-2", "ansible_host"), (*H, "spark-1", "ansible_user"),
    (*H, "spark-1", "ansible_port"), (*H, "spark-1", "ansible_ssh_private_key_file"),
    (*H, "spark-2", "sparkctl_node_index"), (*H, "spark-2", "sparkctl_interfaces"), I0,
    (*I0, "name"), (*I0, "hca"), (*I0, "port"), (*I0, "rail"), (*I0, "address"),
    (*I0, "mtu"), (*I0, "peers"), (*I0, "peers", 0), (*I0, "peers", 0, "host"),
    (*I0, "peers", 0, "interface"), (*I0, "peers", 0, "address"),
    (*V, "sparkctl_cluster_name"), (*V, "sparkctl_topology"), (*V, "sparkctl_platform"),
    (*V, "sparkctl_mtu"), (*V, "sparkctl_mgmt_interface"), (*V, "sparkctl_pool"),
    (*V, "sparkctl_pool", 0), (*V, "sparkctl_reserved"), (*V, "sparkctl_mpi_hostfile"),
    (*V, "sparkctl_nccl_env"), (*V, "sparkctl_nccl_env", "NCCL_SOCKET_IFNAME"), V, H,
]
COMMANDS = ("render", "topology", "inventory", "runtime")


def _args(command, path, root):
    return {"render": ["render", "--inventory", str(path), "-o", str(root / "out")],
            "topology": ["topology", "show", str(path)],
            "inventory": ["inventory", "--inventory", str(path), "-o", str(root / "i.yml")],
            "runtime": ["runtime", "render", "vllm", "--inventory", str(path), "-m",
                        "openai/gpt-oss-120b", "-o", str(root / "rt")]}[command]


def _valid_anyway(field: tuple, value) -> bool:
    """What the strategy can draw that is a legal value for the field."""
    last = field[-1]
    if field == (*H, "spark-1") and (value is None or isinstance(value, dict)):
        return True  # `spark-1:` with no (or other) variables is legal Ansible
    if field == V and (value is None or isinstance(value, dict)):
        return True  # so is `vars:` with nothing (or anything well-formed) under it
    if last == "sparkctl_nccl_env" and isinstance(value, dict):
        return all(re.fullmatch(r"[A-Za-z_]\w*", str(k)) for k in value)
    if last == "sparkctl_mpi_hostfile" and isinstance(value, str):
        return re.fullmatch(r"(\S+ slots=\d+\n?)*", value) is not None
    return False


def _put(data, path, value):
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), field=st.sampled_from(FIELDS), value=wrong_value,
       command=st.sampled_from(COMMANDS))
def test_a_wrong_value_in_a_variable_is_refused_naming_it(base, field, value, command):
    assume(not _valid_anyway(field, value))
    data = copy.deepcopy(BASES[base])
    if base == "direct" and field[:len(I0)] == I0:
        field = (*H, "spark-2", "sparkctl_interfaces", 0, *field[len(I0):])
    _put(data, field, value)
    text = dump(data)
    with sandbox() as root:
        path = write(root, "inventory.yml", text)
        outcome = run_cli(_args(command, path, root), root, inputs=(path,))
        assert_refused(outcome)
        named = [step for step in field if isinstance(step, str)][-1]
        first, last = line_range(text, field)
        lines = {int(n) for n in re.findall(re.escape(str(path)) + r":(\d+):", outcome.output)}
        assert named in outcome.output or lines & set(range(first, last + 1)), \
            (field, outcome.output)


EDITS = st.sampled_from(["null", "delete", "wrong", "string-of-int", "duplicate-host",
                         "rename", "swap", "empty-string"])


def _walk(data, choices: list[int]):
    """A path into data chosen by `choices` (indices modulo each container's size)."""
    path: list = []
    node = data
    for choice in choices:
        if isinstance(node, dict) and node:
            key = sorted(node, key=str)[choice % len(node)]
        elif isinstance(node, list) and node:
            key = choice % len(node)
        else:
            break
        path.append(key)
        node = node[key]
    return path


@FUZZ
@given(base=st.sampled_from(sorted(BASES)), edit=EDITS,
       choices=st.lists(st.integers(0, 1000), min_size=1, max_size=9), value=wrong_value)
def test_hand_edits_never_give_a_traceback(base, edit, choices, value):
    data = copy.deepcopy(BASES[base])
    path = _walk(data, choices)
    if path:
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        if edit == "null":
            parent[key] = None
        elif edit == "delete":
            del parent[key]
        elif edit == "wrong":
            parent[key] = value
        elif edit == "string-of-int" and isinstance(parent[key], int):
            parent[key] = str(parent[key])
        elif edit == "empty-string":
            parent[key] = ""
        elif edit == "rename" and isinstance(parent, dict):
            parent[f"{key}x"] = parent.pop(key)
        elif edit == "swap" and isinstance(parent, (dict, list)) and len(parent) > 1:
            keys = sorted(parent, key=str) if isinstance(parent, dict) else range(len(parent))
            a, b = list(keys)[:2]
            parent[a], parent[b] = parent[b], parent[a]
    if edit == "duplicate-host":
        hosts = data["all"]["children"]["sparks"]["hosts"]
        hosts["spark-9"] = copy.deepcopy(hosts["spark-1"])
    with sandbox() as root:
        inventory = write(root, "inventory.yml", dump(data))
        outcome = run_cli(_args("render", inventory, root), root, inputs=(inventory,))
        assert_no_traceback(outcome)
        if outcome.exit_code == 2:
            assert outcome.left == [], outcome.left

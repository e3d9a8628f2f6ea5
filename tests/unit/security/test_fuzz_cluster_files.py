"""Fuzz: cluster files with a wrong value in one field, hostile strings, structure mutations.

Properties: a wrong value exits 2 with a message at the line of that value (or naming it), no
traceback, nothing written; any text mutation at all never gives a traceback.
"""

from __future__ import annotations

import copy

from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ
from .helpers import (
    assert_no_traceback,
    assert_refused,
    dump,
    line_range,
    run_cli,
    sandbox,
    write,
)
from .strategies import hostile_text, wrong_value

BASE = {
    "name": "bench",
    "ssh_user": "nvidia",
    "ssh_port": 22,
    "platform": "lab",
    "nodes": [{"name": "spark-1", "address": "10.0.0.11", "user": "nvidia", "port": 2222},
              "spark-2", {"name": "spark-3", "address": "spark-3.lan"}],
    "cables": ["spark-1:p0 -- spark-2:p1", "spark-2:p0 -- spark-3:p1", "spark-1:p1 -- switch",
               "spark-3:p0 -- switch"],
    "mtu": 4200,
    "pool": ["192.168.100.0/22", "192.168.104.0/22"],
    "reserved": ["10.0.0.0/8"],
}
# Where a wrong value can go, and a word the error must say when it names no line.
FIELDS = [("name",), ("ssh_user",), ("ssh_port",), ("platform",), ("mtu",), ("pool",),
          ("pool", 0), ("reserved", 0), ("reserved",), ("nodes",), ("nodes", 0),
          ("nodes", 1), ("nodes", 0, "name"), ("nodes", 0, "address"), ("nodes", 0, "user"),
          ("nodes", 0, "port"), ("nodes", 2, "address"), ("cables",), ("cables", 0),
          ("cables", 3), ("topology",)]
COMMANDS = ("render", "inventory", "topology", "runtime")


def _args(command, path, root):
    return {"render": ["render", "--cluster", str(path), "-o", str(root / "out")],
            "inventory": ["inventory", "--cluster", str(path), "-o", str(root / "inv.yml")],
            "topology": ["topology", "show", str(path)],
            "runtime": ["runtime", "render", "vllm", "--cluster", str(path), "-m",
                        "openai/gpt-oss-120b", "-o", str(root / "rt")]}[command]


def _with(field: tuple, value) -> dict:
    data = copy.deepcopy(BASE)
    if field == ("topology",):
        del data["cables"]
    node = data
    for step in field[:-1]:
        node = node[step]
    node[field[-1]] = value
    return data


def _ok_for(field: tuple, value) -> bool:
    """Values the strategy may draw that are in fact valid for the field."""
    if field == ("reserved",) and value in ([],):
        return True
    return False


@FUZZ
@given(field=st.sampled_from(FIELDS), value=wrong_value, command=st.sampled_from(COMMANDS))
def test_a_wrong_value_in_any_field_is_refused_at_its_line(field, value, command):
    if _ok_for(field, value):
        return
    text = dump(_with(field, value))
    with sandbox() as root:
        path = write(root, "cluster.yaml", text)
        outcome = run_cli(_args(command, path, root), root, inputs=(path,))
        assert_refused(outcome)
        first, last = line_range(text, field)
        lines = {int(part) for part in _reported_lines(outcome.output, str(path))}
        assert lines & set(range(first, last + 1)) or any(
            str(step) in outcome.output for step in field if isinstance(step, str)), \
            (field, first, last, outcome.output)


def _reported_lines(output: str, path: str) -> list[str]:
    found = []
    for chunk in output.split(path + ":")[1:]:
        number = chunk.split(":", 1)[0]
        if number.isdigit():
            found.append(number)
    return found


@FUZZ
@given(field=st.sampled_from([f for f in FIELDS if f[-1] != "port" and f != ("mtu",)]),
       value=hostile_text)
def test_a_hostile_string_in_any_field_is_refused(field, value):
    text = dump(_with(field, value))
    with sandbox() as root:
        path = write(root, "cluster.yaml", text)
        outcome = run_cli(_args("render", path, root), root, inputs=(path,))
        assert_refused(outcome, str(path))


MUTATIONS = st.sampled_from(["delete", "unknown-key", "wrap-list", "scalar", "nest",
                             "duplicate-key", "insert-char", "delete-char", "truncate"])


@FUZZ
@given(mutation=MUTATIONS, key=st.sampled_from(sorted(BASE)), position=st.floats(0, 1),
       char=st.sampled_from(list(":-[]{}&*!|>'\"%@`#,?\t\n ") + ["\x00", "\ufeff"]),
       depth=st.integers(1, 200))
def test_structure_mutations_never_give_a_traceback(mutation, key, position, char, depth):
    data = copy.deepcopy(BASE)
    text = None
    if mutation == "delete":
        del data[key]
    elif mutation == "unknown-key":
        data[key + "_x"] = 1
    elif mutation == "wrap-list":
        text = dump([data])
    elif mutation == "scalar":
        text = dump(key)
    elif mutation == "nest":
        value = data[key]
        for _ in range(depth):
            value = [value]
        data[key] = value
    text = text or dump(data)
    if mutation == "duplicate-key":
        text += f"{key}: {dump(BASE[key]).strip() if key != 'nodes' else '[a]'}\n"
    cut = int(position * len(text))
    if mutation == "insert-char":
        text = text[:cut] + char + text[cut:]
    elif mutation == "delete-char":
        text = text[:cut] + text[cut + 1:]
    elif mutation == "truncate":
        text = text[:cut]
    with sandbox() as root:
        path = write(root, "cluster.yaml", text)
        outcome = run_cli(_args("render", path, root), root, inputs=(path,))
        assert_no_traceback(outcome)
        if outcome.exit_code == 2:
            assert outcome.left == [], outcome.left
        if mutation in ("delete", "wrap-list", "scalar", "unknown-key", "duplicate-key") and \
                key not in ("name", "ssh_user", "ssh_port", "platform", "mtu", "pool",
                            "reserved") or mutation in ("wrap-list", "scalar", "unknown-key",
                                                        "duplicate-key"):
            assert outcome.exit_code == 2, (mutation, key, outcome.output)

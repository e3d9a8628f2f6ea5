"""Tests that kill the mutants a hand mutation pass over the first wave planted and the suite
missed (issue 18). Each test names its mutant; notes/architecture.md records each one failing
on it (the mutant applied by hand, the test run, the mutant reverted)."""

from __future__ import annotations

import dataclasses
import json
from ipaddress import IPv4Network

import pytest

from sparkctl.checks import diagnose as G
from sparkctl.errors import InvalidTopology
from sparkctl.topology.builtins import BUILTINS, builtin_spec


def _spec(topology: str, **changes):
    return dataclasses.replace(builtin_spec(topology), **changes)


# Mutant 1, topology/addressing.py `_check_pool`: `len(subnets) < needed` -> `< needed - 1`
# (a pool one /24 short is accepted and the last rail segment gets no subnet).
def test_a_pool_one_subnet_short_is_refused():
    from sparkctl.cluster import Cluster

    needed = 6  # ring3: three cables x two rails
    short = tuple(IPv4Network(f"192.168.{100 + i}.0/24") for i in range(needed - 1))
    with pytest.raises(InvalidTopology, match="holds 5 /24 subnet"):
        Cluster.from_spec(_spec("ring3", pool=short))
    exact = tuple(IPv4Network(f"192.168.{100 + i}.0/24") for i in range(needed))
    plan = Cluster.from_spec(_spec("ring3", pool=exact)).plan
    assert len(plan.subnets) == needed


@pytest.mark.parametrize("topology", sorted(BUILTINS))
def test_every_planned_rail_has_an_address(topology):
    """The invariant the mutant breaks: each cabled port has both twins addressed."""
    from sparkctl.cluster import Cluster

    cluster = Cluster.from_spec(builtin_spec(topology))
    ports = {(end.node, end.port) for c in cluster.spec.cables for end in c.ends()
             if not end.is_switch}
    addressed = {(i.node, i.port, i.rail) for i in cluster.plan.all_interfaces()}
    assert addressed == {(node, port, rail) for node, port in ports for rail in (0, 1)}


# Mutant 2, topology/rules.py: `MTU_MIN <= spec.mtu <= MTU_MAX` -> `< MTU_MAX` (the documented
# ConnectX-7 maximum 9216 refused).
@pytest.mark.parametrize("mtu,ok", [(9216, True), (9217, False), (1280, True), (1279, False),
                                    (9000, True)])
def test_mtu_limits_are_inclusive(mtu, ok):
    from sparkctl.cluster import Cluster

    spec = _spec("direct", mtu=mtu)
    if ok:
        assert Cluster.from_spec(spec).plan.all_interfaces()[0].mtu == mtu
    else:
        with pytest.raises(InvalidTopology, match=f"MTU {mtu} is outside 1280-9216"):
            Cluster.from_spec(spec)


# Mutant 3, checks/diagnose.py `saturated_busbw`: the best busbw over all sizes instead of
# the largest ones (a fast small-message blip would pass a fabric that is slow where it counts).
def test_collective_is_judged_on_the_largest_sizes_only():
    gib = 1024**3
    points = [(64 * 1024**2, 30.0), (gib // 2, 12.0), (gib, 12.5), (2 * gib, 12.4),
              (4 * gib, 12.6)]
    busbw, largest = G.saturated_busbw(points)
    assert (busbw, largest) == (12.6, 4 * gib)
    from sparkctl.checks import thresholds as T

    judged = G.judge_busbw(busbw, T.COLLECTIVE_DIRECT_SWITCH)
    assert judged.verdict is not None and judged.verdict.value != "pass"  # half rate


def _run(stats: dict):
    from pathlib import Path

    from sparkctl.provision.runner import RunResult

    return RunResult(run_dir=Path("/nonexistent"), status="failed", rc=2, started="x",
                     duration_s=1.0, command="sparkctl provision", hosts=tuple(stats),
                     stats=stats)


def _stats(**counts):
    from sparkctl.provision.events import HostStats

    return HostStats(**counts)


# Mutant 4, provision/progress.py `summary_table`: the failed and unreachable cells swapped.
def test_provision_summary_puts_failed_and_unreachable_in_their_columns():
    import io

    from rich.console import Console

    from sparkctl.provision.progress import summary_table

    result = _run({"spark-1": _stats(ok=3, failed=2), "spark-2": _stats(ok=1, unreachable=5)})
    buffer = io.StringIO()
    Console(file=buffer, width=120, no_color=True).print(summary_table(result))
    def cells(line: str) -> list[str]:
        return [w for w in line.replace("│", " ").replace("┃", " ").split()]

    lines = buffer.getvalue().splitlines()
    head = cells(next(line for line in lines if "unreachable" in line))
    rows = {cells(line)[0]: cells(line) for line in lines if "spark-" in line}
    for host, failed, unreachable in (("spark-1", "2", "0"), ("spark-2", "0", "5")):
        row = rows[host]
        assert (row[head.index("failed")], row[head.index("unreachable")]) == \
            (failed, unreachable), (head, row)


# Mutant 5, provision/records.py `write_summary`: unreachable hosts dropped from summary.json.
def test_summary_json_keeps_unreachable_hosts(tmp_path):
    from sparkctl.provision.records import write_summary

    result = _run({"spark-1": _stats(ok=9), "spark-2": _stats(unreachable=1)})
    doc = json.loads(write_summary(tmp_path, result).read_text())
    assert set(doc["hosts"]) == {"spark-1", "spark-2"}
    assert doc["hosts"]["spark-2"]["unreachable"] == 1 and doc["hosts"]["spark-2"]["ok"] == 0

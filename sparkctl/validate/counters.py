"""Error counters of a rail as deltas over a window: around validate's rail test, between
health runs (issue 13 item 5).

A rail's counters are its HCA's IB port counters, its RoCE hw_counters and its netdev's
`ethtool -S` (one CX-7 PCI function). A since-boot total says nothing about now (it may date
from a recabling years ago), so nothing here judges one: only what grew inside the window,
with sparkctl.checks.judge.counters (FEC corrections and link-down events are normal on 200G
PAM4 and never fail; a counter seen in only one snapshot has no delta).
"""

from __future__ import annotations

from collections.abc import Mapping

from sparkctl.checks.judge.counters import classify, counter_delta, judge_counter_delta
from sparkctl.checks.parsers import ethtool
from sparkctl.checks.parsers.common import ParseError
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.validate.facts import NodeFacts

CHECK = "rdma.counter_delta"


def rail_counters(facts: NodeFacts, netdev: str, hca: str) -> dict[str, int]:
    """Every counter of one rail that says something about errors, drops or FEC (traffic
    counters are left out: they grow by design). Names from sysfs and ethtool as printed;
    a hw_counters name that clashes with an IB port counter is prefixed `hw:`."""
    out: dict[str, int] = {}
    hca_facts = facts.hcas.get(hca)
    if hca_facts is not None and hca_facts.exists:
        out.update(hca_facts.counters)
        for name, value in (hca_facts.hw_counters or {}).items():
            out[f"hw:{name}" if name in out else name] = value
    stats = facts.netdev(netdev).ethtool_stats
    if stats:
        try:
            parsed = ethtool.parse(stats)
        except ParseError:
            parsed = None
        if isinstance(parsed, ethtool.EthtoolStats):
            out.update(parsed.counters)
    return {k: v for k, v in out.items() if classify(k) is not None}


def judge_window(subject: str, before: Mapping[str, int] | None,
                 after: Mapping[str, int] | None, window: str) -> CheckResult:
    """One rail's counters over `window`; a missing snapshot is skipped with why."""
    if before is None or after is None:
        which = "before" if before is None else "after"
        return CheckResult(CHECK, "rdma", subject, Verdict.SKIPPED, None, None, None,
                           f"Not measured: no counter snapshot {which} {window}, so there "
                           "is no delta (since-boot totals are not judged).",
                           "Rerun; the node must answer before and after the window.")
    if not before and not after:
        return CheckResult(CHECK, "rdma", subject, Verdict.SKIPPED, None, None, None,
                           f"Not measured: no error counters readable on {subject} "
                           "(ethtool -S, /sys/class/infiniband/<hca>/ports/1/counters and "
                           "hw_counters gave none).",
                           "Check that ethtool and the mlx5 sysfs counters are readable.")
    delta = counter_delta(before, after)
    judged = judge_counter_delta(delta, window=window)
    if judged.verdict is None:
        return CheckResult(CHECK, "rdma", subject, Verdict.SKIPPED, None, None, None,
                           f"Not measured: {judged.diagnosis}")
    return judged.to_check(CHECK, "rdma", subject)

"""A rail's error counters as deltas since the previous health run (dgx-spark).

Absolute counters only say something happened since boot; a delta says it is happening now.
The previous values come from the history store. The counters are the rail's IB port
counters, RoCE hw_counters and `ethtool -S` (sparkctl.validate.counters.rail_counters), judged
by the same window judge validate uses around its rail test: a counter that went down was
reset (its new value is the delta), one that was not in the previous run has no delta (never
0), and FEC corrections and link-down events are shown, never failed.
"""

from __future__ import annotations

from collections.abc import Mapping

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.health.findings import Findings
from sparkctl.health.samples import Sample
from sparkctl.validate.counters import CHECK, judge_window

METRIC = "rdma_counter"
WINDOW = "the time since the previous health run"


def counter_samples(node: str, hca: str, counters: Mapping[str, int]) -> list[Sample]:
    return [Sample(METRIC, float(v), {"node": node, "device": hca, "counter": k})
            for k, v in sorted(counters.items())]


def judge_counter_deltas(node: str, hca: str, now: Mapping[str, int],
                         previous: Mapping[str, int] | None) -> Findings:
    out = Findings(samples=counter_samples(node, hca, now))
    subject = f"{node}/{hca}"
    if previous is None:
        # No earlier run: there is no delta, so none is claimed (info, no value).
        out.checks.append(CheckResult(
            CHECK, "rdma", subject, Verdict.INFO, measured=None, expected=0,
            unit="errors", diagnosis=f"first run here: {len(now)} error counters recorded as "
            "the baseline for the next run's deltas."))
        return out
    for name in sorted(set(now) & set(previous)):
        value, before = now[name], previous[name]
        delta = value if value < before else value - before
        out.samples.append(Sample("rdma_counter_delta", float(delta),
                                  {"node": node, "device": hca, "counter": name}))
    check = judge_window(subject, previous, now, WINDOW)
    if check.verdict is not Verdict.PASS and check.verdict.judged:
        check = CheckResult(**{**check.__dict__,
                               "diagnosis": "since the previous run: " + check.diagnosis})
    out.checks.append(check)
    return out

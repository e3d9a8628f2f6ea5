"""RDMA error counters as deltas since the previous health run (dgx-spark).

Absolute counters only say something happened since boot; a delta says it is happening now.
The previous values come from the history store; a counter that went down was reset (reboot,
driver reload), so its delta is its new value.
"""

from __future__ import annotations

from collections.abc import Mapping

from sparkctl.checks.diagnose import judge_counters
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.health.findings import Findings
from sparkctl.health.samples import Sample

METRIC = "rdma_counter"


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
            "rdma.counter_delta", "rdma", subject, Verdict.INFO, measured=None, expected=0,
            unit="errors", diagnosis=f"first run here: {len(now)} error counters recorded as "
            "the baseline for the next run's deltas."))
        return out
    deltas = {}
    for name, value in now.items():
        before = previous.get(name)
        deltas[name] = value if before is None or value < before else value - before
    for name, delta in deltas.items():
        out.samples.append(Sample("rdma_counter_delta", float(delta),
                                  {"node": node, "device": hca, "counter": name}))
    judged = judge_counters(deltas)
    if judged.verdict is None:
        out.skipped.append(_skip(subject))
        return out
    check = judged.to_check("rdma.counter_delta", "rdma", subject)
    if check.verdict is not Verdict.PASS:
        check = CheckResult(**{**check.__dict__,
                               "diagnosis": "since the previous run: " + check.diagnosis})
    out.checks.append(check)
    return out


def _skip(subject: str):
    from sparkctl.health.findings import Skip

    return Skip("rdma.counter_delta", subject, "no error counters readable")

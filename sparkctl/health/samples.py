"""A sample is one number observed during a health run, with the labels that say of what.

Samples feed three consumers from one list: the history store (trends, counter deltas,
regressions), the Prometheus exporter (one gauge per sample) and `health history`. A
measurement that was attempted and failed is a sample without a value: stored as failed,
absent from Prometheus (where `<metric>_up` says it failed), never part of a trend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    metric: str  # snake_case, becomes `sparkctl_<metric>` in Prometheus
    value: float | None  # None: the measurement failed; there is no number
    labels: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    display: str | None = None  # the subject, where joining the labels reads badly

    @property
    def subject(self) -> str:
        """Human form of the labels, in insertion order: "spark-1/enp1s0f1np1"."""
        return self.display or "/".join(self.labels.values()) or "cluster"

    @property
    def labels_key(self) -> str:
        """Canonical form of the labels, the key under which history is kept."""
        return json.dumps(self.labels, sort_keys=True, separators=(",", ":"))


RAIL_BANDWIDTH = "rail_bandwidth_gbps"
COLLECTIVE_BUSBW = "collective_busbw_gbps"  # GB/s, as nccl-tests prints busbw


def rail_bandwidth_samples(measurements) -> list[Sample]:
    """One sample per rail test that ran (validate.rail_probe.RailMeasurement; gbps None when
    it gave no figure), keyed by both ends so each direction over each cable is its own
    series. Tests that never ran (budget, unreachable node) are not samples."""
    return [Sample(RAIL_BANDWIDTH, m.gbps,
                   {"node": m.test.sender, "iface": m.test.sender_if.name,
                    "peer": m.test.receiver, "peer_iface": m.test.receiver_if},
                   unit="Gb/s", display=m.test.subject) for m in measurements]

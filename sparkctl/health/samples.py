"""A sample is one number observed during a health run, with the labels that say of what.

Samples feed three consumers from one list: the history store (trends, counter deltas,
regressions), the Prometheus exporter (one gauge per sample) and `health history`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Sample:
    metric: str  # snake_case, becomes `sparkctl_<metric>` in Prometheus
    value: float
    labels: dict[str, str] = field(default_factory=dict)
    unit: str | None = None

    @property
    def subject(self) -> str:
        """Human form of the labels, in insertion order: "spark-1/enp1s0f1np1"."""
        return "/".join(self.labels.values()) or "cluster"

    @property
    def labels_key(self) -> str:
        """Canonical form of the labels, the key under which history is kept."""
        return json.dumps(self.labels, sort_keys=True, separators=(",", ":"))

"""Health on a ring3 lab: swapped cables are named by who answers on each wire."""

from __future__ import annotations

import time

import pytest

from .conftest import health_json, sparkctl

pytestmark = pytest.mark.lab


def test_swapped_cables_are_named_by_the_neighbour_probe(ring3_lab, tmp_path):
    code, doc = health_json(ring3_lab, tmp_path / "h.db")
    assert code == 0, [c for c in doc["checks"] if c["verdict"] not in ("pass", "info")]
    swap = sparkctl("lab", "fault", "--name", ring3_lab, "swap-cables", "spark-1:p0",
                    "spark-1:p1", timeout=60)
    assert swap.returncode == 0, swap.stderr
    try:
        time.sleep(2)  # IPv6 duplicate address detection on the re-plugged ends
        code, doc = health_json(ring3_lab, tmp_path / "h.db")
    finally:
        sparkctl("lab", "fault", "--name", ring3_lab, "clear", timeout=60)
    assert code == 1
    wire = next(c for c in doc["checks"]
                if c["id"] == "link.neighbours" and c["subject"] == "spark-1/enp1s0f1np1")
    assert wire["verdict"] == "fail" and "cables are swapped" in wire["diagnosis"]
    assert "wired to spark-2/enp1s0f1np1" in wire["diagnosis"]
    # The swap keeps carrier, MTU and addresses: only where the wires go is wrong.
    assert all(c["verdict"] == "pass" for c in doc["checks"]
               if c["id"] in ("link.carrier", "link.mtu", "link.address"))

"""validate on a ring3 lab: healthy passes everything; swapped cables are named by who is
really on each wire."""

from __future__ import annotations

import pytest

from sparkctl.checks.result import Verdict

from .conftest import by_key, explain, failing, validation_lab

pytestmark = pytest.mark.lab

LAB = "valr3"


@pytest.fixture(scope="module")
def lab():
    with validation_lab(LAB, "ring3") as handle:
        yield handle


def test_healthy_ring3_passes_every_check(lab):
    report = lab.validate()
    assert report.verdict is Verdict.PASS, explain(report)
    assert sum(c.id == "rail.bandwidth" for c in report.checks) == 12
    assert by_key(report)[("collective.all_reduce", "cluster")].verdict is Verdict.PASS


def test_swapped_cables_are_named(lab):
    with lab.fault("swap-cables", "spark-1:p0", "spark-1:p1", settle_s=2):
        report = lab.validate("links")
    swapped = [c for c in failing(report) if c.id == "link.neighbours"]
    assert swapped, explain(report)
    named = [c for c in swapped if "swapped" in c.diagnosis]
    assert any(c.subject == "spark-1/enp1s0f1np1" for c in named), explain(report)
    link = by_key(report)[("link.neighbours", "spark-1/enp1s0f1np1")]
    assert "wired to spark-2/enp1s0f1np1" in link.diagnosis
    # the swap leaves carrier, MTU and addresses intact: those checks still pass
    assert all(c.verdict is Verdict.PASS for c in report.checks
               if c.id in ("link.carrier", "link.mtu", "link.address")), explain(report)

"""`validate --format html`: a self-contained page, values escaped, rendered by a real
headless Chromium (Debian's `chromium`), its DOM checked and a screenshot kept in
$SPARKCTL_TEST_ARTIFACTS (default tests/artifacts/, gitignored)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sparkctl.checks.result import Verdict
from sparkctl.report.html import render_html

from .runs import validate_report, with_diagnosis

CARRIER_DOWN = {("spark-2", "enp1s0f1np1"): dict(carrier=0, operstate="down", speed_mbps=-1)}
ARTIFACTS = Path(os.environ.get("SPARKCTL_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[2] / "artifacts")


def faulty_page():
    target, report = validate_report(netdev_faults=CARRIER_DOWN,
                                      slow_rails={"spark-3/enP2p1s0f1np1": 61.0})
    return target, report, render_html(report, "sparkctl validate: switch4", target=target)


def test_page_is_self_contained_and_has_every_part():
    _, report, page = faulty_page()
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=\"?(https?:)?//", page)  # nothing fetched
    assert "<script" not in page and page.count("<svg") == 1
    assert page.count('class="check"') == len(report.checks)
    assert page.count('class="rail"') == 8 and 'class="collective"' in page
    assert page.count('<g class="node"') == 5  # 4 Sparks and the switch
    assert 'data-node="spark-2" data-verdict="fail"' in page
    assert 'data-node="spark-1" data-verdict="pass"' in page  # its failed pings go to spark-2
    assert 'data-node="spark-3" data-verdict="degraded"' in page  # the slow rail's sender
    assert page.count('class="cable" data-verdict="fail"') == 1  # spark-2's cable only


def test_values_are_escaped():
    target, report = validate_report(netdev_faults=CARRIER_DOWN)
    evil = "<script>alert(1)</script>"
    failing = next(i for i, c in enumerate(report.checks) if c.verdict is Verdict.FAIL)
    report = with_diagnosis(report, failing, f"diag {evil}", f"hint {evil} & more")
    page = render_html(report, f"sparkctl validate: {evil}", target=target)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&amp; more" in page


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="Debian's chromium is not installed (.ci/setup installs it)")
def test_chromium_renders_the_page(tmp_path):
    _, report, page = faulty_page()
    html = tmp_path / "report.html"
    html.write_text(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "validate-report-switch4.png"
    base = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--dump-dom", html.as_uri()], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert 'id="verdict"' in dom and 'id="cabling"' in dom and 'id="rails"' in dom
    assert dom.count('class="check"') == len(report.checks)
    failing = next(c for c in report.checks if c.verdict is Verdict.FAIL)
    assert failing.diagnosis.split(":")[0] in dom
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,1400", html.as_uri()],
                   capture_output=True, timeout=60, check=True)
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:4] == b"\x89PNG"

"""Whether a collective test fits in a node's free unified memory, and the diagnosis."""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkctl.checks.memory_fit import (
    GiB,
    collective_fits,
    collective_memory,
    meminfo_bytes,
)

FIXTURE = Path(__file__).with_name("fixtures") / "proc_meminfo_debian12_build_host.txt"
SPARK_TOTAL = 127_600_748 * 1024  # MemTotal of a GB10 (121.7 GiB)


def test_buffers_follow_nccl_tests_allocation():
    ar = collective_memory("all_reduce", 16 * GiB, ranks=2, allowance_bytes=0)
    assert (ar.send_bytes, ar.recv_bytes, ar.check_bytes) == (16 * GiB,) * 3
    assert ar.total_bytes == 48 * GiB  # the 16G test that freezes nodes needs 48 GiB
    rs = collective_memory("reduce_scatter", 16 * GiB, ranks=4, allowance_bytes=0)
    assert rs.check_bytes == 4 * GiB and rs.total_bytes == 36 * GiB
    nocheck = collective_memory("all_gather", 8 * GiB, ranks=2, datacheck=False,
                                allowance_bytes=GiB, ranks_per_node=2)
    assert nocheck.check_bytes == 0 and nocheck.total_bytes == 2 * (16 + 1) * GiB
    with pytest.raises(ValueError, match="unknown collective"):
        collective_memory("all_to_nowhere", GiB, ranks=2)


def test_a_16g_all_gather_on_a_node_serving_a_model_is_refused_with_a_smaller_size():
    # 100 GiB of the pool taken by a model: ~21.7 GiB available
    fit = collective_fits("all_gather", 16 * GiB, available_bytes=int(21.7 * GiB),
                          total_bytes=SPARK_TOTAL, ranks=2, node="spark-2")
    assert not fit.fits
    assert fit.need.total_bytes == 50 * GiB  # 3 x 16 + 2 allowance
    assert fit.reserve_bytes == int(SPARK_TOTAL * 0.06)
    assert fit.diagnosis.startswith("spark-2: all_gather at 16.0 GiB needs 50.0 GiB of "
                                    "unified memory")
    assert "only 21.7 GiB is available and 7.3 GiB (6 %) must stay free" in fit.diagnosis
    # the largest -e that fits: (21.7 - 7.3 - 2) / 3 = ~4.1 GiB
    assert fit.largest_fitting_bytes // GiB == 4
    assert fit.hint.startswith("use at most -e 4G; -c 0 drops the check buffer")
    smaller = collective_fits("all_gather", 4 * GiB, available_bytes=int(21.7 * GiB),
                              total_bytes=SPARK_TOTAL, ranks=2)
    assert smaller.fits and smaller.hint is None


def test_an_idle_spark_fits_the_16g_test_nvidia_runs():
    fit = collective_fits("all_gather", 16 * GiB, available_bytes=118 * GiB,
                          total_bytes=SPARK_TOTAL, ranks=2)
    assert fit.fits and "leaves 68.0 GiB" in fit.diagnosis


def test_nothing_fits_when_the_node_is_already_below_the_reserve():
    fit = collective_fits("all_reduce", 1 << 20, available_bytes=5 * GiB,
                          total_bytes=SPARK_TOTAL, ranks=2)
    assert not fit.fits and fit.largest_fitting_bytes == 0
    assert "use at most" not in fit.hint and "sparkctl runtime down" in fit.hint


def test_meminfo_parser_on_real_output():
    values = meminfo_bytes(FIXTURE.read_text())
    assert values["MemTotal"] == 24_684_084 * 1024
    assert values["MemAvailable"] < values["MemTotal"]
    assert values["SwapTotal"] == 0
    fit = collective_fits("all_reduce", GiB, available_bytes=values["MemAvailable"],
                          total_bytes=values["MemTotal"], ranks=2)
    assert fit.available_bytes == values["MemAvailable"]
    with pytest.raises(ValueError, match="not /proc/meminfo output"):
        meminfo_bytes("MemFree: 12 kB\n")

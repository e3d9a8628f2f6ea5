"""GPU judging on the real nvidia-smi captures (tests/fixtures/nvidia-smi, see SOURCES.md)."""

from pathlib import Path

from sparkctl.checks.result import Verdict
from sparkctl.health.gpu import judge_driver_consistency, judge_node_gpu, throttle_masks

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "nvidia-smi"
H100_CSV = (FIX / "query-gpu.csv").read_text()
GB10_NA_CSV = (FIX / "spark_unsloth_pr10703_query_gpu_csv_memory_NA.txt").read_text()


def test_real_query_gpu_csv_passes_and_yields_samples():
    findings, parsed = judge_node_gpu("spark-1", H100_CSV, "0")
    verdicts = {c.id: c.verdict for c in findings.checks}
    assert verdicts == {"gpu.state": Verdict.PASS, "gpu.throttle": Verdict.PASS}
    assert parsed.driver_version == "580.159.04"
    samples = {s.metric: s.value for s in findings.samples}
    assert samples["gpu_temperature_celsius"] == 48
    assert samples["gpu_power_watts"] == 83.30
    assert samples["gpu_sm_clock_mhz"] == 345
    assert samples["gpu_throttle_reasons"] == 1  # GPU idle: not a fault


def test_gb10_memory_na_is_not_an_error():
    findings, parsed = judge_node_gpu("spark-1", GB10_NA_CSV, "0")
    assert [c.verdict for c in findings.checks if c.id == "gpu.state"] == [Verdict.PASS]
    assert parsed.gpus[0].memory_total_mib is None and not parsed.gpus[0].memory_reported
    # That capture has no throttle column: shown as skipped, not passed.
    assert [s.id for s in findings.skipped] == ["gpu.throttle"]


def test_thermal_throttle_in_real_row_is_degraded():
    # The real capture with its reasons field changed to HW thermal slowdown (0x40).
    text = H100_CSV.replace("0x0000000000000001", "0x0000000000000040")
    findings, _ = judge_node_gpu("spark-1", text, "0")
    throttle = next(c for c in findings.checks if c.id == "gpu.throttle")
    assert throttle.verdict is Verdict.DEGRADED
    assert "HW_THERMAL" in throttle.diagnosis and "48 C" in throttle.diagnosis


def test_ecc_errors_fail():
    lines = H100_CSV.splitlines()
    lines[1] = lines[1].replace("0 MiB, 0, P0", "0 MiB, 3, P0")
    findings, _ = judge_node_gpu("spark-1", "\n".join(lines) + "\n", "0")
    state = next(c for c in findings.checks if c.id == "gpu.state")
    assert state.verdict is Verdict.FAIL and state.measured == 3


def test_malformed_output_is_unparseable_not_a_crash():
    cut = H100_CSV[: len(H100_CSV) // 2]  # cut mid-row
    findings, parsed = judge_node_gpu("spark-1", cut, "0")
    assert parsed is None
    assert findings.checks[0].verdict is Verdict.FAIL
    assert findings.checks[0].diagnosis.startswith("unparseable nvidia-smi output")
    garbage, _ = judge_node_gpu("spark-1", "NVIDIA-SMI has failed because it couldn't "
                                "communicate with the NVIDIA driver.\n", "9")
    assert "unparseable" in garbage.checks[0].diagnosis


def test_missing_binary_and_hung_driver():
    missing, _ = judge_node_gpu("n", "sh: 1: nvidia-smi: not found\n", "127")
    assert "not installed" in missing.checks[0].diagnosis
    hung, _ = judge_node_gpu("n", "", "124")
    assert "did not answer" in hung.checks[0].diagnosis


def test_throttle_masks_reads_both_column_names():
    assert throttle_masks(H100_CSV) == [1]
    renamed = H100_CSV.replace("clocks_event_reasons.active", "clocks_throttle_reasons.active")
    assert throttle_masks(renamed) == [1]
    assert throttle_masks(GB10_NA_CSV) == [None]


def test_driver_versions_must_match_across_nodes():
    _, a = judge_node_gpu("spark-1", H100_CSV, "0")
    _, b = judge_node_gpu("spark-2", H100_CSV.replace("580.159.04", "580.95.05"), "0")
    assert judge_driver_consistency({"spark-1": a, "spark-2": a}).verdict is Verdict.PASS
    mixed = judge_driver_consistency({"spark-1": a, "spark-2": b})
    assert mixed.verdict is Verdict.FAIL and "spark-2=580.95.05" in mixed.diagnosis
    assert judge_driver_consistency({"spark-1": a}) is None

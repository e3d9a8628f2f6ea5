"""GPU state from `nvidia-smi --query-gpu ... --format=csv` on each node, and across nodes.

Parsing is the shared parser's (sparkctl.checks.parsers.nvidia_smi); it maps GB10's "[N/A]"
memory fields to None, which is how that machine is and never an error here. Temperature and
power are recorded as samples; they are judged through what the driver itself reports as
slowing the clocks (throttle reasons), since NVIDIA publishes no GB10 temperature limit.
"""

from __future__ import annotations

import csv
import io

from sparkctl.checks.diagnose import judge_gpus
from sparkctl.checks.parsers.common import ParseError, normalise, number_with_unit
from sparkctl.checks.parsers.nvidia_smi import NvidiaSmiResult, parse_csv
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.health.findings import Findings
from sparkctl.health.samples import Sample

# nvmlClocksEventReasons (nvml.h). Idle, application clocks, the software power cap (normal
# under load), sync boost and display clocks are not faults.
THROTTLE_FAULTS = {
    0x8: "hardware slowdown (HW_SLOWDOWN: power brake or overheating)",
    0x20: "software thermal slowdown (SW_THERMAL)",
    0x40: "hardware thermal slowdown (HW_THERMAL)",
    0x80: "hardware power brake (HW_POWER_BRAKE)",
}
_REASON_COLUMNS = ("clocks_throttle_reasons.active", "clocks_event_reasons.active")


def throttle_masks(text: str) -> list[int | None]:
    """The active throttle-reason bitmask of each GPU row, None where absent or unreadable."""
    rows = [r for r in csv.reader(io.StringIO(normalise(text)), skipinitialspace=True) if r]
    if len(rows) < 2:
        return []
    header = [h.split(" [")[0].strip() for h in rows[0]]
    column = next((header.index(c) for c in _REASON_COLUMNS if c in header), None)
    masks: list[int | None] = []
    for row in rows[1:]:
        if column is None or column >= len(row):
            masks.append(None)
            continue
        try:
            masks.append(int(row[column].strip(), 16))
        except ValueError:
            masks.append(None)
    return masks


def sm_clocks(text: str) -> list[float | None]:
    rows = [r for r in csv.reader(io.StringIO(normalise(text)), skipinitialspace=True) if r]
    if len(rows) < 2:
        return []
    header = [h.split(" [")[0].strip() for h in rows[0]]
    column = next((header.index(c) for c in ("clocks.current.sm", "clocks.sm") if c in header),
                  None)
    return [number_with_unit(row[column])[0] if column is not None and column < len(row)
            else None for row in rows[1:]]


def judge_node_gpu(node: str, text: str, exit_status: str | None) -> tuple[Findings,
                                                                           NvidiaSmiResult | None]:
    out = Findings()
    subject = f"{node}/gpu"
    if exit_status == "127" or ("not found" in text.lower() and "nvidia-smi" in text.lower()):
        out.checks.append(CheckResult(
            "gpu.state", "gpu", subject, Verdict.FAIL, diagnosis="nvidia-smi is not installed "
            "or not on PATH, so the GPU state is unknown.",
            hint="Install the NVIDIA driver utilities (DGX OS ships them); run `nvidia-smi`."))
        return out, None
    if exit_status == "124":
        out.checks.append(CheckResult(
            "gpu.state", "gpu", subject, Verdict.FAIL,
            diagnosis="nvidia-smi did not answer within its timeout: the driver is wedged.",
            hint="Check dmesg for Xid errors; a hung driver usually needs a reboot."))
        return out, None
    try:
        result = parse_csv(text)
    except ParseError as exc:
        out.checks.append(CheckResult(
            "gpu.state", "gpu", subject, Verdict.FAIL,
            diagnosis=f"unparseable nvidia-smi output: {exc.reason}",
            hint="Run the query by hand on the node and check the driver "
                 f"(exit status {exit_status or 'unknown'})."))
        return out, None
    judged = judge_gpus(len(result.gpus), [g.ecc_uncorrected for g in result.gpus])
    out.checks.append(judged.to_check("gpu.state", "gpu", subject))
    masks, clocks = throttle_masks(text), sm_clocks(text)
    for i, gpu in enumerate(result.gpus):
        labels = {"node": node, "gpu": str(gpu.index if gpu.index is not None else i)}
        for metric, value in (("gpu_temperature_celsius", gpu.temperature_c),
                              ("gpu_power_watts", gpu.power_w),
                              ("gpu_ecc_uncorrected_errors", gpu.ecc_uncorrected),
                              ("gpu_sm_clock_mhz", clocks[i] if i < len(clocks) else None)):
            if value is not None:
                out.samples.append(Sample(metric, float(value), dict(labels)))
        mask = masks[i] if i < len(masks) else None
        gsub = f"{node}/gpu{labels['gpu']}"
        if mask is None:
            out.skipped.append(_no_reasons(gsub))
            continue
        out.samples.append(Sample("gpu_throttle_reasons", float(mask), dict(labels)))
        faults = [why for bit, why in THROTTLE_FAULTS.items() if mask & bit]
        temp = f" at {gpu.temperature_c:g} C" if gpu.temperature_c is not None else ""
        if faults:
            out.checks.append(CheckResult(
                "gpu.throttle", "gpu", gsub, Verdict.DEGRADED, measured=f"0x{mask:x}",
                expected="no thermal/power-brake reasons",
                diagnosis=f"the GPU clocks are held down by {'; '.join(faults)}{temp}.",
                hint="Check airflow and ambient temperature, the power supply, and "
                     "`nvidia-smi -q -d PERFORMANCE`; a throttled node slows every collective."))
        else:
            out.checks.append(CheckResult(
                "gpu.throttle", "gpu", gsub, Verdict.PASS, measured=f"0x{mask:x}",
                expected="no thermal/power-brake reasons",
                diagnosis=f"no thermal or power-brake throttling{temp}."))
    return out, result


def _no_reasons(subject: str):
    from sparkctl.health.findings import Skip

    return Skip("gpu.throttle", subject, "nvidia-smi did not report throttle reasons")


def judge_driver_consistency(results: dict[str, NvidiaSmiResult]) -> CheckResult | None:
    """Every node must run the same driver: NCCL across mixed drivers fails in odd ways."""
    versions = {node: r.driver_version for node, r in results.items()}
    if len(versions) < 2:
        return None
    distinct = sorted({v or "unknown" for v in versions.values()})
    if len(distinct) == 1:
        return CheckResult("gpu.driver_version", "gpu", "cluster", Verdict.PASS,
                           measured=distinct[0], expected="equal on every node",
                           diagnosis=f"every node runs driver {distinct[0]}.")
    shown = ", ".join(f"{n}={v or 'unknown'}" for n, v in sorted(versions.items()))
    return CheckResult(
        "gpu.driver_version", "gpu", "cluster", Verdict.FAIL, measured=shown,
        expected="equal on every node",
        diagnosis=f"nodes run different NVIDIA drivers ({shown}).",
        hint="Update every node to the same DGX OS release (apt full-upgrade) and reboot.")

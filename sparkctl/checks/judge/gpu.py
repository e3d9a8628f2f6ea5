"""The GPU as nvidia-smi reports it, and what nvidia-smi's failures mean.

A GPU that nvidia-smi cannot talk to is never a pass. On DGX OS the driver belongs to the OS
(updates come through DGX OS; facts/dgx-os.md), so the fix is a reboot or an OS update, never
a driver reinstall by sparkctl.
"""

from __future__ import annotations

import re

from sparkctl.checks.judge.base import Judgement
from sparkctl.checks.result import Verdict

# (pattern, kind, diagnosis, hint), as nvidia-smi prints them.
NVIDIA_SMI_FAILURES: tuple[tuple[re.Pattern[str], str, str, str], ...] = (
    (re.compile(r"Failed to initialize NVML: Driver/library version mismatch", re.I),
     "driver-library-mismatch",
     "nvidia-smi cannot initialise NVML: the loaded kernel driver and the user-space library "
     "differ (a driver update was installed but the old module is still loaded): reboot needed",
     "Reboot the node so the updated driver loads; on DGX OS never reinstall the driver by "
     "hand (updates come through DGX OS)."),
    (re.compile(r"No devices were found", re.I), "no-device",
     "nvidia-smi finds no GPU: the driver is loaded but sees no device (GPU not visible to "
     "this container, or lost after an error)",
     "In a container pass --gpus all (nvidia-container-toolkit); on the host check dmesg for "
     "NVRM/Xid errors and reboot."),
    (re.compile(r"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA "
                r"driver", re.I), "no-driver",
     "nvidia-smi cannot reach the NVIDIA driver: the kernel module is not loaded (failed to "
     "build or load after a kernel update, or blocked by Secure Boot)",
     "Check `lsmod | grep nvidia` and dmesg; on DGX OS boot the kernel the driver was built "
     "for, or apply the pending DGX OS update and reboot."),
    (re.compile(r"Unable to determine the device handle for GPU|GPU is lost|"
                r"Reboot the system to recover this GPU", re.I), "gpu-lost",
     "the driver lost the GPU (it fell off the bus or hit a fatal error)",
     "Drain the node, save dmesg (Xid lines), and reboot; if it recurs the node needs service."),
    (re.compile(r"Failed to initialize NVML: (?:Unknown Error|Insufficient Permissions)",
                re.I), "nvml-error",
     "nvidia-smi cannot initialise NVML (permissions or a broken device node, often in "
     "containers)",
     "Run nvidia-smi on the host; in containers use the NVIDIA runtime (--gpus all)."),
)
HANG = "hang"  # nvidia-smi did not return within the probe's deadline


def classify_nvidia_smi_failure(text: str) -> str | None:
    """The kind of nvidia-smi failure the text shows, or None if it shows none."""
    for pattern, kind, _, _ in NVIDIA_SMI_FAILURES:
        if pattern.search(text):
            return kind
    return None


def judge_nvidia_smi_failure(text: str, *, timed_out: bool = False,
                             timeout_s: float | None = None) -> Judgement | None:
    """A failed nvidia-smi as a FAIL naming the cause; None if the text shows no failure."""
    if timed_out:
        after = f" within {timeout_s:g} s" if timeout_s else ""
        return Judgement(Verdict.FAIL,
                         f"nvidia-smi did not return{after}: the driver is hung (a GPU in a "
                         "bad state blocks every NVML call).",
                         "Do not start jobs on this node; save dmesg (Xid lines) and reboot.",
                         measured=HANG, expected="responds")
    for pattern, kind, diagnosis, hint in NVIDIA_SMI_FAILURES:
        if pattern.search(text):
            return Judgement(Verdict.FAIL, f"{diagnosis}{_library_version(text)}.", hint,
                             measured=kind, expected="GPU visible")
    return None


def _library_version(text: str) -> str:
    match = re.search(r"NVML library version: (\S+)", text)
    return f" (NVML library {match.group(1)})" if match else ""


def judge_gpus(count: int, ecc_uncorrected: list[int | None]) -> Judgement:
    if count == 0:
        return Judgement(Verdict.FAIL, "nvidia-smi lists no GPU.",
                         "Check the driver is loaded (dmesg, nvidia-smi -L).",
                         measured=0, expected=">=1", unit="GPUs")
    errors = sum(e for e in ecc_uncorrected if e)
    if errors:
        return Judgement(Verdict.FAIL,
                         f"{errors} uncorrectable ECC errors since the driver loaded: GPU memory "
                         "corrupted data.", "Drain the node, reset the GPU, and check again; "
                         "persistent errors need an RMA.", measured=errors, expected=0,
                         unit="errors")
    return Judgement(Verdict.PASS, f"{count} GPU(s) visible, no uncorrectable ECC errors "
                                   "reported.", measured=count, expected=">=1", unit="GPUs")

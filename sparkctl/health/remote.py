"""The node-side script of the health-only checks (GPU, disk, memory, drift files).

Link facts and reachability come from validate's remote programs (sparkctl.validate.scripts);
this script adds what only health looks at, in one exec. Every step is bounded on its own
(`timeout` around nvidia-smi) and the whole script runs under the SSH layer's hard timeout.
Output is split in sections by lines "@@name args".
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

# The exact query captured for the project (tests/fixtures/nvidia-smi/query-gpu.csv); newer
# drivers print the last column as clocks_event_reasons.active.
NVIDIA_SMI_QUERY = (
    "nvidia-smi --query-gpu=index,name,uuid,driver_version,pci.bus_id,temperature.gpu,"
    "power.draw,clocks.sm,memory.total,memory.used,ecc.errors.uncorrected.volatile.total,"
    "pstate,clocks_throttle_reasons.active --format=csv")
NVIDIA_SMI_TIMEOUT_S = 5
DISK_MOUNTS = ("/", "/var", "/tmp")


@dataclass(frozen=True)
class NodeScriptPlan:
    gpu: bool
    nccl_env_path: str
    hostfile_path: str


def build_script(plan: NodeScriptPlan) -> str:
    q = shlex.quote
    lines = ["export LC_ALL=C"]
    if plan.gpu:
        lines += ["echo @@gpu",
                  f"timeout -k 1 {NVIDIA_SMI_TIMEOUT_S} {NVIDIA_SMI_QUERY} 2>&1; "
                  "echo \"@@gpu_rc $?\""]
    lines += ["echo @@df", f"df -P -k {' '.join(DISK_MOUNTS)} 2>/dev/null",
              "echo @@meminfo", "cat /proc/meminfo",
              "echo @@psi", "cat /proc/pressure/memory 2>/dev/null"]
    for label, path in (("nccl_env", plan.nccl_env_path), ("hostfile", plan.hostfile_path)):
        lines.append(f"if [ -r {q(path)} ]; then echo '@@file {label} present'; cat {q(path)}; "
                     f"else echo '@@file {label} missing'; fi")
    lines.append("echo @@end")
    return "\n".join(lines) + "\n"


@dataclass
class NodeOutput:
    """Sections of one node's script output; `complete` is False if it was cut short."""

    sections: dict[str, list[str]]
    heads: dict[str, str]  # section -> the rest of its @@ line ("present", "missing", ...)
    complete: bool

    def lines(self, name: str) -> list[str]:
        return self.sections.get(name, [])

    def text(self, name: str) -> str:
        return "\n".join(self.sections.get(name, [])) + "\n"


def parse_sections(stdout: str) -> NodeOutput:
    sections: dict[str, list[str]] = {}
    heads: dict[str, str] = {}
    current: list[str] | None = None
    complete = False
    for line in stdout.splitlines():
        if line.startswith("@@"):
            word, _, rest = line[2:].partition(" ")
            if word == "end":
                complete, current = True, None
                continue
            if word == "gpu_rc":
                heads["gpu_rc"] = rest.strip()
                current = None
                continue
            if word == "file":
                word, _, rest = rest.partition(" ")
            current = sections.setdefault(word, [])
            heads[word] = rest.strip()
            continue
        if current is not None:
            current.append(line)
    return NodeOutput(sections, heads, complete)

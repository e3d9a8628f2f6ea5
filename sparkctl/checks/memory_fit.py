"""Does a collective test of this size fit in a node's free memory? (pure)

A Spark's CPU and GPU share one 128 GB pool, so the buffers nccl-tests allocates come out
of the same memory the OS, sshd and a loaded model live in; a 16G test can freeze a node
(facts/dgx-spark.md). validate asks this before it starts a collective, and refuses one that
would not fit, with this diagnosis.

What nccl-tests allocates per rank (NVIDIA/nccl-tests@a0b82b2, src/common.cu AllocateBuffs):
a send and a receive buffer of the largest size (-e) each, plus, with data checking on
(-c 1, the default), an "expected" buffer of the collective's receive size (the full size
for all_reduce, all_gather, broadcast, reduce, alltoall, sendrecv; size/nranks for
reduce_scatter and scatter; src/<collective>.cu GetCollByteCount).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GiB = 1 << 30
# The CUDA context and NCCL's own channel buffers beside the test's buffers. An allowance,
# not a measurement: it only widens the margin the check keeps.
DEFAULT_RUNTIME_ALLOWANCE = 2 * GiB
# Keep this share of the node's memory free after the test's buffers: the earlyoom role
# sends SIGTERM at 6 % available (playbooks/roles/earlyoom/defaults/main.yml), so a test
# that would dip below it gets killed, or on a node without earlyoom, can freeze it.
DEFAULT_RESERVE_PERCENT = 6.0
# Receive size relative to the -e size; the rest receive the full size.
_RECV_PER_RANK = {"reduce_scatter", "scatter"}
COLLECTIVES = ("all_reduce", "all_gather", "reduce_scatter", "broadcast", "reduce",
               "alltoall", "sendrecv", "gather", "scatter", "hypercube")


@dataclass(frozen=True)
class CollectiveMemory:
    """What one node holds for one collective test (all its ranks together)."""

    collective: str
    max_bytes: int  # the test's largest size (-e)
    ranks_per_node: int
    send_bytes: int  # per rank
    recv_bytes: int  # per rank
    check_bytes: int  # per rank; 0 with -c 0
    allowance_bytes: int  # per rank: CUDA context, NCCL buffers

    @property
    def per_rank_bytes(self) -> int:
        return self.send_bytes + self.recv_bytes + self.check_bytes + self.allowance_bytes

    @property
    def total_bytes(self) -> int:
        return self.per_rank_bytes * self.ranks_per_node


@dataclass(frozen=True)
class MemoryFit:
    fits: bool
    need: CollectiveMemory
    available_bytes: int
    reserve_bytes: int  # what must stay free
    largest_fitting_bytes: int  # the largest -e that would fit now (0: none)
    diagnosis: str
    hint: str | None


def collective_memory(collective: str, max_bytes: int, *, ranks: int, ranks_per_node: int = 1,
                      datacheck: bool = True,
                      allowance_bytes: int = DEFAULT_RUNTIME_ALLOWANCE) -> CollectiveMemory:
    if collective not in COLLECTIVES:
        raise ValueError(f"unknown collective {collective!r}; one of {', '.join(COLLECTIVES)}")
    if max_bytes < 0 or ranks < 1 or ranks_per_node < 1:
        raise ValueError("sizes and rank counts must be positive")
    recv = max_bytes // ranks if collective in _RECV_PER_RANK else max_bytes
    return CollectiveMemory(collective, max_bytes, ranks_per_node, send_bytes=max_bytes,
                            recv_bytes=max_bytes, check_bytes=recv if datacheck else 0,
                            allowance_bytes=allowance_bytes)


def _largest_fitting(collective: str, budget: int, *, ranks: int, ranks_per_node: int,
                     datacheck: bool, allowance_bytes: int) -> int:
    """The largest -e whose buffers fit in `budget` bytes (need grows linearly with -e)."""
    unit = collective_memory(collective, 1 << 30, ranks=ranks, ranks_per_node=ranks_per_node,
                             datacheck=datacheck, allowance_bytes=0).total_bytes / (1 << 30)
    room = budget - allowance_bytes * ranks_per_node
    return max(0, int(room / unit)) if room > 0 else 0


def collective_fits(collective: str, max_bytes: int, *, available_bytes: int, total_bytes: int,
                    ranks: int, ranks_per_node: int = 1, datacheck: bool = True,
                    reserve_percent: float = DEFAULT_RESERVE_PERCENT,
                    allowance_bytes: int = DEFAULT_RUNTIME_ALLOWANCE,
                    node: str | None = None) -> MemoryFit:
    """Whether a collective test of `max_bytes` fits in what a node has free now.

    `available_bytes` is /proc/meminfo MemAvailable, `total_bytes` MemTotal (meminfo_bytes
    reads them). It fits when its buffers leave `reserve_percent` of the node free.
    """
    need = collective_memory(collective, max_bytes, ranks=ranks, ranks_per_node=ranks_per_node,
                             datacheck=datacheck, allowance_bytes=allowance_bytes)
    reserve = int(total_bytes * reserve_percent / 100)
    budget = available_bytes - reserve
    largest = _largest_fitting(collective, budget, ranks=ranks, ranks_per_node=ranks_per_node,
                               datacheck=datacheck, allowance_bytes=allowance_bytes)
    where = f"{node}: " if node else ""
    parts = (f"2 x {_gib(max_bytes)} GiB send/receive"
             + (f" + {_gib(need.check_bytes)} GiB check" if need.check_bytes else "")
             + f" + {_gib(allowance_bytes)} GiB CUDA/NCCL allowance"
             + (f", x{ranks_per_node} ranks" if ranks_per_node > 1 else ""))
    if need.total_bytes <= budget:
        return MemoryFit(True, need, available_bytes, reserve, largest,
                         f"{where}{collective} at {_gib(max_bytes)} GiB needs "
                         f"{_gib(need.total_bytes)} GiB ({parts}); {_gib(available_bytes)} GiB "
                         f"available leaves {_gib(available_bytes - need.total_bytes)} GiB, "
                         f"above the {_gib(reserve)} GiB reserve", None)
    diagnosis = (f"{where}{collective} at {_gib(max_bytes)} GiB needs {_gib(need.total_bytes)}"
                 f" GiB of unified memory ({parts}) but only {_gib(available_bytes)} GiB is "
                 f"available and {_gib(reserve)} GiB ({reserve_percent:g} %) must stay free; "
                 "started anyway, it would be OOM-killed or freeze the node")
    hints = []
    if largest > 0:
        hints.append(f"use at most -e {_size_flag(largest)}")
    if datacheck:
        hints.append("-c 0 drops the check buffer")
    hints.append("or free memory first (stop the model server: sparkctl runtime down)")
    return MemoryFit(False, need, available_bytes, reserve, largest, diagnosis,
                     "; ".join(hints))


_MEMINFO = re.compile(r"^(\w+):\s+(\d+)\s*kB$", re.M)


def meminfo_bytes(text: str) -> dict[str, int]:
    """/proc/meminfo as bytes per field (MemTotal, MemAvailable, ...)."""
    values = {key: int(value) * 1024 for key, value in _MEMINFO.findall(text)}
    missing = [k for k in ("MemTotal", "MemAvailable") if k not in values]
    if missing:
        raise ValueError(f"not /proc/meminfo output: no {', '.join(missing)}")
    return values


def _gib(n: float) -> str:
    return f"{n / GiB:.1f}"


def _size_flag(n: int) -> str:
    """A size for nccl-tests' -e: whole GiB or MiB, rounded down."""
    if n >= GiB:
        return f"{n // GiB}G"
    return f"{max(1, n >> 20)}M"

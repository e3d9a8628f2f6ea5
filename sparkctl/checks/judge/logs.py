"""Error lines of NCCL, nccl-tests and the MPI launcher: which layer failed, and why.

A failed collective fails somewhere specific: the launcher could not start its daemons over
ssh, the bootstrap over the management network broke, RDMA queue pairs could not be set up,
NCCL fell back to TCP, or transfers failed mid-run. The diagnosis names that layer first,
because that is where the user has to look.
"""

from __future__ import annotations

import re

from sparkctl.checks.judge.base import Judgement, hardware_twin
from sparkctl.checks.result import Verdict

LAYER_LAUNCH = "ssh/daemon start (MPI launcher)"
LAYER_BOOTSTRAP = "management network (NCCL bootstrap)"
LAYER_QP = "IB QP setup (RDMA connection)"
LAYER_FALLBACK = "transport fallback (NCCL fell back to TCP)"
LAYER_TRANSFER = "RDMA transfer (during the run)"
LAYER_CONFIG = "NCCL configuration"
LAYER_GPU = "GPU/CUDA"
LAYER_RANK = "a rank exited (application)"

# (pattern, layer, cause, hint), most specific first.
LayeredSignature = tuple[re.Pattern[str], str, str, str]

NCCL_SIGNATURES: tuple[LayeredSignature, ...] = (
    (re.compile(r"Invalid number of GPUs"), LAYER_GPU,
     "the run asked for more GPUs than the node has (DGX Spark has one GPU)",
     "Use -g 1 and one MPI rank per node: mpirun -np N -H host1:1,host2:1 ..."),
    (re.compile(r"Could not resolve hostname|ssh_exchange_identification|"
                r"Host key verification failed|Permission denied \(publickey", re.I),
     LAYER_LAUNCH,
     "mpirun could not start its daemons on the other nodes (ssh: name resolution, host key "
     "or login failed)",
     "Make every host name resolvable from the launcher and passwordless ssh work both ways "
     "(ssh HOST true must print nothing)."),
    (re.compile(r"ORTE was unable to reliably start|prterun was unable to reliably start|"
                r"PRTE has lost communication with a remote daemon|"
                r"daemon has unexpectedly failed after launch|"
                r"ORTE does not know how to route a message|"
                r"An ORTE daemon has unexpectedly failed", re.I),
     LAYER_LAUNCH,
     "mpirun could not start its daemons on the other nodes (ssh, PATH/LD_LIBRARY_PATH, or "
     "the daemons lost their TCP connection back to the launcher)",
     "Check passwordless ssh to every node, that mpirun/prted are on the remote PATH "
     "(--prefix), and pin the daemons' network with --mca oob_tcp_if_include enP7s7."),
    (re.compile(r"There are not enough slots available", re.I), LAYER_LAUNCH,
     "the hostfile/-H list gives fewer slots than -np asks for",
     "Give each host one slot (-H host1:1,host2:1) and -np equal to the number of nodes."),
    (re.compile(r"no socket interface found|Bootstrap : no socket|"
                r"bootstrap.*(?:Connection refused|timed out|Connection reset)", re.I),
     LAYER_BOOTSTRAP,
     "NCCL's bootstrap over the management network failed: NCCL_SOCKET_IFNAME names an "
     "interface that is missing, has no address, or is not reachable between the nodes",
     "Set NCCL_SOCKET_IFNAME to an interface that is up with an IPv4 address on every node "
     "(enP7s7 for bootstrap over management) and allow TCP between the nodes on it."),
    (re.compile(r"ibv_modify_qp failed with 110|ibv_modify_qp failed|"
                r"NET/IB ?: .*(?:Connect|connection) .*(?:failed|timed out)|"
                r"Failed to modify QP", re.I),
     LAYER_QP,
     "RDMA queue pairs could not connect (timeout): wrong GID index, no route on that subnet, "
     "both twins in one subnet, or a ring without subnet-aware routing",
     "Use GID index 3 (RoCEv2 IPv4), give each twin its own subnet, check ping between the "
     "peers' CX-7 addresses, and on a ring use NCCL >= 2.30.7."),
    (re.compile(r"Got completion from peer .* with (?:error|status=\d+)|"
                r"NET/IB ?: Got completion .*(?:error|status)", re.I),
     LAYER_TRANSFER,
     "RDMA transfers failed mid-run (work completion error from the peer)",
     "Check cables, link error counters (ethtool -S deltas) and PFC/MTU consistency on both "
     "ends; status=12 means retries ran out (packets lost or the peer is unreachable)."),
    (re.compile(r"libibverbs", re.I), LAYER_FALLBACK,
     "libibverbs could not be loaded, so NCCL cannot use RDMA",
     "Install rdma-core (libibverbs1, ibverbs-providers) inside the container or host."),
    (re.compile(r"NET/IB ?: No device found", re.I), LAYER_FALLBACK,
     "NCCL saw no RDMA device and fell back to TCP sockets",
     "Pass --device /dev/infiniband to containers and check ibv_devinfo lists the CX-7."),
    (re.compile(r"Cuda failure|CUDA failure|cudaErrorNoDevice|no CUDA-capable device", re.I),
     LAYER_GPU, "a CUDA call failed (no GPU visible, driver mismatch or out of memory)",
     "Run nvidia-smi on every node; a driver/library mismatch needs a reboot."),
    (re.compile(r"Connection closed by (?:remote peer|localRank)", re.I), LAYER_RANK,
     "a peer rank went away during the run",
     "Look at the first failing rank's log; the error there is the cause."),
    (re.compile(r"mpirun detected that one or more processes exited with non-zero status|"
                r"process returned\s+a non-zero exit code|mpirun noticed that process rank|"
                r"MPI_ABORT was invoked|prterun detected that one or more processes", re.I),
     LAYER_RANK,
     "a rank exited with an error; the launcher only reports that it did",
     "Read the first error printed by the failing rank (above the launcher's message)."),
    (re.compile(r"invalid usage", re.I), LAYER_CONFIG,
     "NCCL rejected its configuration (invalid usage)",
     "Rerun with NCCL_DEBUG=WARN; the WARN line names the bad setting."),
    (re.compile(r"internal error", re.I), LAYER_CONFIG,
     "NCCL hit an internal error, usually after a network/bootstrap failure on another rank",
     "Find the first WARN line across all ranks' logs."),
)

# NCCL WARN lines that do not fail a run by themselves.
_BENIGN_WARN = re.compile(r"Could not find real path of|NCCL_\w+ set by environment|"
                          r"Ignoring|is deprecated|Unknown parameter|unknown environment", re.I)


def judge_nccl_errors(errors: list[str], *, nccl_version: str | None = None,
                      topology: str | None = None) -> Judgement:
    """A failed run: the first known signature among the error lines names layer and cause."""
    text = "\n".join(errors)
    for pattern, layer, cause, hint in NCCL_SIGNATURES:
        if pattern.search(text):
            if layer == LAYER_QP and topology == "ring3":
                from sparkctl.checks.judge.collective import judge_nccl_for_ring

                ring = judge_nccl_for_ring(nccl_version, topology)
                if ring.verdict is Verdict.FAIL:
                    return Judgement(Verdict.FAIL, f"The run failed at the {layer} layer: "
                                                   f"{ring.diagnosis}", ring.hint,
                                     measured=len(errors), expected=0, unit="errors")
            return Judgement(Verdict.FAIL, f"The run failed at the {layer} layer: {cause}.",
                             hint, measured=len(errors), expected=0, unit="errors")
    first = errors[0] if errors else "unknown error"
    return Judgement(Verdict.FAIL, f"The run failed: {first[:200]}.",
                     "Read the first error line of the failing rank.",
                     measured=len(errors), expected=0, unit="errors")


def failing_warnings(warnings: list[str]) -> list[str]:
    """WARN lines that mean failure (a real path NCCL could not resolve for Soft-RoCE does not)."""
    return [w for w in warnings if not _BENIGN_WARN.search(w)]


def judge_nccl_network(transport: str | None, ib_devices: list[str], *,
                       ib_unusable: bool, warnings: list[str],
                       nccl_release: bool | None, net_plugin: str | None = None) -> Judgement:
    """What an NCCL_DEBUG=INFO log says about the network path."""
    fatal = failing_warnings(warnings)
    if fatal:
        return judge_nccl_errors(fatal)
    if transport == "Socket" or (ib_unusable and transport != "IB"):
        return Judgement(
            Verdict.FAIL,
            f"The {LAYER_FALLBACK} layer: NCCL uses TCP sockets (NET/Socket), or cannot use "
            "RDMA at all: expect ~3 GB/s instead of ~22 GB/s.",
            "Make the RDMA devices visible to NCCL: rdma-core (libibverbs) installed, "
            "--device /dev/infiniband for containers, ibv_devinfo lists the CX-7; then look "
            "for 'Using network IB'.",
            measured=transport or "none", expected="IB")
    if transport != "IB":
        return Judgement(None, "the log does not show which network NCCL chose "
                               "('Using network ...' missing; cut short?).")
    spark = [d for d in ib_devices if hardware_twin(d) is not None]
    if spark and len(spark) == 1 and hardware_twin(spark[0]) not in ib_devices:
        return Judgement(
            Verdict.DEGRADED,
            f"NCCL uses NET/IB on {spark[0]} only, without its twin {hardware_twin(spark[0])}: "
            "about half the port's bandwidth.",
            "List both twins in NCCL_IB_HCA and check both are Up (ibdev2netdev).",
            measured=len(spark), expected=2, unit="HCAs")
    if nccl_release is False:
        return Judgement(Verdict.DEGRADED, "NCCL uses NET/IB. The NCCL build is not a release "
                                           "version; dev builds plateau near 3 GB/s.",
                         "Use a release NCCL (2.28.9+) built for sm_121.",
                         measured="IB", expected="IB")
    devices = f" on {', '.join(ib_devices)}" if ib_devices else ""
    plugin = f" through the {net_plugin} net plugin" if net_plugin and net_plugin != "IB" else ""
    warned = f" ({len(warnings)} non-fatal WARN line(s))" if warnings else ""
    return Judgement(Verdict.PASS, f"NCCL uses NET/IB (RDMA){plugin}{devices}{warned}.",
                     measured="IB", expected="IB")

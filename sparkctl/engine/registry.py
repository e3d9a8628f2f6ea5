"""Every check sparkctl can report: its id, kind, what it needs, and the one judge that decides it.

`validate` and `health` are two selections from this table (the `in_` column); `runtime
status` reports the runtime.* checks. An id that is not here is never reported (a unit test
runs every selection and holds each result to this table), and `sparkctl checks list` prints
it. Needs:
- `rdma`, `gpu`, `nic`: the platform must have RDMA devices / a GPU / the ConnectX-7's PCIe
  functions and firmware (sparkctl.platform);
- `peers`: the interface has planned peers (a cable or a switch);
- `nodes>=2`: the cluster has two nodes or more;
- `history`: earlier runs in the history database (`--no-history` turns it off).
A check whose platform need is missing is listed as not applicable (with why), never passed.
"""

from __future__ import annotations

from dataclasses import dataclass

VALIDATE, HEALTH, RUNTIME = "validate", "health", "runtime"
PLATFORM_NEEDS = ("rdma", "gpu", "nic")
# Checks that only say the others could run: a run that judged nothing else verified nothing
# of what it was asked (sparkctl.engine.outcome).
PRECONDITIONS = frozenset({"node.ssh", "link.facts"})


@dataclass(frozen=True)
class CheckSpec:
    id: str
    kind: str
    needs: tuple[str, ...]
    in_: tuple[str, ...]  # the selections that run it
    judge: str  # module:function that decides its verdict
    summary: str

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "kind": self.kind, "needs": list(self.needs),
                "selections": list(self.in_), "judge": self.judge, "summary": self.summary}


# One check a paragraph: `id|kind|needs|selections|judge` (judge: sparkctl.<module>:
# <function>), then what it checks on the indented lines below.
_TABLE = """
node.ssh|node|-|validate health|engine.nodes:judge_ssh
    The node answers over SSH (connect, host key pinned, login) and keeps answering.
link.facts|link|-|validate health|engine.nodes:judge_facts
    The node reports its netdevs and RDMA devices (ip, sysfs).
link.carrier|link|-|validate health|validate.links:check_carrier
    Each planned rail netdev exists, is up and has carrier; names a wrong port.
link.speed|link|-|validate health|validate.links:check_speed
    The negotiated speed is the platform's (200000 Mb/s on a Spark; info in the lab).
link.mtu|link|-|validate health|validate.links:check_mtu
    The MTU is the planned one; names the end that differs.
link.address|link|-|validate health|validate.links:check_address
    The netdev holds exactly its planned IPv4 address.
link.stray|link|-|validate health|validate.links:check_unplanned
    Unplanned ConnectX-7 netdevs hold no address and have no cable.
rdma.port|rdma|rdma|validate health|validate.links:check_rdma_port
    The rail's RDMA port is ACTIVE on Ethernet.
rdma.gid|rdma|rdma|validate health|validate.links:check_gid
    NCCL_IB_GID_INDEX is the RoCE v2 GID of the rail's IPv4 address.
rdma.counter_delta|rdma|rdma|validate health|validate.counters:judge_window
    No post-FEC error, discard or RoCE transport counter (ethtool -S, counters, hw_counters)
    grew: around the rail test in validate, since the previous run in health (FEC
    corrections and link-down events are normal on 200G PAM4 and never fail).
link.pcie|link|nic|validate|validate.hardware:pcie_check
    Each CX-7 function's PCIe link (lspci -vv LnkSta, sysfs current_link_*) trains at Gen5
    x4; x2 is the early-BIOS wiring.
link.firmware|link|nic|validate|validate.hardware:firmware_check
    The firmware of every CX-7 HCA (ethtool -i), reported; versions that differ degrade.
link.ping|link|peers|validate health|validate.reachability:judge_ping
    DF pings at MTU-28 reach every planned peer; names an MTU mismatch or a dead end.
link.tcp|link|peers|validate health|validate.reachability:judge_tcp
    TCP connects to every planned peer; names the firewall that drops it.
link.neighbours|link|peers|validate health|validate.reachability:judge_neighbours
    The wire reaches the planned peers (link-local all-nodes ping); names swapped cables.
rail.bandwidth|rail|peers|validate health|validate.rails:judge_measured
    Each rail's bounded bandwidth test (ib_write_bw, iperf3 in the lab) reaches the platform's
    floor; names the rail common to every slow test (health: --probe).
collective.all_gather|collective|nodes>=2 gpu|validate|validate.collective:judge_nccl_run
    NVIDIA's verdict: `# Avg bus bandwidth` of all_gather_perf -b 16G -e 16G against
    21.875 GB/s (ring 10), or at the documented 4G fallback when 16G does not fit in free
    unified memory.
collective.all_reduce|collective|nodes>=2|validate|validate.collective:judge_nccl_run
    nccl-tests all_reduce at the same size, reported beside all_gather (errors and wrong
    data fail it); in the lab a CPU MPI all-reduce judged on ranks and correct sums.
collective.nccl_version|collective|nodes>=2 gpu|validate|validate.collective:judge_nccl_version
    The NCCL version from the nccl-tests banner / NCCL INFO; a ring needs >= 2.30.7
    (NCCL_IB_SUBNET_AWARE_ROUTING).
collective.transport|collective|nodes>=2|validate|validate.collective:judge_lab_transport
    The collective's data took the rails: NET/IB in NCCL's log, or in the lab both twins' byte
    counters and not management.
host.script|host|-|health|health.stages:judge_script
    The health script on the node finished.
host.disk|host|-|health|health.host:judge_disks
    /, /var and /tmp have room.
host.memory|host|-|health|health.host:judge_memory
    Available unified memory and memory pressure (PSI) are sane.
drift.nccl_env|drift|-|health|health.drift:judge_nccl_env
    /etc/sparkctl/nccl.env on the node matches the plan.
drift.hostfile|drift|-|health|health.drift:judge_hostfile
    The MPI hostfile on the node matches the plan.
gpu.state|gpu|gpu|health|health.gpu:judge_node_gpu
    nvidia-smi answers, sees the GPU, no uncorrectable ECC errors.
gpu.throttle|gpu|gpu|health|health.gpu:judge_node_gpu
    No thermal or power-brake clock throttling.
gpu.driver_version|gpu|gpu nodes>=2|health|health.gpu:judge_driver_consistency
    Every node runs the same NVIDIA driver.
regression.rail_bandwidth_gbps|regression|history|validate health|health.regression:judge_regression
    A rail's bandwidth is within 20% of its trailing median.
regression.collective_busbw_gbps|regression|history|validate|health.regression:judge_regression
    The collective's busbw is within 20% of its trailing median.
runtime.container|node|gpu|runtime|runtime.status:judge_node
    The runtime's container runs on the node, from current launch files.
runtime.ray|cluster|gpu|runtime|runtime.status:judge_node
    Every node is alive in the Ray cluster.
runtime.server|node|gpu|runtime|runtime.status:judge_node
    The model server process runs in the container.
runtime.models|endpoint|-|runtime|runtime.endpoint:probe_endpoint
    The endpoint lists the model.
runtime.completion|endpoint|-|runtime|runtime.endpoint:probe_endpoint
    The endpoint answers a completion."""


def _parse(table: str) -> dict[str, CheckSpec]:
    checks: dict[str, CheckSpec] = {}
    head: list[str] = []
    summary: list[str] = []

    def add() -> None:
        if head:
            id_, kind, needs, in_, judge = head
            checks[id_] = CheckSpec(id_, kind, tuple(needs.split()) if needs != "-" else (),
                                    tuple(in_.split()), f"sparkctl.{judge}", " ".join(summary))

    for line in table.strip("\n").splitlines():
        if line.startswith(" "):
            summary.append(line.strip())
            continue
        add()
        head, summary = [f.strip() for f in line.split("|")], []
    add()
    return checks


CHECKS: dict[str, CheckSpec] = _parse(_TABLE)


def spec(check_id: str) -> CheckSpec:
    return CHECKS[check_id]


def selection(name: str) -> list[CheckSpec]:
    return [c for c in CHECKS.values() if name in c.in_]


def not_applicable(name: str, missing: dict[str, str]) -> list[tuple[CheckSpec, str]]:
    """The checks of a selection this platform cannot run, each with why (`missing` maps a
    platform need to its reason, sparkctl.platform.Platform.missing)."""
    out = []
    for check in selection(name):
        reasons = [missing[n] for n in check.needs if n in missing]
        if reasons:
            out.append((check, reasons[0]))
    return out


def markdown(checks: list[CheckSpec] | None = None) -> str:
    """The table README.md carries (a unit test keeps the two equal)."""
    rows = ["| id | kind | needs | in | what it checks |", "| --- | --- | --- | --- | --- |"]
    for c in checks if checks is not None else CHECKS.values():
        rows.append(f"| `{c.id}` | {c.kind} | {' '.join(c.needs) or '-'} | "
                    f"{' '.join(c.in_)} | {c.summary} |")
    return "\n".join(rows) + "\n"

"""Every check sparkctl can report: its id, kind, what it needs, and the one judge that decides it.

`validate` and `health` are two selections from this table (the `in_` column); `runtime
status` reports the runtime.* checks. An id that is not here is never reported (a unit test
runs every selection and holds each result to this table), and `sparkctl checks list` prints
it. Needs:
- `rdma`, `gpu`: the platform must have RDMA devices / a GPU (sparkctl.platform);
- `peers`: the interface has planned peers (a cable or a switch);
- `nodes>=2`: the cluster has two nodes or more;
- `history`: earlier runs in the history database (`--no-history` turns it off).
A check whose platform need is missing is listed as not applicable (with why), never passed.
"""

from __future__ import annotations

from dataclasses import dataclass

VALIDATE, HEALTH, RUNTIME = "validate", "health", "runtime"
PLATFORM_NEEDS = ("rdma", "gpu")
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


def _spec(id_: str, kind: str, needs: str, in_: str, judge: str, summary: str) -> CheckSpec:
    return CheckSpec(id_, kind, tuple(needs.split()), tuple(in_.split()), judge, summary)


_L, _R = "sparkctl.validate.links", "sparkctl.validate.reachability"
CHECKS: dict[str, CheckSpec] = {c.id: c for c in (
    _spec("node.ssh", "node", "", "validate health", "sparkctl.engine.nodes:judge_ssh",
          "The node answers over SSH (connect, host key pinned, login) and keeps answering."),
    _spec("link.facts", "link", "", "validate health", "sparkctl.engine.nodes:judge_facts",
          "The node reports its netdevs and RDMA devices (ip, sysfs)."),
    _spec("link.carrier", "link", "", "validate health", f"{_L}:check_carrier",
          "Each planned rail netdev exists, is up and has carrier; names a wrong port."),
    _spec("link.speed", "link", "", "validate health", f"{_L}:check_speed",
          "The negotiated speed is the platform's (200000 Mb/s on a Spark; info in the lab)."),
    _spec("link.mtu", "link", "", "validate health", f"{_L}:check_mtu",
          "The MTU is the planned one; names the end that differs."),
    _spec("link.address", "link", "", "validate health", f"{_L}:check_address",
          "The netdev holds exactly its planned IPv4 address."),
    _spec("link.stray", "link", "", "validate health", f"{_L}:check_unplanned",
          "Unplanned ConnectX-7 netdevs hold no address and have no cable."),
    _spec("rdma.port", "rdma", "rdma", "validate health", f"{_L}:check_rdma_port",
          "The rail's RDMA port is ACTIVE on Ethernet."),
    _spec("rdma.gid", "rdma", "rdma", "validate health", f"{_L}:check_gid",
          "NCCL_IB_GID_INDEX is the RoCE v2 GID of the rail's IPv4 address."),
    _spec("rdma.counters", "rdma", "rdma", "validate", f"{_L}:check_counters",
          "RDMA and post-FEC error counters since boot are zero."),
    _spec("rdma.counter_delta", "rdma", "rdma history", "health",
          "sparkctl.health.counters:judge_counter_deltas",
          "No RDMA error counter grew since the previous health run."),
    _spec("link.ping", "link", "peers", "validate health", f"{_R}:judge_ping",
          "DF pings at MTU-28 reach every planned peer; names an MTU mismatch or a dead end."),
    _spec("link.tcp", "link", "peers", "validate health", f"{_R}:judge_tcp",
          "TCP connects to every planned peer; names the firewall that drops it."),
    _spec("link.neighbours", "link", "peers", "validate health", f"{_R}:judge_neighbours",
          "The wire reaches the planned peers (link-local all-nodes ping); names swapped "
          "cables."),
    _spec("rail.bandwidth", "rail", "peers", "validate health",
          "sparkctl.validate.rails:judge_measured",
          "Each rail's bounded bandwidth test (ib_write_bw, iperf3 in the lab) reaches the "
          "platform's floor; names the rail common to every slow test (health: --probe)."),
    _spec("collective.all_reduce", "collective", "nodes>=2", "validate",
          "sparkctl.validate.collective:judge_nccl_run",
          "nccl-tests all_reduce busbw on the largest sizes against NVIDIA's floor; in the "
          "lab a CPU MPI all-reduce judged on ranks and correct sums (busbw reported)."),
    _spec("collective.all_gather", "collective", "nodes>=2 gpu", "validate",
          "sparkctl.validate.collective:judge_nccl_run",
          "nccl-tests all_gather busbw (--all-gather)."),
    _spec("collective.transport", "collective", "nodes>=2", "validate",
          "sparkctl.validate.collective:judge_lab_transport",
          "The collective's data took the rails: NET/IB in NCCL's log, or in the lab both "
          "twins' byte counters and not management."),
    _spec("host.script", "host", "", "health", "sparkctl.health.stages:judge_script",
          "The health script on the node finished."),
    _spec("host.disk", "host", "", "health", "sparkctl.health.host:judge_disks",
          "/, /var and /tmp have room."),
    _spec("host.memory", "host", "", "health", "sparkctl.health.host:judge_memory",
          "Available unified memory and memory pressure (PSI) are sane."),
    _spec("drift.nccl_env", "drift", "", "health", "sparkctl.health.drift:judge_nccl_env",
          "/etc/sparkctl/nccl.env on the node matches the plan."),
    _spec("drift.hostfile", "drift", "", "health", "sparkctl.health.drift:judge_hostfile",
          "The MPI hostfile on the node matches the plan."),
    _spec("gpu.state", "gpu", "gpu", "health", "sparkctl.health.gpu:judge_node_gpu",
          "nvidia-smi answers, sees the GPU, no uncorrectable ECC errors."),
    _spec("gpu.throttle", "gpu", "gpu", "health", "sparkctl.health.gpu:judge_node_gpu",
          "No thermal or power-brake clock throttling."),
    _spec("gpu.driver_version", "gpu", "gpu nodes>=2", "health",
          "sparkctl.health.gpu:judge_driver_consistency",
          "Every node runs the same NVIDIA driver."),
    _spec("regression.rail_bandwidth_gbps", "regression", "history", "validate health",
          "sparkctl.health.regression:judge_regression",
          "A rail's bandwidth is within 20% of its trailing median."),
    _spec("regression.collective_busbw_gbps", "regression", "history", "validate",
          "sparkctl.health.regression:judge_regression",
          "The collective's busbw is within 20% of its trailing median."),
    _spec("runtime.container", "node", "gpu", "runtime", "sparkctl.runtime.status:judge_node",
          "The runtime's container runs on the node, from current launch files."),
    _spec("runtime.ray", "cluster", "gpu", "runtime", "sparkctl.runtime.status:judge_node",
          "Every node is alive in the Ray cluster."),
    _spec("runtime.server", "node", "gpu", "runtime", "sparkctl.runtime.status:judge_node",
          "The model server process runs in the container."),
    _spec("runtime.models", "endpoint", "", "runtime",
          "sparkctl.runtime.endpoint:probe_endpoint",
          "The endpoint lists the model."),
    _spec("runtime.completion", "endpoint", "", "runtime",
          "sparkctl.runtime.endpoint:probe_endpoint",
          "The endpoint answers a completion."),
)}


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

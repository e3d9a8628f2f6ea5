"""Per-node launch descriptions for each runtime, from the cluster and the request.

Control traffic (Ray GCS, torch/gloo rendezvous, SGLang dist-init, mpirun's ssh) goes over
each node's management interface, as the topology's NCCL environment already does for NCCL
bootstrap (sparkctl.topology.environment); tensors go over RoCE on the HCAs that environment
lists. Every address a runtime advertises is written out as an IPv4 literal, never a name a
node might resolve to its Wi-Fi address (facts/dgx-spark.md: SGLang otherwise advertises
the Wi-Fi IP). When the cluster names a ConnectX-7 netdev as its management interface (as
NVIDIA's vLLM and TRT-LLM playbooks do), that netdev's planned address is the control address.
"""

from __future__ import annotations

import ipaddress
import shlex
from dataclasses import dataclass, field
from typing import Any

from sparkctl.errors import InputError
from sparkctl.runtime import defaults as d
from sparkctl.runtime.parallel import Parallel
from sparkctl.targets import Target
from sparkctl.topology.environment import SUBNET_ROUTING_MIN_NCCL, needs_subnet_routing
from sparkctl.topology.hardware import all_netdevs

# Measured per node (rdma role) and given to the container from /etc/sparkctl/rdma.env, so
# the plan's value never reaches a container.
_MEASURED_KEYS = ("NCCL_IB_GID_INDEX",)


@dataclass(frozen=True)
class RuntimeRequest:
    runtime: str
    model: str
    parallel: Parallel
    image: str
    port: int
    hf_cache: str = d.DEFAULT_HF_CACHE
    gpu_memory_utilization: float = d.VLLM_GPU_MEMORY_UTILIZATION.value
    max_model_len: int | None = None  # vLLM --max-model-len; None: the engine's default
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class NodeLaunch:
    """What one node runs: a container (docker run), and on the head maybe a server inside it.

    role: "head" on node 1 (Ray head, mpirun launcher, SGLang rank 0), "worker" elsewhere.
    ready: what `start` waits for before it reports the container started ("ray": the raylet
    runs in it; "": the container is running).
    wait: what the head waits for before `serve` ("ray": every node joined the Ray cluster,
    "ssh": every container's sshd answers, "": nothing).
    download: the command the head runs inside its container before `serve` to put the model
    in every node's cache (TRT-LLM); empty: the engine downloads it itself.
    rdma_env: the container also reads the node's measured /etc/sparkctl/rdma.env.
    """

    name: str
    index: int
    role: str
    host_ip: str
    env: dict[str, str]
    docker_args: tuple[tuple[str, ...], ...]  # one option and its value per item
    command: tuple[str, ...]
    serve: tuple[str, ...] = ()
    serve_match: str = ""  # pgrep -f pattern that finds the running server
    wait: str = ""
    wait_for: tuple[str, ...] = ()  # ray: ("3",) nodes; ssh: peer names
    ready: str = ""
    download: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    mount_login_ssh: bool = False
    rdma_env: bool = False

    def __post_init__(self) -> None:
        for key, value in self.env.items():
            _check_env_file_value(self.name, key, value)

    def to_vars(self) -> dict[str, Any]:
        return {"name": self.name, "index": self.index, "role": self.role,
                "host_ip": self.host_ip, "env": dict(self.env),
                "docker_args": [list(a) for a in self.docker_args], "command": list(self.command),
                "serve": list(self.serve), "serve_match": self.serve_match, "wait": self.wait,
                "wait_for": list(self.wait_for), "ready": self.ready,
                "download": list(self.download), "files": dict(self.files),
                "mount_login_ssh": self.mount_login_ssh, "rdma_env": self.rdma_env}


def _check_env_file_value(node: str, key: str, value: str) -> None:
    """runtime.env is read by `docker run --env-file`: one KEY=VALUE per line, the value taken
    literally (no quotes, no expansion). A name must be a plain identifier and a value must
    not break the line."""
    import re

    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) or any(c in value for c in "\n\r\0"):
        raise InputError(f"node {node}: {key}={value!r} cannot be written to runtime.env",
                         hint="environment names are identifiers; values are one line")


@dataclass(frozen=True)
class LaunchPlan:
    runtime: str
    model: str
    image: str
    image_source: str
    tp: int
    pp: int
    port: int
    container: str
    cluster: str
    topology: str
    platform: str
    endpoint: str
    nodes: tuple[NodeLaunch, ...]
    hf_cache: str = d.DEFAULT_HF_CACHE
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def head(self) -> NodeLaunch:
        return self.nodes[0]

    def launch_vars(self) -> dict[str, Any]:
        """The plan-level variables the runtime role and its templates read."""
        return {"runtime": self.runtime, "model": self.model, "image": self.image,
                "tp": self.tp, "pp": self.pp, "port": self.port, "container": self.container,
                "cluster": self.cluster, "topology": self.topology, "endpoint": self.endpoint,
                "head": self.head.name, "hf_cache": self.hf_cache, "log_dir": d.NODE_LOG_DIR,
                "container_log_dir": d.CONTAINER_LOG_DIR, "rdma_env_path": d.NODE_RDMA_ENV,
                "secrets_env": d.SECRETS_ENV_NAME,
                "ray_start_timeout_s": d.RAY_START_TIMEOUT_S}

    def to_dict(self) -> dict[str, Any]:
        return {**self.launch_vars(), "image_source": self.image_source,
                "platform": self.platform, "notes": list(self.notes),
                "warnings": list(self.warnings),
                "nodes": [n.to_vars() for n in self.nodes]}


def _ipv4(node) -> str:
    try:
        return str(ipaddress.IPv4Address(node.mgmt_address))
    except ValueError:
        raise InputError(
            f"node {node.name}: management address {node.mgmt_address!r} is not an IPv4 "
            "address",
            hint="runtimes advertise this address to their peers; a name could resolve to the "
            "Wi-Fi interface on the node. Give each node `address: 10.x.y.z` in the cluster "
            "file, or --hosts with IPv4 addresses") from None


def control_ips(target: Target) -> dict[str, str]:
    """Each node's control address: its planned address on a ConnectX-7 management netdev,
    else its management (SSH) address, which must then be IPv4."""
    cluster = target.cluster
    iface = cluster.spec.mgmt_interface
    if iface in all_netdevs():
        return {n.name: next(str(i.address.ip) for i in cluster.plan.interfaces[n.name]
                             if i.name == iface)
                for n in cluster.spec.nodes}
    return {n.name: _ipv4(n) for n in cluster.spec.nodes}


def _env(target: Target, node: str, head_ip: str) -> dict[str, str]:
    """The topology's NCCL/MPI environment plus the socket interfaces every framework reads."""
    env = {k: v for k, v in target.cluster.nccl_env(node).items() if k not in _MEASURED_KEYS}
    iface = env["NCCL_SOCKET_IFNAME"]
    # gloo (torch.distributed CPU groups) and TensorPipe pick their own interface unless told;
    # on a Spark that can be wlP9s9.
    env["GLOO_SOCKET_IFNAME"] = iface
    env["TP_SOCKET_IFNAME"] = iface
    env["MASTER_ADDR"] = head_ip
    return env


def _uses_rdma(target: Target, node: str) -> bool:
    return "NCCL_IB_HCA" in target.cluster.nccl_env(node)


def _docker_args(request: RuntimeRequest, multi_node: bool,
                 shm: tuple[str, str] = ("--ipc", "host")) -> list[tuple[str, ...]]:
    """docker run options, one option (with its value) per tuple."""
    args: list[tuple[str, ...]] = [("--network", "host"), shm, ("--gpus", "all")]
    if multi_node:
        args.append(("--device", "/dev/infiniband"))  # RDMA verbs for NCCL over RoCE
    args += [("--ulimit", "memlock=-1"),
             ("-v", f"{request.hf_cache}:{d.CONTAINER_HF_CACHE}"),
             ("-v", f"{d.NODE_RUNTIME_DIR}:{d.NODE_RUNTIME_DIR}:ro"),
             ("-v", f"{d.NODE_LOG_DIR}:{d.CONTAINER_LOG_DIR}")]
    return args


def _parallel_args(style: str, tp: int, pp: int) -> list[str]:
    flags = {"vllm": ("--tensor-parallel-size", "--pipeline-parallel-size"),
             "trtllm": ("--tp_size", "--pp_size"),
             "sglang": ("--tp-size", "--pp-size")}[style]
    args = [flags[0], str(tp)]
    if pp > 1:
        args += [flags[1], str(pp)]
    return args


def build_launch(target: Target, request: RuntimeRequest) -> LaunchPlan:
    spec = target.cluster.spec
    nodes = sorted(spec.nodes, key=lambda n: n.index)
    ips = control_ips(target)
    builder = {"vllm": _vllm, "trtllm": _trtllm, "sglang": _sglang}[request.runtime]
    launches = tuple(builder(target, request, nodes, ips, n) for n in nodes)
    rd = d.runtime_defaults(request.runtime)
    notes = list(request.notes)
    if request.parallel.checked_against:
        notes.append(f"TP {request.parallel.tp} checked against the catalogue's "
                     f"{request.parallel.checked_against} heads")
    else:
        notes.append(f"{request.model} is not in the catalogue: TP {request.parallel.tp} was "
                     "not checked against its heads (the engine checks at load time)")
    warnings = list(request.warnings)
    if len(nodes) > 1 and needs_subnet_routing(target.cluster.graph):
        warnings.append(
            f"{spec.topology}: the ports of a node lead to different peers, so NCCL inside "
            f"the {request.image} container must be >= {SUBNET_ROUTING_MIN_NCCL} (the first "
            "with NCCL_IB_SUBNET_AWARE_ROUTING); an older NCCL ignores the variable and the "
            "collectives hang or fail with 'ibv_modify_qp failed with 110'. Check: docker run "
            f"--rm {shlex.quote(request.image)} python3 -c 'import torch; "
            "print(torch.cuda.nccl.version())'")
    endpoint_host = ips[nodes[0].name]
    if spec.mgmt_interface in all_netdevs():
        # The control address is on a cable between Sparks; users reach node 1 by its own.
        endpoint_host = nodes[0].mgmt_address
    return LaunchPlan(
        runtime=request.runtime, model=request.model, image=request.image,
        image_source=rd.image_source if request.image == rd.image else "--image",
        tp=request.parallel.tp, pp=request.parallel.pp, port=request.port,
        container=rd.container, cluster=spec.name, topology=spec.topology,
        platform=spec.platform, endpoint=f"http://{endpoint_host}:{request.port}",
        nodes=launches, hf_cache=request.hf_cache, notes=tuple(notes),
        warnings=tuple(warnings))


def _role(node, nodes) -> str:
    return "head" if node.index == nodes[0].index else "worker"


# --- vLLM -------------------------------------------------------------------------------------

def ray_container_command(ray_start: list[str]) -> tuple[str, ...]:
    """`bash -c` script of the Ray container (the image's entrypoint is replaced by bash, as
    NVIDIA's pinned run_cluster.sh does): install Ray the way NVIDIA's patch does when the image
    lacks it (the 26.05-py3 NGC image ships without ray), then exec `ray start --block`. A
    failed install ends the container at once with the reason in its log."""
    # Double quotes inside, so the whole script stays one single-quoted word in launch.sh.
    install = f'pip install -q --root-user-action=ignore "{d.RAY_PIP_SPEC}"'
    script = (f"command -v ray >/dev/null 2>&1 || {install} || "
              f'{{ echo "sparkctl: this image has no ray and pip could not install '
              f'{d.RAY_PIP_SPEC}" >&2; exit 97; }}; exec {shlex.join(ray_start)}')
    return ("-c", script)


def _vllm(target, request, nodes, ips, node) -> NodeLaunch:
    head_ip = ips[nodes[0].name]
    ip = ips[node.name]
    env = _env(target, node.name, head_ip)
    env["VLLM_HOST_IP"] = ip
    env.update(d.RAY_ENV)
    serve = ["vllm", "serve", request.model,
             *_parallel_args("vllm", request.parallel.tp, request.parallel.pp),
             "--gpu-memory-utilization", f"{request.gpu_memory_utilization:g}"]
    if request.max_model_len is not None:
        serve += ["--max-model-len", str(request.max_model_len)]
    serve += ["--host", "0.0.0.0", "--port", str(request.port)]
    multi = len(nodes) > 1
    role = _role(node, nodes)
    # run_cluster.sh: --shm-size 10.24g instead of the host IPC namespace.
    docker_args = _docker_args(request, multi, ("--shm-size", d.VLLM_SHM_SIZE.value))
    if not multi:
        return NodeLaunch(node.name, node.index, role, ip, dict(sorted(env.items())),
                          tuple(docker_args), tuple(serve))
    # Ray reads the node address from RAY_NODE_IP_ADDRESS too (run_cluster.sh sets it); the
    # explicit --node-ip-address below says the same.
    env["RAY_NODE_IP_ADDRESS"] = ip
    env = dict(sorted(env.items()))
    docker_args.append(("--entrypoint", "/bin/bash"))
    serve[serve.index("--gpu-memory-utilization"):serve.index("--gpu-memory-utilization")] = [
        "--distributed-executor-backend", "ray"]
    common = dict(name=node.name, index=node.index, role=role, host_ip=ip, env=env,
                  docker_args=tuple(docker_args), ready="ray",
                  rdma_env=_uses_rdma(target, node.name))
    if role == "head":
        # NVIDIA's run_cluster.sh: `ray start --block --head` keeps the container alive; the
        # server is started inside it once every worker has joined.
        return NodeLaunch(
            **common,
            command=ray_container_command(["ray", "start", "--block", "--head",
                                           f"--port={d.RAY_PORT}", f"--node-ip-address={ip}"]),
            serve=tuple(serve), serve_match="vllm serve", wait="ray",
            wait_for=(str(len(nodes)),))
    return NodeLaunch(**common, command=ray_container_command(
        ["ray", "start", "--block", f"--address={head_ip}:{d.RAY_PORT}",
         f"--node-ip-address={ip}"]))


# --- TensorRT-LLM -----------------------------------------------------------------------------

def _trtllm(target, request, nodes, ips, node) -> NodeLaunch:
    head_ip = ips[nodes[0].name]
    ip = ips[node.name]
    env = _env(target, node.name, head_ip)
    env.update(d.TRTLLM_ENV)
    multi = len(nodes) > 1
    if multi:
        env.update(d.TRTLLM_MULTINODE_ENV)
    env = dict(sorted(env.items()))
    role = _role(node, nodes)
    serve = ["trtllm-serve", request.model,
             *_parallel_args("trtllm", request.parallel.tp, request.parallel.pp),
             "--backend", "pytorch", *d.TRTLLM_SERVE_OPTIONS,
             "--extra_llm_api_options", f"{d.NODE_RUNTIME_DIR}/{d.TRTLLM_EXTRA_OPTIONS_FILE}",
             "--host", "0.0.0.0", "--port", str(request.port)]
    docker_args = _docker_args(request, multi) + [("--ulimit", "stack=67108864")]
    files = {d.TRTLLM_EXTRA_OPTIONS_FILE: d.TRTLLM_EXTRA_OPTIONS}
    download = ("hf", "download", request.model)
    if not multi:
        return NodeLaunch(node.name, node.index, role, ip, env, tuple(docker_args),
                          tuple(serve), files=files, download=download)
    # mpirun reaches the other containers over ssh on port 2233; their sshd presents the
    # node's own host key, so the cluster's pinned known_hosts verifies it.
    docker_args.append(("-v", "/etc/ssh:/etc/sparkctl/host-ssh:ro"))
    files.update({"trtllm-sshd.sh": _sshd_script(ip),
                  "ssh_config": _container_ssh_config(nodes, ips),
                  "hostfile": target.cluster.hostfile()})
    command = ("bash", f"{d.NODE_RUNTIME_DIR}/trtllm-sshd.sh")
    rdma = _uses_rdma(target, node.name)
    if role != "head":
        return NodeLaunch(node.name, node.index, role, ip, env, tuple(docker_args), command,
                          files=files, mount_login_ssh=True, rdma_env=rdma)
    mpirun = ["mpirun", "--allow-run-as-root", "-np", str(len(nodes)),
              "--hostfile", f"{d.NODE_RUNTIME_DIR}/hostfile",
              "--mca", "plm_rsh_agent", "ssh -F /root/.ssh/config"]
    # NVIDIA's recipe: `mpirun -x HF_TOKEN bash -c "hf download $MODEL"` puts the model in
    # every node's cache first. Here each rank gets HF_TOKEN from its own container's
    # environment (secrets.env, through sshd's PermitUserEnvironment), so no -x is needed.
    return NodeLaunch(node.name, node.index, role, ip, env, tuple(docker_args), command,
                      serve=tuple(mpirun + ["trtllm-llmapi-launch", *serve]),
                      serve_match="trtllm-serve", wait="ssh",
                      wait_for=tuple(n.name for n in nodes), files=files,
                      download=tuple(mpirun + list(download)), mount_login_ssh=True,
                      rdma_env=rdma)


def _sshd_script(listen_ip: str) -> str:
    return f"""#!/usr/bin/env bash
# sshd for mpirun between the TRT-LLM containers (port {d.TRTLLM_SSHD_PORT}); written by sparkctl.
set -euo pipefail
if ! command -v sshd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server
fi
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
# The cluster key and pinned host keys that the ssh_mesh role gave the login user.
install -m 600 /etc/sparkctl/login-ssh/sparkctl_cluster_ed25519 /root/.ssh/
install -m 644 /etc/sparkctl/login-ssh/sparkctl_known_hosts /root/.ssh/
install -m 600 /etc/sparkctl/login-ssh/authorized_keys /root/.ssh/authorized_keys
install -m 644 {d.NODE_RUNTIME_DIR}/ssh_config /root/.ssh/config
# Ranks started over ssh get the container's environment (PATH, NCCL_*, the topology's
# interfaces, HF_TOKEN), not sshd's bare default.
env | grep -E '^[A-Za-z_][A-Za-z0-9_]*=' | grep -vE '^(HOME|HOSTNAME|PWD|SHLVL|_)=' \\
  > /root/.ssh/environment
chmod 600 /root/.ssh/environment
exec /usr/sbin/sshd -D -e -p {d.TRTLLM_SSHD_PORT} -o ListenAddress={listen_ip} \\
  -o HostKey=/etc/sparkctl/host-ssh/ssh_host_ed25519_key -o PermitRootLogin=prohibit-password \\
  -o PasswordAuthentication=no -o PermitUserEnvironment=yes
"""


def _container_ssh_config(nodes, ips) -> str:
    lines = [f"# mpirun's view of the TRT-LLM containers (sshd on {d.TRTLLM_SSHD_PORT}); "
             "written by sparkctl.",
             "# HostKeyAlias: the container presents its node's host key, pinned under the "
             "node's name."]
    for n in nodes:
        lines += [f"Host {n.name}", f"    HostName {ips[n.name]}",
                  f"    Port {d.TRTLLM_SSHD_PORT}", "    User root",
                  f"    HostKeyAlias {n.name}",
                  "    IdentityFile /root/.ssh/sparkctl_cluster_ed25519",
                  "    IdentitiesOnly yes",
                  "    UserKnownHostsFile /root/.ssh/sparkctl_known_hosts",
                  "    StrictHostKeyChecking yes", "    BatchMode yes", "    ConnectTimeout 10"]
    return "\n".join(lines) + "\n"


# --- SGLang -----------------------------------------------------------------------------------

def _sglang(target, request, nodes, ips, node) -> NodeLaunch:
    head_ip = ips[nodes[0].name]
    ip = ips[node.name]
    env = _env(target, node.name, head_ip)
    # Without it SGLang advertises whichever address it finds first, which can be Wi-Fi.
    env["SGLANG_HOST_IP"] = ip
    multi = len(nodes) > 1
    role = _role(node, nodes)
    command = ["python3", "-m", "sglang.launch_server", "--model-path", request.model,
               *_parallel_args("sglang", request.parallel.tp, request.parallel.pp),
               *d.SGLANG_SERVE_OPTIONS]
    if multi:
        command += ["--nnodes", str(len(nodes)), "--node-rank", str(node.index - nodes[0].index),
                    "--dist-init-addr", f"{head_ip}:{d.SGLANG_DIST_INIT_PORT}"]
    command += ["--host", "0.0.0.0", "--port", str(request.port)]
    return NodeLaunch(node.name, node.index, role, ip, dict(sorted(env.items())),
                      tuple(_docker_args(request, multi)), tuple(command),
                      rdma_env=multi and _uses_rdma(target, node.name))

"""Runtime images, ports and container settings, each with where the value comes from.

Images and versions are defaults only: `--image` overrides them. Sources are NVIDIA's
DGX Spark playbooks, read at NVIDIA/dgx-spark-playbooks@0db7c14 (2026-07-24) and cited per
value as PB:<path>; facts/dgx-spark.md ("Runtime recipes", "Corrections and additions")
summarises them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

_T = TypeVar("_T")

PLAYBOOKS = "NVIDIA/dgx-spark-playbooks@0db7c14"


@dataclass(frozen=True)
class RuntimeDefaults:
    name: str
    image: str | None  # None: no tested image is known; --image is required
    image_source: str
    port: int  # the OpenAI-compatible HTTP endpoint on the head node
    container: str


@dataclass(frozen=True)
class Sourced(Generic[_T]):
    value: _T
    source: str


RUNTIMES: dict[str, RuntimeDefaults] = {
    r.name: r
    for r in (
        # NVIDIA's vLLM playbook image; Ray cluster formed by run_cluster.sh, `vllm serve` on
        # the head. Port 8000 is vLLM's default.
        RuntimeDefaults("vllm", "nvcr.io/nvidia/vllm:26.05-py3",
                        f"{PLAYBOOKS} nvidia/vllm/README.md (two Sparks: VLLM_IMAGE)",
                        8000, "sparkctl-vllm"),
        # NVIDIA's TRT-LLM multi-node recipe (trtllm-serve --port 8355, sshd on 2233 inside
        # the container). Its single-node steps use 1.3.0rc13; the two-Spark steps rc5.
        RuntimeDefaults("trtllm", "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc5",
                        f"{PLAYBOOKS} nvidia/trt-llm/README.md (multi-node, Step 4 docker run)",
                        8355, "sparkctl-trtllm"),
        # NVIDIA's SGLang playbook (Last Updated 04/28/2026): "Use the latest CUDA 13.0 SGLang
        # image". It is a moving tag; pin a digest with --image for repeatable launches.
        # Port 30000 is SGLang's default and the playbook's.
        RuntimeDefaults("sglang", "lmsysorg/sglang:latest-cu130",
                        f"{PLAYBOOKS} nvidia/sglang/README.md (SGLANG_IMAGE)",
                        30000, "sparkctl-sglang"),
    )
}

RAY_PORT = 6379  # Ray's default GCS port, as run_cluster.sh uses it
RAY_DASHBOARD_PORT = 8265  # facts/dgx-spark.md: "ray dashboard 8265"
TRTLLM_SSHD_PORT = 2233  # PB nvidia/trt-llm/assets/trtllm-mn-entrypoint.sh SSH_PORT
SGLANG_DIST_INIT_PORT = 20000  # any free port on the head; the same on every node
# Where the model weights are cached on every node (shared by restarts and runtimes).
DEFAULT_HF_CACHE = "/var/cache/sparkctl/huggingface"
CONTAINER_HF_CACHE = "/root/.cache/huggingface"
# Launch files on the node; the container sees them read-only at the same path.
NODE_RUNTIME_DIR = "/etc/sparkctl/runtime"
NODE_LOG_DIR = "/var/log/sparkctl/runtime"
CONTAINER_LOG_DIR = "/var/log/sparkctl"
# The rdma role's measured GID index (NCCL_IB_GID_INDEX) of this node: a second --env-file.
NODE_RDMA_ENV = "/etc/sparkctl/rdma.env"
# HF_TOKEN from the controller's environment, written by the role with mode 0600; never
# rendered by `runtime render`.
SECRETS_ENV_NAME = "secrets.env"

# --- vLLM ---------------------------------------------------------------------------------
# Ray's memory monitor kills workers under unified-memory pressure that is not real GPU
# pressure on GB10; NVIDIA's recipe turns it off (PB nvidia/vllm/README.md, run_cluster.sh -e).
RAY_ENV = {"RAY_memory_monitor_refresh_ms": "0"}
# PB nvidia/vllm/README.md: "The 26.05-py3 NGC image ships without ray"; NVIDIA patches
# run_cluster.sh to `pip install -q --root-user-action=ignore 'ray[default]>=2.9' && ray start`.
RAY_PIP_SPEC = "ray[default]>=2.9"
# How long `launch.sh start` waits for the raylet (pip install of Ray ~10 s on first launch,
# per the playbook) before it calls the start failed.
RAY_START_TIMEOUT_S = 300
VLLM_SHM_SIZE = Sourced("10.24g", "vllm-project/vllm examples/ray_serving/run_cluster.sh "
                        "(`--shm-size 10.24g`; NVIDIA pins it at 51c1ee9b)")
VLLM_GPU_MEMORY_UTILIZATION = Sourced(
    0.8, f"{PLAYBOOKS} nvidia/vllm/README.md (`vllm serve ... --gpu-memory-utilization 0.8` "
    "on two Sparks' unified memory)")

# --- TensorRT-LLM -------------------------------------------------------------------------
# PB nvidia/trt-llm/README.md, multi-node Step 4 (`docker run -e ...`).
TRTLLM_ENV = {"CPATH": "/usr/local/cuda/include",
              "TRITON_PTXAS_PATH": "/usr/local/cuda/bin/ptxas"}
TRTLLM_MULTINODE_ENV = {"OMPI_MCA_rmaps_ppr_n_pernode": "1"}
# PB nvidia/trt-llm/README.md, multi-node Step 10 (`trtllm-serve $MODEL --tp_size 2 --backend
# pytorch --max_num_tokens 32768 --max_batch_size 4 --extra_llm_api_options ... --port 8355`).
TRTLLM_SERVE_OPTIONS = ("--max_num_tokens", "32768", "--max_batch_size", "4")
TRTLLM_EXTRA_OPTIONS_FILE = "extra-llm-api-config.yml"
# PB nvidia/trt-llm/README.md, multi-node Step 8, verbatim.
TRTLLM_EXTRA_OPTIONS = """\
print_iter_log: false
kv_cache_config:
  dtype: "auto"
  free_gpu_memory_fraction: 0.9
cuda_graph_config:
  enable_padding: true
"""

# --- SGLang -------------------------------------------------------------------------------
# PB nvidia/sglang/README.md Step 5 (`sglang.launch_server ... --attention-backend flashinfer
# --mem-fraction-static 0.75`).
SGLANG_SERVE_OPTIONS = ("--attention-backend", "flashinfer", "--mem-fraction-static", "0.75")


def runtime_defaults(name: str) -> RuntimeDefaults:
    from sparkctl.errors import InputError

    if name not in RUNTIMES:
        raise InputError(f"unknown runtime {name!r}",
                         hint=f"choose one of: {', '.join(RUNTIMES)}")
    return RUNTIMES[name]

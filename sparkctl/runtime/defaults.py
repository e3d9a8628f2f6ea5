"""Runtime images, ports and container settings, each with where the value comes from.

Images and versions are defaults only: `--image` overrides them. Sources are the runtime
recipes in facts/dgx-spark.md ("Runtime recipes"), gathered from NVIDIA/dgx-spark-playbooks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuntimeDefaults:
    name: str
    image: str | None  # None: no tested image is known; --image is required
    image_source: str
    port: int  # the OpenAI-compatible HTTP endpoint on the head node
    container: str


RUNTIMES: dict[str, RuntimeDefaults] = {
    r.name: r
    for r in (
        # facts/dgx-spark.md "Runtime recipes": NVIDIA's vLLM playbook image; Ray cluster
        # formed by run_cluster.sh, `vllm serve` on the head. Port 8000 is vLLM's default.
        RuntimeDefaults("vllm", "nvcr.io/nvidia/vllm:26.05-py3",
                        "facts/dgx-spark.md, Runtime recipes (NVIDIA dgx-spark-playbooks vLLM)",
                        8000, "sparkctl-vllm"),
        # facts/dgx-spark.md "Runtime recipes": NVIDIA's TRT-LLM multi-node playbook
        # (trtllm-serve --port 8355, sshd on 2233 inside the container).
        RuntimeDefaults("trtllm", "nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc5",
                        "facts/dgx-spark.md, Runtime recipes (NVIDIA dgx-spark-playbooks "
                        "TRT-LLM)", 8355, "sparkctl-trtllm"),
        # facts/dgx-spark.md: "SGLang: no multi-node recipe from NVIDIA"; NVIDIA's single-node
        # playbook names nvcr.io/nvidia/sglang:<VERSION>-py3 without a tag, so no default is
        # invented here. Port 30000 is SGLang's default.
        RuntimeDefaults("sglang", None,
                        "none: facts/dgx-spark.md has no tested SGLang image for Spark; NVIDIA's "
                        "playbook names nvcr.io/nvidia/sglang:<VERSION>-py3 without a version",
                        30000, "sparkctl-sglang"),
    )
}

RAY_PORT = 6379  # Ray's default GCS port, as run_cluster.sh uses it
RAY_DASHBOARD_PORT = 8265  # facts/dgx-spark.md: "ray dashboard 8265"
TRTLLM_SSHD_PORT = 2233  # facts/dgx-spark.md: "sshd port 2233 in container"
SGLANG_DIST_INIT_PORT = 20000  # any free port on the head; the same on every node
# Where the model weights are cached on every node (shared by restarts and runtimes).
DEFAULT_HF_CACHE = "/var/cache/sparkctl/huggingface"
CONTAINER_HF_CACHE = "/root/.cache/huggingface"
# Launch files on the node; the container sees them read-only at the same path.
NODE_RUNTIME_DIR = "/etc/sparkctl/runtime"
NODE_LOG_DIR = "/var/log/sparkctl/runtime"
CONTAINER_LOG_DIR = "/var/log/sparkctl"
# Ray's memory monitor kills workers under unified-memory pressure that is not real GPU
# pressure on GB10; NVIDIA's recipe turns it off (facts/dgx-spark.md).
RAY_ENV = {"RAY_memory_monitor_refresh_ms": "0"}


def runtime_defaults(name: str) -> RuntimeDefaults:
    from sparkctl.errors import InputError

    if name not in RUNTIMES:
        raise InputError(f"unknown runtime {name!r}",
                         hint=f"choose one of: {', '.join(RUNTIMES)}")
    return RUNTIMES[name]

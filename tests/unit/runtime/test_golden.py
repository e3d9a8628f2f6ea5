"""Rendered launch files per runtime and topology against checked-in golden files.

tests/golden/runtime/<runtime>/<topology>/ was reviewed by eye once; a change in a builder or
the role's templates shows up here as a diff. To accept an intended change:
    SPARKCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/runtime -q   (then review git diff)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sparkctl.runtime.prepare import prepare_launch
from sparkctl.runtime.render import render_launch_dir
from sparkctl.targets import resolve_target

from ...golden_files import assert_matches_golden

MODEL = "openai/gpt-oss-120b"  # catalogue: 64 attention heads, 8 KV heads
GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "runtime"
RUNTIMES = ("vllm", "trtllm", "sglang")
TOPOLOGIES = ("single", "direct", "ring3", "switch4")


def render(tmp_path: Path, runtime: str, topology: str, cluster_text) -> Path:
    cluster = tmp_path / "golden.yaml"
    cluster.write_text(cluster_text(topology))
    target = resolve_target(cluster=cluster)
    # 64 heads do not split three ways: ring3 runs pipeline parallel, the others plain TP.
    tp, pp = ("1", 3) if topology == "ring3" else ("auto", None)
    plan = prepare_launch(target, runtime, model=MODEL, tp=tp, pp=pp)
    return render_launch_dir(plan, tmp_path / "out")


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


# Rendered with a token in the environment, as a user with gated models would: the token must
# reach no rendered file (the role writes it on the nodes only).
TOKEN = "hf_goldenSentinelTokenDoNotRender"


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_render_matches_golden(tmp_path, runtime, topology, cluster_text, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert_matches_golden(_files(render(tmp_path, runtime, topology, cluster_text)),
                          GOLDEN / runtime / topology, _files, f"{runtime}/{topology}")


def test_golden_tree_covers_every_runtime_topology_and_node():
    # Guards the guard: an empty golden tree would compare equal to an empty render.
    nodes = {"single": 1, "direct": 2, "ring3": 3, "switch4": 4}
    for runtime in RUNTIMES:
        for topology, count in nodes.items():
            scripts = list((GOLDEN / runtime / topology).glob("spark-*/launch.sh"))
            assert len(scripts) == count, (runtime, topology)


def _golden(rel: str) -> str:
    return (GOLDEN / rel).read_text()


def test_golden_commands_say_what_the_recipes_say():
    # Reviewed once by eye; kept as facts so a regenerated golden cannot quietly drop them.
    vllm_head = _golden("vllm/switch4/spark-1/launch.sh")
    assert "exec ray start --block --head --port=6379 --node-ip-address=10.0.0.11" in vllm_head
    assert ("vllm serve openai/gpt-oss-120b --tensor-parallel-size 4 "
            "--distributed-executor-backend ray") in vllm_head
    vllm_worker_env = _golden("vllm/switch4/spark-3/runtime.env")
    for line in ("VLLM_HOST_IP=10.0.0.13", "MASTER_ADDR=10.0.0.11", "GLOO_SOCKET_IFNAME=enP7s7",
                 "TP_SOCKET_IFNAME=enP7s7", "NCCL_SOCKET_IFNAME=enP7s7",
                 "UCX_NET_DEVICES=enP7s7", "OMPI_MCA_btl_tcp_if_include=enP7s7",
                 "RAY_memory_monitor_refresh_ms=0", "NCCL_IB_HCA=rocep1s0f1,roceP2p1s0f1"):
        assert line in vllm_worker_env.splitlines(), line
    assert "--address=10.0.0.11:6379" in _golden("vllm/switch4/spark-3/launch.sh")
    trt = _golden("trtllm/direct/spark-1/launch.sh")
    assert "--device /dev/infiniband" in trt and "--ulimit memlock=-1" in trt
    assert "-p 2233" in _golden("trtllm/direct/spark-2/trtllm-sshd.sh")
    sgl = _golden("sglang/ring3/spark-3/launch.sh")
    assert "--nnodes 3 --node-rank 2 --dist-init-addr 10.0.0.11:20000" in sgl
    assert "--pp-size 3" in sgl
    assert "SGLANG_HOST_IP=10.0.0.13" in _golden("sglang/ring3/spark-3/runtime.env")
    ring_env = _golden("vllm/ring3/spark-2/runtime.env")
    assert "NCCL_IB_MERGE_NICS=0" in ring_env and "NCCL_NET_PLUGIN=none" in ring_env
    single = _golden("vllm/single/spark-1/launch.sh")
    assert "ray start" not in single and "/dev/infiniband" not in single


@pytest.mark.parametrize("node", ["spark-1", "spark-2"])
def test_golden_vllm_start_installs_or_checks_ray_and_fails_fast(node):
    # facts: "The 26.05-py3 NGC image ships without ray"; NVIDIA's run_cluster.sh patch.
    script = _golden(f"vllm/direct/{node}/launch.sh")
    assert ('command -v ray >/dev/null 2>&1 || pip install -q --root-user-action=ignore '
            '"ray[default]>=2.9"') in script
    assert "--entrypoint /bin/bash" in script and "--shm-size 10.24g" in script
    assert "--ipc host" not in script
    # No CHANGED line unless the raylet came up; a dead container ends start with exit 5.
    start = script[script.index("\nstart() {"):script.index("\nwait_ready() {")]
    assert start.index("  wait_started\n") < start.index('echo "CHANGED started')
    assert "test -S /tmp/ray/session_latest/sockets/raylet" in script
    assert "exit 5" in script
    env = _golden(f"vllm/direct/{node}/runtime.env").splitlines()
    ip = "10.0.0.11" if node == "spark-1" else "10.0.0.12"
    assert f"RAY_NODE_IP_ADDRESS={ip}" in env and f"VLLM_HOST_IP={ip}" in env


def test_golden_vllm_serves_with_spark_memory_settings():
    head = _golden("vllm/direct/spark-1/launch.sh")
    assert "--gpu-memory-utilization 0.8 --max-model-len 131072 --host 0.0.0.0" in head
    assert "--gpu-memory-utilization 0.8 --max-model-len 131072" in _golden(
        "vllm/single/spark-1/launch.sh")


def test_golden_containers_take_the_measured_gid_index_and_no_token():
    for path in GOLDEN.rglob("*"):
        if path.is_file():
            text = path.read_text()
            assert TOKEN not in text, path
            if path.name == "runtime.env":
                assert "NCCL_IB_GID_INDEX" not in text.replace("# NCCL_IB_GID_INDEX", ""), path
    for rel in ("vllm/ring3/spark-2", "trtllm/switch4/spark-4", "sglang/direct/spark-1"):
        script = _golden(f"{rel}/launch.sh")
        assert "RDMA_ENV=/etc/sparkctl/rdma.env" in script
        assert 'env_files+=(--env-file "$RDMA_ENV")' in script
        assert 'env_files+=(--env-file "$SECRETS_ENV")' in script
    assert "RDMA_ENV" not in _golden("vllm/single/spark-1/launch.sh")


def test_golden_trtllm_follows_nvidias_two_spark_recipe():
    env = _golden("trtllm/direct/spark-2/runtime.env").splitlines()
    for line in ("CPATH=/usr/local/cuda/include",
                 "TRITON_PTXAS_PATH=/usr/local/cuda/bin/ptxas",
                 "OMPI_MCA_rmaps_ppr_n_pernode=1"):
        assert line in env, line
    head = _golden("trtllm/direct/spark-1/launch.sh")
    mpirun = ("mpirun --allow-run-as-root -np 2 --hostfile /etc/sparkctl/runtime/hostfile "
              "--mca plm_rsh_agent 'ssh -F /root/.ssh/config'")
    assert f"docker exec \"$CONTAINER\" {mpirun} hf download openai/gpt-oss-120b" in head
    assert (f"{mpirun} trtllm-llmapi-launch trtllm-serve openai/gpt-oss-120b --tp_size 2 "
            "--backend pytorch --max_num_tokens 32768 --max_batch_size 4 "
            "--extra_llm_api_options /etc/sparkctl/runtime/extra-llm-api-config.yml "
            "--host 0.0.0.0 --port 8355") in head
    extra = _golden("trtllm/direct/spark-1/extra-llm-api-config.yml")
    assert "free_gpu_memory_fraction: 0.9" in extra and "enable_padding: true" in extra
    assert "hf download openai/gpt-oss-120b" in _golden("trtllm/single/spark-1/launch.sh")


def test_golden_sglang_uses_nvidias_playbook_image_and_options():
    script = _golden("sglang/switch4/spark-2/launch.sh")
    assert "IMAGE=lmsysorg/sglang:latest-cu130" in script
    assert "--attention-backend flashinfer --mem-fraction-static 0.75" in script


def test_golden_ring_launch_warns_that_the_container_nccl_must_be_2_30_7():
    import json

    for runtime in RUNTIMES:
        ring = json.loads(_golden(f"{runtime}/ring3/launch.json"))
        assert any(">= 2.30.7" in w and "NCCL_IB_SUBNET_AWARE_ROUTING" in w
                   for w in ring["warnings"]), runtime
        assert json.loads(_golden(f"{runtime}/switch4/launch.json"))["warnings"] == []

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
# SGLang has no default image (no tested Spark tag in facts); the goldens pin a stand-in.
SGLANG_IMAGE = "registry.example/sglang:pinned"


def render(tmp_path: Path, runtime: str, topology: str, cluster_text) -> Path:
    cluster = tmp_path / "golden.yaml"
    cluster.write_text(cluster_text(topology))
    target = resolve_target(cluster=cluster)
    # 64 heads do not split three ways: ring3 runs pipeline parallel, the others plain TP.
    tp, pp = ("1", 3) if topology == "ring3" else ("auto", None)
    plan = prepare_launch(target, runtime, model=MODEL, tp=tp, pp=pp,
                          image=SGLANG_IMAGE if runtime == "sglang" else None)
    return render_launch_dir(plan, tmp_path / "out")


def _files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8")
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("topology", TOPOLOGIES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_render_matches_golden(tmp_path, runtime, topology, cluster_text):
    assert_matches_golden(_files(render(tmp_path, runtime, topology, cluster_text)),
                          GOLDEN / runtime / topology, _files, f"{runtime}/{topology}")


def test_golden_tree_covers_every_runtime_topology_and_node():
    # Guards the guard: an empty golden tree would compare equal to an empty render.
    nodes = {"single": 1, "direct": 2, "ring3": 3, "switch4": 4}
    for runtime in RUNTIMES:
        for topology, count in nodes.items():
            scripts = list((GOLDEN / runtime / topology).glob("spark-*/launch.sh"))
            assert len(scripts) == count, (runtime, topology)


def test_golden_commands_say_what_the_recipes_say():
    # Reviewed once by eye; kept as facts so a regenerated golden cannot quietly drop them.
    vllm_head = (GOLDEN / "vllm/switch4/spark-1/launch.sh").read_text()
    assert "ray start --block --head --port=6379 --node-ip-address=10.0.0.11" in vllm_head
    assert ("vllm serve openai/gpt-oss-120b --tensor-parallel-size 4 "
            "--distributed-executor-backend ray") in vllm_head
    vllm_worker_env = (GOLDEN / "vllm/switch4/spark-3/runtime.env").read_text()
    for line in ("VLLM_HOST_IP=10.0.0.13", "MASTER_ADDR=10.0.0.11", "GLOO_SOCKET_IFNAME=enP7s7",
                 "TP_SOCKET_IFNAME=enP7s7", "NCCL_SOCKET_IFNAME=enP7s7",
                 "UCX_NET_DEVICES=enP7s7", "OMPI_MCA_btl_tcp_if_include=enP7s7",
                 "RAY_memory_monitor_refresh_ms=0", "NCCL_IB_HCA=rocep1s0f1,roceP2p1s0f1"):
        assert line in vllm_worker_env.splitlines(), line
    assert "--address=10.0.0.11:6379" in (GOLDEN / "vllm/switch4/spark-3/launch.sh").read_text()
    trt = (GOLDEN / "trtllm/direct/spark-1/launch.sh").read_text()
    assert "trtllm-llmapi-launch trtllm-serve openai/gpt-oss-120b --tp_size 2 --backend " \
           "pytorch --host 0.0.0.0 --port 8355" in trt
    assert "--device /dev/infiniband" in trt and "--ulimit memlock=-1" in trt
    assert "-p 2233" in (GOLDEN / "trtllm/direct/spark-2/trtllm-sshd.sh").read_text()
    sgl = (GOLDEN / "sglang/ring3/spark-3/launch.sh").read_text()
    assert "--nnodes 3 --node-rank 2 --dist-init-addr 10.0.0.11:20000" in sgl
    assert "--pp-size 3" in sgl
    assert "SGLANG_HOST_IP=10.0.0.13" in (GOLDEN / "sglang/ring3/spark-3/runtime.env").read_text()
    ring_env = (GOLDEN / "vllm/ring3/spark-2/runtime.env").read_text()
    assert "NCCL_IB_MERGE_NICS=0" in ring_env and "NCCL_NET_PLUGIN=none" in ring_env
    single = (GOLDEN / "vllm/single/spark-1/launch.sh").read_text()
    assert "ray start" not in single and "/dev/infiniband" not in single

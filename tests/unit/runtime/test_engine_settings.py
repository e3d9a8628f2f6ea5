"""vLLM's memory settings on Spark and the management interface in the runtime env (issue 13:
--gpu-memory-utilization 0.8 and a sized --max-model-len; NCCL/gloo/Ray follow the cluster's
management interface, a ConnectX-7 rail included)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.runtime.memory import UNSIZED_MAX_MODEL_LEN, max_model_len
from sparkctl.runtime.prepare import prepare_launch
from sparkctl.targets import resolve_target

MODEL = "openai/gpt-oss-120b"
runner = CliRunner()


def _serve(plan) -> list[str]:
    head = plan.head
    return list(head.serve or head.command)


def test_vllm_defaults_to_nvidias_utilization_and_a_planned_context(target):
    plan = prepare_launch(target("direct"), "vllm", model=MODEL)
    serve = _serve(plan)
    assert serve[serve.index("--gpu-memory-utilization") + 1] == "0.8"
    assert serve[serve.index("--max-model-len") + 1] == "131072"
    assert any("which the planner fits in 2 nodes" in n for n in plan.notes)


def test_a_context_that_does_not_fit_is_cut_to_what_fits_with_a_warning():
    choice = max_model_len(MODEL, 1, 0.5)
    assert choice.tokens == 49152 and choice.tokens % 1024 == 0
    assert "128k tokens do not fit in 1 node at --gpu-memory-utilization 0.5" in choice.warning


def test_weights_that_do_not_fit_keep_the_context_and_warn():
    choice = max_model_len("meta-llama/Llama-3.3-70B-Instruct", 1, 0.8)
    assert "does not fit in 1 node" in choice.warning and "sparkctl plan" in choice.warning


def test_a_published_checkpoint_is_sized_in_its_own_format():
    # nvidia/...-NVFP4 is the catalogue's nvfp4 checkpoint: 4 nodes hold it, 2 do not.
    assert max_model_len("nvidia/Qwen3.5-397B-A17B-NVFP4", 4, 0.8).warning is None
    assert "(nvfp4) does not fit in 2 nodes" in max_model_len(
        "nvidia/Qwen3.5-397B-A17B-NVFP4", 2, 0.8).warning


def test_models_sparkctl_cannot_size_get_a_stated_default(target):
    plan = prepare_launch(target("direct"), "vllm", model="acme/odd-model")
    serve = _serve(plan)
    assert serve[serve.index("--max-model-len") + 1] == str(UNSIZED_MAX_MODEL_LEN)
    assert any("acme/odd-model is not in the catalogue" in n for n in plan.notes)


def test_given_settings_win(target):
    plan = prepare_launch(target("single"), "vllm", model=MODEL, gpu_memory_utilization=0.7,
                          max_model_len=8192)
    serve = _serve(plan)
    assert serve[serve.index("--gpu-memory-utilization") + 1] == "0.7"
    assert serve[serve.index("--max-model-len") + 1] == "8192"


def test_the_plans_context_is_served(tmp_path, cluster_file):
    r = runner.invoke(app, ["plan", "--model", "gpt-oss-120b", "--context", "64k",
                            "--format", "json"])
    path = tmp_path / "plan.json"
    path.write_text(r.stdout)
    nodes = json.loads(r.stdout)["recommended"]["nodes"]
    topology = {1: "single", 2: "direct", 3: "ring3", 4: "switch4"}[nodes]
    out = runner.invoke(app, ["runtime", "render", "vllm", "--cluster", str(cluster_file(topology)),
                              "--from-plan", str(path), "-o", str(tmp_path / "o"),
                              "--format", "json"])
    assert out.exit_code == 0, out.output
    head = json.loads(out.stdout)["nodes"][0]
    serve = head["serve"] or head["command"]
    assert serve[serve.index("--max-model-len") + 1] == "65536"


def _cluster(tmp_path, iface: str, addresses: bool = True):
    address = {i: f"10.0.0.1{i}" if addresses else f"spark-{i}" for i in (1, 2)}
    nodes = ", ".join(f"{{name: spark-{i}, address: {address[i]}}}" for i in (1, 2))
    path = tmp_path / "c.yaml"
    path.write_text(f"name: mg\ntopology: direct\nmanagement_interface: {iface}\n"
                    f"nodes: [{nodes}]\n")
    return resolve_target(cluster=path)


def test_wifi_management_interface_reaches_every_framework(tmp_path):
    plan = prepare_launch(_cluster(tmp_path, "wlP9s9"), "vllm", model=MODEL)
    env = plan.nodes[1].env
    for key in ("NCCL_SOCKET_IFNAME", "OMPI_MCA_btl_tcp_if_include", "UCX_NET_DEVICES",
                "GLOO_SOCKET_IFNAME", "TP_SOCKET_IFNAME"):
        assert env[key] == "wlP9s9", key
    assert env["VLLM_HOST_IP"] == "10.0.0.12" and env["MASTER_ADDR"] == "10.0.0.11"


def test_a_cx7_management_rail_makes_its_addresses_the_control_addresses(tmp_path):
    # NVIDIA's vLLM playbook: MN_IF_NAME=enp1s0f1np1, VLLM_HOST_IP = that netdev's address.
    target = _cluster(tmp_path, "enp1s0f1np1", addresses=False)
    plan = prepare_launch(target, "vllm", model=MODEL)
    rail = {n: str(next(i.address.ip for i in items if i.name == "enp1s0f1np1"))
            for n, items in target.cluster.plan.interfaces.items()}
    worker = plan.nodes[1]
    assert worker.env["VLLM_HOST_IP"] == worker.env["RAY_NODE_IP_ADDRESS"] == rail["spark-2"]
    assert worker.env["MASTER_ADDR"] == rail["spark-1"]
    assert worker.env["NCCL_SOCKET_IFNAME"] == "enp1s0f1np1"
    assert f"--address={rail['spark-1']}:6379" in " ".join(worker.command)
    assert plan.endpoint == "http://spark-1:8000"  # users reach node 1 by its own address

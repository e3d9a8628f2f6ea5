"""`sparkctl sync` on a switch4 lab, for real over the shaped rails: every node gets the
same bytes, both twins carry them, nothing listens or runs afterwards; an interrupted sync
resumes; a node whose rails are down costs its timeout and is named; images are skipped
(no docker in the lab)."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from .conftest import BIN, NODES, sparkctl

pytestmark = pytest.mark.lab

SRC = "/tmp/model"
TWINS = ("enp1s0f1np1", "enP2p1s0f1np1")  # port 1's twins: the switch rails


@pytest.fixture(scope="module")
def model(lab):
    lab.sh("spark-1", f"rm -rf {SRC} && mkdir -p {SRC}/tokenizer && "
           f"head -c 40000000 /dev/urandom > {SRC}/model-00001.safetensors && "
           f"head -c 9000001 /dev/urandom > {SRC}/model-00002.safetensors && "
           f"echo '{{\"layers\": 4}}' > {SRC}/config.json && : > {SRC}/tokenizer/empty && "
           f"ln -s model-00001.safetensors {SRC}/current")
    return lab.tree_digest("spark-1", SRC)


def clear(lab, path, nodes=NODES[1:]):
    for node in nodes:
        lab.sh(node, f"rm -rf {path}")


def test_every_node_gets_the_same_bytes_over_both_twins_and_nothing_is_left(lab, model):
    clear(lab, SRC)
    before = {n: sum(lab.rx_bytes(n, i) for i in TWINS) for n in NODES[1:]}
    twin = {n: [lab.rx_bytes(n, i) for i in TWINS] for n in NODES[1:]}
    done, report = lab.sync("--from", "spark-1", SRC)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["verdict"] == "pass"
    assert report["transport"]["chain"] == [list(NODES)]
    assert report["transport"]["rails"]["spark-1->spark-2"] == [
        ["192.168.100.1", "192.168.100.2"], ["192.168.101.1", "192.168.101.2"]]
    for node in NODES[1:]:
        assert lab.tree_digest(node, SRC) == model, node
        # the bytes came over the rails, and both twins carried a fair share
        got = sum(lab.rx_bytes(node, i) for i in TWINS) - before[node]
        assert got >= report["total_bytes"], (node, got)
        shares = [lab.rx_bytes(node, i) - twin[node][k] for k, i in enumerate(TWINS)]
        assert min(shares) > 0.3 * report["total_bytes"], (node, shares)
    for node in NODES:
        assert lab.listeners(node) == [], node  # nothing listening afterwards
        assert lab.agents(node) == "0", node  # and no agent left running
    # a second run finds everything complete and moves nothing
    done, again = lab.sync("--from", "spark-1", SRC)
    assert done.returncode == 0
    assert all(n["written_bytes"] == 0 and n["files"]["complete"] == 4 for n in again["nodes"])
    assert again["transport"]["chain"] == []


def test_an_interrupted_sync_resumes_where_it_stopped(lab, model):
    clear(lab, SRC)
    # spark-1's rails slowed to 1 % (20 Mbit/s each): still running when Ctrl-C comes
    with lab.fault("degrade", "spark-1", TWINS[0], "99"), \
            lab.fault("degrade", "spark-1", TWINS[1], "99"):
        proc = subprocess.Popen([str(BIN / "sparkctl"), "sync", "--lab", lab.name, "--from",
                                 "spark-1", SRC, "--quiet"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(4.0)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "interrupted" in err
    for node in NODES:
        assert lab.listeners(node) == [], node
        assert lab.agents(node) == "0", node
    done, report = lab.sync("--from", "spark-1", SRC)
    assert done.returncode == 0, done.stderr[-3000:]
    resumed = [(n["node"], r["path"]) for n in report["nodes"] for r in n["files"]["resumed"]]
    assert resumed, json.dumps(report["nodes"], indent=1)  # someone kept partial chunks
    assert all(path.startswith("model-0000") for _, path in resumed)
    moved = sum(n["written_bytes"] for n in report["nodes"])
    assert moved < 3 * report["total_bytes"]  # less than a full copy to every node
    for node in NODES[1:]:
        assert lab.tree_digest(node, SRC) == model, node


def test_a_node_whose_rails_are_down_costs_its_timeout_and_is_named(lab, model):
    clear(lab, SRC)
    with lab.fault("link-down", "spark-2", TWINS[0]), lab.fault("link-down", "spark-2",
                                                                TWINS[1]):
        started = time.monotonic()
        done, report = lab.sync("--from", "spark-1", SRC, "--stall-timeout", "5")
        elapsed = time.monotonic() - started
    assert done.returncode == 1
    assert "sync incomplete on spark-2" in done.stderr
    states = {n["node"]: n["state"] for n in report["nodes"]}
    assert states == {"spark-2": "failed", "spark-3": "complete", "spark-4": "complete"}
    assert report["transport"]["chain"][-1][:3] == ["spark-1", "spark-3", "spark-4"]
    for node in ("spark-3", "spark-4"):
        assert lab.tree_digest(node, SRC) == model
    # a bound, not a speed: a few 5 s stall timeouts, nowhere near the 3600 s budget
    assert elapsed < 90, elapsed
    for node in NODES:
        assert lab.listeners(node) == [], node


def test_the_controller_can_be_the_source(lab, tmp_path):
    src = tmp_path / "local-model"
    src.mkdir()
    (src / "weights.bin").write_bytes(bytes(range(256)) * 40000)
    (src / "config.json").write_text("{}")
    dest = "/tmp/from-controller"
    clear(lab, dest, NODES)
    done, report = lab.sync(str(src), "--to", dest)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["transport"]["chain"][0][0] == "controller"
    assert report["transport"]["rails"][f"controller->{report['transport']['chain'][0][1]}"] \
        == [[None, "127.0.0.1"]]
    for node in NODES:
        assert lab.sh(node, f"sha256sum {dest}/weights.bin").split()[0] == \
            subprocess.run(["sha256sum", str(src / "weights.bin")], capture_output=True,
                           text=True, check=True).stdout.split()[0]


def test_an_image_sync_is_skipped_without_docker(lab, tmp_path):
    out = tmp_path / "image.json"
    done = sparkctl("sync", "--lab", lab.name, "--from", "spark-1",
                    "docker:nvcr.io/nvidia/vllm:26.05-py3", "--format", "json", "-o", str(out))
    assert done.returncode == 2
    assert "image sync skipped: docker is not installed on spark-1" in done.stderr
    report = json.loads(out.read_text())
    assert report["verdict"] == "skipped" and report["kind"] == "image"
    assert {n["state"] for n in report["nodes"]} == {"skipped"}


def test_a_missing_source_on_the_node_is_exit_2(lab):
    done = sparkctl("sync", "--lab", lab.name, "--from", "spark-1", "/tmp/no-such-model")
    assert done.returncode == 2
    assert "spark-1: SRC /tmp/no-such-model does not exist" in done.stderr

"""Whole syncs with the real agent program and real TCP streams between loopback "nodes"
(fakes.FakePool stands in for SSH): pipelining, resume, interruption, dead and unreachable
nodes, nothing left listening or running."""

from __future__ import annotations

import os
import time

import pytest

import sparkctl.sync.run as run_module
from sparkctl.errors import InputError
from sparkctl.sync.report import COMPLETE, FAILED
from sparkctl.sync.run import SyncOptions, sync

from .fakes import FakePool, listening_ports, loopback_cluster, node_dir, tree_files

DEST = "/data/model"
CHUNK = 256 << 10


@pytest.fixture
def pool(tmp_path, monkeypatch):
    fake = FakePool(tmp_path / "nodes")
    monkeypatch.setattr(run_module, "open_pool", lambda nodes, timeout: fake)
    yield fake
    fake.kill_all()


def make_source(path, big=3_000_000):
    path.mkdir(parents=True)
    (path / "sub").mkdir()
    (path / "model.safetensors").write_bytes(os.urandom(big))
    (path / "sub" / "config.json").write_text('{"layers": 2}')
    (path / "empty").write_bytes(b"")
    os.symlink("model.safetensors", path / "current")
    return path


def options(receivers, **kw):
    base = {"source": DEST, "receivers": tuple(receivers), "from_node": "n1", "dest": DEST,
            "chunk_size": CHUNK, "stall_s": 3.0, "connect_s": 3.0, "budget_s": 120.0}
    base.update(kw)
    return SyncOptions(**base)


def rails_of(cluster):
    """The test's own rail addresses (127.0.0.1 is shared with whatever else runs here; the
    loopback feed listener dies with its agent, which leftovers() checks)."""
    return {str(r.address) for n in cluster.nodes for r in n.rails}


@pytest.mark.parametrize("splice", [True, False], ids=["splice", "buffers"])
def test_switch_chain_copies_everything_verified_and_leaves_nothing_behind(pool, splice):
    cluster = loopback_cluster(4, "switch")
    src = make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    seen = []
    report = sync(cluster, options(["n2", "n3", "n4"], splice=splice), progress=seen.append)
    assert report.verdict == "pass", [(n.name, n.error) for n in report.nodes]
    assert report.chain == [["n1", "n2", "n3", "n4"]]
    assert report.streams == 2  # one per rail (lab default), both rails of every hop
    assert report.rails["n1->n2"] == [["127.10.0.1", "127.10.0.2"],
                                      ["127.11.0.1", "127.11.0.2"]]
    expected = tree_files(src)
    assert set(expected) == {"model.safetensors", "sub/config.json", "empty", "current"}
    for name in ("n2", "n3", "n4"):
        assert tree_files(node_dir(pool.root, name) / DEST.lstrip("/")) == expected
        result = report.node(name)
        assert result.state == COMPLETE and result.written_bytes == report.total_bytes
        assert result.files.new == 3
    assert {p.state for p in seen} >= {"scanning", "complete"}
    assert listening_ports(rails_of(cluster)) == []
    assert pool.leftovers() == []
    # the source read each file once per send: one source agent, one manifest agent
    assert sorted(m for h, m in pool.started if h == "n1") == ["manifest", "source"]


def test_a_second_sync_reads_nothing_again(pool):
    cluster = loopback_cluster(3, "switch")
    make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    assert sync(cluster, options(["n2", "n3"])).verdict == "pass"
    again = sync(cluster, options(["n2", "n3"]))
    assert again.verdict == "pass" and again.chain == []  # nobody needed data: no transfer
    for result in again.nodes:
        assert result.written_bytes == 0 and result.files.complete == 3


def test_ring_chain_follows_the_cables(pool):
    cluster = loopback_cluster(3, "ring")
    src = make_source(node_dir(pool.root, "n2") / DEST.lstrip("/"))
    report = sync(cluster, options(["n1", "n3"], from_node="n2"))
    assert report.verdict == "pass"
    assert report.chain == [["n2", "n1", "n3"]]  # members in order, each hop one cable
    by = {n.name: n for n in cluster.nodes}
    for hop, pairs in report.rails.items():
        parent, child = hop.split("->")
        assert len(pairs) == 2  # the two twins of the one cable between the two
        for mine, theirs in pairs:
            net = next(r.network for r in by[parent].rails if str(r.address) == mine)
            assert any(str(r.address) == theirs and r.network == net for r in by[child].rails)
    for name in ("n1", "n3"):
        assert tree_files(node_dir(pool.root, name) / DEST.lstrip("/")) == tree_files(src)


def test_controller_as_source_feeds_the_head_then_the_rails(pool, tmp_path):
    cluster = loopback_cluster(3, "switch")
    src = make_source(tmp_path / "local" / "model")
    report = sync(cluster, options(["n1", "n2", "n3"], from_node=None, source=str(src)))
    assert report.verdict == "pass", [(n.name, n.error) for n in report.nodes]
    assert report.chain == [["controller", "n1", "n2", "n3"]]
    assert report.rails["controller->n1"] == [[None, "127.0.0.1"]]
    feeds = [m for h, m in pool.started if m == "feed"]
    assert len(feeds) == report.streams == 2
    for name in ("n1", "n2", "n3"):
        assert tree_files(node_dir(pool.root, name) / DEST.lstrip("/")) == tree_files(src)
    assert listening_ports(rails_of(cluster)) == [] and pool.leftovers() == []


def test_an_interrupted_sync_resumes_and_says_which_files_resumed(pool, tmp_path):
    cluster = loopback_cluster(3, "switch")
    src = make_source(tmp_path / "local" / "model", big=6_000_000)
    pool.throttle["n1:feed"] = 2_000_000  # a slow first hop: time to interrupt midway

    def interrupt(progress):
        if progress.state == "receiving" and progress.done_bytes >= 4 * CHUNK:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        sync(cluster, options(["n1", "n2", "n3"], from_node=None, source=str(src)),
             progress=interrupt)
    assert pool.leftovers() == []  # Ctrl-C ends every agent
    assert listening_ports(rails_of(cluster)) == []
    partial = node_dir(pool.root, "n1") / DEST.lstrip("/") / ".sparkctl-sync" / "partial"
    assert any(partial.iterdir())  # the half-received file waits there, not in place
    assert not (node_dir(pool.root, "n1") / DEST.lstrip("/") / "model.safetensors").exists()
    pool.throttle.clear()
    report = sync(cluster, options(["n1", "n2", "n3"], from_node=None, source=str(src)))
    assert report.verdict == "pass"
    resumed = report.node("n1").files.resumed
    assert [r["path"] for r in resumed] == ["model.safetensors"]
    assert 4 <= resumed[0]["kept"] < resumed[0]["chunks"]
    assert report.node("n1").written_bytes < report.total_bytes  # only the rest moved
    for name in ("n1", "n2", "n3"):
        assert tree_files(node_dir(pool.root, name) / DEST.lstrip("/")) == tree_files(src)


def test_a_frozen_node_costs_its_timeout_and_the_rest_complete_around_it(pool):
    cluster = loopback_cluster(4, "switch")
    src = make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    pool.freeze_on_plan.add("n2")  # hangs right when the data is about to flow
    started = time.monotonic()
    report = sync(cluster, options(["n2", "n3", "n4"]))
    elapsed = time.monotonic() - started
    assert report.verdict == "fail"
    assert report.node("n2").state == FAILED
    assert "stopped answering" in report.node("n2").error
    for name in ("n3", "n4"):
        assert report.node(name).state == COMPLETE, report.node(name).error
        assert tree_files(node_dir(pool.root, name) / DEST.lstrip("/")) == tree_files(src)
    # round 2 put the healthy nodes first and left the frozen one out
    assert report.chain[0][1] == "n2" and "n2" not in report.chain[-1]
    # a bound, not a speed: a few stall timeouts (3 s), far below the 120 s budget
    assert elapsed < 6 * 3.0 + 15, elapsed


def test_an_unreachable_node_is_named_and_the_others_still_get_the_data(pool):
    cluster = loopback_cluster(3, "switch")
    make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    pool.down["n2"] = "unreachable: no answer from 10.0.0.2:22 in time"
    report = sync(cluster, options(["n2", "n3"]))
    assert report.node("n2").state == FAILED and "10.0.0.2" in report.node("n2").error
    assert report.node("n3").state == COMPLETE
    assert report.chain == [["n1", "n3"]]


def test_a_destination_that_cannot_be_a_directory_fails_that_node_only(pool):
    cluster = loopback_cluster(3, "switch")
    make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    blocker = node_dir(pool.root, "n3") / "data"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the directory should go")
    report = sync(cluster, options(["n2", "n3"]))
    assert report.node("n2").state == COMPLETE
    assert report.node("n3").state == FAILED
    assert f"{blocker} is a file where a directory must go" in report.node("n3").error
    assert report.node("n3").rounds == 0  # not retried: waiting would not fix it


def test_a_missing_source_on_the_node_is_an_input_error(pool):
    cluster = loopback_cluster(2, "switch")
    with pytest.raises(InputError, match="n1: SRC .*/data/model does not exist"):
        sync(cluster, options(["n2"]))


def test_a_file_changed_at_the_source_during_the_sync_is_refused_not_written(pool,
                                                                             monkeypatch):
    cluster = loopback_cluster(2, "switch")
    src = make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    real = run_module.Sync._start_source

    def change_then_send(self, *args):
        (src / "model.safetensors").write_bytes(os.urandom(3_000_000))  # same size
        return real(self, *args)
    monkeypatch.setattr(run_module.Sync, "_start_source", change_then_send)
    report = sync(cluster, options(["n2"], rounds=1))
    assert report.node("n2").state == FAILED
    assert "does not match the manifest" in report.node("n2").error
    assert not (node_dir(pool.root, "n2") / DEST.lstrip("/") / "model.safetensors").exists()


def test_one_node_without_rails_takes_the_controllers_data_through_loopback(pool, tmp_path):
    cluster = loopback_cluster(1, "none")
    src = make_source(tmp_path / "local" / "model")
    report = sync(cluster, options(["n1"], from_node=None, source=str(src)))
    assert report.verdict == "pass" and report.chain == [["controller", "n1"]]
    assert tree_files(node_dir(pool.root, "n1") / DEST.lstrip("/")) == tree_files(src)
    assert pool.leftovers() == []


def test_a_node_source_with_no_rail_to_a_receiver_names_it(pool):
    cluster = loopback_cluster(2, "none")
    make_source(node_dir(pool.root, "n1") / DEST.lstrip("/"))
    report = sync(cluster, options(["n2"]))
    assert report.node("n2").state == FAILED
    assert "no data rail address is planned for it" in report.node("n2").error

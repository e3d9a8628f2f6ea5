"""Several clusters on one controller: names carry the cluster id, history is per target,
and --probe-every counts runs in the history."""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.errors import InputError
from sparkctl.health import history as hist
from sparkctl.health.naming import checked_cluster_id, cluster_id, textfile_name, timer_name
from sparkctl.health.run import probe_due
from sparkctl.health.samples import Sample
from sparkctl.health.store import HistoryStore
from sparkctl.health.timer import health_command, node_inventory_path
from sparkctl.targets import resolve_target


def report() -> Report:
    return Report.from_checks([CheckResult("node.ssh", "node", "spark-1", Verdict.PASS)],
                              started=datetime.now(UTC), duration_s=1.0)


def rail(value: float | None) -> Sample:
    return Sample("rail_bandwidth_gbps", value, {"node": "spark-1", "iface": "a",
                                                 "peer": "spark-2", "peer_iface": "a"}, "Gb/s")


def test_names_carry_the_id_and_cron_safe_characters():
    assert timer_name("c-0a1b") == "sparkctl-health-c-0a1b"
    # cron(8) skips /etc/cron.d files with dots in their names: the id's dots become _
    assert timer_name("lab.ring3") == "sparkctl-health-lab_ring3"
    assert textfile_name("lab.ring3") == "sparkctl-lab.ring3.prom"
    assert node_inventory_path("c-1") == "/etc/sparkctl/health-inventory-c-1.yml"
    with pytest.raises(InputError):
        checked_cluster_id("a b")


def test_the_scheduled_command_names_its_textfile_label_and_probe_interval():
    argv = shlex.split(health_command("/usr/bin/sparkctl", ["--inventory", "/i.yml"],
                                      Path("/var/lib/prometheus/node-exporter"), "c-1", 4))
    assert argv[argv.index("--cluster-id") + 1] == "c-1"
    assert argv[argv.index("--probe-every") + 1] == "4"
    assert argv[argv.index("--output") + 1] == "/var/lib/prometheus/node-exporter/sparkctl-c-1.prom"
    assert "--probe-every" not in health_command("s", [], Path("/d"), "c-1")


def test_an_unnamed_target_gets_a_stable_id_different_from_another(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(tmp_path / "state"))
    a = resolve_target(topology="ring3", hosts="10.0.0.1,10.0.0.2,10.0.0.3")
    b = resolve_target(topology="ring3", hosts="10.0.1.1,10.0.1.2,10.0.1.3")
    assert cluster_id(a) == cluster_id(a) != cluster_id(b)
    assert cluster_id(a).startswith("ring3-")


def test_a_declared_id_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(tmp_path / "state"))
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  vars: {sparkctl_cluster_id: lab-east, sparkctl_topology: single}\n"
                   "  children:\n    sparks:\n      hosts:\n        spark-1: "
                   "{ansible_host: 10.0.0.1}\n")

    class T:  # only what cluster_id reads
        inventory_path = inv

    assert cluster_id(T()) == "lab-east"


def test_probe_every_counts_runs_since_the_last_bandwidth_figure(tmp_path):
    db = tmp_path / "h.db"
    assert probe_due(db, "a", 3)  # no history: probe now
    assert not probe_due(db, "a", None) and probe_due(db, "a", 1)
    with HistoryStore(db) as store:
        store.record_run(report(), [rail(1.9)], target="a")
        assert store.runs_since_sample("rail_bandwidth_gbps", target="a") == 0
    assert not probe_due(db, "a", 3)
    with HistoryStore(db) as store:
        store.record_run(report(), [], target="a")
        store.record_run(report(), [rail(2.0)], target="b")  # another cluster's probe
    assert not probe_due(db, "a", 3)  # 1 run since a's probe
    with HistoryStore(db) as store:
        store.record_run(report(), [], target="a")
    assert probe_due(db, "a", 3)  # 2 runs since: the 3rd probes
    with HistoryStore(db) as store:
        store.record_run(report(), [rail(None)], target="a")  # a probe that failed counts
    assert not probe_due(db, "a", 3)


def test_history_target_is_exact_or_a_unique_part(tmp_path):
    with HistoryStore(tmp_path / "h.db") as store:
        for target in ("/var/lib/sparkctl/labs/hlt3/inventory.yml",
                       "/var/lib/sparkctl/labs/hlt4/inventory.yml"):
            store.record_run(report(), [rail(1.9)], target=target)
        assert hist.resolve_target(store, None) is None
        assert hist.resolve_target(store, "hlt3").endswith("hlt3/inventory.yml")
        with pytest.raises(InputError, match="matches 2 targets"):
            hist.resolve_target(store, "labs")
        with pytest.raises(InputError, match="no runs of such a target"):
            hist.resolve_target(store, "hlt9")
        query = hist.HistoryQuery(None, ["rail_bandwidth_gbps"],
                                  hist.resolve_target(store, "hlt4"))
        points = hist.history_dict(store, query)["points"]
        assert [p["target"] for p in points] == ["/var/lib/sparkctl/labs/hlt4/inventory.yml"]


def test_the_plot_draws_one_line_per_cluster(tmp_path):
    pytest.importorskip("matplotlib")
    from sparkctl.health import plot

    lines = []
    real = plot._matplotlib

    def spy():
        plt = real()
        original = plt.subplots

        def subplots(*a, **k):
            fig, axes = original(*a, **k)
            for ax in axes.flat:
                ax.plot = (lambda f: lambda *x, **kw: (lines.append(kw["label"]), f(*x, **kw))[1]
                           )(ax.plot)
            return fig, axes
        plt.subplots = subplots
        return plt

    with HistoryStore(tmp_path / "h.db") as store:
        for target in ("lab hlt3", "lab hlt4"):
            store.record_run(report(), [rail(1.9)], target=target)
        points = store.points(metrics=["rail_bandwidth_gbps"])
    plot._matplotlib = spy
    try:
        plot.plot_trend(points, tmp_path / "t.png")
    finally:
        plot._matplotlib = real
    subject = rail(1.0).subject
    assert sorted(lines) == [f"lab hlt3: {subject}", f"lab hlt4: {subject}"]
    assert (tmp_path / "t.png").stat().st_size > 0


def test_install_stores_the_id_that_check_mode_and_unstored_runs_use(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(tmp_path / "state"))
    target = resolve_target(topology="direct", hosts="10.0.0.1,10.0.0.2")
    before = cluster_id(target)  # nothing stored yet
    assert cluster_id(target, create=True) == before  # health install stores that one
    from sparkctl.bootstrap.store import open_store

    assert open_store(target, create=False).id == before  # and bootstrap will find it


def test_two_built_in_ring3s_on_other_hosts_have_their_own_history():
    from sparkctl.health.store import target_key

    a = resolve_target(topology="ring3", hosts="10.0.0.1,10.0.0.2,10.0.0.3")
    b = resolve_target(topology="ring3", hosts="10.0.1.1,10.0.1.2,10.0.1.3")
    assert target_key(a) != target_key(b)
    assert target_key(a).startswith("built-in ring3 spark-1=10.0.0.1")

"""The SQLite history: schema version, WAL, retention, concurrent writers, SIGKILL mid-write."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.errors import EnvironmentProblem
from sparkctl.health.samples import Sample
from sparkctl.health.store import SCHEMA_VERSION, HistoryStore


def report(verdict=Verdict.PASS) -> Report:
    check = CheckResult("link.carrier", "link", "spark-1/enp1s0f1np1", verdict)
    return Report.from_checks([check], started=datetime.now(UTC), duration_s=0.5)


def sample(value: float, iface: str = "enp1s0f1np1") -> Sample:
    return Sample("rail_bandwidth_gbps", value, {"node": "spark-1", "iface": iface}, "Gb/s")


def test_schema_is_versioned_and_wal(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_reopening_keeps_data_and_newer_schema_is_refused(tmp_path):
    path = tmp_path / "h.db"
    with HistoryStore(path) as store:
        store.record_run(report(), [sample(95.0)], target="t")
    with HistoryStore(path) as store:
        assert len(store.runs()) == 1
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(EnvironmentProblem, match="newer than this sparkctl"):
        HistoryStore(path)


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "h.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(EnvironmentProblem, match="cannot open the health history"):
        HistoryStore(path)


def test_series_is_per_target_and_labels_oldest_first(tmp_path):
    with HistoryStore(tmp_path / "h.db") as store:
        for i, value in enumerate([90.0, 91.0, 92.0]):
            store.record_run(report(), [sample(value), sample(50.0 + i, "other")],
                             target="a", started_ts=1000.0 + i)
        store.record_run(report(), [sample(10.0)], target="b", started_ts=2000.0)
        key = sample(0).labels_key
        assert [p.value for p in store.series("rail_bandwidth_gbps", key, target="a")] == \
            [90.0, 91.0, 92.0]
        assert [p.value for p in store.series("rail_bandwidth_gbps", key, target="b")] == [10.0]
        assert [p.value for p in store.series("rail_bandwidth_gbps", key, target="a",
                                              limit=2)] == [91.0, 92.0]


def test_retention_drops_old_runs_and_their_samples(tmp_path):
    now = time.time()
    with HistoryStore(tmp_path / "h.db", retention_days=7) as store:
        store.record_run(report(), [sample(1.0)], target="t", started_ts=now - 8 * 86400)
        store.record_run(report(), [sample(2.0)], target="t", started_ts=now - 86400)
        assert len(store.runs()) == 2  # the old one goes on the next write after it
        store.record_run(report(), [sample(3.0)], target="t", started_ts=now)
        assert [p.value for p in store.points()] == [2.0, 3.0]
        assert len(store.runs()) == 2


def test_latest_returns_newest_health_run_values(tmp_path):
    with HistoryStore(tmp_path / "h.db") as store:
        c = Sample("rdma_counter", 5, {"node": "n", "device": "rocep1s0f1",
                                       "counter": "symbol_error"})
        store.record_run(report(), [c], target="t", started_ts=1.0)
        store.record_run(report(), [Sample(c.metric, 7, c.labels)], target="t", started_ts=2.0)
        latest = store.latest("rdma_counter", target="t")
        assert [p.value for p in latest.values()] == [7.0]
        assert store.latest("rdma_counter", target="other") == {}


WRITER = """
import sys, time
from datetime import UTC, datetime
from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.health.samples import Sample
from sparkctl.health.store import HistoryStore
path, worker, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rep = Report.from_checks([CheckResult("x", "x", "s", Verdict.PASS)],
                         started=datetime.now(UTC), duration_s=0.1)
for i in range(runs):
    with HistoryStore(path) as store:
        store.record_run(rep, [Sample("m", float(i), {"w": str(worker), "k": str(k)})
                               for k in range(50)], target=f"w{worker}")
"""


def test_ten_concurrent_writers_leave_a_consistent_db(tmp_path):
    path = tmp_path / "h.db"
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(w), "10"])
             for w in range(10)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 100
    assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == 100 * 50
    orphans = db.execute("SELECT COUNT(*) FROM samples WHERE run_id NOT IN "
                         "(SELECT id FROM runs)").fetchone()[0]
    assert orphans == 0


KILLED_WRITER = """
import sys
from datetime import UTC, datetime
from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.fileio import atomic_write
from sparkctl.health.samples import Sample
from sparkctl.health.store import HistoryStore
path, prom = sys.argv[1], sys.argv[2]
rep = Report.from_checks([CheckResult("x", "x", "s", Verdict.PASS)],
                         started=datetime.now(UTC), duration_s=0.1)
print("ready", flush=True)
i = 0
with HistoryStore(path) as store:
    while True:
        i += 1
        store.record_run(rep, [Sample("m", float(i), {"k": str(k)}) for k in range(2000)],
                         target="t")
        atomic_write(prom, "".join(f'sparkctl_m{{k="{k}"}} {i}\\n' for k in range(20000)))
"""


def test_sigkill_mid_write_leaves_db_and_textfile_valid(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    path, prom = tmp_path / "h.db", tmp_path / "sparkctl.prom"
    for delay in (0.3, 0.45, 0.6, 0.8):
        proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path), str(prom)],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        runs = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        # Every stored run has all of its samples: a run is written whole or not at all.
        assert db.execute("SELECT COUNT(*) FROM samples").fetchone()[0] == runs * 2000
        db.close()
        if prom.exists():
            families = list(text_string_to_metric_families(prom.read_text()))
            assert sum(len(f.samples) for f in families) == 20000
    assert runs > 0
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    # A killed atomic_write may leave its temp file, never a torn sparkctl.prom.
    assert all(name.startswith(".sparkctl.prom.") for name in leftovers)


V1_REPORT = ('{"verdict": "degraded", "checks": [{"id": "rail.bandwidth", "kind": "rail", '
             '"subject": "spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1", "verdict": "fail", '
             '"measured": 1, "expected": 0, "unit": "errors", "diagnosis": "iperf3 failed"}, '
             '{"id": "rail.bandwidth", "kind": "rail", "subject": "spark-2/enp1s0f1np1 -> '
             'spark-1/enp1s0f1np1", "verdict": "pass", "measured": 1.98, "expected": 1.8, '
             '"unit": "Gb/s", "diagnosis": "ok"}], "started": "x", "duration_s": 1}')


def test_migration_to_2_drops_the_invented_values_of_v1(tmp_path):
    """Schema 1 stored a failed rail test's error count (1) as 1.0 Gb/s."""
    path = tmp_path / "h.db"
    db = sqlite3.connect(path)
    from sparkctl.health.store import _SCHEMA_V1

    db.executescript(_SCHEMA_V1)
    db.execute("INSERT INTO runs VALUES (1, 'x', 1000, 1, 'degraded', 't', 'health', ?)",
               (V1_REPORT,))
    for subject, value in (("spark-1/enp1s0f1np1 -> spark-2/enp1s0f1np1", 1.0),
                           ("spark-2/enp1s0f1np1 -> spark-1/enp1s0f1np1", 1.98)):
        db.execute("INSERT INTO samples VALUES (1, 1000, 'rail_bandwidth_gbps', '{}', ?, ?, "
                   "'Gb/s')", (subject, value))
    db.execute("INSERT INTO samples VALUES (1, 1000, 'node_up', '{}', 'spark-1', 1.0, NULL)")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with HistoryStore(path) as store:
        assert store.schema_version == 2
        rows = store.db.execute("SELECT metric, subject, value, ok FROM samples "
                                "ORDER BY metric, subject").fetchall()
    assert rows == [("node_up", "spark-1", 1.0, 1),
                    ("rail_bandwidth_gbps", "spark-2/enp1s0f1np1 -> spark-1/enp1s0f1np1", 1.98,
                     1)]


def test_a_value_and_ok_cannot_disagree(tmp_path):
    with HistoryStore(tmp_path / "h.db") as store:
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute("INSERT INTO samples VALUES (1, 1, 'm', '{}', 's', 1.0, NULL, 0)")

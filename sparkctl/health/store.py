"""History of health (and validate) runs in SQLite.

WAL mode lets cron runs, `health history` and a dashboard read while one run writes; each run
is written in one IMMEDIATE transaction, so a run killed mid-write leaves either all of its
rows or none. The schema carries a version (PRAGMA user_version) and is migrated forward on
open; a database from a newer sparkctl is refused rather than guessed at.

A failed measurement has no value: its sample is stored with `ok = 0` and no number
(schema 2). Schema 1 stored failed rail tests as numbers (the count of tool errors, mostly
1.0 "Gb/s"); the migration to 2 drops those rows, recognising them by the run's own report,
where their rail.bandwidth check has a unit other than Gb/s.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sparkctl.checks.result import Report
from sparkctl.errors import EnvironmentProblem
from sparkctl.health.samples import Sample

SCHEMA_VERSION = 2
DEFAULT_RETENTION_DAYS = 90
BUSY_TIMEOUT_S = 30.0  # concurrent writers queue; a run's write takes milliseconds

_SCHEMA_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started TEXT NOT NULL,          -- ISO-8601 with zone, as in the JSON report
    started_ts REAL NOT NULL,       -- Unix seconds, for ranges and retention
    duration_s REAL NOT NULL,
    verdict TEXT NOT NULL,
    target TEXT NOT NULL,           -- what the run looked at (inventory path, lab name)
    source TEXT NOT NULL,           -- health | validate
    report TEXT NOT NULL            -- the JSON report, DESIGN.md shape
);
CREATE TABLE samples (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ts REAL NOT NULL,
    metric TEXT NOT NULL,
    labels TEXT NOT NULL,           -- canonical JSON of the labels
    subject TEXT NOT NULL,          -- the labels for people: spark-1/enp1s0f1np1
    value REAL NOT NULL,
    unit TEXT
);
CREATE INDEX samples_by_series ON samples(metric, labels, ts);
CREATE INDEX runs_by_time ON runs(started_ts);
"""

# 2: a failed measurement is a row with ok = 0 and no value; invented v1 values dropped.
_SAMPLES_V2 = """
CREATE TABLE samples_v2 (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    ts REAL NOT NULL,
    metric TEXT NOT NULL,
    labels TEXT NOT NULL,           -- canonical JSON of the labels
    subject TEXT NOT NULL,          -- the labels for people: spark-1/enp1s0f1np1
    value REAL,                     -- NULL: the measurement failed (ok = 0)
    unit TEXT,
    ok INTEGER NOT NULL DEFAULT 1 CHECK ((ok = 1) = (value IS NOT NULL))
);
INSERT INTO samples_v2 (run_id, ts, metric, labels, subject, value, unit, ok)
    SELECT run_id, ts, metric, labels, subject, value, unit, 1 FROM samples;
DROP TABLE samples;
ALTER TABLE samples_v2 RENAME TO samples;
CREATE INDEX samples_by_series ON samples(metric, labels, ts)
"""


@dataclass(frozen=True)
class HistoryPoint:
    run_id: int
    ts: float
    metric: str
    subject: str
    labels: dict
    value: float | None  # None: the measurement failed (it has no value)
    unit: str | None
    target: str = ""  # the run's target key: series of two clusters are never one line


@dataclass(frozen=True)
class RunRow:
    id: int
    started: str
    started_ts: float
    duration_s: float
    verdict: str
    target: str
    source: str


def target_key(target) -> str:
    """How history tells clusters apart: the inventory or cluster file; a built-in topology
    with its hosts (its description alone, "built-in ring3", is the same for every ring3)."""
    if target.inventory_path is None and target.key.startswith("built-in "):
        hosts = ",".join(f"{n.name}={n.mgmt_address}" for n in target.cluster.spec.nodes)
        return f"{target.key} {hosts}"
    return target.key


def default_db_path() -> Path:
    if env := os.environ.get("SPARKCTL_HEALTH_DB"):
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/sparkctl/health.db")
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "sparkctl" / "health.db"


class HistoryStore:
    def __init__(self, path: Path, *, retention_days: float = DEFAULT_RETENTION_DAYS) -> None:
        self.path = Path(path)
        self.retention_days = retention_days
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S,
                                      isolation_level=None)  # explicit transactions only
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoint
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise EnvironmentProblem(
                f"cannot open the health history {self.path}: {exc}",
                hint="give another --db PATH, or move the damaged file away") from None
        except OSError as exc:
            raise EnvironmentProblem(f"cannot create the health history {self.path}: {exc}",
                                     hint="give a writable --db PATH") from None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def _migrate(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise EnvironmentProblem(
                    f"health history {self.path} has schema version {version}, newer than this "
                    f"sparkctl understands ({SCHEMA_VERSION})",
                    hint="upgrade sparkctl, or give another --db PATH")
            if version < 1:
                self._script(_SCHEMA_V1)
            if version < 2:
                self._drop_invented_v1_values()
                self._script(_SAMPLES_V2)
            # Later versions: `if version < 3: ...` here, each step in this one transaction.
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

    def _script(self, script: str) -> None:
        # One statement at a time: executescript() would COMMIT the open transaction.
        for statement in script.split(";"):
            if statement.strip():
                self.db.execute(statement)

    def _drop_invented_v1_values(self) -> None:
        """v1 recorded a failed rail test's error count as its Gb/s: drop those rows."""
        invented = []
        for run_id, text in self.db.execute("SELECT id, report FROM runs"):
            try:
                checks = json.loads(text).get("checks", [])
            except (ValueError, AttributeError):
                continue
            invented += [(run_id, c.get("subject", "")) for c in checks
                         if isinstance(c, dict) and c.get("id") == "rail.bandwidth"
                         and c.get("unit") != "Gb/s"]
        self.db.executemany("DELETE FROM samples WHERE run_id = ? AND subject = ? AND "
                            "metric = 'rail_bandwidth_gbps'", invented)

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    # --- writing ------------------------------------------------------------------------

    def record_run(self, report: Report, samples: Iterable[Sample], *, target: str,
                   source: str = "health", started_ts: float | None = None) -> int:
        """Store one run and its samples atomically; prune what retention drops. Returns id."""
        ts = time.time() if started_ts is None else started_ts
        rows = list(samples)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cur = self.db.execute(
                "INSERT INTO runs (started, started_ts, duration_s, verdict, target, source, "
                "report) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (report.started, ts, report.duration_s, str(report.verdict), target, source,
                 json.dumps(report.to_dict())))
            assert cur.lastrowid is not None  # an INSERT always sets it
            run_id = int(cur.lastrowid)
            self.db.executemany(
                "INSERT INTO samples (run_id, ts, metric, labels, subject, value, unit, ok) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, ts, s.metric, s.labels_key, s.subject,
                  None if s.value is None else float(s.value), s.unit, int(s.value is not None))
                 for s in rows])
            if self.retention_days > 0:
                cutoff = ts - self.retention_days * 86400
                self.db.execute("DELETE FROM runs WHERE started_ts < ?", (cutoff,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return run_id

    # --- reading ------------------------------------------------------------------------

    def runs(self, *, since_ts: float | None = None, target: str | None = None) -> list[RunRow]:
        sql = ("SELECT id, started, started_ts, duration_s, verdict, target, source FROM runs "
               "WHERE started_ts >= ?")
        args: list = [since_ts or 0.0]
        if target is not None:
            sql += " AND target = ?"
            args.append(target)
        return [RunRow(*row) for row in self.db.execute(sql + " ORDER BY started_ts, id", args)]

    def series(self, metric: str, labels_key: str, *, before_run: int | None = None,
               limit: int = 10, target: str | None = None) -> list[HistoryPoint]:
        """The newest `limit` measured values of one series (oldest first), before run
        `before_run`; failed measurements (no value) are not part of a trend."""
        sql = ("SELECT s.run_id, s.ts, s.metric, s.subject, s.labels, s.value, s.unit "
               "FROM samples s JOIN runs r ON r.id = s.run_id "
               "WHERE s.metric = ? AND s.labels = ? AND s.ok = 1")
        args: list = [metric, labels_key]
        if before_run is not None:
            sql += " AND s.run_id < ?"
            args.append(before_run)
        if target is not None:
            sql += " AND r.target = ?"
            args.append(target)
        sql += " ORDER BY s.ts DESC, s.run_id DESC LIMIT ?"
        args.append(limit)
        points = [_point(row) for row in self.db.execute(sql, args)]
        return points[::-1]

    def latest(self, metric_prefix: str, *, target: str) -> dict[str, HistoryPoint]:
        """The newest value of every series whose metric starts with `metric_prefix`."""
        rows = self.db.execute(
            "SELECT s.run_id, s.ts, s.metric, s.subject, s.labels, s.value, s.unit "
            "FROM samples s JOIN runs r ON r.id = s.run_id "
            "WHERE r.id = (SELECT id FROM runs WHERE target = ? AND source = 'health' "
            "ORDER BY started_ts DESC, id DESC LIMIT 1) AND s.metric LIKE ? ESCAPE '\\'",
            (target, metric_prefix.replace("_", "\\_") + "%"))
        return {f"{p.metric}|{json.dumps(p.labels, sort_keys=True, separators=(',', ':'))}": p
                for p in map(_point, rows)}

    def points(self, *, since_ts: float | None = None, metrics: list[str] | None = None,
               target: str | None = None) -> list[HistoryPoint]:
        sql = ("SELECT s.run_id, s.ts, s.metric, s.subject, s.labels, s.value, s.unit, r.target "
               "FROM samples s JOIN runs r ON r.id = s.run_id WHERE s.ts >= ?")
        args: list = [since_ts or 0.0]
        if metrics:
            sql += f" AND s.metric IN ({','.join('?' * len(metrics))})"
            args += metrics
        if target is not None:
            sql += " AND r.target = ?"
            args.append(target)
        return [_point(row) for row in self.db.execute(sql + " ORDER BY s.ts, s.run_id", args)]

    def targets(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT target FROM runs ORDER BY 1")]

    def runs_since_sample(self, metric: str, *, target: str) -> int | None:
        """How many runs of `target` came after its newest run with a `metric` sample (None:
        no run has one): `health --probe-every N` probes when this reaches N - 1."""
        last = self.db.execute(
            "SELECT MAX(r.id) FROM runs r JOIN samples s ON s.run_id = r.id "
            "WHERE r.target = ? AND s.metric = ?", (target, metric)).fetchone()[0]
        if last is None:
            return None
        return self.db.execute("SELECT COUNT(*) FROM runs WHERE target = ? AND id > ?",
                               (target, last)).fetchone()[0]

    def metric_names(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT DISTINCT metric FROM samples ORDER BY 1")]

    def integrity(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]


def _point(row) -> HistoryPoint:
    run_id, ts, metric, subject, labels, value, unit, *target = row
    return HistoryPoint(run_id, ts, metric, subject, json.loads(labels), value, unit,
                        target[0] if target else "")

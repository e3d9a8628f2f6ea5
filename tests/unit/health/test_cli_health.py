"""The health CLI on targets that need no lab: unreachable nodes, history, lock, plot."""

import json
import re
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.health.lock import RunLock, lock_path_for
from sparkctl.health.run import target_key
from sparkctl.health.timer import parse_every
from sparkctl.targets import resolve_target

REPO = Path(__file__).resolve().parents[3]
runner = CliRunner()


def cluster_file(tmp_path: Path, name: str, address: str = "127.0.0.1", port: int = 9) -> Path:
    # Port 9 (discard) on loopback: nothing listens, so SSH is refused at once.
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\nplatform: dgx-spark\ntopology: single\n"
                    f"nodes:\n  - {{name: spark-1, address: {address}, port: {port}}}\n")
    return path


def sparkctl(*args, timeout=60, env=None):
    return subprocess.run([sys.executable, "-m", "sparkctl", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env=env)


def test_unreachable_node_fails_with_exit_1_and_quiet_prints_one_line(tmp_path):
    db = tmp_path / "h.db"
    result = runner.invoke(app, ["health", "--cluster", str(cluster_file(tmp_path, "c")),
                                 "--db", str(db), "--quiet"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sparkctl health: FAIL")
    assert "node.ssh spark-1" in lines[0] and "unreachable" in lines[0]
    assert sqlite3.connect(db).execute("SELECT verdict FROM runs").fetchall() == [("fail",)]


def test_output_file_is_written_even_with_quiet(tmp_path):
    prom = tmp_path / "out" / "sparkctl.prom"
    result = runner.invoke(app, ["health", "--cluster", str(cluster_file(tmp_path, "c")),
                                 "--no-history", "--quiet", "-f", "prometheus", "-o", str(prom)])
    assert result.exit_code == 1
    assert re.search(r'^sparkctl_node_up\{cluster="c-[0-9a-f]{8}",node="spark-1"\} 0\.0$',
                     prom.read_text(), re.M)


def test_second_run_while_locked_exits_2_with_a_clear_message(tmp_path):
    path = cluster_file(tmp_path, "c")
    db = tmp_path / "h.db"
    lock = lock_path_for(db, target_key(resolve_target(cluster=path)))
    with RunLock(lock):
        result = runner.invoke(app, ["health", "--cluster", str(path), "--db", str(db)])
    assert result.exit_code == 2
    assert "another `sparkctl health` run for this target is still running" in result.output
    assert not db.exists() or not sqlite3.connect(db).execute("SELECT 1 FROM runs").fetchall()
    after = runner.invoke(app, ["health", "--cluster", str(path), "--db", str(db)])
    assert after.exit_code == 1  # the lock went with its holder


def test_wedged_node_stays_within_the_budget(tmp_path):
    # A node whose TCP stack accepts but whose sshd never speaks: the kernel completes the
    # handshake on a listening socket nobody serves, so SSH waits for a banner that never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        path = cluster_file(tmp_path, "wedged", port=silent.getsockname()[1])
        started = time.monotonic()
        result = sparkctl("health", "--cluster", str(path), "--no-history", "--budget", "4",
                          "-f", "json")
        elapsed = time.monotonic() - started
    doc = json.loads(result.stdout)
    assert result.returncode == 1
    assert doc["checks"][0]["id"] == "node.ssh" and doc["checks"][0]["verdict"] == "fail"
    assert doc["duration_s"] <= 4.0
    assert elapsed < 4.0 + 2.0  # + interpreter start and imports


def test_ten_concurrent_health_runs_share_one_db(tmp_path):
    db = tmp_path / "h.db"
    procs = [subprocess.Popen([sys.executable, "-m", "sparkctl", "health", "--cluster",
                               str(cluster_file(tmp_path, f"c{i}")), "--db", str(db), "--quiet"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for i in range(10)]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [1] * 10
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT target) FROM runs").fetchone() == (10, 10)
    assert con.execute("SELECT COUNT(*) FROM samples WHERE metric = 'node_up'").fetchone()[0] == 10


def test_history_table_json_and_metric_filter(tmp_path):
    db = tmp_path / "h.db"
    runner.invoke(app, ["health", "--cluster", str(cluster_file(tmp_path, "c")), "--db", str(db)])
    table = runner.invoke(app, ["health", "history", "--db", str(db), "--since", "1h"])
    assert table.exit_code == 0 and "fail" in table.output
    doc = json.loads(runner.invoke(app, ["health", "history", "--db", str(db), "-f", "json",
                                         "--metric", "node_up"]).output)
    assert [p["value"] for p in doc["points"]] == [0.0] and len(doc["runs"]) == 1
    unknown = runner.invoke(app, ["health", "history", "--db", str(db), "--metric", "nope"])
    assert unknown.exit_code == 2 and "recorded metrics: node_up" in unknown.output
    bad_since = runner.invoke(app, ["health", "history", "--db", str(db), "--since", "7 days"])
    assert bad_since.exit_code == 2 and "30m, 12h, 7d" in bad_since.output
    nodb = runner.invoke(app, ["health", "history", "--db", str(tmp_path / "none.db")])
    assert nodb.exit_code == 2 and "no health history" in nodb.output


def _store_bandwidth(db: Path, values: list[float]) -> None:
    from datetime import UTC, datetime

    from sparkctl.checks.result import Report
    from sparkctl.health.samples import Sample
    from sparkctl.health.store import HistoryStore

    rep = Report.from_checks([], started=datetime.now(UTC), duration_s=1)
    with HistoryStore(db) as store:
        for i, v in enumerate(values):
            store.record_run(rep, [Sample("rail_bandwidth_gbps", v, {"node": "spark-1",
                                                                      "iface": "enp1s0f1np1"},
                                          "Gb/s")], target="t", started_ts=time.time() - 600 + i)


def test_history_plot_draws_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    db, png = tmp_path / "h.db", tmp_path / "trend.png"
    _store_bandwidth(db, [96.0, 95.5, 96.2, 95.8, 60.0])
    result = runner.invoke(app, ["health", "history", "--db", str(db), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_plot_without_matplotlib_names_the_extra(tmp_path):
    db = tmp_path / "h.db"
    _store_bandwidth(db, [96.0])
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from sparkctl.cli.app import main; sys.argv = ['sparkctl', 'health', 'history', "
            f"'--db', {str(db)!r}, '--plot', {str(tmp_path / 't.png')!r}]; main()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert "pip install 'dgx-sparkctl[plot]'" in result.stderr
    assert not (tmp_path / "t.png").exists()


def test_every_maps_to_matching_systemd_and_cron_schedules():
    assert parse_every("15m") == parse_every(" 15m ")
    s = parse_every("15m")
    assert (s.on_calendar, s.cron_minute, s.cron_hour) == ("*:0/15", "*/15", "*")
    h = parse_every("6h")
    assert (h.on_calendar, h.cron_minute, h.cron_hour) == ("*-*-* 0/6:00:00", "0", "*/6")
    assert parse_every("60m") == parse_every("1h")
    for bad in ("7m", "15", "5h", "0m", "fast"):
        with pytest.raises(Exception, match="--every"):
            parse_every(bad)


def test_health_help_is_fast_to_import():
    result = sparkctl("health", "--help")
    assert result.returncode == 0 and "--budget" in result.stdout
    code = ("import sys, sparkctl.cli.health; "
            "print(any(m in sys.modules for m in ('paramiko', 'matplotlib', 'sqlite3')))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO).stdout.strip() == "False"


def test_output_file_is_written_in_every_format_even_with_quiet(tmp_path):
    path = cluster_file(tmp_path, "c")
    for fmt in ("table", "json", "junit", "prometheus"):
        out = tmp_path / "out" / f"health.{fmt}"
        result = runner.invoke(app, ["health", "--cluster", str(path), "--no-history",
                                     "--quiet", "-f", fmt, "-o", str(out)])
        assert result.exit_code == 1
        assert len(result.output.strip().splitlines()) == 1  # the cron line, nothing else
        text = out.read_text()
        assert "node.ssh" in text or 'sparkctl_node_up{node="spark-1"} 0.0' in text, fmt
    table = (tmp_path / "out" / "health.table").read_text()
    assert "verdict: fail" in table and "\x1b[" not in table


def test_budget_nan_or_inf_is_a_usage_error(tmp_path):
    path = cluster_file(tmp_path, "c")
    for value in ("nan", "inf", "0"):
        result = runner.invoke(app, ["health", "--cluster", str(path), "--no-history",
                                     "--budget", value])
        assert result.exit_code == 2 and "--budget" in result.output


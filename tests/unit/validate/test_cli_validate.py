"""`sparkctl validate` CLI: usage and environment errors (exit 2, no traceback) and the
history options (loopback only, no lab)."""

from typer.testing import CliRunner

from sparkctl.cli.app import app

runner = CliRunner()


def test_quick_and_only_together_is_a_usage_error():
    result = runner.invoke(app, ["validate", "--lab", "valnone", "--quick", "--only", "links"])
    assert result.exit_code == 2
    assert "--quick and --only" in result.output
    assert "Traceback" not in result.output


def test_unknown_lab_is_exit_2_with_a_hint():
    result = runner.invoke(app, ["validate", "--lab", "valnone"])
    assert result.exit_code == 2
    assert "no lab named 'valnone'" in result.output


def test_unknown_phase_is_rejected():
    result = runner.invoke(app, ["validate", "--lab", "valnone", "--only", "gpus"])
    assert result.exit_code == 2


def test_no_target_is_exit_2():
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 2 and "give exactly one target" in result.output


def unreachable_cluster(tmp_path):
    # Port 9 (discard) on loopback: nothing listens, so SSH is refused at once.
    path = tmp_path / "c.yaml"
    path.write_text("name: c\nplatform: dgx-spark\ntopology: single\n"
                    "nodes:\n  - {name: spark-1, address: 127.0.0.1, port: 9}\n")
    return path


def test_validate_run_is_recorded_in_the_health_history(tmp_path):
    from sparkctl.health.store import HistoryStore

    db = tmp_path / "h.db"
    result = runner.invoke(app, ["validate", "--cluster", str(unreachable_cluster(tmp_path)),
                                 "--quick", "--db", str(db), "--format", "json"])
    assert result.exit_code == 1, result.output
    with HistoryStore(db) as store:
        runs = store.runs()
    assert [(r.source, r.verdict) for r in runs] == [("validate", "fail")]


def test_no_history_writes_no_database(tmp_path):
    db = tmp_path / "h.db"
    result = runner.invoke(app, ["validate", "--cluster", str(unreachable_cluster(tmp_path)),
                                 "--quick", "--db", str(db), "--no-history"])
    assert result.exit_code == 1 and not db.exists()


def test_unusable_history_database_is_exit_2_before_measuring(tmp_path):
    db = tmp_path / "h.db"
    db.write_text("not a database, just text long enough to be read as a header" * 20)
    result = runner.invoke(app, ["validate", "--cluster", str(unreachable_cluster(tmp_path)),
                                 "--quick", "--db", str(db)])
    assert result.exit_code == 2
    assert "cannot open the health history" in result.output and "--db" in result.output

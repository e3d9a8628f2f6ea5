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


def test_output_file_is_the_report_in_every_format_also_with_quiet(tmp_path):
    import json
    import xml.etree.ElementTree as ET

    cluster = unreachable_cluster(tmp_path)
    for fmt in ("table", "json", "junit"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(app, ["validate", "--cluster", str(cluster), "--quick",
                                     "--no-history", "--format", fmt, "-o", str(out),
                                     "--quiet"])
        assert result.exit_code == 1, result.output
        # --quiet: one line on stdout for a run that is not healthy, the report in the file
        assert result.output.strip().startswith("sparkctl validate") and \
            len(result.output.strip().splitlines()) == 1
        text = out.read_text()
        if fmt == "json":
            assert json.loads(text)["verdict"] == "fail"
        elif fmt == "junit":
            suite = ET.fromstring(text).find("testsuite")
            # the unreachable node's SSH: nothing could be measured, so a JUnit error
            assert (suite.get("failures"), suite.get("errors")) == ("0", "1")
        else:
            assert "node.ssh" in text and "verdict: fail" in text and "\x1b[" not in text
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "c.yaml", "report.json", "report.junit", "report.table"]  # nothing half-written


def test_budget_must_be_finite_and_positive(tmp_path):
    cluster = unreachable_cluster(tmp_path)
    for value in ("nan", "inf", "0", "-5"):
        result = runner.invoke(app, ["validate", "--cluster", str(cluster), "--no-history",
                                     "--budget", value])
        assert result.exit_code == 2, (value, result.output)
        assert "--budget" in result.output and "Traceback" not in result.output


def test_nothing_to_check_is_exit_2_not_a_pass(tmp_path):
    """A budget too small to start anything: no check judged, the report says `skipped`
    (the CLI refuses budgets under 5 s; a library caller may give one)."""
    from sparkctl.engine.outcome import exit_code, nothing_checked
    from sparkctl.exitcodes import ExitCode
    from sparkctl.targets import resolve_target
    from sparkctl.validate.runner import ValidateOptions, validate_run

    target = resolve_target(cluster=unreachable_cluster(tmp_path))
    report = validate_run(target, ValidateOptions(budget_s=0.2)).report
    assert report.verdict == "skipped" and exit_code(report) is ExitCode.USAGE
    assert nothing_checked(report, "validate").startswith("validate checked nothing")
    assert report.checks and all(c.verdict == "skipped" for c in report.checks)


def test_only_preconditions_passing_is_no_pass():
    """`--only collective` on one reachable node: node.ssh passes, nothing else can run."""
    from datetime import UTC, datetime

    from sparkctl.checks.result import CheckResult, Report, Verdict
    from sparkctl.engine.outcome import exit_code, with_outcome
    from sparkctl.exitcodes import ExitCode

    checks = [CheckResult("node.ssh", "node", "spark-1", Verdict.PASS),
              CheckResult("collective.all_reduce", "collective", "cluster", Verdict.SKIPPED,
                          diagnosis="Not run: a collective needs two nodes or more")]
    report = with_outcome(Report.from_checks(checks, started=datetime.now(UTC), duration_s=1))
    assert report.verdict is Verdict.SKIPPED and exit_code(report) is ExitCode.USAGE
    down = [CheckResult("node.ssh", "node", "spark-1", Verdict.FAIL), checks[1]]
    failed = with_outcome(Report.from_checks(down, started=datetime.now(UTC), duration_s=1))
    assert failed.verdict is Verdict.FAIL and exit_code(failed) is ExitCode.FAILED

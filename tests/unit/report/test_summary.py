"""The terminal summary on whole reports judged by sparkctl's own judges: it fits 80
columns, marks each node/rail, and prints every problem with its diagnosis and fix."""


from typer.testing import CliRunner

from sparkctl.checks.result import Verdict
from sparkctl.report.summary import matrices, render_summary, visible_width
from sparkctl.report.terminal import terminal_for

from .runs import validate_report

CARRIER_DOWN = {("spark-2", "enp1s0f1np1"): dict(carrier=0, operstate="down", speed_mbps=-1)}
SLOW = {"spark-3/enP2p1s0f1np1": 61.0}
TITLE = "sparkctl validate: switch4 spark-1,spark-2,spark-3,spark-4"


def test_healthy_switch4_fits_80_columns_and_marks_every_rail():
    _, report = validate_report()
    text = render_summary(report, TITLE, width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "verdict: pass" in text and "Not passing" not in text
    rails = [line for line in lines if " p1 r" in line]
    assert len(rails) == 8  # 4 nodes x 2 twins
    header = next(line for line in lines if line.startswith("node") and " rail " in line)
    columns = len(header.split()) - 2  # every check column after "node rail"
    assert columns >= 9
    assert all(line.count("✓") == columns and "✗" not in line for line in rails)
    assert len(lines) < 40  # 121 checks at a glance (the full table takes hundreds)


def test_fault_is_marked_on_its_rail_and_explained_in_full():
    _, report = validate_report(netdev_faults=CARRIER_DOWN, slow_rails=SLOW)
    text = render_summary(report, TITLE, width=80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    assert "verdict: fail" in text
    spark2_r0 = next(line for line in lines if line.startswith("spark-2 p1 r0"))
    assert spark2_r0.split()[3] == "✗"  # the carrier column
    spark3_r1 = lines[lines.index(next(ln for ln in lines if ln.startswith("spark-3 p1"))) + 1]
    assert spark3_r1.split()[-1] == "!"  # the slow rail's bandwidth is degraded
    carrier = next(c for c in report.checks if c.id == "link.carrier"
                   and c.verdict is Verdict.FAIL)
    flat = " ".join(text.split())  # diagnosis and hint are wrapped over lines
    assert carrier.diagnosis in flat and f"fix: {carrier.hint}" in flat
    slow = next(c for c in report.checks if c.verdict is Verdict.DEGRADED)
    assert slow.diagnosis in flat and slow.hint in flat
    # worst first, the cause (carrier) before its effects (ping)
    assert flat.index("FAIL link.carrier") < flat.index("FAIL link.ping") \
        < flat.index("DEGRADED rail.bandwidth")
    # every failing check's subject is named
    for check in report.checks:
        if check.verdict is not Verdict.PASS:
            assert check.subject in flat


def test_ring3_four_rails_per_node_and_a_dead_node_fit():
    _, report = validate_report("ring3", 3, dead=("spark-3",))
    for width in (80, 60):
        text = render_summary(report, "sparkctl validate: ring3", width=width)
        assert all(len(line) <= width for line in text.splitlines())
    by_node, by_rail, cluster = matrices(report.checks)
    assert by_node.rows[2][2]["node.ssh"] is Verdict.FAIL
    assert len(by_rail.rows) == 12  # 3 nodes x 4 rails
    # spark-3's own link checks were not judged (it is down): only its rail tests show
    assert {tuple(cells) for node, _, cells in by_rail.rows if node == "spark-3"} == \
        {("rail.bandwidth",)}
    assert "node.ssh spark-3" in " ".join(text.split())


def test_skipped_and_info_have_their_own_marks():
    from dataclasses import replace

    _, report = validate_report()
    checks = [replace(c, verdict=Verdict.SKIPPED, diagnosis="the run's budget ran out")
              if c.id == "rail.bandwidth" else
              replace(c, verdict=Verdict.INFO) if c.id == "link.speed" else c
              for c in report.checks]
    text = render_summary(replace(report, checks=checks, verdict=Verdict.SKIPPED), TITLE)
    rail = next(line for line in text.splitlines() if line.startswith("spark-1 p1 r0"))
    assert rail.split()[-1] == "?" and rail.split()[4] == "i"
    assert "SKIPPED rail.bandwidth" in text and "budget ran out" in text


def test_colour_codes_take_no_width_and_are_only_there_when_asked():
    _, report = validate_report(netdev_faults=CARRIER_DOWN)
    plain = render_summary(report, TITLE, color=False)
    coloured = render_summary(report, TITLE, color=True)
    assert "\x1b[" not in plain and "\x1b[31m✗\x1b[0m" in coloured
    assert all(visible_width(line) <= 80 for line in coloured.splitlines())


class FakeTty:
    def __init__(self, tty):
        self.tty = tty

    def isatty(self):
        return self.tty

    def fileno(self):
        raise OSError("not a real terminal")


def test_terminal_colour_and_width_rules():
    assert terminal_for(FakeTty(True), {"TERM": "xterm"}).color
    assert not terminal_for(FakeTty(True), {"NO_COLOR": "1"}).color
    assert terminal_for(FakeTty(True), {"NO_COLOR": ""}).color  # set but empty: no effect
    assert not terminal_for(FakeTty(True), {"TERM": "dumb"}).color
    assert not terminal_for(FakeTty(False), {}).color
    assert not terminal_for(FakeTty(True), {}, plain=True).color
    assert terminal_for(FakeTty(False), {}).width == 80  # a pipe: 80, not 200
    assert terminal_for(FakeTty(False), {"COLUMNS": "132"}).width == 132
    assert terminal_for(FakeTty(False), {"COLUMNS": "junk"}).width == 80


def test_cli_validate_table_follows_columns_and_no_color(tmp_path, monkeypatch):
    """The real command on an unreachable node: COLUMNS=80 and NO_COLOR=1 give plain lines of
    at most 80 columns; COLUMNS=60 narrows it; --verbose gives the full table."""
    from sparkctl.cli.app import app

    cluster = tmp_path / "c.yaml"
    cluster.write_text("name: c\nplatform: dgx-spark\ntopology: single\n"
                       "nodes:\n  - {name: spark-1, address: 127.0.0.1, port: 9}\n")
    runner = CliRunner()
    args = ["validate", "--cluster", str(cluster), "--quick", "--no-history"]
    for columns in ("80", "60"):
        result = runner.invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": columns})
        assert result.exit_code == 1, result.output
        lines = result.stdout.splitlines()
        assert "\x1b[" not in result.stdout and "✗ FAIL node.ssh spark-1" in result.stdout
        assert max(len(line) for line in lines) <= int(columns)
    verbose = runner.invoke(app, [*args, "--verbose"], env={"COLUMNS": "120"})
    assert "Diagnosis" in verbose.stdout and "┃" in verbose.stdout
    assert max(len(line) for line in verbose.stdout.splitlines()) <= 120


def test_cli_health_table_is_the_summary_and_verbose_the_table(tmp_path):
    from sparkctl.cli.app import app

    cluster = tmp_path / "c.yaml"
    cluster.write_text("name: c\nplatform: dgx-spark\ntopology: single\n"
                       "nodes:\n  - {name: spark-1, address: 127.0.0.1, port: 9}\n")
    runner = CliRunner()
    args = ["health", "--cluster", str(cluster), "--no-history"]
    result = runner.invoke(app, args, env={"NO_COLOR": "1", "COLUMNS": "80"})
    assert result.exit_code == 1, result.output
    assert "✗ FAIL node.ssh spark-1" in result.stdout and "\x1b[" not in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    verbose = runner.invoke(app, [*args, "--verbose"], env={"COLUMNS": "100"})
    assert "diagnosis" in verbose.stdout and "┃" in verbose.stdout


def test_health_checks_land_on_their_node():
    """health's subjects ("spark-1:/var", "spark-1:/etc/sparkctl/nccl.env", "spark-1/gpu")
    are the node's, judged by health's own judges."""
    from datetime import UTC, datetime

    from sparkctl.checks.result import Report
    from sparkctl.health import drift, host

    checks = []
    for node, used in (("spark-1", 42), ("spark-2", 97)):
        disks = host.parse_df([
            "Filesystem 1024-blocks Used Available Capacity Mounted on",
            f"/dev/nvme0n1p2 1000000 {used * 10000} {(100 - used) * 10000} {used}% /"])
        checks += host.judge_disks(node, disks).checks
        checks += drift.judge_hostfile(node, "/etc/sparkctl/hostfile", True, "spark-1\n",
                                       "spark-1\nspark-2\n").checks
    report = Report.from_checks(checks, started=datetime(2026, 12, 1, tzinfo=UTC),
                                duration_s=1.0)
    by_node, by_rail, _ = matrices(report.checks)
    assert [n for n, _, _ in by_node.rows] == ["spark-1", "spark-2"] and not by_rail.rows
    assert by_node.rows[0][2]["host.disk"] is Verdict.PASS
    assert by_node.rows[1][2]["host.disk"] is Verdict.FAIL
    text = render_summary(report, "sparkctl health: c")
    assert "FAIL host.disk spark-2:/" in text and "docker system prune" in " ".join(text.split())

"""Usage and environment errors of `sparkctl validate` (exit 2, no traceback, no network)."""

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

"""The two undo commands' CLI without nodes: help that teaches, bad input exits 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.undo.run import UndoRequest, undo_extravars

runner = CliRunner(env={"COLUMNS": "200"})


@pytest.mark.parametrize("argv,words", [
    (["uninstall", "--help"], ["--keep-nccl", "--keep-access", "--ask-become-pass",
                               "--become-password-stdin", "pre-sparkctl journal", "Exit 0"]),
    (["network", "restore", "--help"], ["pre-sparkctl.json", "file by file", "netplan apply",
                                        "--become-password-stdin", "Exit 0"]),
])
def test_help_says_what_it_does_and_how_it_exits(argv, words):
    result = runner.invoke(app, argv)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in words:
        assert word in text, word


def test_both_password_options_are_refused_with_exit_2():
    result = runner.invoke(app, ["uninstall", "--topology", "direct", "--hosts", "a,b", "-K",
                                 "--become-password-stdin"])
    assert result.exit_code == 2
    assert "exclude each other" in result.output


def test_no_target_is_an_input_error():
    result = runner.invoke(app, ["network", "restore"])
    assert result.exit_code == 2


def test_extravars_carry_the_kept_groups_and_an_unknown_group_is_refused():
    assert undo_extravars(UndoRequest(keep_groups=("nccl",), keep_access=True)) == {
        "undo_keep_groups": ["nccl"], "undo_keep_access": True}
    from sparkctl.errors import InputError

    with pytest.raises(InputError, match="unknown group to keep: docker"):
        undo_extravars(UndoRequest(keep_groups=("docker",)))

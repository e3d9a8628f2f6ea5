"""Passwords come from one line of stdin or a terminal prompt; bad option combinations are
usage errors (exit 2) before anything is contacted."""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from sparkctl.bootstrap.run import BootstrapRequest, check_request
from sparkctl.bootstrap.secrets import Secret, read_secret
from sparkctl.bootstrap.steps import check_user
from sparkctl.cli.app import app
from sparkctl.errors import InputError

runner = CliRunner()


def test_one_line_of_stdin_is_the_password_and_the_rest_is_left():
    stream = io.StringIO("p@ss word\nsecond line\n")
    secret = read_secret("x", from_stdin=True, stdin_option="--password-stdin", stream=stream)
    assert secret.reveal() == "p@ss word" and stream.read() == "second line\n"


@pytest.mark.parametrize("text,message", [("", "stdin is empty"), ("\n", "empty")])
def test_an_empty_stdin_password_is_refused(text, message):
    with pytest.raises(InputError, match=message):
        read_secret("x", from_stdin=True, stdin_option="--password-stdin",
                    stream=io.StringIO(text))


def test_no_terminal_and_no_stdin_option_is_an_input_error():
    with pytest.raises(InputError, match="no terminal"):
        read_secret("x", from_stdin=False, stdin_option="--password-stdin",
                    stream=io.StringIO("typed\n"))


def test_a_secret_never_prints_itself():
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) and "hunter2" not in f"{secret}"
    assert "hunter2" not in repr({"password": secret})


@pytest.mark.parametrize("user", ["nvidia", "_svc", "a-b_c1"])
def test_valid_login_names(user):
    assert check_user(user) == user


@pytest.mark.parametrize("user", ["Root", "first.last", "a b", "x;rm", "", "9lives", "a" * 33])
def test_invalid_login_names_are_refused(user):
    with pytest.raises(InputError, match="invalid user name"):
        check_user(user)


def test_accept_new_and_fingerprints_exclude_each_other(tmp_path):
    with pytest.raises(InputError, match="exclude each other"):
        check_request(BootstrapRequest(accept_new=True, fingerprints=tmp_path / "f"))


def test_cli_bootstrap_without_a_terminal_needs_password_stdin():
    result = runner.invoke(app, ["bootstrap", "--topology", "direct"], input="pw\n")
    assert result.exit_code == 2
    assert "no terminal to ask the password on" in result.output
    assert "--password-stdin" in result.output and "Traceback" not in result.output


def test_cli_bootstrap_refuses_a_bad_user_before_contacting_anything():
    result = runner.invoke(app, ["bootstrap", "--topology", "direct", "--password-stdin",
                                 "--user", "bad.user"], input="pw\n")
    assert result.exit_code == 2 and "invalid user name" in result.output


@pytest.mark.parametrize("command", [["provision", "--topology", "single"],
                                     ["health", "install", "--topology", "single"]])
def test_become_options_exclude_each_other(command):
    result = runner.invoke(app, [*command, "-K", "--become-password-stdin"], input="pw\n")
    assert result.exit_code == 2 and "exclude each other" in result.output


def test_ask_become_pass_without_a_terminal_is_an_input_error():
    result = runner.invoke(app, ["provision", "--topology", "single", "-K"], input="")
    assert result.exit_code == 2 and "no terminal" in result.output

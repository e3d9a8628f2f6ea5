"""Bootstrap's trust decisions against a real SSH server on 127.0.0.1 (paramiko's server,
which refuses every password): what is asked, what is pinned, what is never sent."""

from __future__ import annotations

import pytest
import yaml

from sparkctl.bootstrap.hostkeys import HostKey, pinned_keys
from sparkctl.bootstrap.run import BootstrapRequest, Prompter, bootstrap
from sparkctl.bootstrap.secrets import Secret
from sparkctl.errors import InputError
from sparkctl.render.inventory import build_inventory
from sparkctl.targets import resolve_target

from .sshserver import KeyServer, make_key


@pytest.fixture(autouse=True)
def state(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKCTL_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def node(tmp_path):
    key = make_key(tmp_path / "hostkey")
    server = KeyServer([key])
    yield server, HostKey(key.get_name(), key.asbytes())
    server.close()


def _target(tmp_path, port: int):
    data = build_inventory(resolve_target(topology="single").cluster)
    host = data["all"]["children"]["sparks"]["hosts"]["spark-1"]
    host.update({"ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": "nvidia"})
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(data))
    return resolve_target(inventory=path)


class Answers(Prompter):
    def __init__(self, *answers: bool) -> None:
        self.answers, self.said, self.asked = list(answers), [], []

    def confirm(self, text: str) -> bool:
        self.asked.append(text)
        return self.answers.pop(0)

    def say(self, text: str) -> None:
        self.said.append(text)


class Passwords:
    def __init__(self) -> None:
        self.reads = 0

    def __call__(self) -> Secret:
        self.reads += 1
        return Secret("not-the-password")


def _pinned(tmp_path, port: int) -> list[HostKey]:
    path = next((tmp_path / "state" / "clusters").glob("c-*/known_hosts"))
    return [k for k, _ in pinned_keys([path], f"[127.0.0.1]:{port}")]


def test_declining_the_fingerprints_changes_nothing_and_sends_no_password(tmp_path, node):
    server, key = node
    prompter, password = Answers(False), Passwords()
    with pytest.raises(InputError, match="host keys not confirmed; nothing was changed"):
        bootstrap(_target(tmp_path, server.port), BootstrapRequest(interactive=True),
                  password, prompter)
    assert any(key.fingerprint("spark-1") in line for line in prompter.said)
    assert password.reads == 0 and _pinned(tmp_path, server.port) == []
    assert not list((tmp_path / "state" / "clusters").glob("c-*/login_ed25519"))


def test_confirmed_keys_are_pinned_then_a_refused_password_names_the_node(tmp_path, node):
    server, key = node
    prompter, password = Answers(True, True), Passwords()
    result = bootstrap(_target(tmp_path, server.port), BootstrapRequest(interactive=True),
                       password, prompter)
    assert len(prompter.asked) == 2 and "Go ahead" in prompter.asked[1]
    assert password.reads == 1
    assert _pinned(tmp_path, server.port) == [key]
    (report,) = result.nodes
    assert not result.ok and report.host_key == "pinned (confirmed by you)"
    assert report.error == ("password login refused: wrong password, or no user 'nvidia' "
                            "on spark-1")


def test_without_a_terminal_keys_need_accept_new_or_fingerprints(tmp_path, node):
    server, _ = node
    with pytest.raises(InputError, match="without a terminal") as err:
        bootstrap(_target(tmp_path, server.port), BootstrapRequest(), Passwords())
    assert "--fingerprints FILE" in err.value.hint and "--accept-new" in err.value.hint


def test_accept_new_says_plainly_that_it_trusts_on_first_use(tmp_path, node):
    server, key = node
    prompter = Answers()
    result = bootstrap(_target(tmp_path, server.port), BootstrapRequest(accept_new=True),
                       Passwords(), prompter)
    assert prompter.said[0] == "Trusting host keys on first use (--accept-new), NOT verified:"
    assert result.nodes[0].host_key == "pinned on first use (--accept-new: not verified)"
    assert _pinned(tmp_path, server.port) == [key]


def test_a_changed_key_is_refused_even_with_accept_new_until_repinned(tmp_path, node):
    server, key = node
    target = _target(tmp_path, server.port)
    bootstrap(target, BootstrapRequest(accept_new=True), Passwords())
    other = make_key(tmp_path / "impostor")
    server.keys = [other]  # another machine at the same address
    password = Passwords()
    result = bootstrap(target, BootstrapRequest(accept_new=True), password)
    (report,) = result.nodes
    assert report.error.startswith("HOST KEY CHANGED") and "--repin spark-1" in report.error
    assert key.sha256 in report.error
    assert HostKey(other.get_name(), other.asbytes()).sha256 in report.error
    assert password.reads == 0  # nothing, not even the password, went to the impostor
    assert _pinned(tmp_path, server.port) == [key]
    bootstrap(target, BootstrapRequest(accept_new=True, repin=("spark-1",)), Passwords())
    assert _pinned(tmp_path, server.port) == [HostKey(other.get_name(), other.asbytes())]


def test_repin_of_an_unknown_node_is_an_input_error(tmp_path, node):
    server, _ = node
    with pytest.raises(InputError, match="--repin spark-9: no such node"):
        bootstrap(_target(tmp_path, server.port),
                  BootstrapRequest(accept_new=True, repin=("spark-9",)), Passwords())


def test_a_named_key_needs_both_halves_and_is_checked_before_any_contact(tmp_path, node):
    server, _ = node
    public = tmp_path / "mine.pub"
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ9 me\n")
    password = Passwords()
    with pytest.raises(InputError, match="no private key"):
        bootstrap(_target(tmp_path, server.port),
                  BootstrapRequest(accept_new=True, key=public), password)
    assert server.handshakes == 0 and password.reads == 0

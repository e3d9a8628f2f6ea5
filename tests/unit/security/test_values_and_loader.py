"""The field validators and the bounded loader, value by value."""

from __future__ import annotations

import pytest

from sparkctl import values
from sparkctl.errors import InputError
from sparkctl.quoting import comment_text, yaml_scalar
from sparkctl.yamlload import Limits, MarkedMap, load_yaml_text, read_bounded_text

GOOD = {
    values.host_name: ["spark-1", "a", "A0-b"],
    values.cluster_name: ["ring3", "lab.3_a-b", "x" * 63],
    values.user_name: ["nvidia", "_svc", "a.b-c"],
    values.address: ["10.0.0.11", "::1", "spark-1", "spark-1.lan", "spark-1.lan."],
    values.interface_name: ["enp1s0f0np0", "enP7s7", "eth0.100"],
    values.env_value: ["rocep1s0f0,roceP2p1s0f0", "3", 3, "/usr/lib/x:/y", "a=b"],
    values.image_ref: ["nvcr.io/nvidia/vllm:26.05-py3", "lmsysorg/sglang@sha256:ab"],
    values.model_id: ["openai/gpt-oss-120b", "/models/llama"],
    values.path_text: ["/home/me/My Keys/id", "relative/key"],
}
BAD = {
    values.host_name: ["-a", "a-", "a.b", "a b", "a\n", "x" * 64, "", 5, None],
    values.cluster_name: ["a/b", "../x", ".hidden", "a b", "a\nb", "", "x" * 64],
    values.user_name: ["-root", "a b", "a;b", "x" * 33, "a$"],
    values.address: ["10.0.0.300", "a b", "a_b", "-x", "x\n", "1.2.3", ""],
    values.interface_name: ["x" * 16, "eth 0", "eth0/1", "-x", "eth0\n"],
    values.env_value: ["$(id)", "`id`", "a;b", "a b", "'", "", "a\n", True, 1.5, None],
    values.image_ref: ["-x", "a b", "a\nb", "a;b"],
    values.model_id: ["-x", "a b", "$(id)", "a\n"],
    values.path_text: ["", "-rf", "/a;b", "/a$(b)", "/a`b`", "/a\nb", "/a'b"],
}


@pytest.mark.parametrize(("check", "value"), [(c, v) for c, vs in GOOD.items() for v in vs])
def test_good_values_pass(check, value):
    check(value)


@pytest.mark.parametrize(("check", "value"), [(c, v) for c, vs in BAD.items() for v in vs])
def test_bad_values_are_refused_with_a_bounded_message(check, value):
    with pytest.raises(values.BadValue) as err:
        check(value)
    assert len(err.value.message) < 200
    assert "\n" not in err.value.message


def test_every_validated_string_is_shell_inert():
    """The design rule: a valid name, user, address or env value needs no shell quoting."""
    import shlex

    for check in (values.host_name, values.cluster_name, values.user_name, values.address,
                  values.interface_name, values.env_value, values.image_ref):
        for value in GOOD[check]:
            assert shlex.quote(str(check(value))) == str(value), (check, value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, True, "5"])
def test_finite_number_refuses(value):
    with pytest.raises(values.BadValue):
        values.finite_number(value, 0, 10)


def test_shown_is_bounded_for_every_kind():
    assert len(values.shown("x" * 10_000)) < 80
    assert values.shown(list(range(10**5))) == "a list of 100000 items"
    assert values.shown({"a": 1}) == "a mapping of 1 key"
    assert "digits" in values.shown(10 ** 500)
    assert "\\n" in values.shown("a\nb")


def test_yaml_scalar_round_trips_and_stays_on_one_line():
    for value in ["plain", "a: b", "- x", "yes", "null", "1.5", "a\nb", "#x", "'q'", 9000]:
        text = yaml_scalar(value)
        assert "\n" not in text
        assert load_yaml_text(f"k: {text}\n", "t")["k"] == value
    assert comment_text("a\nb\x1b") == "a\\nb\\x1b"


def _refused(text: str, limits: Limits | None = None) -> str:
    with pytest.raises(InputError) as err:
        load_yaml_text(text, "f.yaml", **({"limits": limits} if limits else {}))
    assert len(str(err.value)) < 400
    return str(err.value)


def test_loader_caps():
    assert "nested deeper than 64" in _refused("a: " + "[" * 70 + "]" * 70)
    bomb = "a: &a [x, x]\n" + "".join(f"b{i}: &b{i} [*{'a' if i == 0 else f'b{i - 1}'}, "
                                     f"*{'a' if i == 0 else f'b{i - 1}'}]\n"
                                     for i in range(30))
    assert "aliases repeat" in _refused(bomb)
    assert "more than 3 aliases" in _refused("a: &a 1\nb: [*a, *a, *a, *a]\n",
                                             Limits(max_aliases=3))
    assert "recursive" in _refused("a: &a [1, *a]\n")
    assert "plain value" in _refused("? [a]\n: 1\n")
    assert "appears twice" in _refused("a: 1\na: 2\n")
    assert "larger than 1 KiB" in _refused("a: " + "x" * 2000, Limits(max_bytes=1024))
    assert "f.yaml:2:4:" in _refused("a: 1\nb: ]\n")


def test_loader_keeps_positions_and_merges():
    doc = load_yaml_text("d: &d {x: 1}\ne:\n  <<: *d\n  y: 2\n", "f", positions=True)
    assert isinstance(doc, MarkedMap) and doc["e"] == {"x": 1, "y": 2}
    assert doc.value_marks["e"].line == 2


def test_read_bounded_text_stops_at_the_cap(tmp_path):
    path = tmp_path / "big"
    path.write_text("x" * 5000)
    with pytest.raises(InputError, match="larger than"):
        read_bounded_text(path, max_bytes=4096)
    assert read_bounded_text(path, max_bytes=8192) == "x" * 5000

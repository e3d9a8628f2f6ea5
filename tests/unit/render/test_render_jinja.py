from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from sparkctl.errors import InputError
from sparkctl.render.bundle import content_dir, previews_for, role_defaults
from sparkctl.render.jinja import render_file, strict_environment
from sparkctl.targets import resolve_target

ROLES = content_dir("playbooks") / "roles"


def test_strict_environment_refuses_missing_variables():
    env = strict_environment(ROLES / "nccl" / "templates")
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("nccl.env.j2").render(inventory_hostname="n1")


def test_missing_variable_is_an_input_error_naming_template_and_variable():
    target = resolve_target(topology="direct")
    hostvars = {name: dict(hvars) for name, hvars in target.hostvars.items()}
    for hvars in hostvars.values():
        del hvars["sparkctl_mtu"]
        for iface in hvars["sparkctl_interfaces"]:
            del iface["mtu"]
    with pytest.raises(InputError) as err:
        previews_for(hostvars, {"all": target.node_names, "sparks": target.node_names}, ROLES)
    assert "40-sparkctl.yaml.j2" in str(err.value) and "mtu" in str(err.value)


def test_templated_role_defaults_stay_out_of_previews():
    defaults = role_defaults(ROLES)
    assert "ssh_mesh_key_dir" not in defaults  # it is Jinja; previews must not print it raw
    assert defaults["network_cx7_netdevs"][0] == "enp1s0f0np0"


def test_render_file_reports_template_syntax_errors(tmp_path: Path):
    bad = tmp_path / "bad.j2"
    bad.write_text("{% for x in %}")
    with pytest.raises(InputError, match="cannot be rendered"):
        render_file(bad, {})

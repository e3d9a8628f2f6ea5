"""Every role documents its inputs in meta/argument_specs.yml, and what sparkctl's inventories
give the roles passes that validation (ansible-core runs it before a role's first task)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from sparkctl.render.inventory import build_inventory
from sparkctl.targets import resolve_target
from sparkctl.topology.builtins import BUILTINS

ROLES_DIR = Path(__file__).resolve().parents[3] / "playbooks" / "roles"
ROLES = sorted(p.name for p in ROLES_DIR.iterdir() if (p / "meta").is_dir())


def spec(role: str) -> dict:
    data = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
    return data["argument_specs"]["main"]


def defaults(role: str) -> dict:
    path = ROLES_DIR / role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def test_roles_found():
    assert {"preflight", "network", "ssh_mesh", "rdma", "drivers", "mpi", "nccl", "runtime",
            "health_timer", "sparkctl_common"} <= set(ROLES)


def _templated(value) -> bool:
    return "{{" in json.dumps(value)


@pytest.mark.parametrize("role", ROLES)
def test_every_default_is_documented_with_its_value(role):
    options = spec(role).get("options") or {}
    for name, value in defaults(role).items():
        assert name in options, (
            f"roles/{role}/defaults/main.yml has {name} but meta/argument_specs.yml does not "
            "document it: add it there (type, default, description)")
        if _templated(value):
            # ansible-core templates the spec it validates with: a Jinja default there would
            # be evaluated (and fail on an undefined input) instead of documented.
            assert "default" not in options[name], f"{role}: {name}: describe, do not template"
            assert "Default:" in json.dumps(options[name]["description"]), (role, name)
        else:
            assert options[name].get("default") == value, (
                f"{role}: argument_specs default of {name} differs from defaults/main.yml")
    for name, option in options.items():
        assert option.get("description"), f"{role}: {name} has no description"
        if "default" in option:
            assert name in defaults(role), f"{role}: {name} has a spec default but no default"
        elif name not in defaults(role):
            assert option.get("required"), f"{role}: {name} is neither required nor defaulted"


@pytest.mark.parametrize("role", ROLES)
def test_no_jinja_in_a_spec(role):
    assert "{{" not in (ROLES_DIR / role / "meta" / "argument_specs.yml").read_text()


@pytest.mark.parametrize("role", ROLES)
def test_required_inputs_are_what_sparkctl_provides(role):
    inventory = build_inventory(resolve_target(topology="ring3").cluster)
    group = inventory["all"]["children"]["sparks"]
    given = set(group["vars"]) | set(group["hosts"]["spark-1"])
    runtime_vars = {"runtime_launch", "runtime_nodes"}  # from `sparkctl runtime render`
    required = {n for n, o in (spec(role).get("options") or {}).items() if o.get("required")}
    assert required <= given | runtime_vars, required - given - runtime_vars


def _inventories():
    for name in BUILTINS:
        yield name, build_inventory(resolve_target(topology=name).cluster)
    # The lab's inventory adds connection variables per host (sparkctl/lab/lifecycle.py).
    lab = build_inventory(resolve_target(topology="switch3").cluster, host_vars={
        h: {"ansible_user": "root", "ansible_ssh_private_key_file": "/k",
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=yes"}
        for h in ("spark-1", "spark-2", "spark-3")},
        group_vars={"sparkctl_platform": "lab", "sparkctl_lab_scale": 100.0})
    yield "lab-switch3", lab


@pytest.mark.parametrize(("topology", "inventory"), list(_inventories()),
                         ids=[name for name, _ in _inventories()])
def test_sparkctl_inventories_pass_every_role_spec(topology, inventory):
    group = inventory["all"]["children"]["sparks"]
    runtime = {"runtime_launch": {"runtime": "vllm"}, "runtime_nodes": {"spark-1": {}}}
    for host, host_vars in group["hosts"].items():
        for role in ROLES:
            options = spec(role).get("options") or {}
            visible = {**defaults(role), **group["vars"], **host_vars, **runtime}
            given = {k: v for k, v in visible.items() if k in options}
            result = ArgumentSpecValidator(options).validate(given)
            assert not result.error_messages, (topology, host, role, result.error_messages)


def test_validation_can_fail_on_a_wrong_type():
    options = spec("network")["options"]
    result = ArgumentSpecValidator(options).validate(
        {"sparkctl_platform": "lab", "sparkctl_cluster_name": "c", "sparkctl_topology": "t",
         "sparkctl_interfaces": "enp1s0f1np1"})
    assert any("sparkctl_interfaces" in m for m in result.error_messages)


def test_a_standalone_role_stops_before_its_first_task(tmp_path):
    """The first wave's mpi role ran apt, then failed on undefined variables. Now every role
    with required inputs fails at ansible-core's argument validation, before any task."""
    out = tmp_path / "failures.json"
    roles = [r for r in ROLES
             if any(o.get("required") for o in (spec(r).get("options") or {}).values())]
    tasks = []
    for role in roles:
        tasks.append({
            "name": f"Run {role} alone",
            "block": [{"ansible.builtin.include_role": {"name": role}}],
            "rescue": [{"ansible.builtin.set_fact": {"failures": "{{ failures | combine({'"
                        + role + "': {'task': ansible_failed_task.name, "
                        "'msg': ansible_failed_result.msg}}) }}"}}],
        })
    tasks.append({"name": "Report", "ansible.builtin.copy": {
        "content": "{{ failures | to_json }}", "dest": str(out), "mode": "0600"}})
    play = [{"name": "Standalone roles", "hosts": "localhost", "gather_facts": False,
             "vars": {"failures": {}}, "tasks": tasks}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(ROLES_DIR), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "False"}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"),
                           "-i", "localhost,", "-c", "local", str(tmp_path / "play.yml"),
                           "-e", f"ansible_python_interpreter={sys.executable}"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    failures = json.loads(out.read_text())
    assert sorted(failures) == sorted(roles)
    for role, failure in failures.items():
        assert failure["task"].startswith("Validating arguments against arg spec"), (role, failure)
        # ssh_mesh's key_dir default names the cluster: validating it already finds the
        # missing input (ansible-core's "is undefined"), still before the role's first task.
        assert "missing required arguments" in failure["msg"] or (
            role == "ssh_mesh" and "'sparkctl_cluster_name' is undefined" in failure["msg"]), \
            (role, failure)
    assert "sparkctl_mpi_hostfile" in failures["mpi"]["msg"]
    # Nothing but the validations ran.
    role_tasks = [line for line in proc.stdout.splitlines()
                  if line.startswith("TASK [") and " : " in line
                  and " : Validating arguments" not in line and "include_role" not in line]
    assert role_tasks == []

"""Writing a launch plan as files: per-node launch.sh and runtime.env from the runtime role's
own templates (the same ones Ansible writes on the nodes), plus the role's variables.

Layout of the output directory (replaced whole, never half-written):
    launch.json          the plan (runtime, model, image, TP/PP, endpoint, every node)
    runtime-vars.yml     the role's variables: `ansible-playbook runtime.yml -e @runtime-vars.yml`
    <node>/launch.sh     start | wait | serve | stop | status for that node
    <node>/runtime.env   the container's environment (docker --env-file)
    <node>/...           runtime extras (TRT-LLM: hostfile, ssh_config, trtllm-sshd.sh)
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

import jinja2
import yaml

from sparkctl.errors import InputError
from sparkctl.fileio import check_replaceable_dir, swap_dir_into_place, write_file
from sparkctl.render.bundle import content_dir, dump_yaml
from sparkctl.render.jinja import strict_environment
from sparkctl.runtime.launch import LaunchPlan

MARKER = ".sparkctl-runtime"
ROLE = "runtime"
NODE_TEMPLATES = {"launch.sh": ("launch.sh.j2", 0o755), "runtime.env": ("runtime.env.j2", 0o644)}


def role_dir() -> Path:
    return content_dir("playbooks") / "roles" / ROLE


def role_vars(plan: LaunchPlan) -> dict[str, Any]:
    """The variables `sparkctl runtime up` hands the role (as extra vars)."""
    return {"runtime_launch": plan.launch_vars(),
            "runtime_nodes": {n.name: n.to_vars() for n in plan.nodes}}


def _role_defaults() -> dict[str, Any]:
    path = role_dir() / "defaults" / "main.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {k: v for k, v in data.items() if "{{" not in json.dumps(v)}


def node_files(plan: LaunchPlan) -> dict[str, tuple[str, int]]:
    """relative path -> (text, mode) of every file the role writes on every node."""
    env = strict_environment(role_dir() / "templates")
    env.filters["quote"] = shlex.quote  # Ansible's `quote` filter is shlex.quote too
    base = {**_role_defaults(), **role_vars(plan)}
    files: dict[str, tuple[str, int]] = {}
    for node in plan.nodes:
        context = {**base, "runtime_node": node.to_vars(), "inventory_hostname": node.name}
        for name, (template, mode) in NODE_TEMPLATES.items():
            files[f"{node.name}/{name}"] = (_render(env, template, context), mode)
        for name, text in node.files.items():
            files[f"{node.name}/{name}"] = (text, 0o755 if name.endswith(".sh") else 0o644)
    return files


def _render(env: jinja2.Environment, template: str, context: dict[str, Any]) -> str:
    try:
        return env.get_template(template).render(**context)
    except jinja2.UndefinedError as exc:
        raise InputError(f"runtime template {template} needs a variable the plan lacks: "
                         f"{exc.message}") from None
    except jinja2.TemplateError as exc:
        raise InputError(f"runtime template {template} cannot be rendered: {exc}") from None


_README = """\
# sparkctl runtime: {runtime} serving {model} on {cluster}

Rendered by `sparkctl runtime render`. Each node directory holds what the runtime role
writes to {node_dir}/ on that node. By hand, on each node (node 1 first):

    sudo {node_dir}/launch.sh start      # the container (Ray head/worker, sshd, or server)
    sudo {node_dir}/launch.sh wait       # node 1: every peer joined
    sudo {node_dir}/launch.sh download   # node 1: the model into every node's cache
    sudo {node_dir}/launch.sh serve      # node 1: the server inside the container

Not rendered here:
- {node_dir}/secrets.env (mode 0600): HF_TOKEN for gated models. `sparkctl runtime up`
  copies it from the controller's environment; by hand:
  printf 'HF_TOKEN=%s\\n' "$HF_TOKEN" | sudo install -m 600 /dev/stdin {node_dir}/secrets.env
- /etc/sparkctl/rdma.env: the RoCE GID index the rdma role measured on that node
  (`sparkctl provision`); multi-node containers read it as a second --env-file.

Or with Ansible: `sparkctl runtime up ...`, or
`ansible-playbook -i inventory.yml runtime.yml -e @runtime-vars.yml` from a sparkctl bundle.
Endpoint: {endpoint}/v1 (OpenAI-compatible).
"""


def render_launch_dir(plan: LaunchPlan, out_dir: str | Path) -> Path:
    """Write every file for `plan` into out_dir, replacing an earlier render there whole."""
    out = Path(out_dir).absolute()
    check_replaceable_dir(out, MARKER, "runtime render")
    files = node_files(plan)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for rel, (text, mode) in files.items():
            write_file(staging / rel, text, mode)
        write_file(staging / "launch.json", json.dumps(plan.to_dict(), indent=2) + "\n")
        write_file(staging / "runtime-vars.yml",
               dump_yaml(role_vars(plan), "# Variables of the runtime role, written by "
                         "sparkctl runtime render.\n"))
        write_file(staging / "README.md", _README.format(
            runtime=plan.runtime, model=plan.model, cluster=plan.cluster,
            node_dir=_role_defaults().get("runtime_dir", "/etc/sparkctl/runtime"),
            endpoint=plan.endpoint))
        write_file(staging / MARKER, json.dumps({"runtime": plan.runtime, "cluster": plan.cluster,
                                             "model": plan.model}) + "\n")
        os.chmod(staging, 0o755)
        swap_dir_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out

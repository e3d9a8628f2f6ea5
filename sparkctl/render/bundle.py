"""A self-contained Ansible bundle for one target: inventory, vars, ansible.cfg, site.yml, roles.

`ansible-playbook -i DIR/inventory.yml DIR/site.yml` works on a bundle with no sparkctl
installed. The bundle also carries `preview/<host>/`: the files the roles will write on each
node (netplan, nccl.env, hostfile, ssh config), rendered here from the roles' own templates
with StrictUndefined, for review and golden tests.

Where the Ansible content lives: `content_dir()` looks, in order, at $SPARKCTL_CONTENT_DIR,
the installed package data (sparkctl/data/{playbooks,templates}) and the source checkout
(the repository's playbooks/ and templates/ next to the sparkctl package).
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sparkctl.cluster import spec_from_inventory_doc
from sparkctl.errors import EnvironmentProblem, InputError
from sparkctl.fileio import (
    cannot_write,
    check_replaceable_dir,
    staging_dir_for,
    swap_dir_into_place,
    write_file,
)
from sparkctl.render.inventory import build_inventory
from sparkctl.render.jinja import render_file
from sparkctl.targets import Target
from sparkctl.yamlload import load_yaml_text, read_bounded_text

MARKER = ".sparkctl-bundle"
SPARK_GROUP = "sparks"
# The roles whose defaults the previewed templates read.
_PREVIEW_DEFAULTS = ("network", "ssh_mesh", "mpi", "nccl")
# preview file name -> (role, template): what each role writes on a node.
PREVIEWS: dict[str, tuple[str, str]] = {
    "40-sparkctl.yaml": ("network", "40-sparkctl.yaml.j2"),
    "nccl.env": ("nccl", "nccl.env.j2"),
    "hostfile": ("mpi", "hostfile.j2"),
    "ssh_config": ("ssh_mesh", "ssh_config.j2"),
}
ROLES = ("preflight", "network", "ssh_mesh", "rdma", "drivers", "mpi", "nccl", "earlyoom")


def content_dir(name: str) -> Path:
    """The directory of `playbooks` or `templates` (see the module docstring for the order)."""
    candidates = []
    override = os.environ.get("SPARKCTL_CONTENT_DIR")
    if override:
        candidates.append(Path(override) / name)
    package = Path(__file__).resolve().parents[1]
    candidates += [package / "data" / name, package.parent / name]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise EnvironmentProblem(
        f"cannot find sparkctl's {name}/ directory (looked in "
        + ", ".join(str(c) for c in candidates) + ")",
        hint="reinstall sparkctl, or point SPARKCTL_CONTENT_DIR at a checkout")


def state_root() -> Path:
    """Per-user state: cluster keys, SSH control sockets, run records."""
    override = os.environ.get("SPARKCTL_STATE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sparkctl"


@dataclass(frozen=True)
class BundleOptions:
    tuned: bool = True  # False: Ansible defaults, for the benchmark's comparison only
    forks: int | None = None
    key_dir: Path | None = None  # controller-side cluster key pair
    control_path_dir: Path | None = None
    cluster_id: str | None = None  # the cluster store's id (sparkctl.bootstrap.store)


@dataclass(frozen=True)
class Bundle:
    root: Path
    cluster_name: str
    hosts: tuple[str, ...]

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.yml"

    @property
    def playbook(self) -> Path:
        return self.root / "site.yml"

    @property
    def config(self) -> Path:
        return self.root / "ansible.cfg"


# --- inventory ------------------------------------------------------------------------------

def inventory_for(target: Target) -> tuple[dict, str]:
    """(parsed inventory, its text). An existing inventory is kept verbatim: a lab's carries
    the controller's SSH key and known_hosts settings that a rebuilt one would lose."""
    if target.inventory_path is not None:
        path = str(target.inventory_path)
        text = read_bounded_text(path, "inventory")
        # Validated again as read now: what is copied is what was checked.
        spec_from_inventory_doc(load_yaml_text(text, path, positions=True), path)
        return load_yaml_text(text, path), text
    data = build_inventory(target.cluster)
    return data, dump_yaml(data, "# Written by sparkctl render; regenerate rather than edit.\n")


class _IndentedDumper(yaml.SafeDumper):
    """Block sequences indented under their key, as yamllint (ansible-lint) expects."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    if style is None and "{{" in value and "'" in value and '"' not in value:
        style = '"'  # Jinja with quoted arguments reads as written, not with doubled quotes
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_IndentedDumper.add_representer(str, _represent_str)


def dump_yaml(data: Any, header: str = "", width: int = 100) -> str:
    return "---\n" + header + yaml.dump(data, Dumper=_IndentedDumper, sort_keys=False,
                                        default_flow_style=False, width=width)


# --- previews -------------------------------------------------------------------------------

def role_defaults(roles_dir: Path, roles: tuple[str, ...] = _PREVIEW_DEFAULTS) -> dict:
    """Plain role defaults. Values that are themselves Jinja stay out, so a template that
    needs one fails under StrictUndefined instead of printing '{{ ... }}'."""
    merged: dict[str, Any] = {}
    for role in roles:
        path = roles_dir / role / "defaults" / "main.yml"
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        merged.update({k: v for k, v in data.items() if "{{" not in json.dumps(v)})
    return merged


def previews_for(hosts: dict[str, dict], groups: dict[str, list[str]],
                 roles_dir: Path) -> dict[str, str]:
    """relative path -> text of every file the roles will template on every node, from each
    host's variables as the resolver read them (sparkctl.targets: Ansible's rules)."""
    defaults = role_defaults(roles_dir)
    hostvars = {h: {**defaults, **v, "inventory_hostname": h} for h, v in hosts.items()}
    files: dict[str, str] = {}
    for host in groups[SPARK_GROUP]:
        context = {**hostvars[host], "hostvars": hostvars, "groups": groups}
        for name, (role, template) in PREVIEWS.items():
            try:
                text = render_file(roles_dir / role / "templates" / template, context)
            except InputError as exc:
                raise InputError(f"host {host}: {exc.message}", hint=exc.hint) from None
            files[f"preview/{host}/{name}"] = text.strip() + "\n" if name == "ssh_config" else text
    return files


# --- the bundle -----------------------------------------------------------------------------

def render_ansible_cfg(node_count: int, cluster_name: str, options: BundleOptions) -> str:
    forks = options.forks or max(node_count, 5)
    if forks < node_count:
        raise InputError(f"--forks {forks} is fewer than the {node_count} nodes",
                         hint="every node should run each task at the same time")
    # No controller path in here: the control socket directory is a variable
    # (ansible_control_path_dir, bundle_vars), so the file is the same on every machine.
    return render_file(content_dir("templates") / "ansible.cfg.j2", {
        "cluster_name": cluster_name, "node_count": node_count, "forks": forks,
        "tuned": options.tuned})


# Controller-side state, resolved by Ansible on the machine that runs the bundle, the same way
# state_root() resolves it for sparkctl: $SPARKCTL_STATE_DIR, else $XDG_STATE_HOME/sparkctl,
# else ~/.local/state/sparkctl. A bundle rendered on one machine thus runs on another.
# (Jinja's `~` binds tighter than `or`.)
STATE_VARS = {
    "sparkctl_state_home": "{{ lookup('ansible.builtin.env', 'XDG_STATE_HOME')"
                           " or lookup('ansible.builtin.env', 'HOME') ~ '/.local/state' }}",
    "sparkctl_state_dir": "{{ lookup('ansible.builtin.env', 'SPARKCTL_STATE_DIR')"
                          " or sparkctl_state_home ~ '/sparkctl' }}",
}


def bundle_vars(cluster_name: str, options: BundleOptions) -> dict:
    """group_vars/all of a bundle: where the controller keeps the cluster key pair and the
    SSH control sockets. Explicit BundleOptions paths (a provision run's own) are written
    as they are; otherwise each is derived from sparkctl_state_dir at run time."""
    data: dict[str, Any] = dict(STATE_VARS)
    # The one place that names the key directory of a cluster: the mesh key of its cluster
    # id (bootstrap/store.py), so two clusters with one name never share a key.
    if options.cluster_id:
        data["sparkctl_cluster_id"] = options.cluster_id
    if options.key_dir:
        data["ssh_mesh_key_dir"] = str(options.key_dir)
    elif options.cluster_id:
        data["ssh_mesh_key_dir"] = ("{{ sparkctl_state_dir }}/clusters/"
                                    "{{ sparkctl_cluster_id }}/mesh")
    else:
        data["ssh_mesh_key_dir"] = "{{ sparkctl_state_dir }}/keys/{{ sparkctl_cluster_name }}"
    if options.tuned:  # only ControlPersist needs a socket directory
        data["ansible_control_path_dir"] = (str(options.control_path_dir)
                                            if options.control_path_dir
                                            else "{{ sparkctl_state_dir }}/cp")
    else:
        data["sparkctl_gather_subset"] = ["all"]
    return data


_VARS_HEADER = """\
# Written by sparkctl render. Controller-side paths, resolved on the machine that runs the
# playbook; set any of them (-e, host_vars) to keep the state elsewhere.
"""

_README = """\
# sparkctl bundle: {name}

Rendered by `sparkctl render`; runs with plain Ansible (ansible-core >= 2.19), no sparkctl.
From this directory (ansible.cfg, inventory.yml, group_vars/ and roles/ are found relative
to it, so the directory can be copied to another machine):

    ansible-playbook site.yml                             # everything
    ansible-playbook site.yml --tags network,ssh_mesh     # some roles
    ansible-playbook site.yml --check --diff              # what would change

preview/HOST/ holds the files the roles will write on each node, for review.
group_vars/all/sparkctl.yml says where the controller keeps its state: the cluster's SSH key
pair (ssh_mesh_key_dir) and SSH control sockets (ansible_control_path_dir), both under
sparkctl_state_dir ($SPARKCTL_STATE_DIR, else $XDG_STATE_HOME/sparkctl, else
~/.local/state/sparkctl on the machine that runs the playbook). To run from another machine,
copy the key pair there (clusters/<sparkctl_cluster_id>/mesh/ under that directory) or set
ssh_mesh_key_dir.
"""


def render_bundle(target: Target, out_dir: str | Path,
                  options: BundleOptions | None = None) -> Bundle:
    """Write the bundle for `target` into out_dir, replacing an earlier bundle there whole."""
    options = options or BundleOptions()
    out = Path(out_dir).absolute()
    check_replaceable_dir(out, MARKER, "bundle")
    _, inventory_text = inventory_for(target)
    # The hosts and their variables as the resolver read them (Ansible's own rules,
    # group_vars/host_vars included), so the previews show what the roles will see.
    spark_hosts = tuple(target.node_names)
    groups = {"all": list(spark_hosts), SPARK_GROUP: list(spark_hosts)}
    name = target.cluster.spec.name
    playbooks = content_dir("playbooks")
    staging = staging_dir_for(out)
    try:
        shutil.copytree(playbooks / "roles", staging / "roles",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "molecule"))
        shutil.copy2(playbooks / "site.yml", staging / "site.yml")
        write_file(staging / "inventory.yml", inventory_text, 0o600)
        _copy_vars_dirs(target, staging)
        write_file(staging / "ansible.cfg", render_ansible_cfg(len(spark_hosts), name, options))
        write_file(staging / "group_vars" / "all" / "sparkctl.yml",
               dump_yaml(bundle_vars(name, options), _VARS_HEADER, width=160))
        write_file(staging / ".ansible-lint",
                   _lint_config(verbatim=target.inventory_path is not None))
        for rel, text in previews_for(target.hostvars, groups, playbooks / "roles").items():
            write_file(staging / rel, text)
        write_file(staging / "README.md", _README.format(name=name))
        write_file(staging / MARKER, json.dumps({"cluster": name, "hosts": list(spark_hosts),
                                             "source": target.description,
                                             "tuned": options.tuned}) + "\n")
        os.chmod(staging, 0o755)
        swap_dir_into_place(staging, out)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise cannot_write(out, exc) from None
        raise
    return Bundle(root=out, cluster_name=name, hosts=spark_hosts)


def _copy_vars_dirs(target: Target, staging: Path) -> None:
    """group_vars/ and host_vars/ next to an inventory travel with it: Ansible reads them
    relative to the inventory, and the bundle's inventory is a copy."""
    if target.inventory_path is None:
        return
    for kind in ("group_vars", "host_vars"):
        source = Path(target.inventory_path).parent / kind
        if source.is_dir():
            shutil.copytree(source, staging / kind, dirs_exist_ok=True, symlinks=False)


def _lint_config(verbatim: bool) -> str:
    # preview/ holds node files (netplan YAML), not Ansible content; an inventory copied
    # verbatim from --inventory/--lab keeps its writer's formatting.
    excluded = ["preview/"] + (["inventory.yml"] if verbatim else [])
    return dump_yaml({"profile": "production", "offline": True, "exclude_paths": excluded},
                     "# ansible-lint settings for this bundle (written by sparkctl render).\n")

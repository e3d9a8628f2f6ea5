"""The one way sparkctl runs Ansible: every ansible-runner call goes through run_playbook.

What it guarantees, whoever calls it (provision, runtime up/down, health install, ...):
- ANSIBLE_HOST_KEY_CHECKING=True, set explicitly: ansible-runner sets it to False when it
  is absent (ansible_runner/config/_base.py), that beats ansible.cfg, and Ansible would
  then put `-o StrictHostKeyChecking=no` before the inventory's ssh arguments.
- Before Ansible starts, every selected node answers on its SSH port and offers the host
  key pinned in the known_hosts its connection uses (sparkctl.bootstrap.gate); otherwise
  the run stops before any task touches any node.
- The connection settings `sparkctl bootstrap` stored for the cluster (login user, key,
  pinned known_hosts) reach Ansible as host_vars where the inventory leaves them unset.
- A become password goes through ansible-runner's `passwords` (answered on the pty when
  ansible-playbook prompts for it), with suppress_env_files so ansible-runner does not
  dump it into env/passwords: never in extravars, env, cmdline or a file, so it is in no
  run record, artifact or log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from sparkctl.bootstrap.secrets import Secret
from sparkctl.errors import InputError

# ansible-playbook --ask-become-pass prompts "BECOME password: " (AGNOSTIC_BECOME_PROMPT,
# set below so the prompt does not depend on the become method).
BECOME_PROMPT = r"BECOME password[^:\n]*:\s*$"
HOST_KEY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class PlaybookJob:
    private_data_dir: Path
    project_dir: Path
    playbook: str
    inventory: Path | str  # an inventory file, or a literal such as "localhost,"
    envvars: dict
    extravars: dict | None = None
    cmdline: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    limit: str | None = None
    forks: int | None = None
    timeout_s: int = 3600
    store: object | None = None  # sparkctl.bootstrap.store.ClusterStore
    become_password: Secret | None = None
    repin_hint: str = "sparkctl bootstrap"  # the command that pins keys for this target
    settings: dict | None = None
    quiet: bool = True
    # Each spark host's variables as the resolver read them (sparkctl.targets: Ansible's
    # rules, group_vars/ and host_vars/ included); None for a localhost literal.
    hostvars: dict[str, dict] | None = None


def job_hostvars(job: PlaybookJob) -> dict[str, dict]:
    """The spark hosts' variables: the job's (from the Target), else the resolver's reading
    of the inventory file (sparkctl.targets.read_inventory: Ansible's rules)."""
    if job.hostvars is not None:
        return job.hostvars
    from sparkctl.targets import read_inventory

    return read_inventory(Path(job.inventory))


def stage_inventory(job: PlaybookJob) -> tuple[Path, dict]:
    """The inventory Ansible reads, inside the run directory (a copy when it lives
    elsewhere), with sparkctl's connection settings in host_vars/ next to it."""
    from sparkctl.bootstrap.connection import effective_vars
    from sparkctl.render.bundle import dump_yaml

    source = Path(job.inventory)
    text = source.read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    private = Path(job.private_data_dir).resolve()
    if private in source.resolve().parents:
        path = source
    else:
        path = private / "inventory" / source.name
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)
        os.chmod(path, 0o600)
    for host, hvars in job_hostvars(job).items():
        _, injected = effective_vars(hvars, job.store)
        if injected:
            # A directory of its own: a host_vars/<host>.yml the user keeps next to the
            # inventory (copied into the bundle) stays as it is; Ansible reads both.
            host_file = path.parent / "host_vars" / host / "sparkctl-connection.yml"
            host_file.parent.mkdir(parents=True, exist_ok=True)
            host_file.write_text(dump_yaml(injected, "# Connection settings from sparkctl "
                                                     "bootstrap (the inventory leaves them "
                                                     "unset).\n"), encoding="utf-8")
    return path, data


def selected_hosts(hostvars: dict[str, dict], limit: str | None) -> tuple[str, ...]:
    from sparkctl.provision.plan import limited_hosts

    return limited_hosts(limit, tuple(hostvars))


def check_nodes(inventory: dict, job: PlaybookJob) -> None:
    """Reachable, and the pinned host key, on every node this run selects."""
    from sparkctl.bootstrap.connection import connections
    from sparkctl.bootstrap.gate import require_trusted

    hostvars = job_hostvars(job)
    hosts = selected_hosts(hostvars, job.limit)
    require_trusted(connections(hostvars, job.store, hosts), job.repin_hint,
                    HOST_KEY_TIMEOUT_S)


def environment(job: PlaybookJob) -> dict[str, str]:
    env = {str(k): str(v) for k, v in job.envvars.items()}
    env["ANSIBLE_HOST_KEY_CHECKING"] = "True"
    env["ANSIBLE_AGNOSTIC_BECOME_PROMPT"] = "True"
    return env


def runner_kwargs(job: PlaybookJob, inventory: str, event_handler: Callable | None,
                  cancel: Callable[[], bool] | None) -> dict:
    cmdline = list(job.cmdline)
    passwords = None
    if job.become_password is not None:
        cmdline.append("--ask-become-pass")
        passwords = {BECOME_PROMPT: job.become_password.reveal()}
    kwargs = {
        "private_data_dir": str(job.private_data_dir),
        "project_dir": str(job.project_dir),
        "playbook": job.playbook,
        "inventory": inventory,
        "ident": "run",
        "envvars": environment(job),
        "quiet": job.quiet,
        "timeout": job.timeout_s,
        "settings": {"suppress_ansible_output": True, **(job.settings or {})},
        "rotate_artifacts": 0,
        # Without this, ansible-runner writes envvars, extravars, settings and *passwords*
        # as JSON files into private_data_dir/env/ (ansible_runner.utils.dump_artifacts).
        "suppress_env_files": True,
    }
    if event_handler is not None:
        kwargs["event_handler"] = event_handler
    if cancel is not None:
        kwargs["cancel_callback"] = cancel
    if passwords:
        kwargs["passwords"] = passwords
    if job.extravars:
        kwargs["extravars"] = job.extravars
    if cmdline:
        kwargs["cmdline"] = " ".join(cmdline)
    if job.tags:
        kwargs["tags"] = ",".join(job.tags)
    if job.skip_tags:
        kwargs["skip_tags"] = ",".join(job.skip_tags)
    if job.limit:
        kwargs["limit"] = job.limit
    if job.forks:
        kwargs["forks"] = job.forks
    return kwargs


def run_playbook(job: PlaybookJob, event_handler: Callable | None = None,
                 cancel: Callable[[], bool] | None = None):
    """Run one playbook through ansible_runner.run; returns its Runner. Raises RunFailed
    (exit 1) before Ansible starts when a node is unreachable or its host key is not the
    pinned one."""
    if isinstance(job.inventory, Path):
        path, data = stage_inventory(job)
        check_nodes(data, job)
        inventory = str(path)
    elif isinstance(job.inventory, str) and job.inventory.endswith(","):
        inventory = job.inventory  # a host list literal: local runs only
        if job.inventory.strip(",") not in ("localhost", "127.0.0.1"):
            raise InputError("only localhost may be given as an inventory literal",
                             hint="pass remote nodes as an inventory file")
    else:
        raise InputError(f"inventory {job.inventory!r} is neither a file nor localhost")
    if job.extravars and any(k in job.extravars for k in
                             ("ansible_become_password", "ansible_become_pass",
                              "ansible_password", "ansible_ssh_pass")):
        raise InputError("passwords never go into extra vars (they land in the run record)")
    import ansible_runner  # heavy: only when a run starts

    return ansible_runner.run(**runner_kwargs(job, inventory, event_handler, cancel))

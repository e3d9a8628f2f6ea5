"""`sparkctl network restore` and `sparkctl uninstall`: the undo role through run_playbook,
the way `runtime up` runs runtime.yml (same bundle, run records, events, Ctrl-C).

What the nodes do is in playbooks/roles/undo and notes/undo.md: the network role journals
a node's network before it first changes it (pre-sparkctl.json), and sparkctl_files keeps
a manifest of what the roles created; both are undone node-side."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from sparkctl.bootstrap.secrets import Secret
from sparkctl.bootstrap.store import open_store
from sparkctl.provision.events import EventCollector
from sparkctl.provision.plan import limited_hosts
from sparkctl.provision.playbook import PlaybookJob, run_playbook
from sparkctl.provision.records import new_run_dir, private_dir, write_summary
from sparkctl.provision.runner import (
    CancelOnSigint,
    ProgressObserver,
    RunResult,
    ansible_environment,
    repin_command,
    target_options,
)
from sparkctl.render.bundle import BundleOptions, content_dir, render_bundle, state_root
from sparkctl.targets import Target

RESTORE_PLAYBOOK = "network_restore.yml"
UNINSTALL_PLAYBOOK = "uninstall.yml"
# Manifest groups uninstall can leave behind, by option name.
KEEP_GROUPS = ("nccl",)
_CANCEL_POLL_S = 0.5


@dataclass(frozen=True)
class UndoRequest:
    limit: str | None = None
    runs_dir: Path | None = None
    timeout_s: int = 1800
    keep_groups: tuple[str, ...] = ()
    keep_access: bool = False
    become_password: Secret | None = None


def undo_extravars(request: UndoRequest) -> dict:
    unknown = [g for g in request.keep_groups if g not in KEEP_GROUPS]
    if unknown:
        from sparkctl.errors import InputError

        raise InputError(f"unknown group to keep: {', '.join(unknown)}",
                         hint=f"groups: {', '.join(KEEP_GROUPS)}")
    return {"undo_keep_groups": list(request.keep_groups),
            "undo_keep_access": request.keep_access}


def command_line(action: str, target: Target, request: UndoRequest) -> str:
    parts = [f"sparkctl {action}", target_options(target)]
    parts += [f"--keep-{g}" for g in request.keep_groups]
    if request.keep_access:
        parts.append("--keep-access")
    if request.limit:
        parts.append(f"--limit {request.limit}")
    return " ".join(parts)


def network_restore(target: Target, request: UndoRequest,
                    observer: ProgressObserver | None = None) -> RunResult:
    return _run(target, request, RESTORE_PLAYBOOK, "network restore", observer)


def uninstall(target: Target, request: UndoRequest,
              observer: ProgressObserver | None = None) -> RunResult:
    return _run(target, request, UNINSTALL_PLAYBOOK, "uninstall", observer)


def _run(target: Target, request: UndoRequest, playbook: str, action: str,
         observer: ProgressObserver | None) -> RunResult:
    extravars = undo_extravars(request)
    observer = observer or ProgressObserver()
    run_dir = new_run_dir(request.runs_dir, target.cluster.spec.name)
    bundle = render_bundle(target, run_dir / "project",
                           BundleOptions(control_path_dir=private_dir(state_root() / "cp")))
    shutil.copy2(content_dir("playbooks") / playbook, bundle.root / playbook)
    selected = limited_hosts(request.limit, bundle.hosts)
    collector = EventCollector(on_change=observer.host_changed, on_result=observer.result)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    began = time.monotonic()
    observer.start(selected, 0, run_dir)
    try:
        with CancelOnSigint() as cancel:
            runner = run_playbook(PlaybookJob(
                private_data_dir=run_dir, project_dir=bundle.root, playbook=playbook,
                inventory=bundle.inventory, envvars=ansible_environment(bundle),
                extravars=extravars, limit=request.limit, timeout_s=request.timeout_s,
                store=open_store(target, create=False), become_password=request.become_password,
                repin_hint=repin_command(target), settings={"pexpect_timeout": _CANCEL_POLL_S},
                hostvars=target.hostvars), collector, cancel)
    finally:
        observer.stop()
    result = RunResult(
        run_dir=run_dir, status=runner.status, rc=int(runner.rc if runner.rc is not None else 1),
        started=started, duration_s=time.monotonic() - began,
        command=command_line(action, target, request), hosts=selected,
        stats=collector.stats, failures=collector.failures,
        artifacts_dir=Path(runner.config.artifact_dir), diffs=collector.diffs)
    write_summary(run_dir, result)
    return result

"""`runtime up|down`: the runtime role through ansible-runner, the way provisioning runs
site.yml (same bundle, run records, event folding and Ctrl-C handling), with runtime.yml
and the launch plan as extra variables."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from sparkctl.bootstrap.secrets import Secret
from sparkctl.bootstrap.store import open_store
from sparkctl.errors import EnvironmentProblem
from sparkctl.provision.events import EventCollector
from sparkctl.provision.playbook import PlaybookJob, run_playbook
from sparkctl.provision.records import control_socket_dir, new_run_dir, write_summary
from sparkctl.provision.runner import (
    CancelOnSigint,
    ProgressObserver,
    RunResult,
    ansible_environment,
    repin_command,
)
from sparkctl.render.bundle import BundleOptions, content_dir, render_bundle
from sparkctl.runtime.launch import LaunchPlan
from sparkctl.runtime.render import render_launch_dir, role_vars
from sparkctl.targets import Target

PLAYBOOK = "runtime.yml"
_CANCEL_POLL_S = 0.5


def refuse_without_gpu(target: Target, action: str) -> None:
    """A platform without a GPU and docker (the lab): nothing a runtime starts could run."""
    platform = target.platform
    if not platform.runs_containers:
        raise EnvironmentProblem(
            f"cannot `runtime {action}` on {target.description}: its nodes are "
            f"sparkctl_platform {platform.name}, with no GPU and no docker, so no inference "
            "container can start there",
            hint="`sparkctl runtime render` shows the exact per-node launch for this target; "
            "run `up` against real DGX Sparks (platform: dgx-spark)")


def deploy(target: Target, plan: LaunchPlan, state: str, *, runs_dir: Path | None = None,
           timeout_s: int = 2 * 3600, observer: ProgressObserver | None = None,
           become_password: Secret | None = None) -> RunResult:
    """Run the runtime role with runtime_state `started` (up) or `absent` (down)."""
    refuse_without_gpu(target, "up" if state == "started" else "down")
    observer = observer or ProgressObserver()
    run_dir = new_run_dir(runs_dir, target.cluster.spec.name)
    bundle = render_bundle(target, run_dir / "project",
                           BundleOptions(control_path_dir=control_socket_dir()))
    shutil.copy2(content_dir("playbooks") / PLAYBOOK, bundle.root / PLAYBOOK)
    render_launch_dir(plan, run_dir / "launch")  # what the nodes get, kept with the record
    extravars = {**role_vars(plan), "runtime_state": state}
    collector = EventCollector(on_change=observer.host_changed, on_result=observer.result)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    began = time.monotonic()
    observer.start(bundle.hosts, 0, run_dir)
    try:
        with CancelOnSigint() as cancel:
            runner = run_playbook(PlaybookJob(
                private_data_dir=run_dir, project_dir=bundle.root, playbook=PLAYBOOK,
                inventory=bundle.inventory, envvars=ansible_environment(bundle),
                extravars=extravars, timeout_s=timeout_s, store=open_store(target, create=False),
                become_password=become_password, repin_hint=repin_command(target),
                settings={"pexpect_timeout": _CANCEL_POLL_S}, hostvars=target.hostvars),
                collector, cancel)
    finally:
        observer.stop()
    result = RunResult(
        run_dir=run_dir, status=runner.status, rc=int(runner.rc if runner.rc is not None else 1),
        started=started, duration_s=time.monotonic() - began,
        command=f"sparkctl runtime {'up' if state == 'started' else 'down'} {plan.runtime} "
                f"{target.description} --model {plan.model}",
        hosts=bundle.hosts, stats=collector.stats, failures=collector.failures,
        artifacts_dir=Path(runner.config.artifact_dir), diffs=collector.diffs)
    write_summary(run_dir, result)
    return result

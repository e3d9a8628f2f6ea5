"""Provision a target: render its bundle into a fresh run directory, run site.yml through
run_playbook (the one ansible-runner entry point), and fold the events into stats and
failures.

Ctrl-C does not kill sparkctl half-way: SIGINT sets a flag that ansible-runner's cancel
callback reads, the playbook is stopped, the run record is written and the caller exits 130.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from sparkctl.bootstrap.secrets import Secret
from sparkctl.errors import EnvironmentProblem, RunFailed
from sparkctl.provision.events import EventCollector, HostProgress, HostStats, TaskFailure
from sparkctl.provision.plan import check_tags, limited_hosts, outline
from sparkctl.provision.playbook import PlaybookJob, run_playbook
from sparkctl.provision.records import (
    DEFAULT_KEEP_RUNS,
    control_socket_dir,
    new_run_dir,
    write_summary,
)
from sparkctl.render.bundle import Bundle, BundleOptions, render_bundle
from sparkctl.targets import Target

# How often ansible-runner looks at the cancel flag while the playbook runs (seconds).
_CANCEL_POLL_S = 0.5


@dataclass(frozen=True)
class ProvisionRequest:
    check: bool = False
    diff: bool = False
    tags: tuple[str, ...] = ()
    skip_tags: tuple[str, ...] = ()
    limit: str | None = None
    forks: int | None = None
    runs_dir: Path | None = None
    timeout_s: int = 4 * 3600
    tuned: bool = True
    become_password: Secret | None = None  # -K / --become-password-stdin
    keep_runs: int | None = DEFAULT_KEEP_RUNS  # older run records are pruned; None keeps all


@dataclass
class RunResult:
    run_dir: Path
    status: str  # successful | failed | canceled | timeout
    rc: int
    started: str
    duration_s: float
    command: str
    hosts: tuple[str, ...]
    stats: dict[str, HostStats] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    artifacts_dir: Path | None = None
    diffs: list[tuple[str, str, dict]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "successful" and not any(
            s.failed or s.unreachable for s in self.stats.values())

    @property
    def changed(self) -> int:
        return sum(s.changed for s in self.stats.values())


class ProgressObserver:
    """What the caller sees during a run; the default sees nothing."""

    def start(self, hosts: tuple[str, ...], tasks_per_host: int, run_dir: Path) -> None: ...

    def host_changed(self, host: str, progress: HostProgress) -> None: ...

    def result(self, host: str, task: str, status: str, changed: bool) -> None: ...

    def stop(self) -> None: ...


def provision(target: Target, request: ProvisionRequest,
              observer: ProgressObserver | None = None) -> RunResult:
    observer = observer or ProgressObserver()
    check_tags(request.tags, "--tags")
    check_tags(request.skip_tags, "--skip-tags")
    from sparkctl.bootstrap.store import open_store

    store = open_store(target, create=True)  # one mesh identity per cluster id
    store.ensure_mesh_key()
    run_dir = new_run_dir(request.runs_dir, target.cluster.spec.name, keep=request.keep_runs)
    options = BundleOptions(tuned=request.tuned, forks=request.forks, key_dir=store.mesh_dir,
                            control_path_dir=control_socket_dir())
    bundle = render_bundle(target, run_dir / "project", options)
    selected = limited_hosts(request.limit, bundle.hosts)
    tasks = outline(bundle.root).tasks_for(request.tags, request.skip_tags)
    collector = EventCollector(on_change=observer.host_changed, on_result=observer.result)
    command = _describe(target, request)
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    began = time.monotonic()
    observer.start(selected, tasks, run_dir)
    try:
        with CancelOnSigint() as cancel:
            runner = _run(bundle, run_dir, request, collector, cancel, store,
                          repin_command(target), target.hostvars)
    except RunFailed as exc:  # refused before Ansible started: nothing ran on any node
        write_summary(run_dir, RunResult(
            run_dir=run_dir, status="refused", rc=1, started=started,
            duration_s=time.monotonic() - began, command=command, hosts=selected,
            failures=[TaskFailure(host="*", task="check nodes before Ansible", role=None,
                                  message=exc.message, stderr_tail="", unreachable=False)]))
        raise
    finally:
        observer.stop()
    result = RunResult(
        run_dir=run_dir, status=runner.status, rc=int(runner.rc if runner.rc is not None else 1),
        started=started, duration_s=time.monotonic() - began, command=command, hosts=selected,
        stats=collector.stats, failures=collector.failures,
        artifacts_dir=Path(runner.config.artifact_dir), diffs=collector.diffs)
    write_summary(run_dir, result)
    return result


def _run(bundle: Bundle, run_dir: Path, request: ProvisionRequest,
         collector: EventCollector, cancel: Callable[[], bool], store, repin: str,
         hostvars: dict[str, dict]):
    flags = tuple(flag for flag, on in (("--check", request.check), ("--diff", request.diff))
                  if on)
    job = PlaybookJob(
        private_data_dir=run_dir, project_dir=bundle.root, playbook="site.yml",
        inventory=bundle.inventory, envvars=ansible_environment(bundle), cmdline=flags,
        tags=request.tags, skip_tags=request.skip_tags, limit=request.limit,
        forks=request.forks, timeout_s=request.timeout_s, store=store,
        become_password=request.become_password, repin_hint=repin,
        settings={"pexpect_timeout": _CANCEL_POLL_S}, hostvars=hostvars)
    return run_playbook(job, collector, cancel)


def repin_command(target: Target) -> str:
    """`sparkctl bootstrap` with the options that name this target."""
    return "sparkctl bootstrap " + target_options(target)


def target_options(target: Target) -> str:
    import shlex

    text = target.description
    if text.startswith("lab "):
        return f"--lab {shlex.quote(text[4:])}"
    if target.inventory_path is not None:
        return f"--inventory {shlex.quote(str(target.inventory_path))}"
    if text.startswith("built-in "):
        hosts = ",".join(n.name for n in target.cluster.spec.nodes)
        return f"--topology {shlex.quote(text[9:])} --hosts {shlex.quote(hosts)}"
    return f"--cluster {shlex.quote(text)}"


def ansible_environment(bundle: Bundle) -> dict[str, str]:
    """ansible-runner starts ansible-playbook by name: the interpreter's bin dir (a venv)
    must lead PATH, or the run ends with rc 127 (facts/lab-machine.md)."""
    bindir = str(Path(sys.executable).parent)
    if not (Path(bindir) / "ansible-playbook").exists():
        from shutil import which

        if which("ansible-playbook") is None:
            raise EnvironmentProblem("ansible-playbook is not installed next to sparkctl",
                                     hint="pip install dgx-sparkctl (it depends on ansible-core)")
    path = os.environ.get("PATH", "")
    return {
        "PATH": bindir + (os.pathsep + path if path else ""),
        "ANSIBLE_CONFIG": str(bundle.config),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
    }


class CancelOnSigint:
    """SIGINT (Ctrl-C) or SIGTERM asks the run to stop; the callback reports it."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum, frame) -> None:
        self.requested = True

    def __enter__(self) -> CancelOnSigint:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _describe(target: Target, request: ProvisionRequest) -> str:
    parts = ["sparkctl provision", target.description]
    for flag, on in (("--check", request.check), ("--diff", request.diff)):
        if on:
            parts.append(flag)
    if request.tags:
        parts.append("--tags " + ",".join(request.tags))
    if request.skip_tags:
        parts.append("--skip-tags " + ",".join(request.skip_tags))
    if request.limit:
        parts.append(f"--limit {request.limit}")
    return " ".join(parts)


def resume_hint(result: RunResult) -> str:
    """How to pick up after an interrupted or failed run: the roles are idempotent."""
    pending = [h for h in result.hosts
               if h not in result.stats or result.stats[h].failed or result.stats[h].unreachable]
    if pending and len(pending) < len(result.hosts):
        return ("re-run the same command (converged nodes report no change), or add "
                f"--limit {','.join(pending)}")
    return "re-run the same command: every role is idempotent, finished work is not redone"

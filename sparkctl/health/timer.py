"""`health install` / `health uninstall`: apply the health_timer role with ansible-playbook.

--on controller schedules the run on this machine (it reaches every node over SSH);
--on node schedules it on every node of the inventory, each checking the whole cluster.
The role picks a systemd timer where systemd runs and a cron entry elsewhere (lab nodes).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from sparkctl.errors import EnvironmentProblem, InputError, RunFailed

PLAYBOOK_TIMEOUT_S = 900
# What Debian's and Ubuntu's prometheus-node-exporter reads (its /etc/default/
# prometheus-node-exporter: --collector.textfile.directory=/var/lib/prometheus/node-exporter).
DEFAULT_TEXTFILE_DIR = Path("/var/lib/prometheus/node-exporter")
_EVERY = re.compile(r"^\s*(\d+)\s*([mh])\s*$")


@dataclass(frozen=True)
class Schedule:
    on_calendar: str
    cron_minute: str
    cron_hour: str


def parse_every(text: str) -> Schedule:
    """"15m" / "1h" into systemd OnCalendar and cron fields that fire at the same times."""
    match = _EVERY.match(text or "")
    if not match:
        raise InputError(f"--every {text!r} is not an interval",
                         hint="write minutes or hours: 5m, 15m, 30m, 1h, 6h")
    count, unit = int(match.group(1)), match.group(2)
    if unit == "m":
        if count < 1 or 60 % count:
            raise InputError(f"--every {text}: minutes must divide 60 (1, 2, 5, 10, 15, 20, 30)",
                             hint="use 1h, 2h, ... for longer intervals")
        if count == 60:
            return parse_every("1h")
        return Schedule(f"*:0/{count}", f"*/{count}" if count > 1 else "*", "*")
    if count < 1 or 24 % count:
        raise InputError(f"--every {text}: hours must divide 24 (1, 2, 3, 4, 6, 8, 12, 24)")
    if count == 24:
        return Schedule("*-*-* 00:00:00", "0", "0")
    return Schedule(f"*-*-* 0/{count}:00:00", "0", f"*/{count}" if count > 1 else "*")


@dataclass(frozen=True)
class TimerResult:
    action: str
    where: str
    changed: int
    output_tail: str
    check: bool = False  # --check: nothing was changed, `changed` is what would be
    name: str = "sparkctl-health"  # the units' / cron file's name
    textfile: str | None = None  # what the scheduled run writes

    def summary(self) -> str:
        state = f"{self.changed} change(s)" if self.changed else "nothing to change"
        what = f"health timer {self.name}"
        writes = f" (writes {self.textfile})" if self.textfile else ""
        if self.check:
            return f"{what} not {self.action} on {self.where} (--check): would make {state}"
        return f"{what} {self.action} on {self.where}{writes}: {state}"


def target_args(target) -> list[str]:
    """The sparkctl options that name the same target from a scheduled run."""
    if target.inventory_path is not None:
        return ["--inventory", str(Path(target.inventory_path).resolve())]
    location = target.cluster.spec.locations.get("nodes") if target.cluster.spec.locations \
        else None
    if location is not None:
        return ["--cluster", str(Path(location.path).resolve())]
    raise InputError("a scheduled health run needs a file to read the cluster from",
                     hint="give --inventory FILE, --cluster FILE or --lab NAME "
                          "(write one with `sparkctl inventory ... -o FILE`)")


def health_command(sparkctl_bin: str, args: list[str], textfile_dir: Path, cluster_id: str,
                   probe_every: int | None = None) -> str:
    """The scheduled command: its textfile and its series' `cluster` label carry the id, so
    two clusters' timers never overwrite each other's file or mix their series."""
    from sparkctl.health.naming import textfile_name

    argv = [sparkctl_bin, "health", *args, "--quiet", "--cluster-id", cluster_id,
            *(["--probe-every", str(probe_every)] if probe_every else []),
            "--format", "prometheus", "--output", str(textfile_dir / textfile_name(cluster_id))]
    return shlex.join(argv)


def node_inventory_path(cid: str) -> str:
    """Where --on node copies the inventory: one per cluster, so a node in two clusters'
    schedules keeps both."""
    return f"/etc/sparkctl/health-inventory-{cid}.yml"


def install(target, *, every: str, on: str, textfile_dir: Path,
            sparkctl_bin: str | None, require_binary: bool = True,
            check: bool = False, become_password=None,
            probe_every: int | None = None) -> TimerResult:
    from sparkctl.health.naming import cluster_id, textfile_name, timer_name

    schedule = parse_every(every)
    cid = cluster_id(target, create=not check)
    if on == "node":
        binary = sparkctl_bin or "/usr/local/bin/sparkctl"
        inventory = target_args(target)
        if inventory[0] != "--inventory":
            raise InputError("--on node copies the inventory to every node; give --inventory "
                             "or --lab")
        dest = node_inventory_path(cid)
        args = ["--inventory", dest]
        extra = {"health_timer_inventory_src": inventory[1], "health_timer_inventory_dest": dest}
    else:
        binary = sparkctl_bin or shutil.which("sparkctl") or str(Path(sys.argv[0]).resolve())
        args, extra = target_args(target), {}
    variables = {
        "health_timer_state": "present",
        "health_timer_name": timer_name(cid),
        "health_timer_command": health_command(binary, args, textfile_dir, cid, probe_every),
        "health_timer_textfile": str(textfile_dir / textfile_name(cid)),
        # a probe run takes the probe budget (40 s) and start-up
        "health_timer_timeout_s": 90 if probe_every else 60,
        "health_timer_sparkctl_bin": binary,
        "health_timer_textfile_dir": str(textfile_dir),
        "health_timer_on_calendar": schedule.on_calendar,
        "health_timer_cron_minute": schedule.cron_minute,
        "health_timer_cron_hour": schedule.cron_hour,
        "health_timer_require_sparkctl": require_binary,
        **extra,
    }
    return _apply(target, on, variables, "installed", become_password, check)


def uninstall(target, *, on: str, check: bool = False,
              become_password=None) -> TimerResult:
    from sparkctl.health.naming import cluster_id, timer_name

    cid = cluster_id(target)
    variables = {"health_timer_state": "absent", "health_timer_name": timer_name(cid)}
    if on == "node":
        variables["health_timer_inventory_src"] = "copied"
        variables["health_timer_inventory_dest"] = node_inventory_path(cid)
    return _apply(target, on, variables, "removed", become_password, check)


def _apply(target, on: str, variables: dict, action: str, become_password=None,
           check: bool = False) -> TimerResult:
    from sparkctl.bootstrap.store import open_store
    from sparkctl.provision.playbook import PlaybookJob
    from sparkctl.provision.records import new_run_dir
    from sparkctl.provision.runner import repin_command

    hosts = "sparks" if on == "node" else "localhost"
    run_dir = new_run_dir(None, f"health-timer-{target.cluster.spec.name}")
    project = run_dir / "project"
    project.mkdir()
    (project / "health_timer.yml").write_text(
        "- name: sparkctl health schedule\n"
        f"  hosts: {hosts}\n"
        "  gather_facts: false\n"
        f"  become: {'false' if os.geteuid() == 0 and on != 'node' else 'true'}\n"
        "  roles: [health_timer]\n", encoding="utf-8")
    variables = dict(variables)
    textfile = variables.pop("health_timer_textfile", None)  # for the summary, not the role
    if on == "node":
        if target.inventory_path is None:
            raise InputError("--on node needs --inventory FILE or --lab NAME")
        inventory = Path(target.inventory_path)
        if variables.get("health_timer_state") == "absent":
            variables["health_timer_require_sparkctl"] = False
        cmdline: tuple[str, ...] = ()
    else:
        # The controller's modules run in this Python: interpreter discovery may pick a
        # python3.X shim that does not run (pyenv), and would cost a round trip.
        inventory = "localhost,"
        cmdline = ("-c", "local", "-e", f"ansible_python_interpreter={sys.executable}")
    if check:  # what would change, nothing changed
        cmdline += ("--check", "--diff")
    job = PlaybookJob(private_data_dir=run_dir, project_dir=project,
                      playbook="health_timer.yml", inventory=inventory, envvars=_env(),
                      extravars=variables, cmdline=cmdline, timeout_s=PLAYBOOK_TIMEOUT_S,
                      store=open_store(target, create=False) if on == "node" else None,
                      become_password=become_password, repin_hint=repin_command(target),
                      hostvars=target.hostvars if on == "node" else None)
    result = _run(job, action, "every node" if on == "node" else "this controller")
    return dataclasses.replace(result, check=check, name=variables["health_timer_name"],
                               textfile=textfile)


def _ansible_playbook() -> str:
    here = Path(sys.executable).parent / "ansible-playbook"
    found = str(here) if here.exists() else shutil.which("ansible-playbook")
    if not found:
        raise EnvironmentProblem("ansible-playbook is not installed",
                                 hint="pip install dgx-sparkctl (it depends on ansible-core)")
    return found


def _env() -> dict[str, str]:
    from sparkctl.render.bundle import content_dir  # the one lookup of shipped content

    _ansible_playbook()
    roles = content_dir("playbooks") / "roles"
    return {"ANSIBLE_ROLES_PATH": str(roles), "ANSIBLE_PIPELINING": "True",
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_LOCALHOST_WARNING": "False",
            # One SSH connection per node for the whole play (about 2x faster on small plays).
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s",
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}


def _run(job, action: str, where: str) -> TimerResult:
    from sparkctl.provision.events import EventCollector
    from sparkctl.provision.playbook import run_playbook

    collector = EventCollector()
    runner = run_playbook(job, collector)
    stdout = job.private_data_dir / "artifacts" / "run" / "stdout"
    lines = stdout.read_text(errors="replace").splitlines() if stdout.exists() else []
    tail = "\n".join(lines[-25:])
    if runner.status == "timeout":
        raise RunFailed(f"ansible-playbook did not finish within {PLAYBOOK_TIMEOUT_S} s")
    if runner.rc != 0 or collector.failures:
        failed = [f"{f.host}: {f.message}" for f in collector.failures]
        raise RunFailed(f"health timer not {action}: ansible-playbook exit {runner.rc}:\n"
                        + "\n".join(failed[-6:] or lines[-10:]),
                        hint=f"logs: {stdout}")
    changed = sum(s.changed for s in collector.stats.values())
    return TimerResult(action, where, changed, tail)

"""Container images: `docker save` on the source, the tar synced like a directory, `docker
load` on every node, the staging directory removed afterwards.

Only where docker exists: a source without it makes the whole sync `skipped` (an
environment problem, exit 2); a receiver without it is `skipped` by name. The lab's nodes
have no docker, so there the path ends at the check, reported as skipped.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from sparkctl.errors import EnvironmentProblem, RunFailed
from sparkctl.sync.nodes import SyncCluster, open_pool
from sparkctl.sync.report import COMPLETE, SKIPPED, NodeResult, SyncReport
from sparkctl.sync.run import ProgressFn, Sync, SyncOptions

STAGE_ROOT = "/var/tmp/sparkctl-sync/images"
DOCKER_MISSING = 127
_IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Shell:
    """Run a command somewhere: (command, timeout) -> (exit status or None, stdout, stderr)."""

    where: str  # a node name, or "this machine"
    run: Callable[[str, float], tuple[int | None, str, str]]


def has_docker_command() -> str:
    return "command -v docker >/dev/null 2>&1 || exit 127"


def inspect_command(image: str) -> str:
    return f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(image)}"


def stage_dir(image_id: str) -> str:
    if not _IMAGE_ID.match(image_id):
        raise RunFailed(f"docker reported an image id {image_id!r} that is not sha256:<hex>")
    return f"{STAGE_ROOT}/{image_id[len('sha256:'):][:16]}"


def save_command(image: str, stage: str) -> str:
    """docker save into the stage, atomically: a tar in place is always a whole one."""
    tar = f"{stage}/image.tar"
    return (f"mkdir -p {shlex.quote(stage)} && "
            f"if [ ! -s {shlex.quote(tar)} ]; then "
            f"docker save --output {shlex.quote(tar + '.tmp')} {shlex.quote(image)} && "
            f"mv {shlex.quote(tar + '.tmp')} {shlex.quote(tar)}; fi")


def load_command(stage: str) -> str:
    return f"docker load --input {shlex.quote(stage + '/image.tar')}"


def cleanup_command(stage: str) -> str:
    return f"rm -rf -- {shlex.quote(stage)}"


def local_shell() -> Shell:
    def run(command: str, timeout: float) -> tuple[int | None, str, str]:
        try:
            done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return None, "", f"timeout after {timeout:.0f} s"
        return done.returncode, done.stdout, done.stderr
    return Shell("this machine", run)


def node_shell(pool, name: str) -> Shell:
    def run(command: str, timeout: float) -> tuple[int | None, str, str]:
        result = pool.run(name, command, timeout)
        return result.exit_status, result.stdout, result.error or result.stderr
    return Shell(name, run)


def _why(status: int | None, stderr: str) -> str:
    text = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {status}"
    if "permission denied" in text.lower():
        text += " (add the login user to the docker group)"
    return text


def check_docker(shells: dict[str, Shell]) -> dict[str, str]:
    """Nodes (or 'this machine') without a usable docker, with the reason."""
    missing = {}
    for name, shell in shells.items():
        status, _out, err = shell.run(has_docker_command(), 15)
        if status == DOCKER_MISSING:
            missing[name] = f"docker is not installed on {shell.where}"
        elif status != 0:
            missing[name] = f"cannot check docker on {shell.where}: {_why(status, err)}"
    return missing


def sync_image(cluster: SyncCluster, image: str, options: SyncOptions,
               progress: ProgressFn | None = None, log=None) -> SyncReport:
    nodes = [cluster.node(n) for n in options.receivers]
    if options.from_node:
        nodes.insert(0, cluster.node(options.from_node))
    with open_pool(nodes, options.connect_s) as pool:
        source = node_shell(pool, options.from_node) if options.from_node else local_shell()
        shells = {n: node_shell(pool, n) for n in options.receivers if pool.reachable(n)}
        missing = check_docker({"source": source, **shells})
        report = SyncReport("image", f"docker:{image}", options.from_node, "")
        if "source" in missing:
            report.nodes = [NodeResult(n, SKIPPED, error=missing["source"])
                            for n in options.receivers]
            report.notes.append(f"image sync skipped: {missing['source']}")
            raise ImageSkipped(missing["source"], report)
        status, out, err = source.run(inspect_command(image), 30)
        if status != 0:
            raise RunFailed(f"{source.where} has no image {image}: {_why(status, err)}",
                            hint=f"docker pull {image} there first")
        stage = stage_dir(out.strip())
        status, _out, err = source.run(save_command(image, stage), options.budget_s)
        if status != 0:
            raise RunFailed(f"docker save on {source.where} failed: {_why(status, err)}")
        receivers = tuple(n for n in options.receivers if n not in missing)
        skipped = [NodeResult(n, SKIPPED, error=missing.get(n) or pool.failures.get(n))
                   for n in options.receivers if n not in receivers]
    report = _copy_stage(cluster, options, receivers, stage, progress, log) if receivers \
        else SyncReport("image", f"docker:{image}", options.from_node, stage)
    report.kind, report.source = "image", f"docker:{image}"
    report.nodes += skipped
    _load_and_clean(cluster, options, report, stage, source)
    return report


def _copy_stage(cluster, options, receivers, stage, progress, log) -> SyncReport:
    from dataclasses import replace

    staged = replace(options, source=stage, dest=stage, receivers=receivers)
    return Sync(cluster, staged, progress, log).run("image")


def _load_and_clean(cluster: SyncCluster, options: SyncOptions, report: SyncReport,
                    stage: str, source: Shell) -> None:
    complete = [n.name for n in report.nodes if n.state == COMPLETE]
    nodes = [cluster.node(n) for n in complete]
    with open_pool(nodes, options.connect_s) as pool:
        jobs = [(n, load_command(stage) + " && " + cleanup_command(stage)) for n in complete]
        for result in pool.run_many(jobs, options.budget_s):
            if not result.ok:
                node = report.node(result.host)
                node.state = "failed"
                node.error = f"docker load failed: {_why(result.exit_status, result.stderr)}"
    if all(n.state == COMPLETE for n in report.nodes):
        source.run(cleanup_command(stage), 60)


class ImageSkipped(EnvironmentProblem):
    """No docker at the source: nothing was copied (exit 2); the report says skipped."""

    def __init__(self, message: str, report: SyncReport) -> None:
        super().__init__(f"image sync skipped: {message}",
                         hint="install docker on the source, or sync a model directory")
        self.report = report

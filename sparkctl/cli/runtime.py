"""`sparkctl runtime render|up|down|status (target) RUNTIME --model ID`: serve a model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sparkctl.cli.bootstrap import AskBecomeOpt, BecomeStdinOpt, become_password
from sparkctl.cli.common import (
    ClusterOpt,
    DataFormat,
    HostsOpt,
    InventoryOpt,
    LabOpt,
    TopologyOpt,
    number,
    print_json,
    target_from_options,
    whole,
)
from sparkctl.errors import RunFailed
from sparkctl.exitcodes import ExitCode

app = typer.Typer(no_args_is_help=True, help="Serve a model across the cluster: vLLM (Ray), "
                  "TensorRT-LLM (mpirun) or SGLang.")

RuntimeArg = Annotated[str, typer.Argument(help="vllm, trtllm or sglang.")]
ModelOpt = Annotated[str | None, typer.Option(
    "--model", "-m", help="Hugging Face id (or path in the container) to serve.")]
TpOpt = Annotated[str | None, typer.Option(
    "--tp", help="Tensor parallel size: auto (= nodes / PP) or a number.")]
PpOpt = Annotated[int | None, typer.Option("--pp", help="Pipeline parallel size (default 1).",
                                           callback=whole(1, 64))]
ImageOpt = Annotated[str | None, typer.Option("--image", help="Container image (default per "
                                              "runtime, from facts/dgx-spark.md).")]
PortOpt = Annotated[int | None, typer.Option("--port", help="HTTP port of the endpoint.")]
CacheOpt = Annotated[str | None, typer.Option("--hf-cache", help="Model cache directory on the "
                                              "nodes (default /var/cache/sparkctl/huggingface).")]
PlanOpt = Annotated[Path | None, typer.Option(
    "--from-plan", help="JSON from `sparkctl plan --format json`: model and TP/PP.")]
UtilOpt = Annotated[float | None, typer.Option(
    "--gpu-memory-utilization", help="vLLM's share of unified memory (default 0.8, NVIDIA's).")]
LenOpt = Annotated[int | None, typer.Option(
    "--max-model-len", help="vLLM's context (default: sized by the planner for the nodes).")]


def _launch(runtime, topology, hosts, cluster, inventory, lab, model, tp, pp, image, port,
            hf_cache, from_plan, gpu_memory_utilization=None, max_model_len=None):
    from sparkctl.runtime.prepare import prepare_launch

    target = target_from_options(topology, hosts, cluster, inventory, lab)
    return target, prepare_launch(target, runtime, model=model, tp=tp, pp=pp, image=image,
                                  port=port, hf_cache=hf_cache, from_plan=from_plan,
                                  gpu_memory_utilization=gpu_memory_utilization,
                                  max_model_len=max_model_len)


def _warn(plan) -> None:
    for warning in plan.warnings:
        typer.echo(f"warning: {warning}", err=True)


@app.command("render")
def render(runtime: RuntimeArg, topology: TopologyOpt = None, hosts: HostsOpt = None,
           cluster: ClusterOpt = None, inventory: InventoryOpt = None, lab: LabOpt = None,
           model: ModelOpt = None, tp: TpOpt = None, pp: PpOpt = None, image: ImageOpt = None,
           port: PortOpt = None, hf_cache: CacheOpt = None, from_plan: PlanOpt = None,
           gpu_memory_utilization: UtilOpt = None, max_model_len: LenOpt = None,
           output: Annotated[Path | None, typer.Option(
               "--output", "-o", help="Directory to write (default ./runtime-RUNTIME).")] = None,
           fmt: Annotated[DataFormat, typer.Option("--format")] = DataFormat.table) -> None:
    """Write the per-node launch files for the target's topology (changes no node)."""
    from sparkctl.runtime.render import render_launch_dir

    _, plan = _launch(runtime, topology, hosts, cluster, inventory, lab, model, tp, pp, image,
                      port, hf_cache, from_plan, gpu_memory_utilization, max_model_len)
    out = render_launch_dir(plan, output or Path(f"runtime-{plan.runtime}"))
    _warn(plan)
    if fmt is DataFormat.json:
        print_json({**plan.to_dict(), "output": str(out)}, kind="runtime-render")
        return
    typer.echo(f"{plan.runtime} serving {plan.model} on {plan.cluster} ({plan.topology}): "
               f"TP {plan.tp} x PP {plan.pp}, image {plan.image}")
    for node in plan.nodes:
        typer.echo(f"  {node.name:<12} {node.role:<7} {node.host_ip:<15} "
                   f"{' '.join(node.command[:3])} ...")
    typer.echo(f"endpoint: {plan.endpoint}/v1")
    for note in plan.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {out}")


def _deploy(state: str, runtime, topology, hosts, cluster, inventory, lab, model, tp, pp,
            image, port, hf_cache, from_plan, runs_dir, timeout, gpu_memory_utilization=None,
            max_model_len=None, become=None) -> None:
    import os

    from rich.console import Console

    from sparkctl.provision.progress import RichProgress, print_summary
    from sparkctl.runtime.deploy import deploy, refuse_without_gpu

    target, plan = _launch(runtime, topology, hosts, cluster, inventory, lab, model, tp, pp,
                           image, port, hf_cache, from_plan, gpu_memory_utilization,
                           max_model_len)
    refuse_without_gpu(target, "up" if state == "started" else "down")
    _warn(plan)
    if state == "started" and not os.environ.get("HF_TOKEN"):
        typer.echo("note: HF_TOKEN is not set here: the nodes get no Hugging Face token, so "
                   "gated models cannot be downloaded (export HF_TOKEN=... and re-run)", err=True)
    result = deploy(target, plan, state, runs_dir=runs_dir, timeout_s=timeout,
                    observer=RichProgress(Console(stderr=True)),
                    become_password=become_password(*become) if become else None)
    print_summary(Console(), result)
    if result.status == "canceled":
        typer.echo("sparkctl: interrupted; stopped the run. Re-run the same command: the "
                   "role is idempotent.", err=True)
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if not result.ok:
        raise RunFailed(f"runtime {'up' if state == 'started' else 'down'} failed "
                        f"({result.status}, ansible-playbook exit {result.rc})",
                        hint=f"logs: {result.run_dir}/artifacts/run/stdout")
    if state == "started":
        typer.echo(f"endpoint: {plan.endpoint}/v1 (check with `sparkctl runtime status`)")


RunsOpt = Annotated[Path | None, typer.Option(help="Where run records go.")]
TimeoutOpt = Annotated[int, typer.Option(help="Stop the whole run after this many seconds.",
                                         callback=whole(1, 7 * 86400))]


@app.command("up")
def up(runtime: RuntimeArg, topology: TopologyOpt = None, hosts: HostsOpt = None,
       cluster: ClusterOpt = None, inventory: InventoryOpt = None, lab: LabOpt = None,
       model: ModelOpt = None, tp: TpOpt = None, pp: PpOpt = None, image: ImageOpt = None,
       port: PortOpt = None, hf_cache: CacheOpt = None, from_plan: PlanOpt = None,
       gpu_memory_utilization: UtilOpt = None, max_model_len: LenOpt = None,
       runs_dir: RunsOpt = None, timeout: TimeoutOpt = 2 * 3600,
       ask_become_pass: AskBecomeOpt = False,
       become_password_stdin: BecomeStdinOpt = False) -> None:
    """Start the runtime on every node (the runtime role, through ansible-runner). HF_TOKEN,
    when set in this shell, reaches each node as a 0600 env file for the containers."""
    _deploy("started", runtime, topology, hosts, cluster, inventory, lab, model, tp, pp, image,
            port, hf_cache, from_plan, runs_dir, timeout, gpu_memory_utilization,
            max_model_len, become=(ask_become_pass, become_password_stdin))


@app.command("down")
def down(runtime: RuntimeArg, topology: TopologyOpt = None, hosts: HostsOpt = None,
         cluster: ClusterOpt = None, inventory: InventoryOpt = None, lab: LabOpt = None,
         model: ModelOpt = None, tp: TpOpt = None, pp: PpOpt = None, image: ImageOpt = None,
         port: PortOpt = None, hf_cache: CacheOpt = None, from_plan: PlanOpt = None,
         runs_dir: RunsOpt = None, timeout: TimeoutOpt = 600,
         ask_become_pass: AskBecomeOpt = False,
         become_password_stdin: BecomeStdinOpt = False) -> None:
    """Stop and remove what `up` started (the container on every node, its launch files)."""
    _deploy("absent", runtime, topology, hosts, cluster, inventory, lab, model, tp, pp, image,
            port, hf_cache, from_plan, runs_dir, timeout,
            become=(ask_become_pass, become_password_stdin))


@app.command("status")
def status(runtime: RuntimeArg, topology: TopologyOpt = None, hosts: HostsOpt = None,
           cluster: ClusterOpt = None, inventory: InventoryOpt = None, lab: LabOpt = None,
           model: ModelOpt = None, tp: TpOpt = None, pp: PpOpt = None, image: ImageOpt = None,
           port: PortOpt = None, hf_cache: CacheOpt = None, from_plan: PlanOpt = None,
           endpoint: Annotated[str | None, typer.Option(
               help="Probe this base URL instead of node 1's (e.g. through a tunnel).")] = None,
           ssh: Annotated[bool, typer.Option("--ssh/--no-ssh", help="Also read each node's "
                                             "container and Ray/mpirun state over SSH.")] = True,
           timeout: Annotated[float, typer.Option(help="Seconds per probe.",
                                                  callback=number(0.0, 3600.0, lo_open=True))]
           = 10.0,
           fmt: Annotated[DataFormat, typer.Option("--format")] = DataFormat.table) -> None:
    """Probe the endpoint (/v1/models, one tiny completion) and each node's runtime state."""
    from sparkctl.errors import InputError
    from sparkctl.runtime.status import runtime_status

    if timeout <= 0:
        raise InputError(f"--timeout must be positive, got {timeout}")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise InputError(f"--endpoint {endpoint!r} is not an http(s) URL",
                         hint="e.g. --endpoint http://10.0.0.11:8000")
    target, plan = _launch(runtime, topology, hosts, cluster, inventory, lab, model, tp, pp,
                           image, port, hf_cache, from_plan)
    report = runtime_status(target, plan, endpoint=endpoint, timeout=timeout, ssh=ssh)
    if fmt is DataFormat.json:
        print_json(report.to_dict(), kind="runtime-status")
    else:
        for check in report.checks:
            typer.echo(f"{check.verdict.value:<8} {check.id:<20} {check.subject:<28} "
                       f"{check.diagnosis}")
            if check.hint and check.verdict.value != "pass":
                typer.echo(f"{'':<8} hint: {check.hint}")
        typer.echo(f"verdict: {report.verdict.value}")
    if report.verdict.value != "pass":
        raise typer.Exit(int(ExitCode.FAILED))

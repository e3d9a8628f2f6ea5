"""`runtime status`: the endpoint (endpoint.py) and, over SSH, each node's container and the
head's Ray/mpirun state as its own launch.sh reports them."""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime

from sparkctl.checks.result import CheckResult, Report, Verdict
from sparkctl.runtime.endpoint import probe_endpoint
from sparkctl.runtime.launch import LaunchPlan, NodeLaunch
from sparkctl.targets import Target

NODE_RUNTIME_DIR = "/etc/sparkctl/runtime"
_UP = "run `sparkctl runtime up` with the same target and model"


def status_command(runtime_dir: str = NODE_RUNTIME_DIR) -> str:
    script = shlex.quote(f"{runtime_dir}/launch.sh")
    return (f"if [ ! -x {script} ]; then echo deployed=no; exit 0; fi; "
            f"if [ \"$(id -u)\" = 0 ]; then {script} status; else sudo -n {script} status; fi")


def parse_status(text: str) -> dict[str, str]:
    """key=value lines of `launch.sh status` (other lines are ignored)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.isidentifier():
            values[key] = value
    return values


def judge_node(node: NodeLaunch, plan: LaunchPlan, ok: bool, output: str,
               error: str | None) -> list[CheckResult]:
    subject = node.name
    if not ok:
        return [CheckResult("runtime.container", "node", subject, Verdict.FAIL, None, "running",
                            None, f"cannot read the runtime state: {error or output.strip()}",
                            "check SSH to the node and that the login user may sudo -n")]
    values = parse_status(output)
    if values.get("deployed") == "no":
        return [CheckResult("runtime.container", "node", subject, Verdict.FAIL, "not deployed",
                            "running", None, "no launch script on this node", _UP)]
    checks = []
    state = values.get("container", "unknown")
    if state == "running":
        verdict = Verdict.PASS if values.get("config_current") != "no" else Verdict.DEGRADED
        diagnosis = (f"{plan.container} running" if verdict is Verdict.PASS else
                     f"{plan.container} runs from older launch files")
        checks.append(CheckResult("runtime.container", "node", subject, verdict, state,
                                  "running", None, diagnosis,
                                  None if verdict is Verdict.PASS else _UP))
    else:
        checks.append(CheckResult("runtime.container", "node", subject, Verdict.FAIL, state,
                                  "running", None, f"{plan.container} is {state}",
                                  _UP + "; see `docker logs " + plan.container + "` there"))
    if node.wait == "ray":
        want = len(plan.nodes)
        raw = values.get("ray_nodes", "")
        alive = int(raw) if raw.isdigit() else 0
        checks.append(CheckResult(
            "runtime.ray", "cluster", subject, Verdict.PASS if alive == want else Verdict.FAIL,
            alive, want, "nodes", f"{alive} of {want} nodes alive in the Ray cluster",
            None if alive == want else "a worker's container stopped or cannot reach the head "
            f"on port 6379 over the management network; {_UP}"))
    if node.serve:
        server = values.get("server", "unknown")
        what = "mpirun/trtllm-serve" if plan.runtime == "trtllm" else "vllm serve"
        checks.append(CheckResult(
            "runtime.server", "node", subject,
            Verdict.PASS if server == "running" else Verdict.FAIL, server, "running", None,
            f"{what} is {server} in {plan.container}",
            None if server == "running" else _UP))
    return checks


def probe_nodes(target: Target, plan: LaunchPlan, timeout: float) -> list[CheckResult]:
    from sparkctl.probe.hosts import endpoints_for_target
    from sparkctl.probe.ssh import ProbePool

    by_name = {n.name: n for n in plan.nodes}
    with ProbePool(endpoints_for_target(target), connect_timeout=min(timeout, 10.0)) as pool:
        results = pool.run_all(status_command(), timeout)
    checks = []
    for name, node in by_name.items():
        res = results.get(name)
        ok = res is not None and res.ok
        checks += judge_node(node, plan, ok, res.stdout if res else "",
                             (res.error or res.stderr.strip()) if res else "no result")
    return checks


def runtime_status(target: Target | None, plan: LaunchPlan, *, endpoint: str | None = None,
                   timeout: float = 10.0, ssh: bool = True) -> Report:
    began = time.monotonic()
    started = datetime.now(UTC)
    checks = probe_endpoint(endpoint or plan.endpoint, plan.model, timeout)
    if ssh and target is not None:
        checks += probe_nodes(target, plan, timeout)
    return Report.from_checks(checks, started=started, duration_s=time.monotonic() - began)

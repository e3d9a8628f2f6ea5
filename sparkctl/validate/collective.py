"""Collectives across all nodes with mpirun: nccl-tests on DGX Spark, a CPU all-reduce in the lab.

Both runs use the same launcher, hostfile and interface pinning (bootstrap on management,
data on the HCAs/netdevs of NCCL_IB_HCA) and end in the same CheckResults:
`collective.<name>` (saturated busbw, corruption, errors) and `collective.transport` (did the
data take the rails: NCCL's NET/IB in its debug log, or the lab's interface byte counters).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from sparkctl.checks import analyze
from sparkctl.checks import diagnose as G
from sparkctl.checks import thresholds as T
from sparkctl.checks.parsers import nccl_tests
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.validate.context import MANAGEMENT, ValidationContext
from sparkctl.validate.scripts import PATH_PREFIX

KIND = "collective"
SUBJECT = "cluster"
LAB_PROGRAM = "/tmp/sparkctl-cpu-allreduce.py"
LAB_HOSTFILE = "/tmp/sparkctl-hostfile"
NCCL_ENV_FILE = "/etc/sparkctl/nccl.env"
NCCL_PATHS_FILE = "/etc/sparkctl/nccl-paths.env"
# facts/dgx-spark.md: a 16 GB test froze a node (unified memory); 512M-4G saturates the link.
DEFAULT_MIN_BYTES = 512 * 1024**2
DEFAULT_MAX_BYTES = 4 * 1024**3
LAB_MIN_BYTES = 4 * 1024**2
LAB_MAX_BYTES = 32 * 1024**2
LAB_SECONDS_PER_SIZE = 0.3
# The lab's twins must each carry a fair share; under this a twin is effectively unused.
TWIN_MIN_SHARE = 0.15
# Management may carry MPI's wire-up, never the bulk of the data.
MGMT_MAX_SHARE = 0.25


@dataclass(frozen=True)
class CollectiveRow:
    size_bytes: int
    busbw_GBps: float
    algbw_GBps: float
    time_us: float
    wrong: int


@dataclass(frozen=True)
class LabRun:
    rows: list[CollectiveRow]
    nranks: int | None
    errors: list[str] = field(default_factory=list)


def mpirun_prefix(ctx: ValidationContext, hostfile: str, extra: list[str]) -> str:
    n = len(ctx.nodes)
    argv = ["mpirun", "--allow-run-as-root", "-np", str(n), "--hostfile", hostfile,
            "--map-by", "node", "--mca", "oob_tcp_if_include", MANAGEMENT, *extra]
    return " ".join(shlex.quote(a) for a in argv)


def _env_preamble(files: list[str]) -> str:
    loads = " ".join(f"[ -r {f} ] && . {f};" for f in files)
    return f"{PATH_PREFIX}set -a; {loads} set +a; "


def write_hostfile_command(ctx: ValidationContext) -> str:
    return f"printf %s {shlex.quote(ctx.hostfile)} > {LAB_HOSTFILE}"


def lab_command(ctx: ValidationContext, launcher: str) -> str:
    """The lab's all-reduce; its data goes over the rails unless they cannot be pinned."""
    data = ctx.data_netdevs(launcher) if ctx.rails_shared_by_all() else [MANAGEMENT]
    extra = ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", ",".join(data)]
    program = ["python3", LAB_PROGRAM, str(LAB_MIN_BYTES), str(LAB_MAX_BYTES),
               str(LAB_SECONDS_PER_SIZE)]
    return (_env_preamble([NCCL_ENV_FILE]) + write_hostfile_command(ctx) + "; "
            + mpirun_prefix(ctx, LAB_HOSTFILE, extra) + " "
            + " ".join(shlex.quote(a) for a in program))


def nccl_tests_command(ctx: ValidationContext, *, collective: str = "all_reduce",
                       min_bytes: int = DEFAULT_MIN_BYTES, max_bytes: int = DEFAULT_MAX_BYTES,
                       timeout_s: int = 300) -> str:
    env_names = sorted({k for n in ctx.nodes for k in n.nccl_env} | {
        "NCCL_DEBUG", "NCCL_DEBUG_SUBSYS", "LD_LIBRARY_PATH"})
    extra = []
    for name in env_names:
        extra += ["-x", name]
    binary = f"\"${{NCCL_TESTS_BIN:-/opt/sparkctl/nccl-tests}}\"/{collective}_perf"
    # -T: nccl-tests' own timeout, so a hung collective aborts and says so.
    args = ["-b", str(min_bytes), "-e", str(max_bytes), "-f", "2", "-g", "1",
            "-T", str(timeout_s)]
    return (_env_preamble([NCCL_ENV_FILE, NCCL_PATHS_FILE])
            + "NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,NET; export NCCL_DEBUG NCCL_DEBUG_SUBSYS; "
            + write_hostfile_command(ctx) + "; " + mpirun_prefix(ctx, LAB_HOSTFILE, extra)
            + f" {binary} " + " ".join(args) + " 2>&1")


def counters_command(netdevs: list[str]) -> str:
    reads = " ".join(f"{n}:$(cat /sys/class/net/{n}/statistics/tx_bytes 2>/dev/null || echo -1)"
                     for n in netdevs)
    return f"echo {reads}"


def parse_counters(text: str) -> dict[str, int]:
    out = {}
    for item in text.split():
        name, _, value = item.partition(":")
        if value.lstrip("-").isdigit() and int(value) >= 0:
            out[name] = int(value)
    return out


# --- judging ---------------------------------------------------------------------------------

def parse_lab_output(stdout: str, stderr: str = "") -> LabRun:
    rows, nranks = [], None
    errors = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                doc = json.loads(line)
                rows.append(CollectiveRow(int(doc["size_bytes"]), float(doc["busbw_GBps"]),
                                          float(doc["algbw_GBps"]), float(doc["time_us"]),
                                          int(doc["wrong"])))
                nranks = int(doc.get("nranks") or 0) or nranks
                continue
            except (ValueError, KeyError, TypeError):
                pass
        if line:
            errors.append(line)
    errors += [line.strip() for line in stderr.splitlines() if line.strip()]
    return LabRun(rows, nranks, errors)


RING_NOTE = ("In this lab topology the rail subnets differ per cable, and OpenMPI's TCP "
             "transport cannot be pinned to them (open-mpi/ompi#2168), so this run used the "
             "management network: it proves MPI across all nodes, not the rails' bandwidth "
             "(rail.bandwidth measures those).")


def judge_lab_run(run: LabRun, expectation: T.Expectation, nodes: int,
                  exit_status: int | None, on_rails: bool = True) -> CheckResult:
    check_id = "collective.all_reduce"
    if any("No module named 'mpi4py'" in e for e in run.errors):
        return CheckResult(check_id, KIND, SUBJECT, Verdict.FAIL, None, None, None,
                           "The lab nodes have no mpi4py, so the CPU all-reduce cannot run "
                           "(a lab built from an image older than python3-mpi4py).",
                           "Recreate the lab: `sparkctl lab down` then `sparkctl lab up` "
                           "rebuilds the base image with python3-mpi4py.")
    if not run.rows:
        return G.judge_nccl_errors(run.errors or [f"mpirun exited {exit_status}"]).to_check(
            check_id, KIND, SUBJECT)
    corrupt = G.judge_corruption(None, sum(r.wrong for r in run.rows))
    if corrupt:
        return corrupt.to_check(check_id, KIND, SUBJECT)
    if run.nranks is not None and run.nranks != nodes:
        return CheckResult(check_id, KIND, SUBJECT, Verdict.FAIL, run.nranks, nodes, "ranks",
                           f"The all-reduce ran on {run.nranks} ranks instead of one per node "
                           f"({nodes}).", "Check the hostfile: one slot per node.")
    if exit_status not in (0, None):
        return G.judge_nccl_errors(run.errors or [f"mpirun exited {exit_status}"]).to_check(
            check_id, KIND, SUBJECT)
    saturated = G.saturated_busbw([(r.size_bytes, r.busbw_GBps) for r in run.rows])
    busbw, _ = saturated  # rows are non-empty here
    check = G.judge_busbw(busbw, expectation).to_check(check_id, KIND, SUBJECT)
    if not on_rails:
        check = CheckResult(check.id, check.kind, check.subject, check.verdict, check.measured,
                            check.expected, check.unit, f"{check.diagnosis} {RING_NOTE}",
                            check.hint)
    return check


def judge_lab_transport(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]],
                        data_netdevs: dict[str, list[str]]) -> CheckResult:
    """Did the all-reduce's bytes leave each node over both twins, not over management?"""
    check_id = "collective.transport"
    problems, shares = [], []
    for node, netdevs in data_netdevs.items():
        sent = {n: after.get(node, {}).get(n, 0) - before.get(node, {}).get(n, 0)
                for n in [*netdevs, MANAGEMENT]}
        data = sum(sent[n] for n in netdevs)
        total = data + sent[MANAGEMENT]
        if total <= 0:
            problems.append((Verdict.FAIL, f"{node} sent nothing during the all-reduce"))
            continue
        if sent[MANAGEMENT] > MGMT_MAX_SHARE * total:
            problems.append((Verdict.FAIL,
                             f"{node} sent {sent[MANAGEMENT] / total:.0%} of its bytes over "
                             f"{MANAGEMENT} (management) instead of the rails"))
            continue
        for n in netdevs:
            share = sent[n] / data if data else 0
            shares.append(share)
            if len(netdevs) > 1 and share < TWIN_MIN_SHARE:
                problems.append((Verdict.DEGRADED,
                                 f"{node}/{n} carried {share:.0%} of {node}'s data: its twin "
                                 "did the work alone"))
    if problems:
        verdict = Verdict.worst(v for v, _ in problems)
        text = "; ".join(p for _, p in problems[:4])
        if verdict is Verdict.FAIL:
            hint = ("Pin MPI's data to the rails (btl_tcp_if_include = the CX-7 netdevs) and "
                    "check those links (link.* results); management is for bootstrap only.")
        else:
            hint = "Both twins must be up with their own subnet; read their link.* results."
        return CheckResult(check_id, KIND, SUBJECT, verdict, len(problems), 0, "problems",
                           f"The all-reduce did not spread over the rails as planned: {text}.",
                           hint)
    low = min(shares) if shares else 0
    return CheckResult(check_id, KIND, SUBJECT, Verdict.PASS, round(low, 2), TWIN_MIN_SHARE,
                       "share", "The all-reduce's data left every node over the rails, both "
                       "twins sharing it (lowest twin share "
                       f"{low:.0%}); management carried only bootstrap traffic.")


def judge_nccl_run(output: str, topology: str | None, exit_status: int | None,
                   collective: str = "all_reduce") -> list[CheckResult]:
    """nccl-tests output (with its NCCL_DEBUG=INFO lines) -> busbw check and transport check."""
    check_id = f"collective.{collective}"
    run = nccl_tests.parse_text(output)
    judgement, notes = analyze.judge_nccl_tests(run, topology)
    if judgement.verdict is None:
        judgement = G.Judgement(Verdict.FAIL,
                                f"nccl-tests printed no result ({judgement.diagnosis})",
                                "Read the run's output; rerun the same command by hand.")
    if exit_status not in (0, None) and judgement.verdict is Verdict.PASS:
        judgement = G.judge_nccl_errors(run.errors or [f"mpirun exited {exit_status}"])
    if notes:
        judgement = G.Judgement(judgement.verdict, judgement.diagnosis + " " + " ".join(notes),
                                judgement.hint, judgement.measured, judgement.expected,
                                judgement.unit)
    results = [judgement.to_check(check_id, KIND, SUBJECT)]
    if run.debug is not None:
        net = G.judge_nccl_network(run.debug.transport, run.debug.ib_devices,
                                   ib_unusable=run.debug.ib_unusable,
                                   warnings=run.debug.warnings + run.debug.failures,
                                   nccl_release=run.debug.nccl_release)
        if net.verdict is not None:
            results.append(net.to_check("collective.transport", KIND, SUBJECT))
    return results


def unreachable_result(check_id: str, nodes: list[str], errors: dict[str, str]) -> CheckResult:
    detail = "; ".join(f"{n}: {errors[n]}" for n in nodes)
    return CheckResult(check_id, KIND, SUBJECT, Verdict.FAIL, "unreachable", None, None,
                       f"Not run: the collective needs every node and {', '.join(nodes)} "
                       f"cannot be reached ({detail}).",
                       "Bring the node back (ssh must work), then rerun validate.")

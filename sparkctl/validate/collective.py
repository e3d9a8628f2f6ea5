"""Collectives across all nodes with mpirun: nccl-tests on DGX Spark, a CPU all-reduce in the lab.

Both runs use the same launcher, hostfile and interface pinning (bootstrap on management,
data on the HCAs/netdevs of NCCL_IB_HCA) and end in the same CheckResults:
`collective.<name>` and `collective.transport` (did the data take the rails: NCCL's NET/IB in
its debug log, or the lab's interface byte counters). What `collective.<name>` judges is the
platform's (Platform.collective_judges_busbw): on hardware the saturated busbw against
NVIDIA's floor, corruption and errors; in the lab, whose CPU bounds the bandwidth, every
rank and correct sums, with busbw reported but not judged.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field

from sparkctl.checks import analyze
from sparkctl.checks import diagnose as G
from sparkctl.checks.parsers import nccl_tests
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.platform import CollectiveTool
from sparkctl.topology.hardware import MGMT_INTERFACE as MANAGEMENT
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


def rails_shared_by_all(target) -> bool:
    """True when every node sits on the same rail subnets (direct, switch; not a ring).

    Only then can OpenMPI's TCP transport be pinned to the rails: it pairs every address
    a peer advertises without asking the routing table, and hangs on one it cannot reach
    (open-mpi/ompi#2168, #4963), which a ring's per-cable subnets always have.
    """
    nets = {frozenset(i.address.network for i in n.interfaces) for n in target.nodes}
    return len(nets) == 1


def data_netdevs(target, node: str) -> list[str]:
    """The netdevs NCCL (or the lab's MPI) sends data on: twins of the HCAs in NCCL_IB_HCA."""
    spec = target.node(node)
    hcas = [h for h in spec.nccl_env.get("NCCL_IB_HCA", "").split(",") if h]
    planned = {i.hca: i.name for i in spec.interfaces}
    return [planned[h] for h in hcas if h in planned]


def mpirun_prefix(target, hostfile: str, extra: list[str]) -> str:
    n = len(target.nodes)
    argv = ["mpirun", "--allow-run-as-root", "-np", str(n), "--hostfile", hostfile,
            "--map-by", "node", "--mca", "oob_tcp_if_include", MANAGEMENT, *extra]
    return " ".join(shlex.quote(a) for a in argv)


def _env_preamble(files: list[str]) -> str:
    loads = " ".join(f"[ -r {f} ] && . {f};" for f in files)
    return f"{PATH_PREFIX}set -a; {loads} set +a; "


def write_hostfile_command(target) -> str:
    return f"printf %s {shlex.quote(target.cluster.hostfile())} > {LAB_HOSTFILE}"


def lab_command(target, launcher: str) -> str:
    """The lab's all-reduce; its data goes over the rails unless they cannot be pinned."""
    data = data_netdevs(target, launcher) if rails_shared_by_all(target) else [MANAGEMENT]
    extra = ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", ",".join(data)]
    program = ["python3", LAB_PROGRAM, str(LAB_MIN_BYTES), str(LAB_MAX_BYTES),
               str(LAB_SECONDS_PER_SIZE)]
    return (_env_preamble([NCCL_ENV_FILE]) + write_hostfile_command(target) + "; "
            + mpirun_prefix(target, LAB_HOSTFILE, extra) + " "
            + " ".join(shlex.quote(a) for a in program))


def nccl_tests_command(target, *, collective: str = "all_reduce",
                       min_bytes: int = DEFAULT_MIN_BYTES, max_bytes: int = DEFAULT_MAX_BYTES,
                       timeout_s: int = 300) -> str:
    env_names = sorted({k for n in target.nodes for k in n.nccl_env} | {
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
            + write_hostfile_command(target) + "; " + mpirun_prefix(target, LAB_HOSTFILE, extra)
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


def judge_lab_run(run: LabRun, nodes: int, exit_status: int | None, on_rails: bool = True,
                  proves: str = "") -> CheckResult:
    """The lab's CPU all-reduce, judged on what it can prove: every rank ran, the sums are
    right, mpirun ended cleanly. Its busbw is reported, not judged: the lab machine's CPU,
    not its links, bounds it (the rails' figures are rail.bandwidth's)."""
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
    assert saturated is not None  # rows are non-empty here
    busbw, size = saturated
    diagnosis = (f"The all-reduce ran one rank on each of the {nodes} nodes and every sum was "
                 f"right ({len(run.rows)} sizes up to {size} bytes); busbw {busbw:.3f} GB/s is "
                 "reported, not judged: this proves " + (proves or "MPI across the nodes") + ".")
    if not on_rails:
        diagnosis += " " + RING_NOTE
    return CheckResult(check_id, KIND, SUBJECT, Verdict.PASS, round(busbw, 4), None, "GB/s",
                       diagnosis)


def transport_not_provable() -> CheckResult:
    """A ring in the lab: its all-reduce had to use management, so whether data takes the
    rails cannot be shown by it (info, not a pass)."""
    return CheckResult("collective.transport", KIND, SUBJECT, Verdict.INFO, None, None, None,
                       "Not provable in this lab topology: " + RING_NOTE)


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
    return CheckResult(check_id, KIND, SUBJECT, Verdict.SKIPPED, None, None, None,
                       f"Not run: the collective needs every node and {', '.join(nodes)} "
                       f"cannot be reached ({detail}).",
                       "Bring the node back (ssh must work), then rerun validate.")


# --- the stage ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CollectiveOptions:
    all_gather: bool = False  # also all_gather_perf, where the platform runs nccl-tests
    timeout_s: float = 300.0


def collective_ids(target, options: CollectiveOptions) -> list[str]:
    names = ["all_reduce"] + (["all_gather"] if options.all_gather else [])
    return [f"collective.{n}" for n in names if n in target.platform.collectives]


def collective_stage(options: CollectiveOptions = CollectiveOptions()):
    from sparkctl.engine.session import Stage

    def expected(session) -> list[tuple[str, str]]:
        if len(session.nodes) < 2:
            return [("collective.all_reduce", SUBJECT)]
        return [(i, SUBJECT) for i in collective_ids(session.target, options)] + [
            ("collective.transport", SUBJECT)]

    def run(session) -> None:
        from sparkctl.engine.session import skipped

        if len(session.nodes) < 2:
            session.record(skipped("collective.all_reduce", SUBJECT,
                                   "Not run: a collective needs two nodes or more; this "
                                   "cluster has one."))
            return
        names = [n.name for n in session.nodes]
        down = [n for n in names if session.unreachable(n)]
        ids = collective_ids(session.target, options)
        if down:
            errors = {n: session.unreachable(n) for n in down}
            session.record(*(unreachable_result(i, down, errors) for i in ids))
            return
        runner = {CollectiveTool.CPU_MPI: _cpu_mpi,
                  CollectiveTool.NCCL_TESTS: _nccl_tests}[session.platform.collective_tool]
        runner(session, names[0], ids, options)

    return Stage("collective", run, expected, min_s=5.0)


def _nccl_tests(session, launcher: str, ids: list[str], options: CollectiveOptions) -> None:
    from sparkctl.engine.session import FINISH_RESERVE_S

    target = session.target
    for check_id in ids:
        name = check_id.split(".", 1)[1]
        timeout = session.budget.timeout(options.timeout_s, reserve=FINISH_RESERVE_S)
        # nccl-tests' -T fires first; the remote `timeout` and the local deadline back it.
        command = nccl_tests_command(target, collective=name, timeout_s=max(10, int(timeout) - 15))
        result = session.probes.run(launcher, command, timeout)
        if result.error and not result.stdout.strip():
            session.record(CheckResult(
                check_id, KIND, SUBJECT, Verdict.FAIL, None, None, None,
                f"nccl-tests did not finish on {launcher}: {result.error}.",
                "A hang here is the NCCL 2.27.7-on-sm_121 signature or a dead peer; "
                "run it by hand with NCCL_DEBUG=INFO."))
            continue
        session.record(*judge_nccl_run(result.stdout + result.stderr,
                                       target.cluster.spec.topology, result.exit_status, name))


def _cpu_mpi(session, launcher: str, ids: list[str], options: CollectiveOptions) -> None:
    from sparkctl.engine.session import FINISH_RESERVE_S
    from sparkctl.validate.scripts import install_command

    target, pool = session.target, session.probes
    names = [n.name for n in target.nodes]
    install = session.parallel([
        (lambda n=n: pool.run(n, install_command("cpu_allreduce", LAB_PROGRAM), 10))
        for n in names])
    failed = {r.host: r.error or r.stderr.strip()[:200] for r in install if r and not r.ok}
    if failed:
        session.record(unreachable_result("collective.all_reduce", sorted(failed), failed))
        return
    netdevs = {n: data_netdevs(target, n) for n in names}

    def counters() -> dict[str, dict[str, int]]:
        res = session.parallel([
            (lambda n=n: pool.run(n, counters_command([*netdevs[n], MANAGEMENT]), 10))
            for n in names])
        return {r.host: parse_counters(r.stdout) for r in res if r is not None}

    before = counters()
    timeout = session.budget.timeout(options.timeout_s, reserve=FINISH_RESERVE_S + 2)
    result = pool.run(launcher, lab_command(target, launcher), timeout)
    after = counters()
    lab_run = parse_lab_output(result.stdout, result.stderr)
    if result.error and not lab_run.rows:
        lab_run.errors.append(result.error)
    on_rails = rails_shared_by_all(target)
    session.record(judge_lab_run(lab_run, len(names), result.exit_status, on_rails,
                                 session.platform.collective_proves))
    if lab_run.rows and on_rails:
        session.record(judge_lab_transport(before, after, netdevs))
    elif lab_run.rows:
        session.record(transport_not_provable())

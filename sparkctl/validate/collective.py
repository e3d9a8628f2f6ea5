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

from sparkctl.checks import diagnose as G
from sparkctl.checks import memory_fit as M
from sparkctl.checks import thresholds as T
from sparkctl.checks.judge import collective as JC
from sparkctl.checks.parsers import nccl_tests
from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.platform import CollectiveTool
from sparkctl.validate.scripts import PATH_PREFIX

KIND = "collective"
SUBJECT = "cluster"
LAB_PROGRAM = "/tmp/sparkctl-cpu-allreduce.py"
LAB_HOSTFILE = "/tmp/sparkctl-hostfile"
NCCL_ENV_FILE = "/etc/sparkctl/nccl.env"
NCCL_PATHS_FILE = "/etc/sparkctl/nccl-paths.env"
# NVIDIA's verdict size, and the documented fallback where 16 GiB does not fit in free
# unified memory (a 16G test can OOM-freeze a node: facts/dgx-spark.md); thresholds.py
# sources the floors at both sizes.
VERDICT_BYTES = T.NVIDIA_COLLECTIVE_BYTES
FALLBACK_BYTES = T.FALLBACK_COLLECTIVE_BYTES
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


def management(target) -> str:
    """The cluster's management interface (cluster file `management_interface`, inventory
    `sparkctl_mgmt_interface`; default enP7s7): MPI's daemons and NCCL's bootstrap use it."""
    return target.cluster.spec.mgmt_interface


def mpirun_prefix(target, hostfile: str, extra: list[str]) -> str:
    n = len(target.nodes)
    argv = ["mpirun", "--allow-run-as-root", "-np", str(n), "--hostfile", hostfile,
            "--map-by", "node", "--mca", "oob_tcp_if_include", management(target), *extra]
    return " ".join(shlex.quote(a) for a in argv)


def _env_preamble(files: list[str]) -> str:
    loads = " ".join(f"[ -r {f} ] && . {f};" for f in files)
    return f"{PATH_PREFIX}set -a; {loads} set +a; "


def write_hostfile_command(target) -> str:
    return f"printf %s {shlex.quote(target.cluster.hostfile())} > {LAB_HOSTFILE}"


def lab_command(target, launcher: str) -> str:
    """The lab's all-reduce; its data goes over the rails unless they cannot be pinned."""
    data = (data_netdevs(target, launcher) if rails_shared_by_all(target)
            else [management(target)])
    extra = ["--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", ",".join(data)]
    program = ["python3", LAB_PROGRAM, str(LAB_MIN_BYTES), str(LAB_MAX_BYTES),
               str(LAB_SECONDS_PER_SIZE)]
    return (_env_preamble([NCCL_ENV_FILE]) + write_hostfile_command(target) + "; "
            + mpirun_prefix(target, LAB_HOSTFILE, extra) + " "
            + " ".join(shlex.quote(a) for a in program))


# What NVIDIA's cluster script passes for the management network (spark_cluster_setup.py:
# -x UCX_NET_DEVICES=enP7s7 -x NCCL_SOCKET_IFNAME=enP7s7 -x OMPI_MCA_btl_tcp_if_include=enP7s7),
# with the cluster's own interface.
MGMT_ENV = ("NCCL_SOCKET_IFNAME", "OMPI_MCA_btl_tcp_if_include", "UCX_NET_DEVICES")


def nccl_tests_command(target, *, collective: str = "all_gather", size_bytes: int = VERDICT_BYTES,
                       timeout_s: int = 300) -> str:
    """NVIDIA's measurement: `<collective>_perf -b S -e S -f 2 -g 1` under mpirun, one rank a
    node, bounded by nccl-tests' own -T."""
    mgmt = management(target)
    env_names = sorted(({k for n in target.nodes for k in n.nccl_env} | {
        "NCCL_DEBUG", "NCCL_DEBUG_SUBSYS", "LD_LIBRARY_PATH"}) - set(MGMT_ENV))
    extra = []
    for name in env_names:
        extra += ["-x", name]
    for name in MGMT_ENV:
        extra += ["-x", f"{name}={mgmt}"]
    extra += ["--mca", "btl_tcp_if_include", mgmt]
    binary = f"\"${{NCCL_TESTS_BIN:-/opt/sparkctl/nccl-tests}}\"/{collective}_perf"
    # -T: nccl-tests' own timeout, so a hung collective aborts and says so.
    args = ["-b", str(size_bytes), "-e", str(size_bytes), "-f", "2", "-g", "1",
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
                        data_netdevs: dict[str, list[str]], mgmt: str
                        ) -> CheckResult:
    """Did the all-reduce's bytes leave each node over both twins, not over management
    (`mgmt`, the cluster's management interface)?"""
    check_id = "collective.transport"
    problems, shares = [], []
    for node, netdevs in data_netdevs.items():
        sent = {n: after.get(node, {}).get(n, 0) - before.get(node, {}).get(n, 0)
                for n in [*netdevs, mgmt]}
        data = sum(sent[n] for n in netdevs)
        total = data + sent[mgmt]
        if total <= 0:
            problems.append((Verdict.FAIL, f"{node} sent nothing during the all-reduce"))
            continue
        if sent[mgmt] > MGMT_MAX_SHARE * total:
            problems.append((Verdict.FAIL,
                             f"{node} sent {sent[mgmt] / total:.0%} of its bytes over "
                             f"{mgmt} (management) instead of the rails"))
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


@dataclass(frozen=True)
class CollectiveSize:
    """The size a hardware collective runs at, the floor for it, and why this size."""

    bytes: int
    expectation: T.Expectation | None  # None: single (nothing crosses the network)
    why: str  # "NVIDIA's size" or the memory reason for the fallback


def size_label(size_bytes: int) -> str:
    return f"{size_bytes // 1024**3}G" if size_bytes >= 1024**3 else f"{size_bytes >> 20}M"


def judge_nccl_run(output: str, topology: str | None, exit_status: int | None,
                   collective: str = "all_gather", size: CollectiveSize | None = None
                   ) -> list[CheckResult]:
    """One nccl-tests run (with its NCCL_DEBUG=INFO lines) -> its collective check, and the
    transport check where the log says which network NCCL chose.

    all_gather carries NVIDIA's verdict: its `# Avg bus bandwidth` against the floor of the
    size it ran at (`size`; NVIDIA's 16G when not given). all_reduce at the same size is
    reported beside it (errors, wrong data and a missing result fail it; its busbw is
    `info`: no published floor is for all_reduce)."""
    check_id = f"collective.{collective}"
    size = size or CollectiveSize(VERDICT_BYTES, T.collective_verdict_expectation(
        topology, VERDICT_BYTES), "NVIDIA's size")
    run = nccl_tests.parse_text(output)
    judgement = _judge_avg(run, topology, exit_status, collective, size)
    results = [judgement.to_check(check_id, KIND, SUBJECT)]
    if run.debug is not None:
        net = G.judge_nccl_network(run.debug.transport, run.debug.ib_devices,
                                   ib_unusable=run.debug.ib_unusable,
                                   warnings=run.debug.warnings + run.debug.failures,
                                   nccl_release=run.debug.nccl_release)
        if net.verdict is not None:
            results.append(net.to_check("collective.transport", KIND, SUBJECT))
    return results


def _judge_avg(run: nccl_tests.NcclTestsResult, topology: str | None, exit_status: int | None,
               collective: str, size: CollectiveSize) -> G.Judgement:
    version = run.nccl_version
    what = f"{collective}_perf -b {size_label(size.bytes)} -e {size_label(size.bytes)}"
    if not run.rows or run.errors:
        failed = G.judge_nccl_errors(run.errors or [f"mpirun exited {exit_status}"],
                                     nccl_version=version, topology=topology)
        return _no_value(failed, what)
    corrupt = G.judge_corruption(run.out_of_bounds, sum(r.wrong_total for r in run.rows))
    if corrupt:
        return corrupt
    if exit_status not in (0, None):
        return _no_value(G.judge_nccl_errors([f"mpirun exited {exit_status}"],
                                             nccl_version=version, topology=topology), what)
    avg, figure = run.avg_busbw_GBps, "'# Avg bus bandwidth'"
    if avg is None or not run.concluded:
        return _ring_cause(G.Judgement(
            Verdict.FAIL, f"{what} printed no '# Avg bus bandwidth' (the run was cut short or "
            "killed before nccl-tests' closing lines), so it has no figure.",
            "Rerun the same command by hand with NCCL_DEBUG=INFO; -T bounds it."),
            version, topology)
    at_size = [r for r in run.rows if r.size_bytes == size.bytes]
    if len(at_size) != len(run.rows):
        # Not validate's own single-size run (a sweep): the average over every size is not
        # the figure NVIDIA's floor is for; the row at the size is (nccl-tests averages its
        # out-of-place and in-place busbw, common.cu).
        sides = [b for r in at_size for b in (r.out_of_place.busbw_GBps, r.in_place.busbw_GBps)
                 if b is not None]
        if not sides:
            return G.Judgement(Verdict.FAIL, f"{what}: the output has no row at "
                               f"{size_label(size.bytes)} (sizes "
                               f"{', '.join(size_label(r.size_bytes) for r in run.rows)}), so "
                               "there is no figure for NVIDIA's floor.",
                               "Run a single size: -b and -e equal.")
        avg = sum(sides) / len(sides)
        figure = (f"the {size_label(size.bytes)} row's mean busbw (the output is a sweep; its "
                  f"'# Avg bus bandwidth' {run.avg_busbw_GBps:g} averages every size)")
    exp = size.expectation
    if collective != T.NVIDIA_COLLECTIVE or exp is None:
        why = ("no published floor is for all_reduce; NVIDIA's is all_gather's"
               if exp is not None else "a single node sends nothing over the network")
        return G.Judgement(Verdict.INFO, f"{what}: {figure} {avg:.4g} GB/s, "
                           f"reported beside all_gather, not judged: {why}.",
                           measured=round(avg, 3), expected=None, unit="GB/s")
    judged = JC.judge_busbw(avg, exp, transport=run.transport,
                            nccl_release=run.debug.nccl_release if run.debug else None)
    on = (f"Judged on {figure} of {what} against {exp.minimum:g} GB/s "
          f"({exp.source}; {size.why}).")
    judged = G.Judgement(judged.verdict, f"{judged.diagnosis} {on}", judged.hint,
                         judged.measured, judged.expected, judged.unit)
    if judged.verdict is Verdict.FAIL:
        return _ring_cause(judged, version, topology)
    return judged


def _no_value(judged: G.Judgement, what: str) -> G.Judgement:
    """A failed run has no figure (its error count is not a bandwidth)."""
    return G.Judgement(Verdict.FAIL, f"{what}: {judged.diagnosis}", judged.hint)


def _ring_cause(judged: G.Judgement, version: str | None, topology: str | None) -> G.Judgement:
    ring = JC.judge_nccl_for_ring(version, topology)
    if ring.verdict is not Verdict.FAIL or "2.30.7" in judged.diagnosis:
        return judged
    return G.Judgement(judged.verdict, f"{judged.diagnosis} Likely cause: {ring.diagnosis}",
                       ring.hint, judged.measured, judged.expected, judged.unit)


def judge_nccl_version(version: str | None, topology: str | None,
                       collective: Verdict | None) -> CheckResult:
    """The NCCL the collectives ran on (nccl-tests banner `nccl-library=`, or NCCL INFO
    `NCCL version`). On a ring it must have subnet-aware routing (>= 2.30.7): an older one
    fails when the collective did not pass (that is the likely cause) and is degraded when
    it passed (NVIDIA's ring branch works; sparkctl's nccl role builds 2.30.7, so another
    NCCL was loaded). Elsewhere the version is reported."""
    check_id = "collective.nccl_version"
    parsed = JC.nccl_version_tuple(version)
    if parsed is None:
        return CheckResult(check_id, KIND, SUBJECT, Verdict.SKIPPED, None, None, None,
                           "Not measured: the nccl-tests output shows no NCCL version (no "
                           "'nccl-library=' banner, no 'NCCL version' INFO line).",
                           "Rerun with NCCL_DEBUG=INFO; a run that died before NCCL started "
                           "prints none.")
    text = JC.nccl_version_text(parsed)
    if topology != "ring3":
        return CheckResult(check_id, KIND, SUBJECT, Verdict.INFO, text, None, None,
                           f"NCCL {text}; not judged for {topology or 'this topology'}: any "
                           "release NCCL routes direct and switch links (a ring needs "
                           f">= 2.30.7: {JC.RING_NCCL_SOURCE}).")
    ring = JC.judge_nccl_for_ring(version, topology)
    assert ring.verdict is not None  # a ring with a readable version is judged
    if ring.verdict is Verdict.FAIL and collective is Verdict.PASS:
        return CheckResult(check_id, KIND, SUBJECT, Verdict.DEGRADED, text, ">=2.30.7", None,
                           f"This ring's collective passed on NCCL {text}, which predates "
                           "subnet-aware routing (2.30.7), presumably NVIDIA's ring branch; "
                           "sparkctl's nccl role builds 2.30.7, so the run loaded another "
                           f"NCCL, and a stock build of {text} fails rings "
                           f"({JC.RING_NCCL_SOURCE}).",
                           ring.hint)
    return ring.to_check(check_id, KIND, SUBJECT)


def unreachable_result(check_id: str, nodes: list[str], errors: dict[str, str]) -> CheckResult:
    detail = "; ".join(f"{n}: {errors[n]}" for n in nodes)
    return CheckResult(check_id, KIND, SUBJECT, Verdict.SKIPPED, None, None, None,
                       f"Not run: the collective needs every node and {', '.join(nodes)} "
                       f"cannot be reached ({detail}).",
                       "Bring the node back (ssh must work), then rerun validate.")


# --- the stage ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CollectiveOptions:
    all_gather: bool = True  # kept for callers; nccl-tests platforms always run all_gather
    timeout_s: float = 300.0


def collective_ids(target, options: CollectiveOptions) -> list[str]:
    """all_gather first (it carries NVIDIA's verdict), then all_reduce beside it, where the
    platform runs them (the lab: its CPU all-reduce only)."""
    return [f"collective.{n}" for n in ("all_gather", "all_reduce")
            if n in target.platform.collectives]


def collective_stage(options: CollectiveOptions = CollectiveOptions()):
    from sparkctl.engine.session import Stage

    def expected(session) -> list[tuple[str, str]]:
        if len(session.nodes) < 2:
            return [("collective.all_reduce", SUBJECT)]
        out = [(i, SUBJECT) for i in collective_ids(session.target, options)] + [
            ("collective.transport", SUBJECT)]
        if session.platform.collective_tool is CollectiveTool.NCCL_TESTS:
            out.append(("collective.nccl_version", SUBJECT))
        return out

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


MEMINFO_COMMAND = "cat /proc/meminfo"


def choose_size(meminfo: dict[str, str | None], topology: str | None, ranks: int
                ) -> CollectiveSize | CheckResult:
    """NVIDIA's 16G where every node has the free unified memory for it, else the
    documented 4G fallback, else no run (a skipped check naming the node and the need).

    `meminfo`: each node's /proc/meminfo text, or None where it could not be read (the run is
    then not started: a 16G test on a node whose memory is unknown can freeze it)."""
    unknown = sorted(n for n, text in meminfo.items() if text is None)
    if unknown:
        return CheckResult("collective.all_gather", KIND, SUBJECT, Verdict.SKIPPED, None, None,
                           None, f"Not run: free unified memory of {', '.join(unknown)} could "
                           "not be read (/proc/meminfo), and a 16G nccl-tests run can OOM-freeze "
                           "a Spark.", "Check the node answers (node.ssh), then rerun.")
    fits: dict[int, list[M.MemoryFit]] = {}
    for size in (VERDICT_BYTES, FALLBACK_BYTES):
        fits[size] = []
        for node, text in sorted(meminfo.items()):
            try:
                values = M.meminfo_bytes(text or "")
            except ValueError as exc:
                return CheckResult("collective.all_gather", KIND, SUBJECT, Verdict.SKIPPED,
                                   None, None, None, f"Not run: {node}: {exc}.")
            fits[size].append(M.collective_fits(
                T.NVIDIA_COLLECTIVE, size, available_bytes=values["MemAvailable"],
                total_bytes=values["MemTotal"], ranks=ranks, node=node))
        if all(f.fits for f in fits[size]):
            if size == VERDICT_BYTES:
                why = "NVIDIA's size"
            else:
                short = next(f for f in fits[VERDICT_BYTES] if not f.fits)
                why = (f"the documented 4G fallback, because {short.diagnosis}")
            return CollectiveSize(size, T.collective_verdict_expectation(topology, size), why)
    short = next(f for f in fits[FALLBACK_BYTES] if not f.fits)
    return CheckResult("collective.all_gather", KIND, SUBJECT, Verdict.SKIPPED, None, None, None,
                       f"Not run: neither NVIDIA's 16G nor the 4G fallback fits: "
                       f"{short.diagnosis}.", short.hint)


def _nccl_tests(session, launcher: str, ids: list[str], options: CollectiveOptions) -> None:
    from sparkctl.engine.session import FINISH_RESERVE_S

    target, pool = session.target, session.probes
    names = [n.name for n in target.nodes]
    topology = target.cluster.spec.topology
    answers = session.parallel([(lambda n=n: pool.run(n, MEMINFO_COMMAND, 10)) for n in names])
    meminfo = {n: (r.stdout if r is not None and r.ok else None)
               for n, r in zip(names, answers, strict=True)}
    size = choose_size(meminfo, topology, len(names))
    if isinstance(size, CheckResult):
        session.record(*(CheckResult(i, KIND, SUBJECT, Verdict.SKIPPED, None, None, None,
                                     size.diagnosis, size.hint) for i in ids))
        session.record(CheckResult("collective.nccl_version", KIND, SUBJECT, Verdict.SKIPPED,
                                   None, None, None, "Not measured: no collective ran ("
                                   + size.diagnosis.removeprefix("Not run: ") + ")"))
        return
    versions: list[str | None] = []
    verdicts: dict[str, Verdict] = {}
    for check_id in ids:
        name = check_id.split(".", 1)[1]
        timeout = session.budget.timeout(options.timeout_s, reserve=FINISH_RESERVE_S)
        # nccl-tests' -T fires first; the remote `timeout` and the local deadline back it.
        command = nccl_tests_command(target, collective=name, size_bytes=size.bytes,
                                     timeout_s=max(10, int(timeout) - 15))
        result = session.probes.run(launcher, command, timeout)
        output = result.stdout + result.stderr
        versions.append(nccl_tests.parse_text(output).nccl_version if output.strip() else None)
        if result.error and not output.strip():
            check = CheckResult(
                check_id, KIND, SUBJECT, Verdict.FAIL, None, None, None,
                f"nccl-tests did not finish on {launcher}: {result.error}.",
                "A hang here is the NCCL 2.27.7-on-sm_121 signature, a ring on NCCL older "
                "than 2.30.7, or a dead peer; run it by hand with NCCL_DEBUG=INFO.")
            session.record(check)
            verdicts[name] = check.verdict
            continue
        checks = judge_nccl_run(output, topology, result.exit_status, name, size)
        verdicts[name] = checks[0].verdict
        session.record(*checks)
    version = next((v for v in versions if v), None)
    session.record(judge_nccl_version(version, topology, verdicts.get(T.NVIDIA_COLLECTIVE)))


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
            (lambda n=n: pool.run(n, counters_command([*netdevs[n], management(target)]), 10))
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
        session.record(judge_lab_transport(before, after, netdevs, management(target)))
    elif lab_run.rows:
        session.record(transport_not_provable())

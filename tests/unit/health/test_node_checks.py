"""Host pressure, drift and counter-delta judging on real command output shapes."""

from sparkctl.checks.result import Verdict
from sparkctl.health import counters, drift, host
from sparkctl.health.remote import NodeScriptPlan, build_script, parse_sections

# Captured from a lab node (`df -P -k / /var /tmp`, Debian 12).
DF = """Filesystem     1024-blocks     Used Available Capacity Mounted on
overlay          264212084 24352764  82038148      23% /
overlay          264212084 24352764  82038148      23% /
tmp               12342040        0  12342040       0% /tmp
""".splitlines()


def test_df_rows_one_per_mount_and_thresholds():
    disks = host.parse_df(DF)
    assert [(d.mount, d.used_pct) for d in disks] == [("/", 23.0), ("/tmp", 0.0)]
    assert {c.verdict for c in host.judge_disks("n", disks).checks} == {Verdict.PASS}
    full = host.parse_df([DF[0], DF[1].replace(" 23% ", " 96% ")])
    assert host.judge_disks("n", full).checks[0].verdict is Verdict.FAIL
    filling = host.parse_df([DF[0], DF[1].replace(" 23% ", " 88% ")])
    assert host.judge_disks("n", filling).checks[0].verdict is Verdict.DEGRADED
    assert host.judge_disks("n", []).checks[0].verdict is Verdict.FAIL


def test_memory_pressure():
    ok = host.judge_memory("n", {"MemTotal": 1000, "MemAvailable": 500}, 0.0)
    assert ok.checks[0].verdict is Verdict.PASS
    low = host.judge_memory("n", {"MemTotal": 1000, "MemAvailable": 50}, 0.0)
    assert low.checks[0].verdict is Verdict.DEGRADED
    oom = host.judge_memory("n", {"MemTotal": 1000, "MemAvailable": 10}, None)
    assert oom.checks[0].verdict is Verdict.FAIL
    stalled = host.judge_memory("n", {"MemTotal": 1000, "MemAvailable": 500}, 25.0)
    assert stalled.checks[0].verdict is Verdict.DEGRADED and "PSI" in stalled.checks[0].diagnosis
    assert host.parse_psi_full_avg10(["some avg10=1.00 avg60=0 avg300=0 total=0",
                                      "full avg10=2.50 avg60=0 avg300=0 total=0"]) == 2.5
    assert host.judge_memory("n", {}, None).checks[0].verdict is Verdict.FAIL


PLANNED = {"NCCL_IB_GID_INDEX": "3", "NCCL_IB_HCA": "rocep1s0f1,roceP2p1s0f1",
           "NCCL_SOCKET_IFNAME": "enP7s7"}
# The shape playbooks/roles/nccl/templates/nccl.env.j2 writes.
ENV_FILE = """# NCCL and OpenMPI environment for spark-1 (cluster c, topology switch4).
# Written by sparkctl. Use with: set -a; . /etc/sparkctl/nccl.env; set +a
NCCL_IB_GID_INDEX=3
NCCL_IB_HCA=rocep1s0f1,roceP2p1s0f1
NCCL_SOCKET_IFNAME=enP7s7
"""


def test_nccl_env_drift():
    assert drift.judge_nccl_env("n", "/p", True, ENV_FILE, PLANNED).checks[0].verdict \
        is Verdict.PASS
    measured_gid = ENV_FILE.replace("GID_INDEX=3", "GID_INDEX=1")
    assert drift.judge_nccl_env("n", "/p", True, measured_gid, PLANNED).checks[0].verdict \
        is Verdict.PASS  # the rdma role records the measured index
    edited = ENV_FILE.replace("rocep1s0f1,roceP2p1s0f1", "rocep1s0f1")
    check = drift.judge_nccl_env("n", "/p", True, edited + "NCCL_DEBUG=INFO\n", PLANNED).checks[0]
    assert check.verdict is Verdict.FAIL
    assert "NCCL_IB_HCA=rocep1s0f1 (plan: rocep1s0f1,roceP2p1s0f1)" in check.diagnosis
    assert "NCCL_DEBUG=INFO is not in the plan" in check.diagnosis
    missing = drift.judge_nccl_env("n", "/p", False, "", PLANNED).checks[0]
    assert missing.verdict is Verdict.FAIL and missing.measured == "missing"


def test_hostfile_drift():
    planned = "spark-1 slots=1\nspark-2 slots=1\n"
    written = "# mpirun hostfile\n# One rank per Spark\n" + planned
    assert drift.judge_hostfile("n", "/h", True, written, planned).checks[0].verdict \
        is Verdict.PASS
    short = drift.judge_hostfile("n", "/h", True, "spark-1 slots=1\n", planned).checks[0]
    assert short.verdict is Verdict.FAIL and "missing spark-2 slots=1" in short.diagnosis


def test_counter_deltas():
    first = counters.judge_counter_deltas("n", "rocep1s0f1", {"symbol_error": 5}, None)
    # No earlier run, no delta: info without a value, not a pass with an invented 0.
    assert first.checks[0].verdict is Verdict.INFO and "baseline" in first.checks[0].diagnosis
    assert first.checks[0].measured is None
    same = counters.judge_counter_deltas("n", "rocep1s0f1", {"symbol_error": 5},
                                         {"symbol_error": 5})
    assert same.checks[0].verdict is Verdict.PASS  # old errors, none new
    grew = counters.judge_counter_deltas("n", "rocep1s0f1", {"symbol_error": 9,
                                                             "link_downed": 0},
                                         {"symbol_error": 5, "link_downed": 0})
    assert grew.checks[0].verdict is Verdict.DEGRADED
    assert grew.checks[0].diagnosis.startswith("since the previous run:")
    assert "symbol_error=4" in grew.checks[0].diagnosis
    reset = counters.judge_counter_deltas("n", "h", {"symbol_error": 2}, {"symbol_error": 50})
    assert reset.checks[0].measured == 2  # a reset counter counts from zero


def test_script_sections_round_trip():
    script = build_script(NodeScriptPlan(gpu=True, nccl_env_path="/etc/sparkctl/nccl.env",
                                         hostfile_path="/etc/sparkctl/hostfile"))
    assert "clocks_throttle_reasons.active --format=csv" in script
    out = parse_sections("@@gpu\nindex, name\n0, GB10\n@@gpu_rc 0\n@@df\nx\n"
                         "@@file nccl_env missing\n@@file hostfile present\nspark-1 slots=1\n"
                         "@@end\n")
    assert out.complete and out.heads["gpu_rc"] == "0"
    assert out.lines("gpu") == ["index, name", "0, GB10"]
    assert out.heads["nccl_env"] == "missing" and out.lines("hostfile") == ["spark-1 slots=1"]
    assert not parse_sections("@@gpu\nindex\n").complete

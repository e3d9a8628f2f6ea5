"""Drift: the NCCL environment file and the mpirun hostfile on each node versus the plan.

Provisioning writes both (roles nccl and mpi; paths in their defaults, overridable per host as
nccl_env_path / mpi_hostfile_path); anything edited, lost or left from another topology since
then shows here with the exact keys or lines that differ.
"""

from __future__ import annotations

from sparkctl.checks.result import CheckResult, Verdict
from sparkctl.health.findings import Findings
from sparkctl.health.samples import Sample

# Defaults of playbooks/roles/nccl and playbooks/roles/mpi.
NCCL_ENV_PATH = "/etc/sparkctl/nccl.env"
HOSTFILE_PATH = "/etc/sparkctl/hostfile"
# The rdma role replaces the planned GID index with the one it measured on the node.
MEASURED_KEYS = ("NCCL_IB_GID_INDEX",)

_PROVISION_HINT = ("Re-run provisioning for these roles (ansible-playbook playbooks/site.yml "
                   "--tags nccl,mpi) or find who edited the file.")


def parse_env_file(text: str) -> dict[str, str]:
    values = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def hostfile_entries(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def judge_nccl_env(node: str, path: str, present: bool, text: str,
                   planned: dict[str, str]) -> Findings:
    out = Findings()
    subject = f"{node}:{path}"
    if not present:
        out.checks.append(CheckResult(
            "drift.nccl_env", "drift", subject, Verdict.FAIL, measured="missing",
            expected="present", diagnosis=f"{path} is missing: NCCL/MPI jobs on {node} start "
            "without the topology's interfaces and HCAs.", hint=_PROVISION_HINT))
        out.samples.append(Sample("drift_ok", 0.0, {"node": node, "file": "nccl_env"}))
        return out
    found = parse_env_file(text)
    problems = []
    for key, want in sorted(planned.items()):
        have = found.get(key)
        if have is None:
            problems.append(f"{key} missing (plan: {want})")
        elif key in MEASURED_KEYS:
            # -1: the node's HCAs measured different indexes and NCCL picks per HCA.
            if not (have.isdigit() or have == "-1"):
                problems.append(f"{key}={have} is not a GID index number")
        elif have != want:
            problems.append(f"{key}={have} (plan: {want})")
    extra = sorted(k for k in found if k.startswith("NCCL_") and k not in planned)
    problems += [f"{k}={found[k]} is not in the plan" for k in extra]
    ok = not problems
    out.samples.append(Sample("drift_ok", float(ok), {"node": node, "file": "nccl_env"}))
    out.checks.append(CheckResult(
        "drift.nccl_env", "drift", subject, Verdict.PASS if ok else Verdict.FAIL,
        measured=len(problems), expected=0, unit="differences",
        diagnosis=f"{path} matches the plan ({len(planned)} keys)." if ok else
        f"{path} differs from the plan: {'; '.join(problems)}.",
        hint=None if ok else _PROVISION_HINT))
    return out


def judge_hostfile(node: str, path: str, present: bool, text: str, planned: str) -> Findings:
    out = Findings()
    subject = f"{node}:{path}"
    if not present:
        out.checks.append(CheckResult(
            "drift.hostfile", "drift", subject, Verdict.FAIL, measured="missing",
            expected="present", diagnosis=f"{path} is missing: mpirun from {node} has no "
            "host list for this cluster.", hint=_PROVISION_HINT))
        out.samples.append(Sample("drift_ok", 0.0, {"node": node, "file": "hostfile"}))
        return out
    have, want = hostfile_entries(text), hostfile_entries(planned)
    ok = have == want
    out.samples.append(Sample("drift_ok", float(ok), {"node": node, "file": "hostfile"}))
    if ok:
        diagnosis = f"{path} lists the planned {len(want)} host(s)."
    else:
        missing = [e for e in want if e not in have]
        extra = [e for e in have if e not in want]
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + \
                ([f"unexpected {', '.join(extra)}"] if extra else [])
        diagnosis = f"{path} differs from the plan: " + ("; ".join(parts) or
                                                         "same hosts in another order") + "."
    out.checks.append(CheckResult(
        "drift.hostfile", "drift", subject, Verdict.PASS if ok else Verdict.FAIL,
        measured=" | ".join(have), expected=" | ".join(want), diagnosis=diagnosis,
        hint=None if ok else _PROVISION_HINT))
    return out

"""health's drift check accepts the rdma role's measured GID index, -1 included (a node whose
HCAs differ: NCCL picks per HCA), and still flags what is not an index."""

from sparkctl.checks.result import Verdict
from sparkctl.health.drift import judge_nccl_env

PLAN = {"NCCL_IB_GID_INDEX": "3", "NCCL_IB_HCA": "rocep1s0f1,roceP2p1s0f1"}


def _verdict(value: str) -> Verdict:
    text = f"NCCL_IB_GID_INDEX={value}\nNCCL_IB_HCA=rocep1s0f1,roceP2p1s0f1\n"
    return judge_nccl_env("spark-1", "/etc/sparkctl/nccl.env", True, text, PLAN).checks[0].verdict


def test_measured_indexes_are_not_drift():
    assert _verdict("3") is Verdict.PASS
    assert _verdict("5") is Verdict.PASS
    assert _verdict("-1") is Verdict.PASS


def test_a_non_index_is_drift():
    assert _verdict("auto") is Verdict.FAIL
    assert _verdict("-2") is Verdict.FAIL

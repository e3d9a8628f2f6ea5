"""Guess which tool printed a text, from markers each tool is known to print.

Returns a tool id understood by `sparkctl.checks.analyze`, one of the `RECOGNISED_ONLY` ids
(outputs we know but do not judge), or None.
"""

from __future__ import annotations

import re

NCCL_TESTS = "nccl-tests"
NCCL_TESTS_JSON = "nccl-tests-json"
NCCL_DEBUG = "nccl-debug"
MPIRUN = "mpirun"
PERFTEST = "perftest"
IPERF3 = "iperf3"
IPERF3_JSON = "iperf3-json"
ETHTOOL = "ethtool"
RDMA = "rdma"
NVIDIA_SMI = "nvidia-smi"
NVIDIA_SMI_QUERY = "nvidia-smi-q"
NVIDIA_SMI_XML = "nvidia-smi-xml"
NVIDIA_SMI_CSV = "nvidia-smi-csv"

# Outputs analyze recognises but does not judge: id -> what it is.
RECOGNISED_ONLY = {
    "ip": "`ip addr`/`ip link` output",
    "lspci": "`lspci` output",
    "ping": "`ping` output",
    "bonding": "/proc/net/bonding output",
    "uname": "`uname -a` output",
    "lsb_release": "`lsb_release -a` or /etc/lsb-release",
    "dgx-release": "/etc/dgx-release",
}

_NCCL_TESTS_MARKERS = ("# nccl-tests version", "# Collective test starting",
                       "# Out of bounds values", "# Avg bus bandwidth")
_NCCL_TESTS_FAILURE = ("Test NCCL failure", "Test CUDA failure", "Test failure common.cu",
                       "Invalid number of GPUs")
_NCCL_TESTS_ROW_HEADER = re.compile(r"#\s+size\s+count\s+type\s+redop")
_NCCL_ROW = re.compile(r"^\s*\d+\s+\d+\s+\w+\s+\w+\s+-?\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+",
                       re.MULTILINE)
_NCCL_DEBUG = re.compile(r"NCCL (?:INFO|WARN)|NET/IB ?:|NET/Socket ?:|Using network \w|"
                         r"^NCCL version \d", re.MULTILINE)
_MPIRUN = ("ORTE was unable to reliably start", "mpirun detected that one or more processes",
           "mpirun noticed that process", "Primary job  terminated normally",
           "There are not enough slots available", "prterun was unable")
_PERFTEST = re.compile(
    r"(?:RDMA_Write|RDMA_Read|Send|Atomic)\w* (?:BW|Latency) Test|BW peak\[|t_min\[usec\]|"
    r"Did not detect devices|Unable to find the Infiniband/RoCE device|"
    r"Completion with error at (?:client|server)|Failed status \d+: wr_id|"
    r"Couldn't read remote address|Unable to Connect the HCA's|Failed to modify QP to RTS|"
    r"Waiting for client to connect\.\.\.")
_IPERF3 = re.compile(r"^iperf3?: (?:error|interrupt) - |^\[ ID\] Interval|^iperf Done\.|"
                     r"^Connecting to host \S+,? port \d+|^iperf 3\.\d+|^Server listening on",
                     re.MULTILINE)
_ETHTOOL = re.compile(
    r"^Settings for \S+:\s*$|^\s*Link detected: |^\s*Speed: (?:\d+Mb/s|Unknown)|"
    r"^FEC parameters for |^Active FEC encoding:|^firmware-version: |^NIC statistics:|"
    r"^netlink error: Operation not permitted", re.MULTILINE)
_ETHTOOL_COUNTER = re.compile(r"^\s*[a-z][\w.\-]*: -?\d+\s*$")
_RDMA = re.compile(r"^hca_id:\s|^\S+ port \d+ ==> \S+ \((?:Up|Down)\)|^link \S+/\d+ state |"
                   r"^CA '[^']+'\s*$", re.MULTILINE)
_NVSMI_TABLE = re.compile(r"NVIDIA-SMI \S+\s+Driver Version:")
_CSV_HEADER = re.compile(r"^(?:index|name|uuid|pci\.bus_id|driver_version)\b[^\n]*,",
                         re.MULTILINE)

_RECOGNISED = (
    ("ip", re.compile(r"^\d+: \S+: <[A-Z_,-]*> mtu \d+", re.MULTILINE)),
    ("lspci", re.compile(r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.\d \w[\w ]*: ", re.MULTILINE)),
    ("ping", re.compile(r"^PING \S+ \(\S+\) \d+\(\d+\) bytes of data|packets transmitted, ",
                        re.MULTILINE)),
    ("bonding", re.compile(r"^Ethernet Channel Bonding Driver", re.MULTILINE)),
    ("uname", re.compile(r"^Linux \S+ \d+\.\d+\.\d+\S* #", re.MULTILINE)),
    ("lsb_release", re.compile(r"^(?:Distributor ID:|DISTRIB_ID=)", re.MULTILINE)),
    ("dgx-release", re.compile(r"^DGX_NAME=", re.MULTILINE)),
)


def detect(text: str) -> str | None:
    head = text.lstrip()[:4096]
    if head.startswith("{"):
        if '"nccl_version"' in text or ('"results"' in text and '"out_of_place"' in text):
            return NCCL_TESTS_JSON
        if '"intervals"' in text or '"start"' in head or '"error"' in head:
            return IPERF3_JSON
        return None
    if "<nvidia_smi_log" in head:
        return NVIDIA_SMI_XML
    if _NVSMI_TABLE.search(text):
        return NVIDIA_SMI
    if "==============NVSMI LOG==============" in text:
        return NVIDIA_SMI_QUERY
    if _CSV_HEADER.search(head) and ("memory." in head or "driver_version" in head
                                     or "temperature.gpu" in head or "pci.bus_id" in head):
        return NVIDIA_SMI_CSV
    nccl_tests = any(m in text for m in _NCCL_TESTS_MARKERS) or bool(
        _NCCL_TESTS_ROW_HEADER.search(text))
    has_rows = bool(_NCCL_ROW.search(text))
    failed = any(m in text for m in _NCCL_TESTS_FAILURE)
    summary = "# Out of bounds values" in text or "# Avg bus bandwidth" in text
    if (nccl_tests and (has_rows or summary)) or failed:
        return NCCL_TESTS
    if _NCCL_DEBUG.search(text):
        return NCCL_DEBUG
    if nccl_tests:
        return NCCL_TESTS
    if any(m in text for m in _MPIRUN):
        return MPIRUN
    if _PERFTEST.search(text):
        return PERFTEST
    if _IPERF3.search(text):
        return IPERF3
    if _RDMA.search(text):
        return RDMA
    if _ETHTOOL.search(text):
        return ETHTOOL
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and all(_ETHTOOL_COUNTER.match(line) for line in lines):
        return ETHTOOL
    for tool, pattern in _RECOGNISED:
        if pattern.search(text):
            return tool
    return None

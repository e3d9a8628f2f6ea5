"""Guess which tool printed a text, from markers each tool is known to print.

Returns a tool id understood by `sparkctl.checks.analyze`, one of the `RECOGNISED_ONLY` ids
(outputs we know but do not judge), or None.
"""

from __future__ import annotations

import re

from sparkctl.checks.text import find_phrases, phrase

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
NVIDIA_SMI_FAILURE = "nvidia-smi-failure"
LSPCI = "lspci"
RDMA_STATS = "rdma-stat"

# Outputs analyze recognises but does not judge: id -> what it is.
RECOGNISED_ONLY = {
    "ip": "`ip addr`/`ip link` output",
    "lspci-list": "`lspci` output without -vv link details",
    "ping": "`ping` output",
    "bonding": "/proc/net/bonding output",
    "uname": "`uname -a` output",
    "lsb_release": "`lsb_release -a` or /etc/lsb-release",
    "dgx-release": "/etc/dgx-release",
}

_NCCL_TESTS_MARKERS = tuple(map(phrase, ("nccl-tests version", "Collective test starting",
                                         "Out of bounds values", "Avg bus bandwidth")))
_NCCL_TESTS_FAILURE = tuple(map(phrase, ("Test NCCL failure", "Test CUDA failure",
                                         "Test failure common.cu", "Invalid number of GPUs")))
_NCCL_TESTS_ROW_HEADER = re.compile(r"size\s+count\s+type\s+(?:redop\s+|root\s+)*time\s+algbw")
_NCCL_ROW = re.compile(r"^\s*\d+\s+\d+\s+[A-Za-z]\w*\s+(?:[A-Za-z]\w*\s+)?(?:-?\d+\s+)?"
                       r"[\d.]+\s+[\d.]+\s+[\d.]+\s+\S+\s+[\d.]+\s+[\d.]+\s+[\d.]+",
                       re.MULTILINE)
_NCCL_DEBUG = re.compile(r"NCCL (?:INFO|WARN)|NET/IB ?:|NET/Socket ?:|Using network \w|"
                         r"^NCCL version \d", re.MULTILINE)
_MPIRUN = ("ORTE was unable to reliably start", "mpirun detected that one or more processes",
           "mpirun noticed that process", "Primary job  terminated normally",
           "There are not enough slots available", "prterun was unable",
           "PRTE has lost communication with a remote daemon",
           "daemon has unexpectedly failed after launch", "prterun detected that one or more",
           "returned a non-zero exit code", "An ORTE daemon has unexpectedly failed",
           "ORTE does not know how to route")
_MPIRUN_PHRASES = tuple(map(phrase, _MPIRUN))
_PERFTEST = re.compile(
    r"(?:RDMA_Write|RDMA_Read|Send|Atomic)\b[\w ]*? (?:BW|Latency) Test|BW peak\[|t_min\[usec\]|"
    r"Did not detect devices|Unable to find the Infiniband/RoCE device|"
    r"Completion with error at (?:client|server)|Failed status \d+: wr_id|"
    r"Couldn't read remote address|Unable to Connect the HCA's|Failed to modify QP to RTS|"
    r"Waiting for client to connect\.\.\.|Couldn't connect to \S+:\d+|"
    r"Unable to init the socket connection")
_IPERF3 = re.compile(r"^iperf3?: (?:error|interrupt) - |^\[ ID\] Interval|^iperf Done\.|"
                     r"Lost/Total Datagrams|"
                     r"^Connecting to host \S+,? port \d+|^iperf 3\.\d+|^Server listening on",
                     re.MULTILINE)
_ETHTOOL = re.compile(
    r"^Settings for \S+:\s*$|^\s*Link detected: |^\s*Speed: (?:\d+Mb/s|Unknown)|"
    r"^FEC parameters for |^Active FEC encoding:|^firmware-version: |^NIC statistics:|"
    r"^netlink error: Operation not permitted", re.MULTILINE)
_ETHTOOL_COUNTER = re.compile(r"^\s*[a-z][\w.\-]*: -?\d+\s*$")
_RDMA = re.compile(r"^hca_id:\s|^\S+ port \d+ ==> \S+ \((?:Up|Down)\)|"
                   r"^(?:link |\d+/\d+: )\S+/\d+:? (?:state|subnet_prefix) |"
                   r"^\s*CA '[^']+'\s*$", re.MULTILINE)
_RDMA_STATS = re.compile(r"/sys/class/infiniband/[^/\s]+/ports/\d+/hw_counters/\w+:\s*\d+|"
                         r"^link \S+/\d+\s+(?:\w+ \d+\s+)*(?:rx_write_requests|out_of_buffer|"
                         r"out_of_sequence|duplicate_request|rnr_nak_retry_err|np_cnp_sent)\b|"
                         r"^link \S+/\d+\s*$", re.MULTILINE)
_PERFTEST_ROW = re.compile(r"^\s*\d+\s+\d+\s+\d+\.\d+\s+\d+\.\d+\s+\d+\.\d+\s*$", re.MULTILINE)
_LSPCI_LINK = re.compile(r"\bLnk(?:Sta|Cap):\s*(?:Port #\d+,\s*)?Speed ")
_NVSMI_TABLE = re.compile(r"NVIDIA-SMI \S+\s+Driver Version:")
_NVSMI_FAILURE = re.compile(r"Failed to initialize NVML|NVIDIA-SMI has failed because|"
                            r"^No devices were found\s*$|Unable to determine the device handle "
                            r"for GPU", re.MULTILINE)
_CSV_HEADER = re.compile(r"^(?:index|name|uuid|pci\.bus_id|driver_version)\b[^\n]*,",
                         re.MULTILINE)

_RECOGNISED = (
    ("ip", re.compile(r"^\d+: \S+: <[A-Z_,-]*> mtu \d+", re.MULTILINE)),
    ("lspci-list", re.compile(r"^(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.\d \w[\w ]*"
                              r"(?: \[\w+\])?: ", re.MULTILINE)),
    ("ping", re.compile(r"^PING \S+ \(\S+\) \d+\(\d+\) bytes of data|packets transmitted, ",
                        re.MULTILINE)),
    ("bonding", re.compile(r"^Ethernet Channel Bonding Driver", re.MULTILINE)),
    ("uname", re.compile(r"^Linux \S+ \d+\.\d+\.\d+\S* #", re.MULTILINE)),
    ("lsb_release", re.compile(r"^(?:Distributor ID:|DISTRIB_ID=)", re.MULTILINE)),
    ("dgx-release", re.compile(r"^DGX_NAME=", re.MULTILINE)),
)


# What a command line says about the output under it (the splitter keeps the command typed
# at the prompt): used when the text alone is ambiguous (a CSV without header, a grep'd
# fragment).
_COMMAND_TOOLS = (
    (re.compile(r"\bnvidia-smi\b.*--query-gpu"), NVIDIA_SMI_CSV),
    (re.compile(r"\bnvidia-smi\b"), NVIDIA_SMI),
    (re.compile(r"\bethtool\b"), ETHTOOL),
    (re.compile(r"\blspci\b.*-v"), LSPCI),
    (re.compile(r"\brdma\s+stat\b|hw_counters"), RDMA_STATS),
    (re.compile(r"\b(?:ibv_devinfo|ibstat|ibdev2netdev|rdma\s+link)\b"), RDMA),
    (re.compile(r"\bib_(?:write|read|send|atomic)_(?:bw|lat)\b"), PERFTEST),
    (re.compile(r"\biperf3\b.*(?:-J|--json)\b"), IPERF3_JSON),
    (re.compile(r"\biperf3\b"), IPERF3),
    (re.compile(r"_perf(?:_mpi)?\b"), NCCL_TESTS),
)


def detect_from_command(command: str | None) -> str | None:
    for pattern, tool in _COMMAND_TOOLS:
        if command and pattern.search(command):
            return tool
    return None


def _json_start(text: str) -> str | None:
    match = re.search(r"(?m)^\s*\{\s*$", text) or re.search(r"^\s*\{", text)
    return text[match.start():].lstrip() if match else None


def detect(text: str, command: str | None = None) -> str | None:
    tool = _detect_text(text)
    hinted = detect_from_command(command)
    if tool is None or tool in RECOGNISED_ONLY:
        if hinted is not None and hinted != NCCL_TESTS:
            return hinted
    return tool


def _detect_text(text: str) -> str | None:
    head = text.lstrip()[:4096]
    doc = _json_start(text)
    if doc is not None and (head.startswith("{") or doc[:4096].count('"') >= 4):
        doc_head = doc[:4096]
        if '"nccl_version"' in doc or ('"results"' in doc and '"out_of_place"' in doc):
            return NCCL_TESTS_JSON
        if '"intervals"' in doc or '"start"' in doc_head or '"error"' in doc_head:
            return IPERF3_JSON
        if head.startswith("{"):
            return None
    if "<nvidia_smi_log" in head:
        return NVIDIA_SMI_XML
    if _NVSMI_TABLE.search(text):
        return NVIDIA_SMI
    if "==============NVSMI LOG==============" in text:
        return NVIDIA_SMI_QUERY
    if _NVSMI_FAILURE.search(text):
        return NVIDIA_SMI_FAILURE
    if _CSV_HEADER.search(head) and ("memory." in head or "driver_version" in head
                                     or "temperature.gpu" in head or "pci.bus_id" in head):
        return NVIDIA_SMI_CSV
    nccl_tests = find_phrases(_NCCL_TESTS_MARKERS, text) or bool(
        _NCCL_TESTS_ROW_HEADER.search(text))
    has_rows = bool(_NCCL_ROW.search(text))
    failed = find_phrases(_NCCL_TESTS_FAILURE, text)
    summary = find_phrases(_NCCL_TESTS_MARKERS[2:], text)
    if (nccl_tests and (has_rows or summary)) or failed:
        return NCCL_TESTS
    if _NCCL_DEBUG.search(text):
        return NCCL_DEBUG
    if nccl_tests:
        return NCCL_TESTS
    if find_phrases(_MPIRUN_PHRASES, text):
        return MPIRUN
    if _PERFTEST.search(text):
        return PERFTEST
    if _IPERF3.search(text):
        return IPERF3
    if _RDMA_STATS.search(text):
        return RDMA_STATS
    if _RDMA.search(text):
        return RDMA
    if _LSPCI_LINK.search(text):
        return LSPCI
    if _ETHTOOL.search(text):
        return ETHTOOL
    lines = [line for line in text.splitlines() if line.strip()]
    counters = sum(1 for line in lines if _ETHTOOL_COUNTER.match(line))
    if lines and (counters == len(lines) or (counters >= 2 and counters >= 0.4 * len(lines))):
        return ETHTOOL  # an `ethtool -S` excerpt, perhaps with a few lines of noise
    if has_rows and len(_NCCL_ROW.findall(text)) >= 2:
        return NCCL_TESTS  # rows only: a tail or middle fragment of a run
    if len(_PERFTEST_ROW.findall(text)) >= 2:
        return PERFTEST  # perftest rows without their banner and header
    for tool, pattern in _RECOGNISED:
        if pattern.search(text):
            return tool
    return None

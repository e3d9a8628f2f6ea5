"""The agent program a node runs: self-contained, standard library only, honest about
failures; and the report's verdicts."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from sparkctl.sync.program import PARTS, agent_command, program_text
from sparkctl.sync.report import COMPLETE, FAILED, SKIPPED, NodeResult, SyncReport

STDLIB = set(sys.stdlib_module_names)


def test_the_program_imports_only_the_standard_library():
    tree = ast.parse(program_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module.split(".")[0])
    assert imported and imported <= STDLIB, imported - STDLIB
    assert all(f"# ---- {name}.py ----" in program_text() for name in PARTS)


def run_agent(mode: str, request: str) -> tuple[int, list[dict]]:
    done = subprocess.run(["sh", "-c", agent_command(mode)], input=request, text=True,
                          capture_output=True, timeout=30)
    events = [line.split(" ", 2) for line in done.stdout.splitlines()
              if line.startswith("EVENT ")]
    return done.returncode, [{"name": e[1], **json.loads(e[2])} for e in events]


def test_a_missing_src_is_reported_as_input_by_the_agent(tmp_path):
    status, events = run_agent("manifest", json.dumps({"root": str(tmp_path / "nope")}) + "\n")
    assert status == 1
    assert events[-1] == {"name": "FAIL", "kind": "input",
                          "error": f"SRC {tmp_path / 'nope'} does not exist"}


def test_a_malformed_request_is_a_failure_event_not_a_traceback():
    status, events = run_agent("relay", "{not json\n")
    assert status == 1 and events[-1]["name"] == "FAIL" and events[-1]["kind"] == "input"
    status, events = run_agent("relay", json.dumps({"dest": "/x"}) + "\n")  # no key
    assert status == 1 and "bad request" in events[-1]["error"]


def test_a_manifest_is_printed_for_a_real_directory(tmp_path):
    (tmp_path / "w").write_bytes(b"1234")
    status, events = run_agent("manifest", json.dumps({"root": str(tmp_path)}) + "\n")
    assert status == 0
    manifest = [e for e in events if e["name"] == "MANIFEST"][0]
    assert [f["path"] for f in manifest["files"]] == ["w"] and manifest["total_bytes"] == 4


def test_report_verdicts():
    def report(*states):
        return SyncReport("directory", "/m", "spark-1", "/m",
                          nodes=[NodeResult(f"n{i}", s) for i, s in enumerate(states)])
    assert report(COMPLETE, COMPLETE).verdict == "pass"
    assert report(COMPLETE, FAILED).verdict == "fail"
    assert report(SKIPPED, SKIPPED).verdict == "skipped"
    assert report(COMPLETE, SKIPPED).verdict == "fail"  # a node without the data is no pass
    done = NodeResult("n1", COMPLETE, written_bytes=10**9, seconds=2.0)
    assert done.gbps == 4.0 and NodeResult("n2", FAILED).gbps is None
    data = report(COMPLETE).to_dict()
    assert data["transport"]["kind"] == "tcp+hmac"
    assert set(data["nodes"][0]) == {"node", "state", "need_bytes", "written_bytes", "seconds",
                                     "gbps", "rounds", "files", "error"}

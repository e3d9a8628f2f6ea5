"""Every `--format json` output carries `schema_version` and validates against its shipped
JSON Schema (sparkctl/data/schemas/<kind>.json, python-jsonschema); wrong documents fail."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.outputs import KINDS, SCHEMA_VERSION, schema, schema_dir, versioned

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
runner = CliRunner()


def validate(kind: str, doc) -> None:
    jsonschema.Draft202012Validator(schema(kind)).validate(doc)


def cli_json(*args: str, codes=(0,)) -> dict:
    result = runner.invoke(app, list(args))
    assert result.exit_code in codes, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_has_a_valid_schema_that_pins_the_version(kind):
    doc = schema(kind)
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$id"] == f"urn:sparkctl:schema:{kind}"
    assert doc["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert "schema_version" in doc["required"]
    if KINDS[kind]:
        assert doc["properties"][KINDS[kind]]["type"] == "array"


def test_no_schema_file_without_a_kind():
    assert {p.stem for p in schema_dir().glob("*.json")} == set(KINDS)


def test_every_json_print_in_the_cli_names_its_kind():
    """A new `--format json` output cannot slip out unversioned: print_json without kind=."""
    for path in sorted((REPO / "sparkctl" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "print_json":
                kinds = [k.value for k in node.keywords if k.arg == "kind"]
                assert kinds, f"{path.name}:{node.lineno}: print_json without kind="
                assert getattr(kinds[0], "value", None) in KINDS, f"{path.name}:{node.lineno}"


# --- real outputs ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def unreachable(tmp_path_factory) -> dict:
    """health and validate of a node that refuses SSH, and the history they leave."""
    tmp = tmp_path_factory.mktemp("runs")
    cluster = tmp / "c.yaml"
    cluster.write_text("name: c\nplatform: dgx-spark\ntopology: single\n"
                       "nodes:\n  - {name: spark-1, address: 127.0.0.1, port: 9}\n")
    db = str(tmp / "h.db")
    return {
        "health": cli_json("health", "--cluster", str(cluster), "--db", db, "-f", "json",
                           codes=(1,)),
        "validate": cli_json("validate", "--cluster", str(cluster), "--db", db,
                             "--format", "json", codes=(1,)),
        "history": cli_json("health", "history", "--db", db, "-f", "json"),
        "history-metric": cli_json("health", "history", "--db", db, "-f", "json", "--metric",
                                   "node_up"),
    }


def test_health_validate_and_history(unreachable):
    validate("health", unreachable["health"])
    validate("validate", unreachable["validate"])
    validate("health-history", unreachable["history"])
    validate("health-history", unreachable["history-metric"])
    assert unreachable["history"]["db_schema_version"] >= 2  # the database's, kept apart
    assert unreachable["history-metric"]["points"]


@pytest.mark.parametrize("name", ["single", "direct", "direct-dual", "ring3", "switch2",
                                  "switch4"])
def test_topology_show(name):
    validate("topology-show", cli_json("topology", "show", name, "--format", "json"))


def test_topology_list_checks_list_plan_list_and_lab_shims():
    validate("topology-list", cli_json("topology", "list", "--format", "json"))
    validate("checks-list", cli_json("checks", "list", "-f", "json"))
    models = cli_json("plan", "--list", "-f", "json")
    validate("plan-list", models)
    validate("lab-shims", cli_json("lab", "shims", "-f", "json"))


def test_plan_of_every_catalogue_model():
    models = cli_json("plan", "--list", "-f", "json")["models"]
    assert len(models) > 5
    planned = 0
    for model in models:
        result = runner.invoke(app, ["plan", "-m", model["name"], "-f", "json"])
        if result.exit_code == 2:  # a catalogue entry that cannot be sized: an error, no JSON
            assert "sparkctl: error:" in result.output
            continue
        validate("plan", json.loads(result.stdout))
        planned += 1
    assert planned > 5


def test_analyze_every_fixture_tool():
    files = [str(p) for sub in ("iperf3", "nccl-tests", "perftest", "rdma", "ethtool")
             for p in sorted((FIXTURES / sub).iterdir()) if p.is_file()]
    doc = cli_json("analyze", *files, "--format", "json", codes=(0, 1, 2))
    validate("analyze", doc)
    assert len(doc["results"]) == len(files)


@pytest.mark.parametrize("runtime", ["vllm", "trtllm", "sglang"])
@pytest.mark.parametrize("topology,hosts", [("single", "10.0.0.1"),
                                            ("direct", "10.0.0.1,10.0.0.2")])
def test_runtime_render(tmp_path, runtime, topology, hosts):
    doc = cli_json("runtime", "render", runtime, "--topology", topology, "--hosts", hosts,
                   "--model", "Qwen/Qwen3-8B", "-o", str(tmp_path / "rt"), "--format", "json")
    validate("runtime-render", doc)


def test_discover_sync_bootstrap_and_provision_summary(tmp_path):
    from sparkctl.bootstrap.run import BootstrapResult, NodeReport
    from sparkctl.discover import render
    from sparkctl.provision.records import write_summary
    from sparkctl.sync.report import COMPLETE, FAILED, FileSummary, NodeResult, SyncReport
    from tests.unit.discover.test_discover_output import ring_in_other_order
    from tests.unit.test_mutation_survivors import _run, _stats

    validate("discover", versioned("discover", render.to_json(ring_in_other_order(), "x")))
    report = SyncReport("directory", "/m", "spark-1", "/m", total_bytes=3, files=4, streams=2,
                        chain=[["spark-1", "spark-2"]], nodes=[
                            NodeResult("spark-2", COMPLETE, written_bytes=3, seconds=1.0,
                                       files=FileSummary(new=1)),
                            NodeResult("spark-3", FAILED, error="upstream sent nothing")])
    validate("sync", versioned("sync", report.to_dict()))
    result = BootstrapResult("c-0123456789ab", "nvidia", "/k", ["[10.0.0.1]:22 ssh-ed25519 A"],
                             [NodeReport("spark-1", "10.0.0.1", 22, ok=True),
                              NodeReport("spark-2", "10.0.0.2", 22, error="unreachable")])
    validate("bootstrap", versioned("bootstrap", result.to_dict()))
    summary = json.loads(write_summary(tmp_path, _run({"spark-1": _stats(ok=9),
                                                       "spark-2": _stats(unreachable=1)})
                                       ).read_text())
    validate("provision-summary", summary)


def test_runtime_status_is_the_report_shape():
    from sparkctl.checks.result import CheckResult, Report, Verdict

    report = Report.from_checks([CheckResult("runtime.endpoint", "runtime", "cluster",
                                             Verdict.FAIL, diagnosis="no answer")],
                                started=datetime.now(UTC), duration_s=1.0)
    validate("runtime-status", versioned("runtime-status", report.to_dict()))


# --- wrong outputs fail --------------------------------------------------------------------

def test_wrong_documents_fail_validation(unreachable):
    good = unreachable["validate"]
    broken = [
        {k: v for k, v in good.items() if k != "schema_version"},  # unversioned
        {**good, "schema_version": 2},  # a version this schema is not
        {**good, "verdict": "ok"},  # not a verdict
        {**good, "checks": [{k: v for k, v in good["checks"][0].items() if k != "id"}]},
        {**good, "checks": [{**good["checks"][0], "verdict": "passed"}]},
        {**good, "duration_s": "1.2"},
    ]
    for doc in broken:
        with pytest.raises(jsonschema.ValidationError):
            validate("validate", doc)
    health = unreachable["health"]
    with pytest.raises(jsonschema.ValidationError):
        validate("health", {k: v for k, v in health.items() if k != "skipped"})
    topo = cli_json("topology", "list", "--format", "json")
    with pytest.raises(jsonschema.ValidationError):
        validate("topology-list", topo["topologies"])  # the bare list of the first wave


def test_versioned_wraps_lists_and_refuses_a_list_for_an_object_kind():
    assert versioned("analyze", []) == {"schema_version": 1, "results": []}
    assert list(versioned("validate", {"verdict": "pass"})) == ["schema_version", "verdict"]
    with pytest.raises(TypeError):
        versioned("validate", [])

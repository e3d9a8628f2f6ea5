"""Two clusters watched from one controller (issue 15): the health fixtures' two labs (switch4
and ring3) up side by side keep separate timers, textfiles and history. Also the timer role on
systemd lab nodes: refusal without sparkctl, idempotent install and uninstall (the timer
firing: tests/integration/lab/test_systemd_nodes.py)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

from .conftest import REPO, sparkctl


def installed(stdout: str) -> tuple[str, str]:
    found = re.search(r"health timer (sparkctl-health-(\S+)) installed on every node "
                      r"\(writes (\S+)\)", stdout)
    assert found, stdout
    return found.group(1), found.group(2)


def on_node(lab: str, command: str) -> str:
    return sparkctl("lab", "ssh", "--name", lab, "spark-1", "--", command).stdout


def test_two_labs_keep_separate_timers_textfiles_and_history(switch4_lab, ring3_lab, tmp_path):
    import jsonschema
    from prometheus_client.parser import text_string_to_metric_families

    from sparkctl.health.timer import health_command
    from sparkctl.outputs import schema
    from sparkctl.targets import resolve_target

    labs = (switch4_lab, ring3_lab)
    units = {}
    refused = sparkctl("health", "install", "--lab", ring3_lab, "--on", "node")
    assert refused.returncode == 1 and "/usr/local/bin/sparkctl is missing" in refused.stderr
    try:
        for lab in labs:
            args = ("health", "install", "--lab", lab, "--on", "node", "--every", "5m",
                    "--probe-every", "2", "--skip-binary-check")
            done = sparkctl(*args, timeout=300)
            assert done.returncode == 0 and "change(s)" in done.stdout, done.stdout + done.stderr
            units[lab] = installed(done.stdout)
        again = sparkctl(*args, timeout=300)  # the last lab's, once more: converged
        assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout
        (name4, id4), (name3, id3) = units[switch4_lab], units[ring3_lab]
        assert id4 != id3 and name4 != name3
        for lab, (name, cid) in units.items():
            unit = on_node(lab, f"systemctl cat {name}.service")
            assert f"--cluster-id {cid} --probe-every 2 --format prometheus --output " \
                   f"/var/lib/prometheus/node-exporter/sparkctl-{cid}.prom" in unit
            assert f"--inventory /etc/sparkctl/health-inventory-{cid}.yml" in unit
            timer = on_node(lab, f"systemctl cat {name}.timer")
            assert "OnCalendar=*:0/5" in timer and "AccuracySec=1s" in timer
            assert on_node(lab, f"systemctl is-active {name}.timer").strip() == "active"
        # one controller, one textfile directory, one history: the commands the installer
        # schedules, run twice each (--probe-every 2: the first run probes, the second not)
        textfiles, db = tmp_path / "node-exporter", tmp_path / "health.db"
        commands = {}
        for lab, (_, cid) in units.items():
            argv = shlex.split(health_command(sys.executable, ["--lab", lab], textfiles, cid, 2))
            commands[lab] = [sys.executable, "-m", "sparkctl", *argv[1:], "--db", str(db)]
        for _ in range(2):
            for lab in labs:
                run = subprocess.run(commands[lab], capture_output=True, text=True, timeout=120,
                                     cwd=REPO, stdin=subprocess.DEVNULL)
                assert run.returncode in (0, 1), run.stderr
        files = sorted(p.name for p in textfiles.iterdir())
        assert files == sorted([f"sparkctl-{id4}.prom", f"sparkctl-{id3}.prom"])
        seen: set = set()
        for path in textfiles.iterdir():
            cid = path.name.removeprefix("sparkctl-").removesuffix(".prom")
            for family in text_string_to_metric_families(path.read_text()):
                for sample in family.samples:
                    assert sample.labels["cluster"] == cid
                    key = (sample.name, tuple(sorted(sample.labels.items())))
                    assert key not in seen  # node_exporter refuses a series seen twice
                    seen.add(key)
        # history per target: four runs, two each; the probe ran on the first run of each
        for lab in labs:
            doc = json.loads(sparkctl("health", "history", "--db", str(db), "--target", lab,
                                      "--metric", "rail_bandwidth_gbps", "-f", "json").stdout)
            jsonschema.validate(doc, schema("health-history"))
            assert len(doc["runs"]) == 2
            assert {r["target"] for r in doc["runs"]} == {str(resolve_target(lab=lab).key)}
            probed = {p["run_id"] for p in doc["points"]}
            assert probed == {doc["runs"][0]["id"]}, doc["runs"]
            assert {p["target"] for p in doc["points"]} == {doc["runs"][0]["target"]}
        for lab in labs:  # the lab's own JSON, from a real lab, against its schema
            status = json.loads(sparkctl("lab", "status", "--name", lab, "-f", "json").stdout)
            jsonschema.validate(status, schema("lab-status"))
        table = sparkctl("health", "history", "--db", str(db), "-f", "table")
        assert table.returncode == 0 and table.stdout.count("health") >= 4
        ambiguous = sparkctl("health", "history", "--db", str(db), "--target", "lab")
        assert ambiguous.returncode == 2 and "matches 2 targets" in ambiguous.stderr
    finally:
        for lab in units:
            gone = sparkctl("health", "uninstall", "--lab", lab, "--on", "node", timeout=300)
            assert gone.returncode == 0 and "change(s)" in gone.stdout, gone.stdout + gone.stderr
    gone_again = sparkctl("health", "uninstall", "--lab", ring3_lab, "--on", "node",
                          timeout=300)
    assert "nothing to change" in gone_again.stdout, gone_again.stdout
    for lab, (name, cid) in units.items():
        left = sparkctl("lab", "ssh", "--name", lab, "spark-1", "--",
                        f"ls /etc/systemd/system/{name}.timer "
                        f"/etc/sparkctl/health-inventory-{cid}.yml")
        assert left.returncode != 0

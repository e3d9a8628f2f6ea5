"""Print `systemd-analyze security` scores of the health timer's service unit: the sandboxed
template as rendered for root and for a normal user, and the same unit without its sandbox
(what the role installed before). Needs systemd-analyze with --offline (systemd >= 250).

Run: .venv/bin/python bench/bench_health_unit.py
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jinja2
import yaml

ROLE = Path(__file__).resolve().parents[1] / "playbooks" / "roles" / "health_timer"


def render(user: str, sandbox: bool) -> str:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    source = (ROLE / "templates" / "health.service.j2").read_text()
    if not sandbox:
        source = source.split("# Sandbox")[0]
    env = jinja2.Environment(trim_blocks=True, keep_trailing_newline=True)
    env.filters["comment"] = lambda text: "# " + text
    return env.from_string(source).render(**{
        **defaults, "ansible_managed": "Ansible managed", "health_timer_user": user,
        "health_timer_command": "/usr/local/bin/sparkctl health --inventory "
        "/etc/sparkctl/health-inventory.yml --quiet --format prometheus --output "
        "/var/lib/node_exporter/textfile_collector/sparkctl.prom"})


def score(unit: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sparkctl-health.service").write_text(unit)
        done = subprocess.run(["systemd-analyze", "security", "--offline=true",
                               "sparkctl-health.service"], cwd=tmp, capture_output=True,
                              text=True, timeout=60)
    match = re.search(r"Overall exposure level for \S+: (.+)", done.stdout)
    return match.group(1).strip() if match else f"no score: {done.stderr.strip()[:200]}"


def main() -> None:
    if shutil.which("systemd-analyze") is None:
        sys.exit("systemd-analyze is not installed")
    version = subprocess.run(["systemd-analyze", "--version"], capture_output=True,
                             text=True).stdout.splitlines()[0]
    print(f"{version}")
    for user, sandbox in (("root", False), ("root", True), ("nvidia", True)):
        label = f"User={user}, {'sandboxed' if sandbox else 'no sandbox (before)'}"
        print(f"{label:<36} {score(render(user, sandbox))}")


if __name__ == "__main__":
    main()

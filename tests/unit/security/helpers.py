"""Shared by the security tests: run the CLI in a sandbox directory and judge what it left."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml
from typer.testing import CliRunner

from sparkctl.cli.app import app
from sparkctl.cluster import Cluster
from sparkctl.render.inventory import build_inventory
from sparkctl.topology.builtins import builtin_spec

MARKER = "INJECTED"  # every injection payload carries it; no generated file may
PAYLOADS = {
    "newline-proxycommand": f"x\n    ProxyCommand sh -c 'touch /tmp/{MARKER}'",
    "command-substitution": f"$(touch /tmp/{MARKER})",
    "backticks": f"`touch /tmp/{MARKER}`",
    "semicolon": f"x; touch /tmp/{MARKER}",
}
# Characters that make a string invalid in every validated field.
HOSTILE = ["\n", "\r", "\t", "\x1b", "\x7f", "\u2028", "\u202e", "$(", "`", ";", " ", "'",
           '"', "|", "&", "<", ">", "\\", "*", "{"]


@dataclass
class Outcome:
    exit_code: int
    output: str
    exception: BaseException | None
    left: list[str]  # files under the sandbox other than the inputs


@contextmanager
def sandbox() -> Iterator[Path]:
    """A fresh directory that also holds every state path sparkctl could write to."""
    with tempfile.TemporaryDirectory(prefix="sparkctl-sec-") as tmp:
        yield Path(tmp)


def run_cli(args: list[str], root: Path, inputs: tuple[Path, ...] = ()) -> Outcome:
    env = {"SPARKCTL_STATE_DIR": str(root / "state"), "XDG_STATE_HOME": str(root / "xdg"),
           "SPARKCTL_HEALTH_DB": str(root / "health.db"), "COLUMNS": "200"}
    result = CliRunner().invoke(app, args, env=env, catch_exceptions=True)
    keep = {p.resolve() for p in inputs}
    left = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.resolve() not in keep and not p.is_dir())
    return Outcome(result.exit_code, result.output, result.exception, left)


def assert_refused(outcome: Outcome, *names: str) -> None:
    """Exit 2, a sparkctl or usage message naming one of `names`, no traceback, no file."""
    text = outcome.output
    assert outcome.exit_code == 2, f"exit {outcome.exit_code}: {text}"
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), \
        repr(outcome.exception)
    assert "Traceback" not in text
    assert "sparkctl: error:" in text or "Invalid value" in text, text
    if names:
        assert any(n.lower() in text.lower() for n in names), (names, text)
    assert outcome.left == [], outcome.left


def assert_no_traceback(outcome: Outcome) -> None:
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), \
        repr(outcome.exception)
    assert "Traceback" not in outcome.output
    assert outcome.exit_code in (0, 2), outcome.output
    if outcome.exit_code == 2:
        assert "sparkctl: error:" in outcome.output or "Invalid value" in outcome.output


def valid_inventory(topology: str = "ring3") -> dict:
    return build_inventory(Cluster.from_spec(builtin_spec(topology)))


def dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=1 << 16)


def injected_lines(root: Path, marker: str = MARKER) -> list[str]:
    """Lines of files under root that carry a payload outside a comment: a payload line of
    its own (a newline broke out), or one inside a value a program reads."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), 1):
            if marker in line and not line.lstrip().startswith("#"):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()[:80]}")
    return found


def line_range(text: str, path: tuple) -> tuple[int, int]:
    """1-based first and last line of the YAML node at `path` (keys and list indices)."""
    node = yaml.compose(text)
    for step in path:
        if isinstance(node, yaml.MappingNode):
            node = next(v for k, v in node.value if k.value == step)
        else:
            node = node.value[step]
    end = node.end_mark.line + (1 if node.end_mark.column else 0)
    return node.start_mark.line + 1, max(end, node.start_mark.line + 1)


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


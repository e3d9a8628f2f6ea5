"""`health history`: what the store holds, as a table or JSON, filtered by time and metric."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sparkctl.errors import InputError
from sparkctl.health.store import HistoryPoint, HistoryStore

_SINCE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str | None, *, now: float | None = None) -> float | None:
    """"7d" / "12h" / "30m" -> the Unix time that long ago; None for no limit."""
    if text is None:
        return None
    match = _SINCE.match(text)
    if not match:
        raise InputError(f"--since {text!r} is not a duration",
                         hint="write a number and a unit: 30m, 12h, 7d, 2w")
    seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
    return (time.time() if now is None else now) - seconds


@dataclass(frozen=True)
class HistoryQuery:
    since_ts: float | None
    metrics: list[str]
    target: str | None = None


def resolve_target(store: HistoryStore, text: str | None) -> str | None:
    """`--target`: a target key as stored (`health history` lists them), or a part of one
    that only one target has (a lab's name, an inventory's file name)."""
    if text is None:
        return None
    known = store.targets()
    if text in known:
        return text
    matches = [t for t in known if text in t]
    if len(matches) == 1:
        return matches[0]
    listed = ", ".join(known) or "none yet"
    if matches:
        raise InputError(f"--target {text!r} matches {len(matches)} targets in {store.path}",
                         hint="give more of it; targets: " + ", ".join(matches))
    raise InputError(f"--target {text!r}: no runs of such a target in {store.path}",
                     hint=f"targets with history: {listed}")


def select_points(store: HistoryStore, query: HistoryQuery) -> list[HistoryPoint]:
    if query.metrics:
        known = set(store.metric_names())
        unknown = [m for m in query.metrics if m not in known]
        if unknown:
            raise InputError(f"no history for metric {', '.join(unknown)}",
                             hint="recorded metrics: " + (", ".join(sorted(known)) or "none yet"))
    return store.points(since_ts=query.since_ts, metrics=query.metrics or None,
                        target=query.target)


def history_dict(store: HistoryStore, query: HistoryQuery) -> dict:
    runs = store.runs(since_ts=query.since_ts, target=query.target)
    points = select_points(store, query) if query.metrics else []
    return {
        "db": str(store.path), "db_schema_version": store.schema_version,
        "runs": [{"id": r.id, "started": r.started, "duration_s": r.duration_s,
                  "verdict": r.verdict, "target": r.target, "source": r.source} for r in runs],
        "points": [{"run_id": p.run_id, "ts": p.ts, "metric": p.metric, "subject": p.subject,
                    "value": p.value, "unit": p.unit, "target": p.target} for p in points],
    }


def print_history(store: HistoryStore, query: HistoryQuery) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    doc = history_dict(store, query)
    style = {"pass": "green", "degraded": "yellow", "fail": "red"}
    if not query.metrics:
        table = Table(title=f"health runs in {store.path}")
        for col in ("id", "started", "verdict", "duration s", "source", "target"):
            table.add_column(col, overflow="fold")
        for r in doc["runs"]:
            table.add_row(str(r["id"]), r["started"],
                          f"[{style.get(r['verdict'], 'white')}]{r['verdict']}[/]",
                          f"{r['duration_s']:.2f}", r["source"], r["target"])
        console.print(table)
        return
    table = Table(title=f"history of {', '.join(query.metrics)}")
    several = len({p["target"] for p in doc["points"]}) > 1
    for col in ("time", "run", "metric", "subject", "value", *(("target",) if several else ())):
        table.add_column(col, overflow="fold")
    for p in doc["points"]:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(p["ts"]))
        unit = f" {p['unit']}" if p["unit"] else ""
        value = "failed (no value)" if p["value"] is None else f"{p['value']:g}{unit}"
        table.add_row(when, str(p["run_id"]), p["metric"], p["subject"], value,
                      *((p["target"],) if several else ()))
    console.print(table)

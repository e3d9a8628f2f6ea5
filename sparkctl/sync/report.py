"""What a sync did, per node: the result model and its JSON shape (README: sync --format json).

States: `complete` (every file in place and verified), `failed` (with the reason, naming
the node), `skipped` (nothing could be done there, e.g. no docker for an image sync).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

COMPLETE, FAILED, SKIPPED = "complete", "failed", "skipped"
PENDING = "pending"  # only while a sync runs; a finished report has none


@dataclass
class FileSummary:
    """What resume found and did on one node, summed over rounds."""

    complete: int = 0  # in place and verified before (state record): not read again
    verified: int = 0  # in place without a record: read, every chunk matched, kept
    new: int = 0
    replaced: int = 0  # in place but different: rewritten
    resumed: list[dict] = field(default_factory=list)  # partial, kept matching chunks
    restarted: list[str] = field(default_factory=list)  # partial, nothing matched: from 0

    def add(self, scan: dict, first_round: bool) -> None:
        if first_round:
            self.complete += int(scan.get("complete", 0))
            self.verified += int(scan.get("verified", 0))
            self.new += int(scan.get("new", 0))
            self.replaced += int(scan.get("replaced", 0))
        self.resumed += list(scan.get("resumed", []))
        self.restarted += list(scan.get("restarted", []))

    def to_dict(self) -> dict[str, Any]:
        return {"complete": self.complete, "verified": self.verified, "new": self.new,
                "replaced": self.replaced, "resumed": self.resumed,
                "restarted": self.restarted}


@dataclass
class NodeResult:
    name: str
    state: str = PENDING
    need_bytes: int = 0  # what the first round found missing
    written_bytes: int = 0
    seconds: float = 0.0  # from the start of the transfer to this node's last chunk
    rounds: int = 0
    files: FileSummary = field(default_factory=FileSummary)
    error: str | None = None
    lost_children: list[list[str]] = field(default_factory=list)

    @property
    def gbps(self) -> float | None:
        if self.state != COMPLETE or self.seconds <= 0 or self.written_bytes == 0:
            return None
        return self.written_bytes * 8 / self.seconds / 1e9

    def to_dict(self) -> dict[str, Any]:
        return {"node": self.name, "state": self.state, "need_bytes": self.need_bytes,
                "written_bytes": self.written_bytes, "seconds": round(self.seconds, 3),
                "gbps": round(self.gbps, 3) if self.gbps is not None else None,
                "rounds": self.rounds, "files": self.files.to_dict(), "error": self.error}


@dataclass
class SyncReport:
    kind: str  # directory | image
    source: str  # SRC as given (path, or docker image)
    source_node: str | None  # None: the controller
    destination: str
    total_bytes: int = 0
    files: int = 0
    streams: int = 0
    chain: list[list[str]] = field(default_factory=list)  # each round's data order
    rails: dict[str, list[list[str | None]]] = field(default_factory=dict)  # hop -> pairs
    nodes: list[NodeResult] = field(default_factory=list)
    started: str = ""
    duration_s: float = 0.0
    transfer_s: float = 0.0  # first round start to last chunk: the figure benches compare
    notes: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        states = {n.state for n in self.nodes}
        if FAILED in states:
            return "fail"
        if states == {SKIPPED}:
            return "skipped"
        if SKIPPED in states:
            return "fail"
        return "pass"

    def node(self, name: str) -> NodeResult:
        for result in self.nodes:
            if result.name == name:
                return result
        raise KeyError(name)

    def failed(self) -> list[NodeResult]:
        return [n for n in self.nodes if n.state != COMPLETE]

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "kind": self.kind, "source": self.source,
                "source_node": self.source_node, "destination": self.destination,
                "total_bytes": self.total_bytes, "files": self.files,
                "transport": {"kind": "tcp+hmac", "streams": self.streams,
                              "chain": self.chain, "rails": self.rails},
                "nodes": [n.to_dict() for n in self.nodes], "notes": self.notes,
                "started": self.started, "duration_s": round(self.duration_s, 3),
                "transfer_s": round(self.transfer_s, 3)}

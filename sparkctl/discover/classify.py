"""Name an observed cabling: a built-in topology, a valid custom one, or unsupported and why."""

from __future__ import annotations

from dataclasses import dataclass

from sparkctl.discover.cabling import renamings
from sparkctl.topology.builtins import BUILTINS
from sparkctl.topology.graph import build_graph
from sparkctl.topology.model import Cable, ClusterSpec
from sparkctl.topology.rules import check_spec

UNSUPPORTED = "unsupported"
CUSTOM = "custom"
# Rules about how things are cabled; name and MTU rules concern the declaration, not the wire.
_CABLING_RULES = {"self-loop", "port-reused", "switch-twice", "switch-loop", "disconnected",
                  "long-ring", "node-count"}


@dataclass(frozen=True)
class Classification:
    # a built-in name, CUSTOM (valid, provisionable from a cluster file) or UNSUPPORTED
    topology: str
    order: tuple[str, ...]  # node order that makes it the built-in (its N1, N2, ...)
    reasons: tuple[str, ...] = ()  # why unsupported; each names node:port
    notes: tuple[str, ...] = ()  # ambiguity worth telling

    @property
    def supported(self) -> bool:
        return self.topology != UNSUPPORTED


def builtin_match(cables: list[Cable], nodes: list[str]) -> tuple[str, tuple[str, ...]] | None:
    """The built-in this cabling is, with the node order (N1, N2, ..) that produces it."""
    for name, topo in BUILTINS.items():
        if topo.nodes != len(nodes):
            continue
        found = renamings(topo.cables(list(nodes)), cables, nodes)
        if found:
            mapping = found[0]
            return name, tuple(mapping[n] for n in nodes)
    return None


def classify(spec: ClusterSpec) -> Classification:
    nodes = spec.node_names
    match = builtin_match(list(spec.cables), nodes)
    notes: list[str] = []
    if match is not None:
        name, order = match
        if name == "direct":
            notes.append("a switch with only these two Sparks on it looks the same at layer 2 "
                         "(switch2 on p1 would read as direct)")
        return Classification(name, order, notes=tuple(notes))
    violations = [v for v in check_spec(spec, build_graph(spec)) if v.code in _CABLING_RULES]
    if violations:
        return Classification(UNSUPPORTED, tuple(nodes),
                              reasons=tuple(_reason(v) for v in violations))
    return Classification(CUSTOM, tuple(nodes), notes=(
        "valid but not a built-in: provision it from a cluster file that lists these cables",))


def _reason(violation) -> str:
    text = violation.message
    if violation.node is not None:
        where = violation.node if violation.port is None else f"{violation.node}:p{violation.port}"
        text = f"{where}: {text}"
    return text

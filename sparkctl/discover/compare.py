"""Observed cabling against the declared one: exact, renamed nodes, moved cables, or a diff.

Each finding names node:port and the one concrete action that fixes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sparkctl.discover.cabling import (
    End,
    Swap,
    cable_key,
    describe_mapping,
    multiset,
    renamings,
    slot_swaps,
    to_cable,
    to_ref,
)
from sparkctl.discover.findings import DRIFT, Finding
from sparkctl.topology.builtins import BUILTINS
from sparkctl.topology.model import SWITCH, Cable, ClusterSpec, PortRef

EXACT, RENAMED, RECABLED, DIFFERENT = "exact", "renamed", "recabled", "different"
WRITE_HINT = "`sparkctl discover ... --write-cluster FILE` writes a cluster file for this cabling"


@dataclass(frozen=True)
class Comparison:
    outcome: str  # EXACT, RENAMED, RECABLED or DIFFERENT
    renaming: dict[str, str] | None = None  # declared name -> host cabled in its place
    order: tuple[str, ...] | None = None  # node order under which the declaration holds
    swaps: tuple[Swap, ...] = ()
    missing: tuple[Cable, ...] = ()
    extra: tuple[Cable, ...] = ()
    findings: tuple[Finding, ...] = ()


Explain = Callable[[PortRef], str | None]


def compare(declared: ClusterSpec, observed: list[Cable],
            explain: Explain | None = None) -> Comparison:
    nodes = declared.node_names
    if multiset(declared.cables) == multiset(observed):
        return Comparison(EXACT)
    found = renamings(declared.cables, observed, nodes)
    if found:
        return _renamed(declared, found[0])
    swaps = slot_swaps(observed, declared.cables, nodes)
    if swaps:
        return _recabled(declared, observed, swaps)
    return _different(declared, observed, explain or (lambda ref: None))


def _renamed(declared: ClusterSpec, mapping: dict[str, str]) -> Comparison:
    nodes = declared.node_names
    order = tuple(mapping[n] for n in nodes)
    what = declared.topology if declared.topology in BUILTINS else "the declared cabling"
    moved = [n for n in nodes if mapping[n] != n]
    if declared.topology in BUILTINS:
        fix = (f"declare the nodes in the order {', '.join(order)} (the order sets N1, N2, ..: "
               f"--hosts {','.join(order)}, or reorder 'nodes:' in the cluster file; "
               f"{WRITE_HINT}), or re-cable to the declared order")
    else:
        fix = f"rename the nodes in the cluster file's cables ({WRITE_HINT}), or re-cable"
    finding = Finding("renamed-nodes", DRIFT, ",".join(moved),
                      f"your cabling is {what} if {describe_mapping(mapping, nodes)}", fix)
    return Comparison(RENAMED, renaming=mapping, order=order, findings=(finding,))


def _peer(keys: list, end: End) -> End | None:
    for a, b in keys:
        if a == end:
            return b
        if b == end:
            return a
    return None


def _name(end: End | None) -> str:
    return "nothing" if end is None else str(to_ref(end))


def _swap_text(swap: Swap) -> str:
    s, t = swap
    if s[0] == t[0]:
        return f"swap the cables on {s[0]} p{s[1]} and p{t[1]}"
    return f"swap the cables in {to_ref(s)} and {to_ref(t)}"


def _recabled(declared: ClusterSpec, observed: list[Cable],
              solutions: list[tuple[Swap, ...]]) -> Comparison:
    best, others = solutions[0], solutions[1:3]
    seen = [cable_key(c) for c in observed]
    wanted = [cable_key(c) for c in declared.cables]
    findings = []
    for swap in best:
        s, t = swap
        here = [f"{to_ref(e)} goes to {_name(_peer(seen, e))} (declared: "
                f"{_name(_peer(wanted, e))})" for e in swap]
        empty = [e for e in swap if _peer(seen, e) is None]
        if empty:
            full = t if empty[0] == s else s
            fix = f"move the cable from {to_ref(full)} to {to_ref(empty[0])}"
        else:
            fix = _swap_text(swap)
        message = "cables swapped: " + "; ".join(here)
        if others:
            message += " (equally good: " + "; or ".join(
                ", then ".join(_swap_text(x) for x in alt) for alt in others) + ")"
        findings.append(Finding("swapped-cables", DRIFT, f"{to_ref(s)},{to_ref(t)}", message,
                                fix))
    return Comparison(RECABLED, swaps=best, findings=tuple(findings))


def _different(declared: ClusterSpec, observed: list[Cable], explain: Explain) -> Comparison:
    missing = list((multiset(declared.cables) - multiset(observed)).elements())
    extra = list((multiset(observed) - multiset(declared.cables)).elements())
    findings: list[Finding] = []
    paired_m, paired_e = set(), set()
    for i, m in enumerate(missing):
        for j, e in enumerate(extra):
            if j in paired_e:
                continue
            shared = {x for x in m if x[0] != SWITCH} & {x for x in e if x[0] != SWITCH}
            if len(shared) != 1 or m == e:
                continue
            (anchor,) = shared
            want = m[1] if m[0] == anchor else m[0]
            got = e[1] if e[0] == anchor else e[0]
            findings.append(Finding(
                "wrong-port", DRIFT, str(to_ref(anchor)),
                f"{to_ref(anchor)} is cabled to {to_ref(got)}; declared {to_ref(want)}",
                f"unplug the far end of {to_ref(anchor)}'s cable from {to_ref(got)} and plug it "
                f"into {to_ref(want)}"))
            paired_m.add(i)
            paired_e.add(j)
            break
    for i, m in enumerate(missing):
        if i in paired_m:
            continue
        cable = to_cable(m)
        why = [w for w in (explain(end) for end in cable.ends() if not end.is_switch) if w]
        findings.append(Finding(
            "missing-cable", DRIFT, ",".join(str(e) for e in cable.ends() if not e.is_switch),
            f"declared cable {cable} is not there" + (f" ({'; '.join(why)})" if why else ""),
            f"connect {cable.a} to {cable.b}" if not cable.to_switch else
            f"cable {cable.a if not cable.a.is_switch else cable.b} to the switch"))
    for j, e in enumerate(extra):
        if j in paired_e:
            continue
        cable = to_cable(e)
        findings.append(Finding(
            "extra-cable", DRIFT, ",".join(str(x) for x in cable.ends() if not x.is_switch),
            f"{cable} is cabled but not declared",
            f"unplug it, or declare it ({WRITE_HINT})"))
    return Comparison(DIFFERENT, missing=tuple(to_cable(m) for m in missing),
                      extra=tuple(to_cable(e) for e in extra), findings=tuple(findings))

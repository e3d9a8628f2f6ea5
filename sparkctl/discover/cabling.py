"""Cabling as a multiset of cables, and the two ways two cablings can be "the same but":
renamed nodes (a port-preserving graph isomorphism) and cables moved between ports.

With at most four Sparks there are at most 24 renamings and eight port slots, so exhaustive
search is exact and takes microseconds; no heuristic graph matcher is needed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import combinations, permutations

from sparkctl.topology.hardware import PORTS
from sparkctl.topology.model import SWITCH, Cable, PortRef

End = tuple[str, int]  # (node, port); the switch end is (SWITCH, -1)
Key = tuple[End, End]


def end_key(ref: PortRef) -> End:
    return (ref.node, -1 if ref.port is None else ref.port)


def cable_key(cable: Cable) -> Key:
    a, b = sorted((end_key(cable.a), end_key(cable.b)))
    return (a, b)


def multiset(cables: Iterable[Cable]) -> Counter:
    return Counter(cable_key(c) for c in cables)


def to_ref(end: End) -> PortRef:
    return PortRef(end[0], None if end[1] < 0 else end[1])


def to_cable(key: Key) -> Cable:
    return Cable(to_ref(key[0]), to_ref(key[1]))


def rename(cables: Iterable[Cable], mapping: dict[str, str]) -> list[Cable]:
    def ref(r: PortRef) -> PortRef:
        return r if r.is_switch else PortRef(mapping.get(r.node, r.node), r.port)
    return [Cable(ref(c.a), ref(c.b)) for c in cables]


def _moved_preference(nodes: list[str], mapping: dict[str, str]) -> tuple:
    """Fewest names changed; among equals, change the names listed last (keep N1 where it is)."""
    moved = [i for i, n in enumerate(nodes) if mapping[n] != n]
    return (len(moved), [-i for i in sorted(moved, reverse=True)])


def renamings(declared: Iterable[Cable], observed: Iterable[Cable],
              nodes: list[str]) -> list[dict[str, str]]:
    """Every mapping declared name -> host that makes the declared cabling the observed one.

    Sorted by preference (see `_moved_preference`); the identity comes first when it fits.
    """
    declared, target = list(declared), multiset(observed)
    found = []
    for perm in permutations(nodes):
        mapping = dict(zip(nodes, perm, strict=True))
        if multiset(rename(declared, mapping)) == target:
            found.append(mapping)
    return sorted(found, key=lambda m: _moved_preference(nodes, m))


Swap = tuple[End, End]


def _apply(keys: list[Key], swap: Swap) -> list[Key]:
    s, t = swap

    def move(end: End) -> End:
        return t if end == s else s if end == t else end
    return [tuple(sorted((move(a), move(b)))) for a, b in keys]  # type: ignore[misc]


def slot_swaps(observed: Iterable[Cable], declared: Iterable[Cable], nodes: list[str],
               max_swaps: int = 2) -> list[tuple[Swap, ...]]:
    """Smallest sets of port-content exchanges that turn the observed cabling into the declared.

    One exchange takes whatever is plugged into two ports (either may be empty) and swaps it:
    exactly what a person does with two cables. Returns every solution of the smallest size,
    most practical first: exchanges within one node, then fewer nodes, then cabling order.
    """
    start = [cable_key(c) for c in observed]
    goal = multiset(declared)
    slots = [(n, p) for n in nodes for p in PORTS]
    used = {e for k in start for e in k if e[0] != SWITCH} | {
        e for k in goal for e in k if e[0] != SWITCH}
    candidates = [(s, t) for s, t in combinations(slots, 2) if s in used or t in used]
    index = {n: i for i, n in enumerate(nodes)}

    def preference(solution: tuple[Swap, ...]) -> tuple:
        cross = sum(s[0] != t[0] for s, t in solution)
        touched = {e[0] for swap in solution for e in swap}
        return (cross, len(touched), [(index[s[0]], s[1], index[t[0]], t[1]) for s, t in solution])

    for depth in range(1, max_swaps + 1):
        solutions = []
        for combo in combinations(candidates, depth):
            keys = start
            for swap in combo:
                keys = _apply(keys, swap)
            if Counter(keys) == goal:
                solutions.append(combo)
        if solutions:
            return sorted(solutions, key=preference)
    return []


def describe_mapping(mapping: dict[str, str], nodes: list[str]) -> str:
    """'spark-2 and spark-3 swap names' or 'spark-2 becomes spark-1, ...'."""
    moved = [n for n in nodes if mapping[n] != n]
    if len(moved) == 2 and mapping[moved[0]] == moved[1]:
        return f"{moved[0]} and {moved[1]} swap names"
    # mapping: declared role -> host playing it; the host must take the role's name.
    return "the nodes are renamed " + ", ".join(
        f"{mapping[n]} -> {n}" for n in nodes if mapping[n] != n)

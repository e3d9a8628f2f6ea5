"""Which node forwards to which, over which rails: the replication tree (pure).

A chain (each node forwards to the next while it receives) when the rails allow one, so N
nodes cost about one transfer: every cable carries the data once, in one direction, at
the same time as the others. On a switch every pair of nodes shares both rail subnets; in
a ring3 the chain follows the cables. Where no chain exists (custom cabling), a tree: a
node with several children sends to each on its own cable.

Every hop uses every rail subnet its two ends share (both twins of a cable, four rails
for two cables), with the same number of streams on each hop, so a stream that arrives on
stream i leaves on stream i.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sparkctl.sync.nodes import SyncNode

CONTROLLER = None  # the root of a tree whose source is the controller
LOOPBACK = "127.0.0.1"  # controller as source: the first hop enters the head node locally


@dataclass(frozen=True)
class Hop:
    parent: str | None  # None: the controller
    child: str
    pairs: tuple[tuple[str | None, str], ...]  # (parent address, child address) per rail

    def stream_ends(self, streams: int) -> list[tuple[str | None, str]]:
        """The (source, destination) address of each stream: rails in turn."""
        return [self.pairs[i % len(self.pairs)] for i in range(streams)]


@dataclass(frozen=True)
class Tree:
    root: str | None  # the source node, or None for the controller
    hops: tuple[Hop, ...]  # parents before children
    unreachable: tuple[str, ...]  # members no rail path reaches

    def children(self, name: str | None) -> list[Hop]:
        return [h for h in self.hops if h.parent == name]

    def parent_hop(self, name: str) -> Hop | None:
        return next((h for h in self.hops if h.child == name), None)

    @property
    def members(self) -> list[str]:
        return [h.child for h in self.hops]

    def order(self) -> list[str]:
        """Root first, then the nodes as data reaches them."""
        return ([self.root] if self.root else ["controller"]) + self.members

    def streams(self, per_rail: int) -> int:
        widest = max((len(h.pairs) for h in self.hops if h.parent is not None), default=1)
        return max(1, per_rail * widest)


def shared_rails(a: SyncNode, b: SyncNode) -> tuple[tuple[str, str], ...]:
    """(a's address, b's address) on every rail subnet both sit on, in a's port/rail order."""
    pairs = []
    for mine in a.rails:
        for theirs in b.rails:
            if mine.network == theirs.network and mine.address != theirs.address:
                pairs.append((str(mine.address), str(theirs.address)))
    return tuple(pairs)


def _chain(start: str, members: Sequence[str], links: dict) -> list[str] | None:
    """A path from `start` through every member (members tried in their given order)."""
    def extend(path: list[str], left: list[str]) -> list[str] | None:
        if not left:
            return path
        for name in left:
            if links.get((path[-1], name)):
                found = extend(path + [name], [m for m in left if m != name])
                if found:
                    return found
        return None
    return extend([start], [m for m in members if m != start])


def plan_tree(nodes: Sequence[SyncNode], source: str | None, members: Sequence[str],
              helpers: Sequence[str] = ()) -> Tree:
    """Plan how data flows from `source` (a node name, or None: the controller) to every
    member, in the members' order of preference (earlier ones nearer the source).

    `helpers` (nodes that already hold the data) may forward when a member is otherwise
    unreachable; they are never leaves.
    """
    by_name = {n.name: n for n in nodes}
    tree = _plan(by_name, source, list(members))
    if tree.unreachable and helpers:
        wider = _plan(by_name, source, list(members) + [h for h in helpers
                                                          if h not in members])
        tree = _prune(wider, set(helpers) - set(members))
    return tree


def _plan(by_name: dict, source: str | None, members: list[str]) -> Tree:
    links = {(a, b): shared_rails(by_name[a], by_name[b])
             for a in by_name for b in by_name if a != b}
    if not members:
        return Tree(source, (), ())
    if source is CONTROLLER:
        head = members[0]
        first = Hop(None, head, ((None, LOOPBACK),))
        start, rest = head, members[1:]
    else:
        first, start, rest = None, source, [m for m in members if m != source]
    path = _chain(start, rest, links)
    hops = [first] if first else []
    if path is not None:
        hops += [Hop(a, b, links[(a, b)]) for a, b in zip(path, path[1:], strict=False)]
        return Tree(source, tuple(hops), ())
    # No chain: breadth first, each member hung below the first reached node that shares
    # rails with it.
    reached = [start]
    left = list(rest)
    progress = True
    while left and progress:
        progress = False
        for name in list(left):
            parent = next((p for p in reached if links.get((p, name))), None)
            if parent is not None:
                hops.append(Hop(parent, name, links[(parent, name)]))
                reached.append(name)
                left.remove(name)
                progress = True
    return Tree(source, tuple(hops), tuple(left))


def _prune(tree: Tree, helpers: set[str]) -> Tree:
    hops = list(tree.hops)
    while True:
        parents = {h.parent for h in hops}
        leaves = [h for h in hops if h.child in helpers and h.child not in parents]
        if not leaves:
            return Tree(tree.root, tuple(hops),
                        tuple(u for u in tree.unreachable if u not in helpers))
        hops = [h for h in hops if h not in leaves]

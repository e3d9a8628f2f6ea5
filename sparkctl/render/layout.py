"""Where each Spark and each cable goes in a cabling picture, for every topology.

One layout for the printed diagram (Graphviz, positions pinned) and the HTML report's SVG.
Cables are straight segments between box borders; the nodes are placed so that no cable
passes over a box other than its two ends: a row under the switch, a pair side by side, a
ring of three as a triangle (dot's ranks drew ring3's closing cable across the middle node).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sparkctl.cluster import Cluster
from sparkctl.topology.model import SWITCH

BOX_W, BOX_H = 170.0, 84.0
GAP = 110.0  # between boxes


@dataclass(frozen=True)
class Box:
    name: str  # a node name, or SWITCH
    x: float  # top-left corner
    y: float
    w: float
    h: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    def border_towards(self, px: float, py: float) -> tuple[float, float]:
        """Where the ray from the centre to (px, py) leaves the box."""
        cx, cy = self.center
        dx, dy = px - cx, py - cy
        if dx == 0 and dy == 0:
            return cx, cy
        scale = min((self.w / 2) / abs(dx) if dx else math.inf,
                    (self.h / 2) / abs(dy) if dy else math.inf)
        return cx + dx * scale, cy + dy * scale


@dataclass(frozen=True)
class Wire:
    cable: str  # "spark-1:p0 -- spark-2:p1"
    a: str
    a_port: int | None
    b: str
    b_port: int | None  # None at the switch
    start: tuple[float, float]
    end: tuple[float, float]


@dataclass(frozen=True)
class Layout:
    boxes: tuple[Box, ...]
    wires: tuple[Wire, ...]
    width: float
    height: float

    def box(self, name: str) -> Box:
        return next(b for b in self.boxes if b.name == name)


def _positions(names: list[str], switched: bool) -> list[Box]:
    step = BOX_W + GAP
    if switched:
        row_w = len(names) * BOX_W + (len(names) - 1) * GAP
        boxes = [Box(n, 20 + i * step, 20 + BOX_H + GAP * 1.3, BOX_W, BOX_H)
                 for i, n in enumerate(names)]
        # wide enough that every node's cable, straight up from its centre, lands on it
        sw_w = max(BOX_W, row_w - BOX_W * 0.6)
        return [Box(SWITCH, 20 + (row_w - sw_w) / 2, 20, sw_w, BOX_H * 0.7), *boxes]
    if len(names) == 3:  # a triangle: each cable has a side of its own
        return [Box(names[0], 20, 20, BOX_W, BOX_H), Box(names[1], 20 + 2 * step, 20, BOX_W, BOX_H),
                Box(names[2], 20 + step, 20 + BOX_H + GAP * 1.2, BOX_W, BOX_H)]
    return [Box(n, 20 + i * step * 1.2, 20, BOX_W, BOX_H) for i, n in enumerate(names)]


def layout(cluster: Cluster) -> Layout:
    spec = cluster.spec
    switched = any(c.to_switch for c in spec.cables)
    boxes = _positions([n.name for n in spec.nodes], switched)
    by_name = {b.name: b for b in boxes}
    pairs: dict[frozenset, int] = {}
    for cable in spec.cables:
        key = frozenset(e.node if not e.is_switch else SWITCH for e in cable.ends())
        pairs[key] = pairs.get(key, 0) + 1
    seen: dict[frozenset, int] = {}
    wires = []
    for cable in spec.cables:
        a_end, b_end = cable.ends()
        a = SWITCH if a_end.is_switch else a_end.node
        b = SWITCH if b_end.is_switch else b_end.node
        key = frozenset((a, b))
        index, count = seen.get(key, 0), pairs[key]
        seen[key] = index + 1
        ca, cb = by_name[a].center, by_name[b].center
        if b == SWITCH:  # straight up to the switch, above the node
            cb = (ca[0], by_name[b].center[1])
        if a == SWITCH:
            ca = (cb[0], by_name[a].center[1])
        # parallel cables between one pair are spread side by side
        offset = (index - (count - 1) / 2) * 22.0
        dx, dy = cb[0] - ca[0], cb[1] - ca[1]
        length = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / length * offset, dx / length * offset
        pa = (ca[0] + nx, ca[1] + ny)
        pb = (cb[0] + nx, cb[1] + ny)
        start = _clip_from(by_name[a], pa, pb)
        end = _clip_from(by_name[b], pb, pa)
        wires.append(Wire(str(cable), a, None if a_end.is_switch else a_end.port, b,
                          None if b_end.is_switch else b_end.port, start, end))
    width = max(b.x + b.w for b in boxes) + 20
    height = max(b.y + b.h for b in boxes) + 20
    return Layout(tuple(boxes), tuple(wires), width, height)


def _clip_from(box: Box, inside: tuple[float, float], towards: tuple[float, float]
               ) -> tuple[float, float]:
    """Where the segment from `inside` (a point in the box) to `towards` leaves the box."""
    (x0, y0), (x1, y1) = inside, towards
    t_exit = 1.0
    for p, q in ((-(x1 - x0), x0 - box.x), (x1 - x0, box.x + box.w - x0),
                 (-(y1 - y0), y0 - box.y), (y1 - y0, box.y + box.h - y0)):
        if p > 0:
            t_exit = min(t_exit, q / p)
    return (x0 + (x1 - x0) * t_exit, y0 + (y1 - y0) * t_exit)


def segment_crosses_box(start: tuple[float, float], end: tuple[float, float], box: Box,
                        margin: float = 0.0) -> bool:
    """True when the segment passes through the box's inside (Liang-Barsky clipping);
    `margin` shrinks the box (a segment may touch a border it ends on)."""
    x0, y0 = start
    x1, y1 = end
    left, right = box.x + margin, box.x + box.w - margin
    top, bottom = box.y + margin, box.y + box.h - margin
    t0, t1 = 0.0, 1.0
    for p, q in ((-(x1 - x0), x0 - left), (x1 - x0, right - x0), (-(y1 - y0), y0 - top),
                 (y1 - y0, bottom - y0)):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9

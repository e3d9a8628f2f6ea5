"""Cabling pictures: no cable crosses a node box other than its two ends, in every built-in
topology, in sparkctl's layout and in what Graphviz draws from it."""

import shutil
import subprocess

import pytest

from sparkctl.render.diagram import to_dot
from sparkctl.render.layout import Box, layout, segment_crosses_box
from sparkctl.targets import resolve_target
from sparkctl.topology.builtins import BUILTINS


def cluster(name):
    n = BUILTINS[name].nodes
    return resolve_target(topology=name, hosts=",".join(f"spark-{i + 1}" for i in range(n))
                          ).cluster


def test_the_geometry_sees_a_crossing():
    box = Box("b", 10, 10, 10, 10)
    assert segment_crosses_box((0, 15), (30, 15), box)
    assert not segment_crosses_box((0, 0), (30, 0), box)
    assert not segment_crosses_box((0, 15), (9, 15), box)


@pytest.mark.parametrize("name", list(BUILTINS))
def test_no_cable_crosses_another_box(name):
    places = layout(cluster(name))
    assert len(places.wires) == len(cluster(name).spec.cables)
    for wire in places.wires:
        for box in places.boxes:
            if box.name in (wire.a, wire.b):
                continue
            assert not segment_crosses_box(wire.start, wire.end, box), (name, wire, box)
    for a in places.boxes:  # and no box sits on another
        for b in places.boxes:
            if a is not b:
                assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y \
                    or b.y + b.h <= a.y


def _on_edge(point, box, tolerance=0.5):
    x, y = point
    inside = box.x - tolerance <= x <= box.x + box.w + tolerance and \
        box.y - tolerance <= y <= box.y + box.h + tolerance
    near_side = min(abs(x - box.x), abs(x - box.x - box.w), abs(y - box.y),
                    abs(y - box.y - box.h)) <= tolerance
    return inside and near_side


@pytest.mark.parametrize("name", list(BUILTINS))
def test_every_cable_ends_on_both_of_its_boxes(name):
    # (a switch narrower than its row left the outer nodes' cables ending in the air)
    places = layout(cluster(name))
    for wire in places.wires:
        assert _on_edge(wire.start, places.box(wire.a)), (name, wire)
        assert _on_edge(wire.end, places.box(wire.b)), (name, wire)


def graphviz_plain(dot_text):
    out = subprocess.run(["dot", "-Kneato", "-n", "-Tplain"], input=dot_text, text=True,
                         capture_output=True, timeout=30, check=True).stdout
    boxes, edges = {}, []
    for line in out.splitlines():
        parts = line.split()
        if parts[0] == "node":
            name, x, y, w, h = parts[1].strip('"'), *map(float, parts[2:6])
            boxes[name] = Box(name, x - w / 2, y - h / 2, w, h)
        elif parts[0] == "edge":
            n = int(parts[3])
            pts = [(float(parts[4 + 2 * i]), float(parts[5 + 2 * i])) for i in range(n)]
            edges.append((parts[1].strip('"'), parts[2].strip('"'), pts))
    return boxes, edges


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
@pytest.mark.parametrize("name", ["ring3", "switch4", "direct-dual"])
def test_graphviz_drawing_keeps_cables_off_other_boxes(name):
    boxes, edges = graphviz_plain(to_dot(cluster(name)))
    assert len(edges) == len(cluster(name).spec.cables)
    for tail, head, points in edges:
        for box in boxes.values():
            if box.name in (tail, head):
                continue
            for start, end in zip(points, points[1:], strict=False):
                assert not segment_crosses_box(start, end, box), (name, tail, head, box)

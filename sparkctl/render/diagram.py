"""Views of a cluster for people and scripts: JSON, Graphviz DOT, Mermaid, a printed diagram."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from sparkctl.cluster import Cluster
from sparkctl.errors import EnvironmentProblem, InputError, RunFailed
from sparkctl.fileio import atomic_write
from sparkctl.render.inventory import interface_vars
from sparkctl.topology.hardware import netdev
from sparkctl.topology.model import SWITCH


def cable_rows(cluster: Cluster) -> list[dict]:
    """One row per rail of every cable: both ends, addresses and the subnet."""
    plan = cluster.plan
    rows = []
    for cable in cluster.spec.cables:
        for rail in (0, 1):
            ends: list[dict[str, Any]] = []
            for end in cable.ends():
                if end.is_switch:
                    ends.append({"node": SWITCH, "interface": None, "hca": None, "address": None})
                    continue
                assert end.port is not None  # a Spark's end
                item = plan.interface(end.node, netdev(end.port, rail))
                ends.append({"node": end.node, "port": end.port, "interface": item.name,
                             "hca": item.hca, "address": str(item.address)})
            spark_end = next(e for e in ends if e["node"] != SWITCH)
            subnet = str(plan.interface(spark_end["node"], spark_end["interface"]).address.network)
            rows.append({"cable": str(cable), "rail": rail, "subnet": subnet, "ends": ends})
    return rows


def to_json(cluster: Cluster) -> dict:
    spec = cluster.spec
    return {
        "name": spec.name,
        "topology": spec.topology,
        "platform": spec.platform,
        "mtu": spec.mtu,
        "nodes": [
            {"name": n.name, "index": n.index, "mgmt_address": n.mgmt_address,
             "ssh_user": n.ssh_user, "ssh_port": n.ssh_port,
             "interfaces": interface_vars(cluster, n.name), "nccl_env": cluster.nccl_env(n.name)}
            for n in spec.nodes
        ],
        "cables": [
            {"a": str(c.a), "b": str(c.b),
             "rails": [{k: r[k] for k in ("rail", "subnet", "ends")}
                       for r in cable_rows(cluster) if r["cable"] == str(c)]}
            for c in spec.cables
        ],
        "subnets": [
            {"segment": s.label, "rail": s.rail, "network": str(s.network),
             "members": [{"node": n, "interface": d, "address": str(a)} for n, d, a in s.members]}
            for s in cluster.plan.subnets
        ],
        "hostfile": cluster.hostfile(),
    }


def _dot_id(name: str) -> str:
    return '"' + name.replace('"', '\\"') + '"'


def to_dot(cluster: Cluster) -> str:
    """A cabling diagram: each Spark a box with its two ports and four rails, cables labelled.

    Positions come from sparkctl.render.layout and are pinned (neato, straight cables), so no
    cable crosses a node box; each cable names its ports at its ends."""
    from sparkctl.render.layout import layout

    spec = cluster.spec
    places = layout(cluster)
    out = [
        f"graph {_dot_id(spec.name)} {{",
        '  graph [layout=neato, splines=line, overlap=true, fontname="Helvetica", labelloc=t, '
        f'label="{spec.name}: {spec.topology}, MTU {spec.mtu}"];',
        '  node [shape=plaintext, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for node in spec.nodes:
        plans = {(i.port, i.rail): i for i in cluster.plan.interfaces[node.name]}
        rows = [f'<TR><TD COLSPAN="2" BGCOLOR="#76b900"><B>{node.name}</B><BR/>'
                f'<FONT POINT-SIZE="9">mgmt {node.mgmt_address}</FONT></TD></TR>']
        for port in (0, 1):
            cells = []
            for rail in (0, 1):
                item = plans.get((port, rail))
                text = (f"{netdev(port, rail)}<BR/>{item.address}" if item
                        else f'<FONT COLOR="#999999">{netdev(port, rail)}<BR/>unused</FONT>')
                cells.append(f'<TD><FONT POINT-SIZE="9">rail {rail}: {text}</FONT></TD>')
            rows.append(f'<TR><TD PORT="p{port}" ROWSPAN="1"><B>p{port}</B></TD>'
                        f'<TD><TABLE BORDER="0" CELLSPACING="0">'
                        f"<TR>{cells[0]}</TR><TR>{cells[1]}</TR></TABLE></TD></TR>")
        out.append(f"  {_dot_id(node.name)} [pos=\"{_pos(places.box(node.name))}\", "
                   f"label=<<TABLE BORDER=\"1\" CELLBORDER=\"1\" "
                   f"CELLSPACING=\"0\">{''.join(rows)}</TABLE>>];")
    if any(c.to_switch for c in spec.cables):
        fabric = ", ".join(str(s.network) for s in cluster.plan.subnets if "switch" in s.label)
        out.append(f'  {_dot_id(SWITCH)} [pos="{_pos(places.box(SWITCH))}", shape=box, '
                   f'style="rounded,filled", fillcolor="#dddddd",'
                   f' label="RoCE 200GbE switch\\n{fabric}"];')
    rows = cable_rows(cluster)
    for cable in spec.cables:
        subnets = " / ".join(r["subnet"] for r in rows if r["cable"] == str(cable))
        a, b = cable.ends()
        ends = [_dot_id(e.node) if not e.is_switch else _dot_id(SWITCH) for e in (a, b)]
        ports = "".join(f', {side}label="p{e.port}"' for side, e in (("tail", a), ("head", b))
                        if not e.is_switch)
        out.append(f'  {ends[0]} -- {ends[1]} [label="{subnets}", penwidth=2{ports}];')
    out.append("}")
    return "\n".join(out) + "\n"


def _pos(box) -> str:
    """A box's centre in Graphviz points, pinned (y grows upwards there)."""
    x, y = box.center
    return f"{x:.0f},{-y:.0f}!"


def to_mermaid(cluster: Cluster) -> str:
    spec = cluster.spec
    ids = {n.name: f"n{n.index}" for n in spec.nodes}
    ids[SWITCH] = "sw"
    out = ["graph LR"]
    for node in spec.nodes:
        out.append(f'  {ids[node.name]}["{node.name}<br/>{node.mgmt_address}"]')
    if any(c.to_switch for c in spec.cables):
        out.append('  sw{{"RoCE switch"}}')
    rows = cable_rows(cluster)
    for cable in spec.cables:
        subnets = " / ".join(r["subnet"] for r in rows if r["cable"] == str(cable))
        ports = " - ".join(f"p{e.port}" for e in cable.ends() if not e.is_switch)
        out.append(f'  {ids[cable.a.node]} ---|"{ports}: {subnets}"| {ids[cable.b.node]}')
    return "\n".join(out) + "\n"


def draw(cluster: Cluster, output: Path, timeout_s: float = 30.0) -> Path:
    """Render the DOT diagram to SVG or PNG with Graphviz's `dot`."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("svg", "png", "pdf"):
        raise InputError(f"cannot draw to {output}: unknown format {fmt!r}",
                         hint="use a file name ending in .svg, .png or .pdf")
    dot = shutil.which("dot")
    if dot is None:
        raise EnvironmentProblem("Graphviz `dot` is not installed",
                                 hint="apt-get install graphviz")
    try:
        proc = subprocess.run([dot, "-Kneato", "-n", f"-T{fmt}"], input=to_dot(cluster).encode(),
                              capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise RunFailed(f"dot did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        raise RunFailed(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return atomic_write(output, proc.stdout)

"""A cluster file that matches what is cabled, ready for `sparkctl provision --cluster`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from sparkctl.cluster import Cluster, render_cluster_file
from sparkctl.discover.run import Discovery
from sparkctl.errors import RunFailed
from sparkctl.fileio import atomic_write
from sparkctl.topology.builtins import BUILTINS, builtin_spec
from sparkctl.topology.model import DEFAULT_PLATFORM, ClusterSpec


def discovered_spec(result: Discovery) -> ClusterSpec:
    """The declaration of the observed cabling: a built-in in the node order that produces it,
    else the explicit cables. Management details (addresses, users) stay with each host."""
    cls = result.classification
    if not cls.supported:
        raise RunFailed("the cabling is not a supported topology, so no cluster file was written: "
                        + "; ".join(cls.reasons),
                        hint="re-cable as the findings say, then run discover again")
    by_name = {n.name: n for n in result.nodes}
    if cls.topology in BUILTINS:
        order = list(cls.order)
        cables = builtin_spec(cls.topology, order).cables
        topology = cls.topology
    else:
        order = [n.name for n in result.nodes]
        cables = result.observed.cables
        topology = "custom"
    nodes = tuple(dataclasses.replace(by_name[n], index=i) for i, n in enumerate(order))
    base = result.declared
    spec = ClusterSpec(name=base.name if base else "discovered", topology=topology, nodes=nodes,
                       cables=tuple(cables))
    if base is not None:
        spec = dataclasses.replace(spec, mtu=base.mtu, pool=base.pool, reserved=base.reserved,
                                   platform=base.platform)
    else:
        spec = dataclasses.replace(spec, platform=result.platform or DEFAULT_PLATFORM)
    Cluster.from_spec(spec)  # the file must load and plan; raises with node:port otherwise
    return spec


def write_cluster_file(result: Discovery, path: Path) -> ClusterSpec:
    spec = discovered_spec(result)
    atomic_write(path, render_cluster_file(spec))
    return spec

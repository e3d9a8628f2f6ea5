"""What provisioning cannot set but the fabric needs, said in the run's summary.

A switch is not managed by sparkctl, yet RoCE through it works only if its ports carry the
rails' MTU (a smaller port MTU drops the frames) and run at 200G (autoneg can settle at 100G):
facts/dgx-spark.md, "MTU on a switch" and "switch (2-4 nodes)".
"""

from __future__ import annotations

from sparkctl.topology.model import SWITCH, ClusterSpec


def fabric_notices(spec: ClusterSpec) -> list[str]:
    ports = sorted(f"{end.node}:p{end.port}" for cable in spec.cables if cable.to_switch
                   for end in cable.ends() if end.node != SWITCH)
    if not ports:
        return []
    notes = [f"switch: every switch port of {', '.join(ports)} must carry MTU {spec.mtu} (the "
             "rails' MTU; a smaller port MTU drops RoCE frames) and run at 200G (ethtool on "
             "each node must show Speed: 200000Mb/s; force 200G on the switch if autoneg gives "
             "100G). sparkctl does not configure the switch."]
    if spec.switch_mtu is None:
        notes.append(f"switch: MTU {spec.mtu} is NVIDIA's default through a switch; once the "
                     "switch ports carry jumbo frames, say so in the cluster file "
                     "(switch: {mtu: 9000}) and provision again.")
    return notes

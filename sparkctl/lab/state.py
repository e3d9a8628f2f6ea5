"""The lab record (lab.json): every name and id a lab created, so cleanup touches only those.

The record is written before the resources it names are created (and rewritten as PIDs
appear), so a crash at any point leaves enough behind for `lab down` to finish the job.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sparkctl.errors import EnvironmentProblem
from sparkctl.fileio import atomic_write
from sparkctl.lab import paths

RECORD_VERSION = 1
UNPLUGGED = "unplugged"


@dataclass
class ProcessRef:
    """A host PID plus its start time, so a recycled PID is never mistaken for ours."""

    pid: int
    start_ticks: int


@dataclass
class NodeRecord:
    name: str
    index: int
    netns: str
    mgmt_address: str
    host_veth: str  # root-namespace end of the management veth, on the lab bridge
    directory: str  # holds upper/, work/, root/ of the node's overlay
    launcher: ProcessRef | None = None  # the host `unshare` process
    init: ProcessRef | None = None  # PID 1 of the node's PID namespace, as the host sees it


@dataclass
class LinkEnd:
    netns: str
    ifname: str
    node: str  # a Spark name, "switch", or "unplugged" (the far end of an empty port)
    port: int | None  # QSFP port; None on the switch side
    rail: int


@dataclass
class LinkRecord:
    """One veth pair: one rail of one cable, of a node's cable to the switch, or of an empty
    port (whose far end waits, down, in the spare namespace, as an unplugged port shows
    NO-CARRIER on a real Spark)."""

    a: LinkEnd
    b: LinkEnd

    @property
    def plugged(self) -> bool:
        return UNPLUGGED not in (self.a.node, self.b.node)

    def other(self, netns: str, ifname: str) -> LinkEnd | None:
        if (self.a.netns, self.a.ifname) == (netns, ifname):
            return self.b
        if (self.b.netns, self.b.ifname) == (netns, ifname):
            return self.a
        return None


@dataclass
class FaultRecord:
    kind: str
    args: list[str]
    undo: dict  # what `fault clear` needs to restore the state before the fault


@dataclass
class LabRecord:
    name: str
    topology: str
    created: str
    image: str
    rate_mbit: int
    scale: float
    mgmt_subnet: str
    mgmt_bridge: str
    mgmt_host_address: str
    nodes: list[NodeRecord]
    switch_netns: str | None
    spare_netns: str  # holds the far ends of unplugged ports (kept down: NO-CARRIER)
    links: list[LinkRecord]
    configured: bool = False
    # fresh: the nodes are a fresh DGX OS Spark (password only, no keys); else keyed (access.py)
    fresh: bool = False
    user: str = "nvidia"  # the login user of every node
    source: dict = field(default_factory=dict)  # how the cluster was declared (for `status`)
    faults: list[FaultRecord] = field(default_factory=list)
    version: int = RECORD_VERSION

    def node(self, name: str) -> NodeRecord:
        for node in self.nodes:
            if node.name == name:
                return node
        from sparkctl.errors import InputError

        raise InputError(f"lab {self.name} has no node {name!r}",
                         hint=f"its nodes are: {', '.join(n.name for n in self.nodes)}")

    def namespaces(self) -> list[str]:
        names = [n.netns for n in self.nodes]
        return names + ([self.switch_netns] if self.switch_netns else []) + [self.spare_netns]

    @property
    def directory(self) -> Path:
        return paths.lab_state_dir(self.name)

    @property
    def key_path(self) -> Path:
        return self.directory / "id_ed25519"

    @property
    def known_hosts_path(self) -> Path:
        return self.directory / "known_hosts"

    @property
    def password_path(self) -> Path:
        """The login (and sudo) password of `user` on every node, 0600."""
        return self.directory / "password"

    @property
    def host_keys_path(self) -> Path:
        """The nodes' real host public keys (known_hosts format), written in both modes: the
        truth a user would read off each box to check bootstrap's fingerprints."""
        return self.directory / "host_keys"

    @property
    def inventory_path(self) -> Path:
        return paths.lab_inventory_path(self.name)


def save(record: LabRecord) -> None:
    atomic_write(paths.lab_record_path(record.name),
                 json.dumps(asdict(record), indent=1) + "\n", mode=0o600)


def _process(data: dict | None) -> ProcessRef | None:
    return ProcessRef(**data) if data else None


def load(name: str) -> LabRecord | None:
    path = paths.lab_record_path(name)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except PermissionError:
        raise EnvironmentProblem(f"lab {name}'s record is readable by root only",
                                 hint="run sparkctl lab commands as root (sudo)") from None
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(
            f"lab record {path} is unreadable: {exc}",
            hint=f"remove the lab's leftovers by hand (ip netns list | grep sparkctl-{name}-), "
            f"then delete {path.parent}") from None
    nodes = [NodeRecord(**_known(NodeRecord, {**n, "launcher": _process(n.get("launcher")),
                                              "init": _process(n.get("init"))}))
             for n in data.pop("nodes")]
    links = [LinkRecord(LinkEnd(**item["a"]), LinkEnd(**item["b"])) for item in data.pop("links")]
    faults = [FaultRecord(**f) for f in data.pop("faults", [])]
    return LabRecord(nodes=nodes, links=links, faults=faults, **_known(LabRecord, data))


def _known(cls, data: dict) -> dict:
    """A record written by another sparkctl version may carry fields this one lacks (another
    lab on the same machine): they are ignored, not a crash of every `lab up`."""
    import dataclasses

    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in data.items() if k in names}


def list_names() -> list[str]:
    if not paths.STATE_ROOT.is_dir():
        return []
    return sorted(p.parent.name for p in paths.STATE_ROOT.glob("*/lab.json"))

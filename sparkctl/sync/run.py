"""One sync: the manifest, then rounds of pipelined replication until every node is whole.

A round starts a relay agent on every node still short of data; each scans its DEST (what
is already complete, which partial files resume) and listens on its planned rail
addresses. Then the tree is planned over the nodes that answered, every agent is told its
upstream and children, and the source streams the chunks any of them needs. A node whose
upstream died is tried again in the next round, behind the healthy ones; the data reaches
it from wherever its scan says it stopped.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sparkctl.errors import InputError, RunFailed
from sparkctl.sync.agents import (
    Agent,
    AgentEvent,
    ChannelSink,
    silent,
    start_agent,
    wait_for,
)
from sparkctl.sync.nodes import SyncCluster, open_pool
from sparkctl.sync.plan import CONTROLLER, LOOPBACK, Hop, Tree, plan_tree
from sparkctl.sync.remote.manifest import (
    CHUNK_SIZE,
    Layout,
    build_manifest,
    cache_file,
    ranges_of,
)
from sparkctl.sync.remote.send import send_chunks
from sparkctl.sync.remote.wire import Counter, SyncError
from sparkctl.sync.report import COMPLETE, FAILED, PENDING, NodeResult, SyncReport

RETRY_KINDS = ("upstream",)  # the data did not arrive: worth another round
MANIFEST_CACHE = "~/.cache/sparkctl/sync"
EXIT_WAIT_S = 5.0


@dataclass(frozen=True)
class SyncOptions:
    source: str  # a path on the controller, or on `from_node`
    receivers: tuple[str, ...]
    from_node: str | None = None
    dest: str | None = None  # default: the source's own absolute path
    streams_per_rail: int = 1
    chunk_size: int = CHUNK_SIZE
    stall_s: float = 20.0
    connect_s: float = 10.0
    budget_s: float = 3600.0
    rounds: int = 3
    verify: bool = False  # re-read files that the state file says are complete
    splice: bool = True  # relays write with splice(2) where it works (False: buffers only)


@dataclass(frozen=True)
class Progress:
    node: str
    done_bytes: int
    total_bytes: int
    state: str  # scanning | receiving | complete | failed
    round: int


ProgressFn = Callable[[Progress], None]
LogFn = Callable[[str], None]


@dataclass
class _Round:
    number: int
    agents: dict[str, Agent] = field(default_factory=dict)  # relays by node
    need: dict[str, list] = field(default_factory=dict)  # chunk ranges by node
    ports: dict[str, dict] = field(default_factory=dict)  # listen address -> port, by node
    written: dict[str, int] = field(default_factory=dict)  # bytes written, by node
    failed: set[str] = field(default_factory=set)
    suspects: dict[str, str] = field(default_factory=dict)  # node -> why its parent lost it
    kinds: dict[str, str] = field(default_factory=dict)  # how each failed node failed
    source_agents: list[Agent] = field(default_factory=list)
    sender: threading.Thread | None = None
    sender_error: list[str] = field(default_factory=list)
    data_start: float | None = None


class Sync:
    def __init__(self, cluster: SyncCluster, options: SyncOptions,
                 progress: ProgressFn | None = None, log: LogFn | None = None) -> None:
        self.cluster = cluster
        self.options = options
        self.progress = progress or (lambda _p: None)
        self.log = log or (lambda _m: None)
        self.key = secrets.token_hex(32)  # this transfer's HMAC key, only ever sent over SSH
        self.deadline = time.monotonic() + options.budget_s
        self.results = {name: NodeResult(name) for name in options.receivers}
        self.retry: set[str] = set()  # failed nodes worth another round
        self.suspects: set[str] = set()  # nodes a parent could not reach: last next round
        self.manifest: dict = {}
        self.dest = ""
        self.first_data: float | None = None
        self.last_complete: float | None = None

    def run(self, kind: str = "directory", shown_source: str | None = None) -> SyncReport:
        started = time.monotonic()
        wanted = [self.cluster.node(n) for n in self.options.receivers]
        if self.options.from_node:
            wanted.insert(0, self.cluster.node(self.options.from_node))
        with open_pool(wanted, self.options.connect_s) as pool:
            self.pool = pool
            source = self.options.from_node
            if source and not pool.reachable(source):
                raise RunFailed(f"{source} (the source): {pool.failures[source]}")
            self.manifest = self._manifest()
            self.dest = self._destination()
            report = SyncReport(kind, shown_source or self.options.source, source, self.dest,
                                total_bytes=int(self.manifest["total_bytes"]),
                                files=len(self.manifest["files"]),
                                started=datetime.now(UTC).isoformat(timespec="seconds"),
                                nodes=list(self.results.values()))
            for name in self.options.receivers:
                if not pool.reachable(name):
                    self._fail(name, pool.failures[name], None)
            for number in range(1, self.options.rounds + 1):
                members = self._members(number)
                if not members or self._left() <= 0:
                    break
                round_ = _Round(number)
                try:
                    self._round(round_, members, report)
                except BaseException:
                    self._abort(round_)
                    raise
        for result in self.results.values():
            if result.state == PENDING:
                result.state = FAILED
                result.error = (f"the budget of {self.options.budget_s:.0f} s ran out (raise "
                                "--budget)" if self._left() <= 0 else "not reached")
        report.duration_s = time.monotonic() - started
        if self.first_data is not None and self.last_complete is not None:
            report.transfer_s = self.last_complete - self.first_data
        return report

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def _members(self, number: int) -> list[str]:
        """This round's nodes: not complete and not finally failed. A node its parent could
        not reach goes last, so it never stands between the source and healthy nodes again;
        the nodes behind it failed only for want of data and go first."""
        names = [n for n, r in self.results.items()
                 if r.state == PENDING or (r.state == FAILED and n in self.retry)]
        order = self.options.receivers
        return sorted(names, key=lambda n: (n in self.suspects, order.index(n)))

    def _fail(self, name: str, error: str, round_: _Round | None, kind: str = "") -> None:
        result = self.results[name]
        result.state = FAILED
        result.error = error
        retry = round_ is not None and kind in RETRY_KINDS and round_.number < self.options.rounds
        # A node that got nothing in a retry round is not tried again: a dead node costs one
        # stall timeout, and the second one passes while the healthy nodes finish.
        if retry and round_ is not None and round_.number > 1 and round_.written.get(name, 0) == 0:
            retry = False
        if retry:
            self.retry.add(name)
        else:
            self.retry.discard(name)
        if round_ is not None:
            round_.failed.add(name)
            round_.kinds[name] = kind
        self.progress(Progress(name, result.written_bytes, result.need_bytes, "failed",
                               round_.number if round_ else 0))

    # --- manifest and destination ---------------------------------------------------------

    def _manifest(self) -> dict:
        options = self.options
        if options.from_node is None:
            try:
                return build_manifest(options.source, options.chunk_size,
                                      cache_file(MANIFEST_CACHE, options.source))
            except SyncError as exc:
                raise InputError(exc.message) from None
        agent = start_agent(self.pool, options.from_node, "manifest",
                            {"root": options.source, "chunk_size": options.chunk_size,
                             "cache": MANIFEST_CACHE}, self._left())
        event = wait_for(agent, ("MANIFEST",), self.deadline, self.options.stall_s)
        agent.close_stdin()
        if event.name != "MANIFEST":
            message = f"{options.from_node}: {event.data.get('error', 'no manifest')}"
            if event.data.get("kind") == "input":
                raise InputError(message)
            raise RunFailed(message)
        return event.data

    def _destination(self) -> str:
        if self.options.dest:
            return self.options.dest
        root = self.manifest["root"]
        if self.manifest.get("single_file"):
            root = root.rsplit("/", 1)[0]
        if not root or root == "/":
            raise InputError("SRC sits directly in /; give --to DIR")
        return root

    # --- one round ------------------------------------------------------------------------

    def _round(self, round_: _Round, members: list[str], report: SyncReport) -> None:
        self.log(f"round {round_.number}: {', '.join(members)}")
        self._start_relays(round_, members)
        ready = [n for n in members if n in round_.ports]
        wanting = [n for n in ready if round_.need[n]]
        helpers = [n for n in ready if not round_.need[n]]
        tree = plan_tree(self.cluster.nodes, self.options.from_node, wanting, helpers)
        for name in tree.unreachable:
            self._fail(name, "no data rail links it to the source or to a node that has the "
                       "data (check the cabling and the address plan)", round_)
        streams = tree.streams(self.options.streams_per_rail)
        report.streams = streams
        if tree.hops:
            report.chain.append(tree.order())
        for hop in tree.hops:
            report.rails[f"{hop.parent or 'controller'}->{hop.child}"] = [
                list(p) for p in hop.pairs]
        in_tree = set(tree.members)
        for name in ready:
            if name not in in_tree:
                self._send_plan(round_, name, {"streams": 0})  # nothing to receive
        for hop in reversed(tree.hops):  # children are told before their parents connect
            self._send_plan(round_, hop.child, self._relay_plan(round_, tree, hop, streams))
        round_.data_start = time.monotonic()
        if self.first_data is None and tree.hops:
            self.first_data = round_.data_start
        if tree.hops:
            self._start_source(round_, tree, streams)
        self._watch(round_)
        self._close(round_)
        self.suspects = set(round_.suspects)
        for name, why in round_.suspects.items():
            result = self.results.get(name)
            if result is not None and result.state == FAILED and \
                    round_.kinds.get(name) in RETRY_KINDS:
                result.error = why  # the cause, rather than its own "no data came"

    def _note_lost(self, round_: _Round, reporter: str, data: dict) -> None:
        for name, why in data.get("children_lost") or []:
            round_.suspects.setdefault(name, f"{reporter} could not reach it over the data "
                                             f"rails: {why}")
    def _start_relays(self, round_: _Round, members: list[str]) -> None:
        controller_source = self.options.from_node is None
        for name in members:
            listen = [str(r.address) for r in self.cluster.node(name).rails]
            if controller_source:
                listen.append(LOOPBACK)  # where this machine's data may enter the node
            if not listen:
                self._fail(name, "no data rail address is planned for it", round_)
                continue
            request = {"key": self.key, "dest": self.dest, "manifest": self.manifest,
                       "listen": listen, "stall_s": self.options.stall_s,
                       "connect_s": self.options.connect_s + self.options.stall_s,
                       "verify": self.options.verify and round_.number == 1,
                       "no_splice": not self.options.splice}
            round_.agents[name] = start_agent(self.pool, name, "relay", request, self._left(),
                                              stall_s=self.options.stall_s)
            self.progress(Progress(name, 0, 0, "scanning", round_.number))
        for name, agent in round_.agents.items():
            scan = wait_for(agent, ("SCAN",), self.deadline, self.options.stall_s)
            ready = (wait_for(agent, ("READY",), self.deadline, self.options.stall_s)
                     if scan.name == "SCAN" else scan)
            if ready.name != "READY":
                self._fail(name, ready.data.get("error", "no answer"), round_,
                           ready.data.get("kind", ""))
                agent.abort()
                continue
            result = self.results[name]
            first_look = result.rounds == 0
            result.rounds += 1
            result.files.add(scan.data["files"], first_look)
            if first_look:
                result.need_bytes = int(scan.data["need_bytes"])
            round_.need[name] = scan.data["need"]
            round_.ports[name] = ready.data["ports"]

    def _streams_to(self, round_: _Round, hop: Hop, streams: int) -> list[list]:
        return [[src, dst, round_.ports[hop.child][dst]] for src, dst in hop.stream_ends(streams)]

    def _relay_plan(self, round_: _Round, tree: Tree, hop: Hop, streams: int) -> dict:
        ends = hop.stream_ends(streams)
        return {"upstream": sorted({src or LOOPBACK for src, _ in ends}),
                "listen": sorted({dst for _, dst in ends}), "streams": streams,
                "children": [{"name": c.child, "streams": self._streams_to(round_, c, streams)}
                             for c in tree.children(hop.child)]}

    def _send_plan(self, round_: _Round, name: str, plan: dict) -> None:
        try:
            round_.agents[name].send_json(plan)
        except OSError as exc:
            self._fail(name, f"lost before the transfer: {exc}", round_, "upstream")

    def _union(self, round_: _Round, names: list[str]) -> list[list[int]]:
        """Every chunk some node of the tree still needs (each keeps only its own)."""
        flags = bytearray(int(self.manifest["chunks"]))
        for name in names:
            for start, end in round_.need.get(name, []):
                flags[start:end] = b"\x01" * (end - start)
        return ranges_of(flags)

    def _start_source(self, round_: _Round, tree: Tree, streams: int) -> None:
        wanted = self._union(round_, tree.members)
        first = tree.children(tree.root)
        if tree.root is CONTROLLER:
            self._start_controller_source(round_, first[0], wanted, streams)
            return
        agent = start_agent(self.pool, tree.root, "source",
                            {"key": self.key, "manifest": self.manifest,
                             "stall_s": self.options.stall_s}, self._left(),
                            label=f"{tree.root} (source)", stall_s=self.options.stall_s)
        round_.source_agents.append(agent)
        try:
            agent.send_json({"send": wanted, "children": [
                {"name": hop.child, "streams": self._streams_to(round_, hop, streams)}
                for hop in first]})
        except OSError as exc:
            round_.sender_error.append(f"{tree.root} (the source): {exc}")

    def _start_controller_source(self, round_: _Round, hop: Hop, wanted: list,
                                 streams: int) -> None:
        """This machine is not on the rails: its data enters the head node through SSH
        channels (one per stream) and a feeder there; the head forwards on the rails."""
        head = hop.child
        port = round_.ports[head][LOOPBACK]
        feeders = [start_agent(self.pool, head, "feed",
                               {"key": self.key, "target": LOOPBACK, "port": port,
                                "stream": i, "stall_s": self.options.stall_s}, self._left(),
                               label=f"{head} (feed {i})", stall_s=self.options.stall_s)
                   for i in range(streams)]
        round_.source_agents.extend(feeders)
        layout = Layout(self.manifest)
        sources = [f["source"] for f in self.manifest["files"]]

        def send() -> None:
            try:
                send_chunks([ChannelSink(f) for f in feeders], layout, sources, wanted,
                            Counter())
            except SyncError as exc:
                round_.sender_error.append(f"sending from this machine to {head}: "
                                           f"{exc.message}")
            finally:
                for feeder in feeders:
                    feeder.close_stdin()

        round_.sender = threading.Thread(target=send, daemon=True)
        round_.sender.start()

    def _watch(self, round_: _Round) -> None:
        """Follow progress until every relay of the round has its result, or the budget ends."""
        waiting = {n for n in round_.agents if n not in round_.failed}
        while waiting and self._left() > 0:
            moved = False
            for name in sorted(waiting):
                agent = round_.agents[name]
                while not agent.events.empty():
                    moved = True
                    event = agent.events.get_nowait()
                    if event.name == "P":
                        round_.written[name] = int(event.data.get("w", 0))
                        result = self.results[name]
                        self.progress(Progress(name, result.written_bytes
                                               + round_.written[name], result.need_bytes,
                                               "receiving", round_.number))
                    elif event.name in ("DONE", "FAIL", "EXIT"):
                        self._settle(round_, name, event)
                        waiting.discard(name)
                        break
                else:
                    quiet = silent(agent, self.options.stall_s)
                    if quiet is not None:  # a frozen node costs this long, not the budget
                        agent.abort()
                        self._settle(round_, name, quiet)
                        waiting.discard(name)
            for agent in round_.source_agents:
                while not agent.events.empty():
                    event = agent.events.get_nowait()
                    self._note_lost(round_, event.agent, event.data)
                    if event.name == "FAIL":
                        round_.sender_error.append(f"{event.agent}: {event.data.get('error')}")
            if not moved:
                time.sleep(0.05)
        for name in waiting:
            self._fail(name, f"the budget of {self.options.budget_s:.0f} s ran out (raise "
                       "--budget)", round_)

    def _settle(self, round_: _Round, name: str, event: AgentEvent) -> None:
        result = self.results[name]
        data: dict[str, Any] = event.data
        if event.name == "EXIT":
            detail = (data.get("stderr") or "").strip()[-300:]
            data = {"kind": "lost", "error": "its agent ended without a result"
                    + (f": {detail}" if detail else "")}
        written = int(data.get("written", round_.written.get(name, 0)))
        round_.written[name] = written
        result.written_bytes += written
        result.lost_children += data.get("children_lost") or []
        self._note_lost(round_, name, data)
        now = time.monotonic()
        if round_.data_start is not None:
            result.seconds += now - round_.data_start
        if event.name == "DONE" and int(data.get("missing", 1)) == 0:
            result.state = COMPLETE
            result.error = None
            self.retry.discard(name)
            if round_.data_start is not None and written:
                self.last_complete = now
            self.progress(Progress(name, result.need_bytes, result.need_bytes, "complete",
                                   round_.number))
            return
        source = f" (source: {'; '.join(round_.sender_error)})" if round_.sender_error else ""
        if event.name == "DONE":
            self._fail(name, f"{data.get('missing')} chunks never arrived{source}", round_,
                       "upstream")
            return
        error = data.get("error", "failed")
        if data.get("kind") == "upstream":
            error += source
        self._fail(name, error, round_, data.get("kind", ""))

    def _close(self, round_: _Round) -> None:
        """Every agent of the round ends: stdin closed, exit awaited (bounded), else cut."""
        agents = list(round_.agents.values()) + round_.source_agents
        for agent in agents:
            agent.close_stdin()
        if round_.sender is not None:
            round_.sender.join(max(0.0, min(self._left(), self.options.stall_s)))
        until = time.monotonic() + EXIT_WAIT_S
        for agent in agents:
            agent.closed.wait(max(0.0, until - time.monotonic()))
            if not agent.closed.is_set():
                agent.abort()

    def _abort(self, round_: _Round) -> None:
        for agent in list(round_.agents.values()) + round_.source_agents:
            agent.abort()


def sync(cluster: SyncCluster, options: SyncOptions, progress: ProgressFn | None = None,
         log: LogFn | None = None) -> SyncReport:
    """Run one sync; per-node failures are in the report (the CLI turns them into exit 1)."""
    return Sync(cluster, options, progress, log).run()

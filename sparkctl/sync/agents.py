"""Agents running on nodes over SSH: write their request, read their events.

Each agent is a command started through the probe layer (so it runs under coreutils
`timeout` and a host whose key is not pinned is never reached); its stdin carries JSON
lines (and, for feeders, chunk frames); its stdout carries "EVENT NAME {json}" lines, which
a reader thread turns into `AgentEvent`s on one queue shared by every agent of a round.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from sparkctl.probe.ssh import ProbePool, RemoteProcess
from sparkctl.sync.program import agent_command

TERMINAL = ("DONE", "FAIL")
STDERR_TAIL = 2000


@dataclass(frozen=True)
class AgentEvent:
    agent: str  # the agent's label, e.g. "spark-2" or "spark-1:feed0"
    name: str  # SCAN, READY, P, MANIFEST, DONE, FAIL, or EXIT (the channel closed)
    data: dict[str, Any]


@dataclass
class Agent:
    label: str
    host: str
    process: RemoteProcess
    events: queue.Queue = field(default_factory=queue.Queue)
    stall_s: float = 20.0  # a send that makes no progress for this long fails
    stderr: bytearray = field(default_factory=bytearray)
    last_heard: float = field(default_factory=time.monotonic)  # agents beat every 0.5 s
    result: AgentEvent | None = None  # the terminal event (DONE, FAIL) once seen
    closed: threading.Event = field(default_factory=threading.Event)

    def send_json(self, data: dict) -> None:
        self.sendall((json.dumps(data, separators=(",", ":")) + "\n").encode())

    def sendall(self, data: bytes) -> None:
        """Send all of `data`; the channel's short timeout (the reader's poll) only means
        the window is closed for now, so keep going until `stall_s` passes without progress."""
        channel = self.process.channel
        if channel is None:
            raise OSError(self.process.error or "no channel")
        view = memoryview(data)
        last = time.monotonic()
        while view:
            try:
                sent = channel.send(view)  # type: ignore[arg-type]  # types-paramiko: bytes only
            except TimeoutError:
                if time.monotonic() - last > self.stall_s:
                    raise OSError(f"{self.label} took no data for {self.stall_s:.0f} s") from None
                continue
            if sent <= 0:
                raise OSError(f"channel to {self.label} closed")
            view = view[sent:]
            last = time.monotonic()

    def close_stdin(self) -> None:
        self.process.close_stdin()

    def abort(self) -> None:
        """Close the channel: the agent sees EOF on stdin and exits at once."""
        if self.process.channel is not None:
            self.process.channel.close()


class ChannelSink:
    """A feeder's SSH channel as a place to send chunk frames (controller as source)."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def sendall(self, data: bytes) -> None:
        self.agent.sendall(data)


def start_agent(pool: ProbePool, host: str, mode: str, request: dict, timeout: float,
                label: str | None = None, stall_s: float = 20.0) -> Agent:
    """Start the agent on `host` and send its request; its events arrive on agent.events."""
    try:
        process = pool.start(host, agent_command(mode), timeout)
    except Exception as exc:  # noqa: BLE001 - a connection that died since it was opened
        process = RemoteProcess(host, mode, timeout, error=f"unreachable: {exc}")
    agent = Agent(label or host, host, process, stall_s=stall_s)
    if process.channel is None:
        agent.result = AgentEvent(agent.label, "FAIL", {
            "kind": "unreachable", "error": process.error or "unreachable"})
        agent.closed.set()
        agent.events.put(agent.result)
        return agent
    threading.Thread(target=_read, args=(agent,), daemon=True).start()
    try:
        agent.send_json(request)
    except OSError as exc:
        agent.events.put(AgentEvent(agent.label, "FAIL", {
            "kind": "unreachable", "error": f"cannot send the request: {exc}"}))
    return agent


def _read(agent: Agent) -> None:
    channel = agent.process.channel
    assert channel is not None  # start_agent starts this reader only with a channel
    pending = b""
    deadline = agent.process.deadline
    try:
        while True:
            got = False
            try:
                while channel.recv_stderr_ready():
                    agent.stderr += channel.recv_stderr(65536)
                    del agent.stderr[:-STDERR_TAIL]
                data = channel.recv(1 << 20)
                got = True
            except TimeoutError:
                data = None
            if got and not data:
                break  # EOF: the agent exited or the connection dropped
            if data:
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    _dispatch(agent, line)
            if time.monotonic() > deadline:
                break
    except Exception as exc:  # noqa: BLE001 - a dead connection ends this agent, reported
        agent.events.put(AgentEvent(agent.label, "EXIT", {"error": f"connection lost: {exc}"}))
    finally:
        while channel.recv_stderr_ready():
            agent.stderr += channel.recv_stderr(65536)
        status = channel.recv_exit_status() if channel.exit_status_ready() else None
        agent.closed.set()
        agent.events.put(AgentEvent(agent.label, "EXIT", {
            "status": status, "stderr": agent.stderr.decode(errors="replace")[-STDERR_TAIL:]}))


def _dispatch(agent: Agent, line: bytes) -> None:
    text = line.decode(errors="replace")
    if not text.startswith("EVENT "):
        return  # stray output (a login banner, a warning) is not ours
    _, name, payload = (text.split(" ", 2) + [""])[:3]
    try:
        data = json.loads(payload) if payload else {}
    except ValueError:
        data = {"kind": "protocol", "error": f"unreadable event {name}"}
        name = "FAIL"
    event = AgentEvent(agent.label, name, data)
    agent.last_heard = time.monotonic()
    if name in TERMINAL and agent.result is None:
        agent.result = event
    agent.events.put(event)


def silent(agent: Agent, limit_s: float) -> AgentEvent | None:
    """A failure when the agent has sent nothing (not even its heartbeat) for `limit_s`."""
    quiet = time.monotonic() - agent.last_heard
    if quiet <= limit_s:
        return None
    return AgentEvent(agent.label, "FAIL", {
        "kind": "lost", "error": f"stopped answering (nothing for {quiet:.0f} s: node down, "
        "frozen or cut off from this machine)"})


def wait_for(agent: Agent, names: tuple[str, ...], deadline: float,
             silence_s: float = 60.0) -> AgentEvent:
    """The next event named in `names`, or the agent's failure, whichever comes first."""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return AgentEvent(agent.label, "FAIL", {"kind": "timeout",
                                                     "error": "no answer in time"})
        quiet = silent(agent, silence_s)
        if quiet is not None:
            return quiet
        try:
            event = agent.events.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        if event.name in names or event.name in TERMINAL:
            return event
        if event.name == "EXIT":
            return AgentEvent(agent.label, "FAIL", {
                "kind": "lost", "error": "the agent ended without a result"
                + (f": {event.data.get('stderr', '').strip()[-300:]}"
                   if event.data.get("stderr") else "")})

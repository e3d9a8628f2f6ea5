"""Runs ON each node (sent over SSH as source text): describe the ConnectX-7 netdevs and find
which remote interface each one reaches at layer 2, without IP addresses.

Standard library only, no sparkctl imports, Python 3.7+: DGX OS and the lab image run
it with their own python3. Method (the one NVIDIA's spark_cluster_setup uses, facts/dgx-spark.md):
every interface with carrier broadcasts small raw Ethernet frames of a local-experimental
EtherType carrying (session, node, interface, MAC) and listens on all interfaces for a bounded
window. Raw frames need no IPv4 and no IPv6 link-local, so this works on ports the network
role has already configured (IPv6 disabled) and on ports that have no address yet.

A second, unfiltered socket per interface records the source MACs of any other traffic: a
station that is none of the cluster's interfaces (a switch's LLDP/STP, another host) marks the
segment as a switch even when only two Sparks sit on it.

Input: the last argument = base64 JSON {"node", "session", "ifaces", "window_s", "interval_s",
"ethertype"}. Output: one JSON object on stdout. Exit status 0 even when something failed:
failures are data ("error" fields) the controller turns into findings.
"""

import base64
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

MAGIC = b"SPKD1"
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
BROADCAST = b"\xff" * 6
MAX_FOREIGN_MACS = 32  # per interface; enough to see "something else is on this segment"


def read_sys(name, attr):
    try:
        with open(f"/sys/class/net/{name}/{attr}") as handle:
            return handle.read().strip()
    except OSError:
        return None  # e.g. carrier/speed raise EINVAL while the interface is down


def to_int(text):
    try:
        return int(text, 0)
    except (TypeError, ValueError):
        return None


def describe(name):
    if not os.path.isdir("/sys/class/net/" + name):
        return {"name": name, "exists": False}
    flags = to_int(read_sys(name, "flags")) or 0
    speed = to_int(read_sys(name, "speed"))
    return {
        "name": name,
        "exists": True,
        "mac": read_sys(name, "address"),
        "admin_up": bool(flags & 0x1),  # IFF_UP
        "carrier": read_sys(name, "carrier") == "1",
        "operstate": read_sys(name, "operstate"),
        "speed_mbps": speed if speed is not None and speed > 0 else None,
        "mtu": to_int(read_sys(name, "mtu")),
        "addresses": [],
    }


def add_addresses(ifaces):
    """`ip -j addr` for the addresses; bounded, and optional (sysfs has no addresses)."""
    by_name = {i["name"]: i for i in ifaces if i.get("exists")}
    try:
        out = subprocess.run(["ip", "-j", "addr", "show"], capture_output=True, timeout=3,
                             check=False).stdout
        entries = json.loads(out.decode() or "[]")
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return f"cannot list addresses: {exc}"
    for entry in entries:
        iface = by_name.get(entry.get("ifname"))
        if iface is None:
            continue
        for info in entry.get("addr_info", []):
            iface["addresses"].append({
                "family": "ipv4" if info.get("family") == "inet" else "ipv6",
                "address": f"{info.get('local')}/{info.get('prefixlen')}",
                "scope": info.get("scope"),
            })
    return None


def frame(src_mac, ethertype, payload):
    mac = bytes.fromhex(src_mac.replace(":", ""))
    body = MAGIC + struct.pack("!H", len(payload)) + payload
    return BROADCAST + mac + struct.pack("!H", ethertype) + body


def parse(data, ethertype):
    if len(data) < 14 + len(MAGIC) + 2 or struct.unpack("!H", data[12:14])[0] != ethertype:
        return None
    body = data[14:]
    if not body.startswith(MAGIC):
        return None
    (length,) = struct.unpack("!H", body[len(MAGIC):len(MAGIC) + 2])
    try:
        return json.loads(body[len(MAGIC) + 2:len(MAGIC) + 2 + length].decode())
    except ValueError:
        return None


def mac_text(raw):
    return ":".join(f"{b:02x}" for b in bytearray(raw))


def probe(cfg, ifaces):
    ethertype = cfg["ethertype"]
    probes, sniffers = {}, {}
    for iface in ifaces:
        if not iface.get("exists") or not iface.get("admin_up"):
            continue
        name = iface["name"]
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
            sock.bind((name, ethertype))
            sock.setblocking(False)
            probes[sock] = iface
            sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            sniff.bind((name, ETH_P_ALL))
            sniff.setblocking(False)
            sniffers[sniff] = iface
        except PermissionError:
            return "raw sockets need root (CAP_NET_RAW): run as root or allow passwordless sudo"
        except OSError as exc:
            iface["error"] = f"cannot open a raw socket: {exc}"
    heard = {}
    foreign: dict[str, set[str]] = {}
    for iface in probes.values():
        iface["sent"] = 0
        payload = json.dumps({"s": cfg["session"], "n": cfg["node"], "i": iface["name"],
                              "m": iface["mac"]}).encode()
        iface["_frame"] = frame(iface["mac"], ethertype, payload)
    start = time.monotonic()
    deadline = start + cfg["window_s"]
    next_send = start
    everything = list(probes) + list(sniffers)
    while True:
        now = time.monotonic()
        if now >= deadline:
            break
        if now >= next_send:
            for sock, iface in probes.items():
                if not iface.get("carrier"):
                    continue
                try:
                    sock.send(iface["_frame"])
                    iface["sent"] += 1
                except OSError as exc:
                    iface["send_error"] = str(exc)
            next_send = now + cfg["interval_s"]
        wait = max(0.0, min(next_send, deadline) - time.monotonic())
        if not everything:
            time.sleep(wait)
            continue
        readable, _, _ = select.select(everything, [], [], wait)
        for sock in readable:
            try:
                data, addr = sock.recvfrom(2048)
            except OSError:
                continue
            if addr[2] == PACKET_OUTGOING:
                continue
            if sock in probes:
                msg = parse(data, ethertype)
                if not msg or msg.get("s") != cfg["session"]:
                    continue
                key = (probes[sock]["name"], msg.get("n"), msg.get("i"), msg.get("m"),
                       mac_text(data[6:12]))
                if key not in heard:
                    heard[key] = {"count": 0, "first_s": round(time.monotonic() - start, 3)}
                heard[key]["count"] += 1
            else:
                seen = foreign.setdefault(sniffers[sock]["name"], set())
                if len(seen) < MAX_FOREIGN_MACS:
                    seen.add(mac_text(data[6:12]))
    for sock in everything:
        sock.close()
    for iface in probes.values():
        iface.pop("_frame", None)
    return {
        "heard": [{"on": k[0], "node": k[1], "iface": k[2], "mac": k[3], "src_mac": k[4],
                   "count": v["count"], "first_s": v["first_s"]} for k, v in sorted(heard.items())],
        "stations": {name: sorted(macs) for name, macs in sorted(foreign.items())},
    }


def dgx_name():
    try:
        with open("/etc/dgx-release") as handle:
            for line in handle:
                if line.startswith("DGX_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return None


def set_link(name, state):
    try:
        done = subprocess.run(["ip", "link", "set", "dev", name, state], capture_output=True,
                              timeout=3, check=False)
        return None if done.returncode == 0 else done.stderr.decode(errors="replace").strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)


def bring_up(ifaces, settle_s):
    """Set admin-down twins up for the window (a fresh Spark may leave them down).

    Every node waits the same fixed settle time, not "until carrier", so the nodes' windows
    still overlap when some ports are unplugged and never get carrier.
    """
    raised = []
    for iface in ifaces:
        if iface.get("exists") and not iface.get("admin_up"):
            error = set_link(iface["name"], "up")
            if error is None:
                raised.append(iface["name"])
            else:
                iface["error"] = f"cannot bring up: {error}"
    # Sleep even with nothing raised here: the others do, and all windows must overlap.
    time.sleep(settle_s)
    return raised


def main():
    cfg = json.loads(base64.b64decode(sys.argv[-1]).decode())  # last: works under -c too
    started = time.monotonic()
    names = cfg["ifaces"]
    ifaces = [describe(name) for name in names]
    raised = bring_up(ifaces, cfg.get("settle_s", 3.0)) if cfg.get("bring_up") else []
    try:
        if raised:
            states = {i["name"]: i for i in ifaces}
            ifaces = []
            for name in names:
                fresh = describe(name)
                if name in raised:
                    fresh["admin_up"] = False  # report the state we found, not the one we made
                    fresh["brought_up"] = True
                fresh.setdefault("error", states[name].get("error"))
                ifaces.append(fresh)
        report = {"node": cfg["node"], "hostname": socket.gethostname(),
                  "dgx_name": dgx_name(), "interfaces": ifaces, "heard": [], "stations": {},
                  "error": None}
        report["address_error"] = add_addresses(ifaces)
        probing = [dict(i, admin_up=True) if i.get("brought_up") else i for i in ifaces]
        result = probe(cfg, probing)
        for index, used in enumerate(probing):  # not zip(strict=): runs on Python 3.7+
            mine = ifaces[index]
            for key in ("sent", "send_error", "error"):
                if key in used and used[key] is not None:
                    mine[key] = used[key]
    finally:
        for name in raised:
            set_link(name, "down")
    if isinstance(result, str):
        report["error"] = result
    else:
        report.update(result)
    report["duration_s"] = round(time.monotonic() - started, 3)
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()

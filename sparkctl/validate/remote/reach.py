"""Probe reachability from this node: DF pings, TCP connects, link-local neighbours.

argv[1]: JSON {"pings": [[ifname, dst, size], ...], "tcp": [[src, dst, port], ...],
               "neighbours": [ifname, ...], "tcp_timeout": s,
               "ping_count": 3, "small_count": 2, "neighbour_count": 3, "interval": 0.2}
(the counts and the interval are optional; defaults as shown).
All probes run at once (threads); prints one JSON object.
"""

import json
import re
import socket
import subprocess
import sys
import threading

REPLY_FROM = re.compile(r"bytes from ([0-9a-fA-F:.]+)")


def ping(ifname, dst, size, count, interval, out):
    argv = ["ping", "-n", "-M", "do", "-s", str(size), "-c", str(count), "-i", str(interval),
            "-W", "1", "-I", ifname, dst]
    try:
        done = subprocess.run(argv, capture_output=True, text=True,
                              timeout=count * interval + 3)
        replies = len(REPLY_FROM.findall(done.stdout))
        errors = [line for line in (done.stdout + done.stderr).splitlines()
                  if "too long" in line or "mtu" in line.lower() or "ping:" in line]
        out.append({"ifname": ifname, "dst": dst, "size": size, "sent": count,
                    "received": replies, "rc": done.returncode, "errors": errors[:3]})
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.append({"ifname": ifname, "dst": dst, "size": size, "sent": count, "received": 0,
                    "rc": None, "errors": [str(exc)]})


def ping_pair(ifname, dst, size, counts, interval, out):
    # Small pings first: they settle neighbour resolution (a stale ARP entry after a
    # re-plug costs the first packets), so the DF pings then measure the path's MTU alone.
    small_count, big_count = counts
    ping(ifname, dst, 56, small_count, interval, out)
    ping(ifname, dst, size, big_count, interval, out)


def connect(src, dst, port, timeout, out):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.bind((src, 0))
        sock.connect((dst, port))
        result = "ok"
    except ConnectionRefusedError:
        result = "refused"
    except TimeoutError:
        result = "timeout"
    except OSError as exc:
        result = f"error: {exc.strerror or exc}"
    finally:
        sock.close()
    out.append({"src": src, "dst": dst, "port": port, "result": result})


def has_link_local(ifname):
    # /proc/net/if_inet6: address, index, prefix length, scope (20 = link), flags, name
    try:
        with open("/proc/net/if_inet6") as table:
            return any(f[5] == ifname and f[3] == "20" for f in map(str.split, table)
                       if len(f) == 6)
    except OSError:
        return False


def neighbours(ifname, count, interval, out):
    if not has_link_local(ifname):
        # No fe80:: here (IPv6 off, or netplan `link-local: []`): nothing can answer, and
        # ping would wait out its whole deadline.
        out.append({"ifname": ifname, "addresses": [], "rc": None,
                    "error": "no IPv6 link-local address"})
        return
    # Every host on the wire answers an all-nodes ping from its link-local address: this is
    # who is really cabled to the interface, whatever the address plan says. ping stops after
    # `count` first replies; the other hosts' answers to the same echo arrive as duplicates
    # before the next one is sent, so count >= 2 hears everyone on the wire.
    def argv(every):
        return ["ping", "-6", "-n", "-c", str(count), "-i", str(every), "-w", "3",
                "ff02::1%" + ifname]

    try:
        done = subprocess.run(argv(interval), capture_output=True, text=True, timeout=5)
        if done.returncode != 0 and "interval" in done.stderr and interval < 1.0:
            # iputils refuses non-root users a multicast ping faster than one a second
            # ("multicast ping with too short interval"), as on DGX OS's login user.
            done = subprocess.run(argv(1.0), capture_output=True, text=True, timeout=5)
        found = sorted({m.split("%")[0] for m in REPLY_FROM.findall(done.stdout)})
        out.append({"ifname": ifname, "addresses": found, "rc": done.returncode})
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.append({"ifname": ifname, "addresses": [], "rc": None, "error": str(exc)})


def main():
    request = json.loads(sys.argv[1])
    pings: list[dict[str, object]] = []
    tcp: list[dict[str, object]] = []
    seen: list[dict[str, object]] = []
    interval = float(request.get("interval", 0.2))
    counts = (int(request.get("small_count", 2)), int(request.get("ping_count", 3)))
    threads = []
    for ifname, dst, size in request.get("pings", []):
        threads.append(threading.Thread(target=ping_pair,
                                        args=(ifname, dst, size, counts, interval, pings)))
    for src, dst, port in request.get("tcp", []):
        threads.append(threading.Thread(
            target=connect, args=(src, dst, port, float(request.get("tcp_timeout", 2)), tcp)))
    for ifname in request.get("neighbours", []):
        threads.append(threading.Thread(
            target=neighbours, args=(ifname, int(request.get("neighbour_count", 3)), interval,
                                     seen)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"pings": pings, "tcp": tcp, "neighbours": seen}))


main()

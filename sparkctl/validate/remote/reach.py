"""Probe reachability from this node: DF pings, TCP connects, link-local neighbours.

argv[1]: JSON {"pings": [[ifname, dst, size], ...], "tcp": [[src, dst, port], ...],
               "neighbours": [ifname, ...], "tcp_timeout": s}
All probes run at once (threads); prints one JSON object.
"""

import json
import re
import socket
import subprocess
import sys
import threading

REPLY_FROM = re.compile(r"bytes from ([0-9a-fA-F:.]+)")


def ping(ifname, dst, size, count, out):
    argv = ["ping", "-n", "-M", "do", "-s", str(size), "-c", str(count), "-i", "0.2", "-W", "1",
            "-I", ifname, dst]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=count * 0.2 + 3)
        replies = len(REPLY_FROM.findall(done.stdout))
        errors = [line for line in (done.stdout + done.stderr).splitlines()
                  if "too long" in line or "mtu" in line.lower() or "ping:" in line]
        out.append({"ifname": ifname, "dst": dst, "size": size, "sent": count,
                    "received": replies, "rc": done.returncode, "errors": errors[:3]})
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.append({"ifname": ifname, "dst": dst, "size": size, "sent": count, "received": 0,
                    "rc": None, "errors": [str(exc)]})


def ping_pair(ifname, dst, size, out):
    # Small pings first: they settle neighbour resolution (a stale ARP entry after a
    # re-plug costs the first packets), so the DF pings then measure the path's MTU alone.
    ping(ifname, dst, 56, 2, out)
    ping(ifname, dst, size, 3, out)


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


def neighbours(ifname, out):
    # Every host on the wire answers an all-nodes ping from its link-local address: this is
    # who is really cabled to the interface, whatever the address plan says.
    argv = ["ping", "-6", "-n", "-c", "3", "-i", "0.3", "-w", "3", "ff02::1%" + ifname]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        found = sorted({m.split("%")[0] for m in REPLY_FROM.findall(done.stdout)})
        out.append({"ifname": ifname, "addresses": found, "rc": done.returncode})
    except (OSError, subprocess.TimeoutExpired) as exc:
        out.append({"ifname": ifname, "addresses": [], "rc": None, "error": str(exc)})


def main():
    request = json.loads(sys.argv[1])
    pings, tcp, seen = [], [], []
    threads = []
    for ifname, dst, size in request.get("pings", []):
        threads.append(threading.Thread(target=ping_pair, args=(ifname, dst, size, pings)))
    for src, dst, port in request.get("tcp", []):
        threads.append(threading.Thread(
            target=connect, args=(src, dst, port, float(request.get("tcp_timeout", 2)), tcp)))
    for ifname in request.get("neighbours", []):
        threads.append(threading.Thread(target=neighbours, args=(ifname, seen)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"pings": pings, "tcp": tcp, "neighbours": seen}))


main()

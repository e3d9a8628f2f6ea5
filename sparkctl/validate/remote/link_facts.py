"""Print the link facts of the named netdevs and RDMA devices as one JSON object.

argv[1]: JSON {"netdevs": [...], "hcas": [...], "ethtool_stats": bool}
Reads sysfs and `ip -j addr`; never changes anything.
"""

import json
import os
import subprocess
import sys


def read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:  # e.g. carrier/speed of a down interface raise EINVAL
        return None


def number(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def run(argv, timeout=5):
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, "", str(exc)


def netdev(name, addresses, with_stats):
    base = "/sys/class/net/" + name
    if not os.path.isdir(base):
        return {"exists": False}
    try:
        flags = int(read(base + "/flags"), 16)
    except (TypeError, ValueError):
        flags = None
    facts = {
        "exists": True,
        "operstate": read(base + "/operstate"),
        "admin_up": bool(flags & 1) if flags is not None else None,
        "carrier": number(read(base + "/carrier")),
        "speed": number(read(base + "/speed")),
        "mtu": number(read(base + "/mtu")),
        "mac": read(base + "/address"),
        "addresses": addresses.get(name, []),
    }
    if with_stats:
        rc, out, err = run(["ethtool", "-S", name])
        facts["ethtool_stats"] = out if rc == 0 else None
        facts["ethtool_stats_error"] = None if rc == 0 else (err.strip() or f"rc {rc}")
    return facts


def hca(name):
    base = f"/sys/class/infiniband/{name}/ports/1"
    if not os.path.isdir(base):
        return {"exists": False}
    gids = {}
    for index in range(16):
        gid = read(f"{base}/gids/{index}")
        if gid and gid != "0000:0000:0000:0000:0000:0000:0000:0000":
            gids[str(index)] = {"gid": gid, "type": read(f"{base}/gid_attrs/types/{index}"),
                                "ndev": read(f"{base}/gid_attrs/ndevs/{index}")}
    counters = {}
    for counter in ("symbol_error", "link_downed", "port_rcv_errors", "port_xmit_discards",
                    "link_error_recovery"):
        value = number(read(f"{base}/counters/{counter}"))
        if value is not None:
            counters[counter] = value
    return {"exists": True, "state": read(base + "/state"),
            "link_layer": read(base + "/link_layer"), "gids": gids, "counters": counters}


def main():
    request = json.loads(sys.argv[1])
    rc, out, err = run(["ip", "-j", "addr", "show"])
    addresses = {}
    if rc == 0:
        for item in json.loads(out or "[]"):
            addresses[item.get("ifname")] = [
                {"family": a.get("family"), "local": a.get("local"),
                 "prefixlen": a.get("prefixlen"), "scope": a.get("scope")}
                for a in item.get("addr_info", [])]
    print(json.dumps({
        "hostname": read("/proc/sys/kernel/hostname"),
        "ip_error": None if rc == 0 else (err.strip() or f"ip rc {rc}"),
        "netdevs": {n: netdev(n, addresses, request.get("ethtool_stats")) for n in
                    request["netdevs"]},
        "hcas": {h: hca(h) for h in request.get("hcas", [])},
    }))


main()

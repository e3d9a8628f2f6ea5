"""Print the link facts of the named netdevs and RDMA devices as one JSON object.

argv[1]: JSON {"netdevs": [...], "hcas": [...], "ethtool_stats": bool,
                "hw_counters": bool, "nic": [netdevs], "rdma_env": path, "root": prefix}
- hw_counters: each HCA's RoCE counters under ports/1/hw_counters/ (dgx-spark);
- nic: for these netdevs, the PCI function (sysfs device link), its `lspci -vv -s BDF` and
  the kernel's current_link_speed/width (what lspci shows as LnkSta, readable without root,
  Documentation/ABI/testing/sysfs-bus-pci), and `ethtool -i` (firmware-version);
- rdma_env: the text of the node's measured GID indexes (/etc/sparkctl/rdma.env);
- root: a prefix for /sys and /etc (tests run this program on a directory tree).
Reads sysfs, `ip -j addr`, ethtool and lspci; never changes anything.
"""

import json
import os
import subprocess
import sys

ROOT = ""


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
    base = ROOT + "/sys/class/net/" + name
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


def nic(name):
    """The netdev's PCI function: its link as lspci and sysfs show it, and its firmware."""
    device = ROOT + "/sys/class/net/" + name + "/device"
    if not os.path.exists(device):
        return {"bdf": None, "error": "no PCI device behind " + name}
    bdf = os.path.basename(os.path.realpath(device))
    out = {"bdf": bdf}
    for key in ("current_link_speed", "current_link_width", "max_link_speed", "max_link_width"):
        out[key] = read(device + "/" + key)
    rc, text, err = run(["lspci", "-vv", "-s", bdf])
    out["lspci"] = text if rc == 0 else None
    out["lspci_error"] = None if rc == 0 else (err.strip() or f"rc {rc}")
    rc, text, err = run(["ethtool", "-i", name])
    out["ethtool_i"] = text if rc == 0 else None
    out["ethtool_i_error"] = None if rc == 0 else (err.strip() or f"rc {rc}")
    return out


def hw_counters(base):
    values = {}
    try:
        names = sorted(os.listdir(base + "/hw_counters"))
    except OSError:
        return None
    for counter in names:
        value = number(read(base + "/hw_counters/" + counter))
        if value is not None:
            values[counter] = value
    return values


def rdma_env(path):
    text = read(ROOT + path)
    if text is None:
        return {"path": path, "exists": os.path.exists(ROOT + path), "text": None}
    return {"path": path, "exists": True, "text": text}


def hca(name, with_hw=False):
    base = f"{ROOT}/sys/class/infiniband/{name}/ports/1"
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
    out = {"exists": True, "state": read(base + "/state"),
           "link_layer": read(base + "/link_layer"), "gids": gids, "counters": counters,
           "fw_ver": read(f"{ROOT}/sys/class/infiniband/{name}/fw_ver")}
    if with_hw:
        out["hw_counters"] = hw_counters(base)
    return out


def main():
    global ROOT
    request = json.loads(sys.argv[1])
    ROOT = request.get("root") or ""
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
        "hcas": {h: hca(h, request.get("hw_counters")) for h in request.get("hcas", [])},
        "nics": {n: nic(n) for n in request.get("nic") or []},
        "rdma_env": rdma_env(request["rdma_env"]) if request.get("rdma_env") else None,
    }))


main()

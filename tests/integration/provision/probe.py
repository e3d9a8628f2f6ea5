"""One remote round trip per node collects everything the provisioning tests assert on."""

from __future__ import annotations

import json

# Runs on the node (python3 is on both DGX OS and the lab). Arguments come as JSON.
_SCRIPT = r'''
import json, os, subprocess, sys
spec = json.loads(sys.argv[1])
def run(argv, timeout=15):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        return {"rc": p.returncode, "out": p.stdout, "err": p.stderr}
    except subprocess.TimeoutExpired:
        return {"rc": 124, "out": "", "err": "timeout"}
out = {"ip": json.loads(run(["ip", "-j", "addr", "show"])["out"] or "[]"), "files": {},
       "ping": [], "ssh": []}
home = os.path.expanduser("~")
for key in spec["files"]:
    path = key.replace("~", home, 1)
    if not os.path.exists(path):
        out["files"][key] = {"mode": None, "text": None}
        continue
    text = None
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except PermissionError:  # root-only (the netplan file): the login user's sudo
            text = run(["sudo", "-n", "cat", path])["out"]
    out["files"][key] = {"mode": os.stat(path).st_mode & 0o7777, "text": text}
for iface, address, size in spec["ping"]:
    r = run(["ping", "-M", "do", "-s", str(size), "-c", "1", "-W", "2", "-I", iface, address])
    out["ping"].append({"iface": iface, "address": address, "size": size, "rc": r["rc"],
                        "out": r["out"][-300:] + r["err"][-300:]})
for name in spec["ssh"]:
    r = run(["ssh", "-o", "BatchMode=yes", name, "hostname; echo $SSH_CONNECTION"], timeout=20)
    out["ssh"].append({"name": name, "rc": r["rc"], "out": r["out"], "err": r["err"][-500:]})
print(json.dumps(out))
'''


def probe(host, files: list[str], pings: list[tuple[str, str, int]],
          ssh_names: list[str]) -> dict:
    spec = json.dumps({"files": files, "ping": pings, "ssh": ssh_names})
    result = host.run(f"python3 -c {_quote(_SCRIPT)} {_quote(spec)}")
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"

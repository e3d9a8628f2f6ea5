"""Per-cluster state on the controller, keyed by a cluster id (not by the cluster's name:
two `ring3` clusters on one controller are two clusters with two mesh keys).

    <state>/clusters/index.json          which target (file path or built-in) has which id
    <state>/clusters/<id>/cluster.json   id, name, source, login user and key, mesh key generation
    <state>/clusters/<id>/known_hosts    host keys pinned by `sparkctl bootstrap`
    <state>/clusters/<id>/login_ed25519  the controller's login key, when sparkctl made it (0600)
    <state>/clusters/<id>/mesh/          the node-to-node mesh key pair (private key 0600)

An inventory may declare its id (`sparkctl_cluster_id` in its vars); otherwise the first
bootstrap or provision of a target gives it a new random id. Everything here is written
atomically; directories are 0700.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import re
import secrets
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, overload

import yaml

from sparkctl.errors import EnvironmentProblem, InputError
from sparkctl.fileio import atomic_write

MESH_KEY_NAME = "sparkctl_cluster_ed25519"
LOGIN_KEY_NAME = "login_ed25519"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# How the mesh key's public line is marked in authorized_keys (comment field).
MESH_COMMENT = "sparkctl-mesh:{id}"
LOGIN_COMMENT = "sparkctl-login:{id}"


def clusters_root() -> Path:
    from sparkctl.render.bundle import state_root

    return state_root() / "clusters"


@dataclass
class ClusterState:
    id: str
    name: str
    source: str
    created: str
    user: str | None = None  # the login user bootstrap set up
    login_key: str | None = None  # private key file the controller logs in with
    mesh_generation: int = 1
    retired_mesh_keys: list[str] = dataclasses.field(default_factory=list)  # public lines


@dataclass
class ClusterStore:
    root: Path
    state: ClusterState

    @property
    def id(self) -> str:
        return self.state.id

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def generated_login_key(self) -> Path:
        return self.root / LOGIN_KEY_NAME

    @property
    def mesh_dir(self) -> Path:
        return self.root / "mesh"

    @property
    def mesh_key(self) -> Path:
        return self.mesh_dir / MESH_KEY_NAME

    def has_pins(self) -> bool:
        try:
            return any(line.strip() and not line.startswith("#")
                       for line in self.known_hosts.read_text().splitlines())
        except FileNotFoundError:
            return False

    def save(self) -> None:
        _private_dir(self.root)
        atomic_write(self.root / "cluster.json",
                     json.dumps(dataclasses.asdict(self.state), indent=1) + "\n", mode=0o600)

    def ensure_mesh_key(self) -> bool:
        """Create the mesh key pair unless present; True when it was created now."""
        if self.mesh_key.exists() and _public(self.mesh_key).exists():
            return False
        _private_dir(self.mesh_dir)
        private, public = generate_keypair(MESH_COMMENT.format(id=self.id))
        atomic_write(_public(self.mesh_key), public, mode=0o644)
        atomic_write(self.mesh_key, private, mode=0o600)
        return True

    def mesh_public_line(self) -> str | None:
        try:
            return _public(self.mesh_key).read_text().strip()
        except FileNotFoundError:
            return None

    def rotate_mesh_key(self) -> str | None:
        """A new mesh key pair; returns the retired public line (None if there was none)."""
        old = self.mesh_public_line()
        _private_dir(self.mesh_dir)
        private, public = generate_keypair(MESH_COMMENT.format(id=self.id))
        atomic_write(self.mesh_key, private, mode=0o600)
        atomic_write(_public(self.mesh_key), public, mode=0o644)
        self.state.mesh_generation += 1
        if old:
            self.state.retired_mesh_keys.append(old)
        self.save()
        return old

    def ensure_login_key(self) -> Path:
        path = self.generated_login_key
        if not (path.exists() and _public(path).exists()):
            private, public = generate_keypair(LOGIN_COMMENT.format(id=self.id))
            atomic_write(_public(path), public, mode=0o644)
            atomic_write(path, private, mode=0o600)
        return path


def _public(path: Path) -> Path:
    return path.with_name(path.name + ".pub")


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def generate_keypair(comment: str) -> tuple[bytes, bytes]:
    """(private, public) ed25519 key bytes from ssh-keygen, made in a private temporary
    directory that is removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="sparkctl-key-") as tmp:
        path = Path(tmp) / "key"
        try:
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
                            "-f", str(path)], check=True, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        except FileNotFoundError:
            raise EnvironmentProblem("ssh-keygen is not installed",
                                     hint="apt-get install openssh-client") from None
        except subprocess.CalledProcessError as exc:
            raise EnvironmentProblem(f"ssh-keygen failed: {exc.stderr.decode().strip()}") \
                from None
        return path.read_bytes(), _public(path).read_bytes()


# --- which cluster is this target? --------------------------------------------------------

def source_key(target) -> str:
    """A stable name for where the target's nodes are declared."""
    if target.inventory_path is not None:
        return f"inventory:{Path(target.inventory_path).resolve()}"
    spec = target.cluster.spec
    location = spec.locations.get("nodes") if spec.locations else None
    if location is not None:
        return f"cluster:{Path(location.path).resolve()}"
    hosts = ",".join(f"{n.name}={n.mgmt_address}" for n in spec.nodes)
    return f"topology:{spec.topology}:{hosts}"


def declared_id(target) -> str | None:
    """`sparkctl_cluster_id` from an inventory's vars, validated."""
    if target.inventory_path is None:
        return None
    try:
        data = yaml.safe_load(Path(target.inventory_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    top = data.get("all") or {}
    found = (((top.get("children") or {}).get("sparks") or {}).get("vars") or {}).get(
        "sparkctl_cluster_id") or (top.get("vars") or {}).get("sparkctl_cluster_id")
    if found is None:
        return None
    if not isinstance(found, str) or not _ID.match(found):
        raise InputError(f"sparkctl_cluster_id {found!r} in {target.inventory_path} is not "
                         "a valid id", hint="use 1-64 letters, digits, '.', '_' or '-'")
    return found


@contextmanager
def _index_lock():
    root = _private_dir(clusters_root())
    with open(root / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield root


def _read_index(root: Path) -> dict[str, str]:
    try:
        data = json.loads((root / "index.json").read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(f"{root / 'index.json'} is unreadable: {exc}",
                                 hint="delete it; clusters then get new ids (and need a "
                                      "new bootstrap)") from None
    return dict(data.get("sources", {}))


def _load(root: Path, cluster_id: str) -> ClusterStore | None:
    path = root / cluster_id / "cluster.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EnvironmentProblem(f"cluster state {path} is unreadable: {exc}") from None
    fields = {f.name for f in dataclasses.fields(ClusterState)}
    return ClusterStore(root / cluster_id,
                        ClusterState(**{k: v for k, v in data.items() if k in fields}))


def new_cluster_id() -> str:
    return "c-" + secrets.token_hex(6)


def planned_id(target) -> str:
    """The id the target's store has or will have, without writing anything: for writers
    that must name it before they know whether they succeed (`sparkctl render`)."""
    store = open_store(target, create=False)
    return store.id if store else declared_id(target) or new_cluster_id()


@overload
def open_store(target: Any, *, create: Literal[True],
               new_id: str | None = None) -> ClusterStore: ...
@overload
def open_store(target: Any, *, create: bool, new_id: str | None = None) -> ClusterStore | None: ...
def open_store(target, *, create: bool, new_id: str | None = None) -> ClusterStore | None:
    """The target's cluster store; with create, a new id (new_id, or a random one) is made
    when it has none."""
    source = source_key(target)
    cluster_id = declared_id(target)
    if not create:
        root = clusters_root()
        if cluster_id is None:
            if not (root / "index.json").exists():
                return None
            cluster_id = _read_index(root).get(source)
        return _load(root, cluster_id) if cluster_id else None
    with _index_lock() as root:
        index = _read_index(root)
        cluster_id = cluster_id or index.get(source)
        store = _load(root, cluster_id) if cluster_id else None
        if store is None:
            cluster_id = cluster_id or new_id or new_cluster_id()
            state = ClusterState(id=cluster_id, name=target.cluster.spec.name, source=source,
                                 created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            store = ClusterStore(root / cluster_id, state)
            store.save()
        assert cluster_id is not None  # the store was loaded by its id, or made with one
        if index.get(source) != cluster_id:
            index[source] = cluster_id
            atomic_write(root / "index.json",
                         json.dumps({"sources": index}, indent=1) + "\n", mode=0o600)
        return store


def forget(target) -> str | None:
    """Drop the target's entry from the index (its next bootstrap starts a new cluster id:
    new pins, new mesh key). Returns the id it had."""
    source = source_key(target)
    with _index_lock() as root:
        index = _read_index(root)
        old = index.pop(source, None)
        if old is not None:
            atomic_write(root / "index.json",
                         json.dumps({"sources": index}, indent=1) + "\n", mode=0o600)
        return old

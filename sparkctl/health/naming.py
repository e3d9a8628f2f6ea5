"""What tells one cluster's monitoring apart from another's on the same controller: the
`cluster` label of every exported series, the timer/cron name and the textfile's name.

The id is the cluster store's (sparkctl.bootstrap.store: `sparkctl_cluster_id` in the
inventory, else the id bootstrap/provision gave the target). `health install` creates the
store entry when there is none, so the timer, its textfile and the label agree from then on.
A target nothing has named yet gets its cluster name plus a short hash of where it is
declared: stable, different for two `ring3` clusters, and the id `health install` stores.
"""

from __future__ import annotations

import hashlib
import re

TIMER_PREFIX = "sparkctl-health"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def cluster_id(target, *, create: bool = False) -> str:
    from sparkctl.bootstrap.store import declared_id, open_store, source_key

    declared = declared_id(target)
    if declared:
        return declared
    # where the nodes are declared (a file, or the topology and hosts): two built-in ring3s
    # on other hosts are two clusters, though their description is the same
    digest = hashlib.sha256(source_key(target).encode()).hexdigest()[:8]
    unnamed = f"{_UNSAFE.sub('-', target.cluster.spec.name or 'cluster')}-{digest}"
    # created with the same id `--check` shows and unstored runs use
    store = open_store(target, create=create, new_id=unnamed)
    return store.id if store is not None else unnamed


def checked_cluster_id(text: str) -> str:
    from sparkctl.bootstrap.store import _ID
    from sparkctl.errors import InputError

    if not _ID.match(text):
        raise InputError(f"--cluster-id {text!r} is not a valid id",
                         hint="use 1-64 letters, digits, '.', '_' or '-'")
    return text


def timer_name(cid: str) -> str:
    """systemd unit base name and /etc/cron.d file name. Debian's cron skips files in
    /etc/cron.d whose names hold anything but letters, digits, `_` and `-` (run-parts
    names, cron(8)), so an id's dots become `_`."""
    return f"{TIMER_PREFIX}-{re.sub(r'[^A-Za-z0-9_-]', '_', cid)}"


def textfile_name(cid: str) -> str:
    return f"sparkctl-{cid}.prom"

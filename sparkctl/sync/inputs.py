"""Checks of what the user asked `sync` to do, before anything connects (pure)."""

from __future__ import annotations

import re
from pathlib import Path

from sparkctl.errors import InputError

IMAGE_PREFIX = "docker:"
# A docker image reference: registry/name[:tag][@digest]; no spaces, quotes or shell syntax.
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._\-/]*(:[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127})?"
                    r"(@sha256:[a-f0-9]{64})?$")


def control_characters(text: str) -> bool:
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check_path_text(value: str, what: str) -> None:
    if control_characters(value):
        raise InputError(f"{what} {value!r} contains control characters",
                         hint="name a path without newlines, tabs or escape characters")


def check_destination(value: str | None) -> str | None:
    """--to: an absolute path on the nodes, not / itself."""
    if value is None:
        return None
    check_path_text(value, "--to")
    if not value.startswith("/"):
        raise InputError(f"--to {value!r} is not an absolute path",
                         hint="give the directory on the nodes from the root, e.g. "
                         "--to /home/nvidia/models/qwen")
    if value.rstrip("/") == "":
        raise InputError("--to / would fill the nodes' root directory",
                         hint="name the directory the data should land in")
    return value.rstrip("/")


def check_node_source(value: str) -> str:
    """SRC on a node (--from): absolute, or ~/... in the login user's home there."""
    check_path_text(value, "SRC")
    if not (value.startswith("/") or value.startswith("~/")):
        raise InputError(f"SRC {value!r} on a node must be an absolute path (or ~/...)",
                         hint="e.g. sparkctl sync --from spark-1 ~/.cache/huggingface/hub/"
                         "models--Qwen--Qwen3-8B ...")
    return value


def check_controller_source(value: str) -> Path:
    """SRC on this machine: it must exist (a directory, or one file)."""
    check_path_text(value, "SRC")
    path = Path(value).expanduser()
    if not path.exists():
        raise InputError(f"SRC {value} does not exist on this machine",
                         hint="give --from NODE when the data is on a node")
    if not (path.is_dir() or path.is_file()):
        raise InputError(f"SRC {value} is neither a directory nor a regular file")
    return path.resolve()


def check_image(value: str) -> str:
    """docker:IMAGE -> IMAGE, validated so it can go into a command line."""
    image = value[len(IMAGE_PREFIX):]
    if not image or not _IMAGE.match(image) or len(image) > 255:
        raise InputError(f"{value!r} is not a docker image reference",
                         hint="write docker:REGISTRY/NAME:TAG, e.g. "
                         "docker:nvcr.io/nvidia/vllm:26.05-py3")
    return image


def check_nodes(names: list[str], from_node: str | None,
                receivers: list[str] | None) -> tuple[str | None, list[str]]:
    """--from must be a node; --nodes must be nodes other than --from. Returns the
    receivers in cluster order."""
    known = ", ".join(names)
    if from_node is not None and from_node not in names:
        raise InputError(f"--from {from_node!r} is not a node of this cluster",
                         hint=f"nodes: {known}")
    if receivers is not None:
        unknown = [r for r in receivers if r not in names]
        if unknown:
            raise InputError(f"--nodes names {', '.join(unknown)}, not a node of this cluster",
                             hint=f"nodes: {known}")
        if from_node in receivers:
            raise InputError(f"--nodes includes the source {from_node}",
                             hint="the source already has the data; leave it out")
    chosen = [n for n in names if n != from_node and (receivers is None or n in receivers)]
    if not chosen:
        raise InputError("no node to sync to", hint="the cluster has only the source node"
                         if from_node else "the cluster has no nodes")
    return from_node, chosen


def split_names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [v.strip() for v in value.split(",")]
    if not all(names):
        raise InputError(f"--nodes {value!r} has an empty name",
                         hint="separate names with single commas")
    return names

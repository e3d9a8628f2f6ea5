"""Validators for every value that reaches a file, a template or a command.

One rule for the whole code base: a value is checked when it is *loaded* (cluster file,
inventory, CLI option), against the narrowest syntax its field allows, and the writers then
quote it for their own format anyway. Each validator takes the raw value and returns the
normalised one, or raises `BadValue` with a message that never prints the value unbounded
(`shown`). Callers attach the location (file:line, host, field): these functions do not know
where a value came from.

The syntaxes are chosen so that a valid value is inert in every format sparkctl writes:
no control characters or newlines anywhere (a newline is how a value becomes a second line of
an ssh_config, an env file or a script), and for names, users, addresses, interfaces and
environment values only characters that `shlex.quote` leaves alone, so quoting is a no-op on
valid input (docker --env-file, which does not unquote, reads the same file the shell sources).
"""

from __future__ import annotations

import ipaddress
import math
import re
import unicodedata
from typing import Any

SHOWN_CHARS = 40  # the most of any value an error message repeats


class BadValue(ValueError):
    """A value that does not fit its field; `message` never holds the value unbounded."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


# --- showing values in messages -------------------------------------------------------------

def kind(value: Any) -> str:
    """What a YAML value is, in words: 'a mapping', 'a list', 'null', 'an integer', ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"a {type(value).__name__}"


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A bounded, single-line rendering of a value for an error message.

    Containers are described, never printed (an alias bomb expands to gigabytes); strings
    are cut at `limit` characters and their control characters escaped by repr().
    """
    if isinstance(value, dict):
        return f"a mapping of {len(value)} key{'s' if len(value) != 1 else ''}"
    if isinstance(value, (list, tuple, set)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value)} characters)"
    if isinstance(value, (bool, float)) or value is None:
        return repr(value)
    if isinstance(value, int):
        text = str(value) if abs(value) < 10 ** limit else f"an integer of {len(str(value))} digits"
        return text
    return f"a {type(value).__name__}"


# --- characters ---------------------------------------------------------------------------

# Bidirectional overrides and isolates: they make a file read differently than it runs.
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def first_control(text: str) -> int | None:
    """Index of the first control, line-separator or bidi character, or None."""
    for index, char in enumerate(text):
        if char in _BIDI or unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return index
    return None


def control_free(value: Any, max_len: int = 4096) -> str:
    """Any string without control characters (newline, tab, ESC, NUL, ...), bounded."""
    if not isinstance(value, str):
        raise BadValue(f"must be a string, got {kind(value)}")
    index = first_control(value)
    if index is not None:
        raise BadValue(f"contains a control character ({value[index]!r} at position "
                       f"{index + 1}): {shown(value)}",
                       hint="newlines, tabs and other control characters are never allowed; "
                       "they would start a new line in the files sparkctl writes")
    if len(value) > max_len:
        raise BadValue(f"is {len(value)} characters long (at most {max_len}): {shown(value)}")
    return value


def _pattern(value: Any, regex: re.Pattern, what: str, hint: str, max_len: int) -> str:
    text = control_free(value, max_len)
    if not regex.fullmatch(text):
        raise BadValue(f"{shown(text)} is not {what}", hint=hint)
    return text


# --- names ----------------------------------------------------------------------------------

# RFC 1123 label: what ssh, Ansible, /etc/hosts and a file name all accept as is.
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
# Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL).
_IFNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,14}")
_RDMA_DEVICE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
# Exactly the characters shlex.quote leaves unquoted (shlex._find_unsafe), minus nothing.
_SHELL_SAFE = re.compile(r"[\w@%+=:,./-]+", re.ASCII)
_IMAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}")
_MODEL = re.compile(r"[A-Za-z0-9._/][A-Za-z0-9._/@:+-]{0,254}")


def host_name(value: Any) -> str:
    """A node's name: one RFC 1123 label (it is also an inventory host, a file name and an
    ssh_config Host alias)."""
    return _pattern(value, HOST_LABEL, "a valid host name",
                    "use letters, digits and '-' (1-63 characters, no '-' at either end)", 63)


def cluster_name(value: Any) -> str:
    """A cluster's name: it names run directories and key directories, so no '/' and no
    leading '.'."""
    return _pattern(value, _CLUSTER_NAME, "a valid cluster name",
                    "use letters, digits, '.', '_' and '-' (1-63 characters, starting with a "
                    "letter or digit)", 63)


def user_name(value: Any) -> str:
    """A login name on a node (ssh -l, ansible_user)."""
    return _pattern(value, _USER, "a valid user name",
                    "use letters, digits, '_', '.' and '-' (at most 32, not starting with '-')",
                    32)


def address(value: Any) -> str:
    """How to reach a node: an IPv4/IPv6 literal or a DNS name."""
    text = control_free(value, 253)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if text and all(HOST_LABEL.fullmatch(label) for label in labels) \
            and not labels[-1].isdigit():
        return text
    raise BadValue(f"{shown(text)} is not an IP address or a host name",
                   hint="e.g. 10.0.0.11, spark-1 or spark-1.lan")


def interface_name(value: Any) -> str:
    return _pattern(value, _IFNAME, "a network interface name",
                    "at most 15 letters, digits, '_', '.' or '-', e.g. enp1s0f0np0", 15)


def rdma_device(value: Any) -> str:
    return _pattern(value, _RDMA_DEVICE, "an RDMA device name", "e.g. rocep1s0f0", 64)


def env_name(value: Any) -> str:
    return _pattern(value, _ENV_NAME, "an environment variable name", "e.g. NCCL_IB_HCA", 128)


def env_value(value: Any) -> str:
    """An environment value written to files that are sourced: shell-inert characters only."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise BadValue(f"must be a string or an integer, got {kind(value)}")
    return _pattern(str(value), _SHELL_SAFE, "a plain environment value",
                    "letters, digits and @%+=:,./_- only (no spaces, quotes, $, `, ; or |)",
                    1024)


def image_ref(value: Any) -> str:
    """A container image reference (registry/path:tag@digest)."""
    return _pattern(value, _IMAGE, "a container image reference",
                    "e.g. nvcr.io/nvidia/vllm:26.05-py3", 255)


def model_id(value: Any) -> str:
    """A Hugging Face repository id or a path inside the container."""
    return _pattern(value, _MODEL, "a Hugging Face id or a plain path",
                    "e.g. openai/gpt-oss-120b (no spaces, quotes or shell characters, not "
                    "starting with '-')", 255)


# Shell and quoting characters: legal in Linux paths, never in the paths sparkctl is given
# (key files, state directories, outputs), and each one is how a path turns into a command.
_PATH_UNSAFE = re.compile(r"[$`;|&<>'\"\\]")


def path_text(value: Any, *, absolute: bool = False) -> str:
    """A file system path: control-free, bounded, no shell or quoting characters, not an
    option (a leading '-'). Spaces are allowed: the writers quote."""
    text = control_free(value, 4096)
    if not text:
        raise BadValue("is empty")
    unsafe = _PATH_UNSAFE.search(text)
    if unsafe:
        raise BadValue(f"{shown(text)} contains {unsafe.group()!r}",
                       hint="use a path without $ ` ; | & < > quotes or backslashes")
    if text.startswith("-"):
        raise BadValue(f"{shown(text)} starts with '-'", hint="write ./-name for such a file")
    if absolute and not text.startswith("/"):
        raise BadValue(f"{shown(text)} is not an absolute path", hint="start it with /")
    return text


# --- numbers -------------------------------------------------------------------------------

def integer(value: Any, lo: int | None = None, hi: int | None = None, *,
            allow_text: bool = False) -> int:
    """An integer within [lo, hi]; with allow_text, a string of digits too (Ansible reads
    `ansible_port: "2222"` as 2222)."""
    if allow_text and isinstance(value, str) and re.fullmatch(r"[0-9]{1,12}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue(f"must be an integer, got {kind(value)} {shown(value)}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        bounds = f"{lo}-{hi}" if lo is not None and hi is not None else \
            (f">= {lo}" if lo is not None else f"<= {hi}")
        raise BadValue(f"must be {bounds}, got {shown(value)}")
    return value


def tcp_port(value: Any, *, allow_text: bool = False) -> int:
    return integer(value, 1, 65535, allow_text=allow_text)


def finite_number(value: Any, lo: float | None = None, hi: float | None = None, *,
                  lo_open: bool = False) -> float:
    """A real, finite number within bounds (nan and inf are refused: a budget of nan makes
    every comparison false, one of inf never ends)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"must be a number, got {kind(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise BadValue(f"must be a finite number, got {value}")
    if lo is not None and (number < lo or (lo_open and number == lo)):
        raise BadValue(f"must be {'>' if lo_open else '>='} {lo:g}, got {number:g}")
    if hi is not None and number > hi:
        raise BadValue(f"must be <= {hi:g}, got {number:g}")
    return number


# --- networks -------------------------------------------------------------------------------

def ipv4_address(value: Any) -> ipaddress.IPv4Address:
    text = control_free(value, 15)
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise BadValue(f"{shown(text)} is not an IPv4 address", hint="e.g. 192.168.100.2") \
            from None


def ipv4_interface(value: Any) -> ipaddress.IPv4Interface:
    """An address with its prefix, e.g. 192.168.100.1/24."""
    text = control_free(value, 18)
    if "/" not in text:
        raise BadValue(f"{shown(text)} lacks its prefix length", hint="e.g. 192.168.100.1/24")
    try:
        return ipaddress.IPv4Interface(text)
    except ValueError:
        raise BadValue(f"{shown(text)} is not an IPv4 address with a prefix",
                       hint="e.g. 192.168.100.1/24") from None


def ipv4_network(value: Any) -> ipaddress.IPv4Network:
    """A network in CIDR form with no host bits set, e.g. 192.168.100.0/22."""
    text = control_free(value, 18)
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as exc:
        reason = "host bits set" if "host bits" in str(exc) else "not IPv4 CIDR"
        raise BadValue(f"{shown(text)} is not an IPv4 network in CIDR form ({reason})",
                       hint="write the network address with its prefix, e.g. 10.0.0.0/8") \
            from None


def one_of(value: Any, choices: tuple[str, ...] | list[str] | dict, what: str = "value") -> str:
    if not isinstance(value, str):
        raise BadValue(f"must be a string, got {kind(value)}",
                       hint=f"use one of: {', '.join(choices)}")
    if value not in choices:
        raise BadValue(f"unknown {what} {shown(value)}", hint=f"use one of: {', '.join(choices)}")
    return value

"""Bounded YAML loading for cluster files and inventories.

A YAML file is input from a user's disk, an e-mail or a pasted gist, so loading it is capped
before anything else looks at it:
- size: the file is read with at most `max_bytes` + 1 bytes, and only if it is a regular file
  (a FIFO would block the open, /dev/zero never ends);
- nesting depth: PyYAML's composer recurses per level, and 5000 levels end in a RecursionError;
- aliases and expanded size: an alias bomb ("billion laughs") is a few hundred bytes that
  expand to billions of nodes once anything walks the data; every alias counts as the whole
  node it repeats, and an alias inside the node it names (a recursive structure) is refused;
- mapping keys: only plain values (a list key is unhashable), no key twice.
Errors are `InputError`s with file:line:column and never print the offending value unbounded.

With `positions=True`, mappings and lists come back as `MarkedMap`/`MarkedSeq` (dict/list
subclasses) that remember where each key and value starts, for file:line errors later.
The event parser is libyaml's when PyYAML has it (a 1 MiB file parses in well under a second),
the composition (where the caps live) is PyYAML's own, in Python.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import BaseResolver, Resolver

from sparkctl.errors import InputError, Location
from sparkctl.values import shown

try:
    # libyaml: fast, non-recursive event parser. types-PyYAML does not re-export CParser.
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]

    _C_PARSER = True
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)

    _C_PARSER = False


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1 << 20  # 1 MiB: a 4-node inventory is ~5 KiB
    max_depth: int = 64  # a sparkctl inventory nests 7 levels
    max_aliases: int = 256
    max_nodes: int = 10_000  # after expanding aliases; a 4-node inventory has ~600


DEFAULT_LIMITS = Limits()


class MarkedMap(dict):
    """A mapping that remembers where it, each key and each value start."""

    mark: Any = None
    key_marks: dict
    value_marks: dict


class MarkedSeq(list):
    """A list that remembers where it and each item start."""

    mark: Any = None
    item_marks: list


def location(path: str, mark) -> Location:
    return Location(path, mark.line + 1, mark.column + 1) if mark is not None else Location(path)


class _Refused(Exception):
    """A cap was hit; raised out of the composer and turned into InputError by the caller."""

    def __init__(self, message: str, mark, hint: str) -> None:
        super().__init__(message)
        self.message, self.mark, self.hint = message, mark, hint


class _BoundedComposer(Composer):
    limits: Limits = DEFAULT_LIMITS

    def __init__(self) -> None:
        super().__init__()
        self._depth = 0
        self._aliases = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}  # id(node) -> expanded node count, once complete

    if TYPE_CHECKING:  # the event parser _Loader mixes in has these
        def check_event(self, *choices: Any) -> bool: ...
        def peek_event(self) -> Any: ...

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            self._aliases += 1
            if self._aliases > self.limits.max_aliases:
                raise _Refused(f"more than {self.limits.max_aliases} aliases (*name)",
                               event.start_mark, "write the values out; sparkctl files need "
                               "no aliases")
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:
                    raise _Refused(f"alias *{shown(event.anchor)} refers to a node that "
                                   "contains it (a recursive structure)", event.start_mark,
                                   "aliases may only repeat a complete earlier node")
                self._count(size, event.start_mark)
            return super().compose_node(parent, index)
        event = self.peek_event()
        self._depth += 1
        if self._depth > self.limits.max_depth:
            raise _Refused(f"nested deeper than {self.limits.max_depth} levels",
                           event.start_mark, "flatten the structure")
        before = self._expanded
        self._count(1, event.start_mark)
        node = super().compose_node(parent, index)
        self._sizes[id(node)] = self._expanded - before
        self._depth -= 1
        return node

    def _count(self, nodes: int, mark) -> None:
        self._expanded += nodes
        if self._expanded > self.limits.max_nodes:
            raise _Refused(f"more than {self.limits.max_nodes} values (counting what aliases "
                           "repeat)", mark, "this is far larger than any cluster file or "
                           "inventory; an alias bomb looks like this")


_PLAIN_KEY = (str, int, float, bool, type(None))


class _Constructor(SafeConstructor):
    path: str = "<yaml>"
    positions: bool = False

    def construct_mapping(self, node, deep=False):
        # The safe constructor's own mapping check, plus: plain keys only, none twice.
        self.flatten_mapping(node)
        result = MarkedMap() if self.positions else {}
        marks: dict = {}
        value_marks: dict = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, _PLAIN_KEY):
                raise _Refused(f"a mapping key must be a plain value, got a "
                               f"{'mapping' if isinstance(key, dict) else 'list'}",
                               key_node.start_mark, "keys are names like `nodes:`; "
                               "`? [a, b]` keys are not supported")
            if key in result:
                raise _Refused(f"key {shown(key)} appears twice", key_node.start_mark,
                               "keep one of them")
            result[key] = self.construct_object(value_node, deep=deep)
            marks[key], value_marks[key] = key_node.start_mark, value_node.start_mark
        if self.positions:
            assert isinstance(result, MarkedMap)  # made a MarkedMap above
            result.mark, result.key_marks, result.value_marks = node.start_mark, marks, \
                value_marks
        return result

    def construct_yaml_map(self, node):
        yield self.construct_mapping(node, deep=True)

    def construct_yaml_seq(self, node):
        items = [self.construct_object(child, deep=True) for child in node.value]
        if not self.positions:
            yield items
            return
        result = MarkedSeq(items)
        result.mark, result.item_marks = node.start_mark, [c.start_mark for c in node.value]
        yield result


# types-PyYAML types a constructor's first argument as one of PyYAML's own loader classes.
_Constructor.add_constructor(BaseResolver.DEFAULT_MAPPING_TAG,
                             _Constructor.construct_yaml_map)  # type: ignore[type-var]
_Constructor.add_constructor(BaseResolver.DEFAULT_SEQUENCE_TAG,
                             _Constructor.construct_yaml_seq)  # type: ignore[type-var]


class _Loader(_BoundedComposer, _Parser, _Constructor, Resolver):
    def __init__(self, stream: str, path: str, limits: Limits, positions: bool) -> None:
        _Parser.__init__(self, stream)
        _BoundedComposer.__init__(self)
        _Constructor.__init__(self)
        Resolver.__init__(self)
        self.limits, self.path, self.positions = limits, path, positions


def load_yaml_text(text: str, path: str, *, limits: Limits = DEFAULT_LIMITS,
                   positions: bool = False) -> Any:
    """Parse one YAML document under `limits`; None for an empty document."""
    if len(text.encode("utf-8", errors="surrogatepass")) > limits.max_bytes:
        raise _too_big(path, limits)
    loader = None
    try:
        loader = _Loader(text, path, limits, positions)
        return loader.get_single_data()
    except _Refused as exc:
        raise InputError(exc.message, hint=exc.hint, location=location(path, exc.mark)) \
            from None
    except ComposerError as exc:
        raise InputError(f"not valid YAML: {exc.problem}",
                         location=location(path, exc.problem_mark)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(f"not valid YAML: {_bounded(exc.problem or exc.context)}",
                         location=location(path, mark),
                         hint="check indentation and quoting around this position") from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {_bounded(str(exc))}", location=Location(path)) \
            from None
    except RecursionError:  # pragma: no cover - the depth cap comes first
        raise InputError(f"nested deeper than {limits.max_depth} levels",
                         location=Location(path)) from None
    finally:
        if loader is not None:
            loader.dispose()


def _bounded(text: str | None) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= 200 else text[:200] + "..."


def _too_big(path: str, limits: Limits) -> InputError:
    return InputError(f"larger than {limits.max_bytes // 1024} KiB",
                      location=Location(path),
                      hint="cluster files and inventories are a few KiB; is this the right file?")


def read_bounded_text(path: str | Path, what: str = "file", *,
                      max_bytes: int = DEFAULT_LIMITS.max_bytes) -> str:
    """The UTF-8 text of a regular file of at most max_bytes; InputError for anything else
    (missing, a directory, a FIFO, a device, too large, not UTF-8)."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {path} is not a regular file ({_file_kind(info.st_mode)})",
                         hint="give the path of a YAML file")
    if info.st_size > max_bytes:
        raise _too_big(str(path), Limits(max_bytes=max_bytes))
    try:
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, open does not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise InputError(f"{what} {path} is not a regular file")
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise _too_big(str(path), Limits(max_bytes=max_bytes))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte {exc.start + 1})",
                         location=Location(str(path), line)) from None


def _file_kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def load_yaml_file(path: str | Path, what: str = "file", *, limits: Limits = DEFAULT_LIMITS,
                   positions: bool = False) -> Any:
    """read_bounded_text + load_yaml_text."""
    text = read_bounded_text(path, what, max_bytes=limits.max_bytes)
    return load_yaml_text(text, str(path), limits=limits, positions=positions)

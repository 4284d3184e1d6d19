"""Parse YAML exactly as EvalAI does, and note the line of every key (the part of
:mod:`evalai_mirror.yamlload` that needs PyYAML, imported only when a text is not in the cache
of parsed documents).

Parsing uses the C loader when PyYAML has it (fast).  The pure-Python loader is what the server
runs, so when parsing fails the text is parsed again with it, to get the server's exact message.

Parsing is bounded (:class:`~evalai_mirror.yamlload.YamlLimitError`, before anything is built
from the nodes): at most ``MAX_DEPTH`` levels of nesting (EvalAI's pure-Python reader crashes
with a RecursionError, a server error, past about 450; libyaml stops at 1000), and aliases may
add at most ``MAX_ALIAS_NODES`` nodes to the document's own (a "billion laughs" file of a few
hundred bytes stands for billions; ``safe_load`` shares them, but anything that walks the data
expands them).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import yaml

from evalai_mirror.yamlload import (
    MAX_ALIAS_NODES,
    MAX_DEPTH,
    Loaded,
    Path,
    YamlLimitError,
    YamlSyntaxError,
)


def _utc_naive_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    """A timestamp as the server's PyYAML (5.1) reads it: one with a zone is turned into UTC and
    loses its zone (newer PyYAML keeps it, and then it no longer compares with a plain one)."""
    value: Any = yaml.SafeLoader.construct_yaml_timestamp(loader, node)  # type: ignore[arg-type]
    if isinstance(value, _dt.datetime):
        offset = value.utcoffset()
        if offset is not None:
            return value.replace(tzinfo=None) - offset
    return value


class _ServerLoader(yaml.SafeLoader):
    """The pure-Python safe loader, with the server's timestamps."""


_ServerLoader.add_constructor("tag:yaml.org,2002:timestamp", _utc_naive_timestamp)
FastLoader: Any = _ServerLoader  # a C loader is not a SafeLoader subclass to mypy
if hasattr(yaml, "CSafeLoader"):

    class _FastServerLoader(yaml.CSafeLoader):
        """The C safe loader, with the server's timestamps."""

    _FastServerLoader.add_constructor("tag:yaml.org,2002:timestamp", _utc_naive_timestamp)
    FastLoader = _FastServerLoader


def _too_deep(line: int | None) -> YamlLimitError:
    return YamlLimitError(
        f"nested more than {MAX_DEPTH} levels deep, more than evalai-mirror reads "
        "(EvalAI's YAML reader crashes with a server error past about 450); "
        "nest the values less deeply",
        line,
        None,
    )


def check_limits(root: yaml.Node) -> None:
    """Raise :class:`YamlLimitError` when the node graph under ``root``, its aliases followed,
    is deeper than ``MAX_DEPTH`` or holds more than ``MAX_ALIAS_NODES`` nodes beyond its own.
    Costs one pass over the distinct nodes, whatever the aliases stand for.  A value that
    contains itself through an alias is counted once (``safe_load`` builds it as EvalAI does;
    the commands that compare values refuse it with their own message)."""
    size: dict[int, int] = {}  # node id -> nodes it stands for, aliases expanded
    depth: dict[int, int] = {}
    open_: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        kids = children(node)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size.get(id(k), 1) for k in kids)
            depth[key] = 1 + max((depth.get(id(k), 0) for k in kids), default=0)
            if depth[key] > MAX_DEPTH:
                raise _too_deep(node.start_mark.line + 1)
            if size[key] - len(size) > MAX_ALIAS_NODES:
                raise _alias_bomb(node, size[key])
            continue
        if key in size:
            continue
        if key in open_:
            continue  # a value that contains itself: safe_load builds it (a recursive list)
        open_.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in size)


def children(node: yaml.Node) -> list[yaml.Node]:
    """A node's direct children (a mapping's keys and values, a sequence's items)."""
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _alias_bomb(node: yaml.Node, size: int) -> YamlLimitError:
    return YamlLimitError(
        f"its aliases (*name) expand to {size:,} values, more than the {MAX_ALIAS_NODES:,} "
        "evalai-mirror reads (a YAML bomb?); write the values out without aliases",
        node.start_mark.line + 1,
        None,
    )


def server_error_message(exc: yaml.YAMLError) -> tuple[str, int | None, int | None]:
    """EvalAI's text for a YAML error: ``"\\n{Problem} in line {l}, column {c}\\n"``."""
    problem = getattr(exc, "problem", None)
    description = None if problem is None else str(problem).capitalize()
    mark = getattr(exc, "problem_mark", None)
    line = None if mark is None else mark.line + 1
    column = None if mark is None else mark.column + 1
    return f"\n{description} in line {line}, column {column}\n", line, column


def _record(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int],
            repeated: dict[Path, int]) -> None:
    """Note the line of each key and item below ``node`` in ``lines``, and in ``repeated`` the
    line of a key a mapping holds twice (``safe_load`` keeps the later value)."""
    stack: list[tuple[yaml.Node, Path]] = [(node, path)]
    seen: set[int] = set()  # an alias is the same node: walk it once (it may contain itself)
    while stack:
        current, where = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        children: list[tuple[yaml.Node, Path]] = []
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                try:
                    key = loader.construct_object(key_node)
                except yaml.YAMLError:
                    continue
                try:
                    hash(key)
                except TypeError:
                    continue
                child = (*where, key)
                if child in lines:
                    repeated.setdefault(child, key_node.start_mark.line + 1)
                lines.setdefault(child, key_node.start_mark.line + 1)
                children.append((value_node, child))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                child = (*where, index)
                lines.setdefault(child, item.start_mark.line + 1)
                children.append((item, child))
        stack.extend(reversed(children))  # in document order, so an anchor is walked first


def _parse_with(text: str, loader_class: type[yaml.SafeLoader]) -> Loaded:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Loaded(None, {})
        check_limits(node)
        data = loader.construct_document(node)
        lines: dict[Path, int] = {(): node.start_mark.line + 1}
        repeated: dict[Path, int] = {}
        _record(loader, node, (), lines, repeated)
        return Loaded(data, lines, repeated)
    finally:
        loader.dispose()


def parse(text: str) -> Loaded:
    """Parse ``text`` as ``yaml.safe_load`` would, with the line of every key and item;
    :class:`YamlSyntaxError` (the server's message) or :class:`YamlLimitError` if it fails."""
    if FastLoader is not _ServerLoader:
        try:
            return _parse_with(text, FastLoader)
        except yaml.YAMLError as exc:
            if "maximum nesting depth" in str(getattr(exc, "problem", "")):
                mark = getattr(exc, "problem_mark", None)
                raise _too_deep(None if mark is None else mark.line + 1) from None
    # The pure-Python loader is the server's: its result and its messages are the ones that count.
    try:
        return _parse_with(text, _ServerLoader)
    except RecursionError:
        raise _too_deep(None) from None
    except yaml.YAMLError as exc:
        message, line, column = server_error_message(exc)
        raise YamlSyntaxError(message, line, column) from None

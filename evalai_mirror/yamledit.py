"""Surgical edits of a YAML file: only the text of the changed scalars changes.

:func:`set_scalars` finds each scalar with PyYAML's composer (libyaml's, exact start and end of
every node) and splices the new scalar's text into the original, so comments, key order, blank lines,
flow style and quoting elsewhere stay byte-identical.  The document is never dumped again.

The new text keeps the old scalar's style where that is still valid YAML with the same meaning
under ``yaml.safe_load`` (what EvalAI runs): plain stays plain, quoted stays quoted, a naive date
stays naive (UTC), ``True`` stays ``True``-style.  The result is parsed again and checked.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import ConfigError

YamlPath = tuple[str | int, ...]

_BOOL_WORDS = {
    "true": ("true", "false"),
    "false": ("true", "false"),
    "yes": ("yes", "no"),
    "no": ("yes", "no"),
    "on": ("on", "off"),
    "off": ("on", "off"),
}
_DATE_RE = re.compile(
    r"^(?P<date>\d{4}-\d{1,2}-\d{1,2})"
    r"(?:(?P<sep>[Tt]|[ \t]+)\d{1,2}:\d{2}:\d{2}(?:\.\d*)?"
    r"(?:[ \t]*(?P<tz>Z|[-+]\d{1,2}(?::?\d{2})?))?)?$"
)
_TRAILING_BREAKS = re.compile(r"(?:\r?\n[ \t]*)+$")


class _Style:
    """How the file writes booleans and dates, for scalars that had no such value before."""

    def __init__(self) -> None:
        self.bool_words: tuple[str, str] = ("true", "false")
        self.bool_case = "lower"
        self.date_sep = " "
        self.date_tz = ""
        self.date_quote: str | None = None
        self.seen_bool = False
        self.seen_date = False

    def learn(self, text: str, quote: str | None) -> None:
        if quote is None and not self.seen_bool and text.lower() in _BOOL_WORDS:
            self.seen_bool = True
            self.bool_words = _BOOL_WORDS[text.lower()]
            self.bool_case = _case_of(text)
        match = _DATE_RE.match(text)
        if match and not self.seen_date and quote in (None, "'", '"'):
            self.seen_date = True
            self.date_sep = "T" if (match.group("sep") or " ").upper() == "T" else " "
            tz = match.group("tz") or ""
            self.date_tz = "Z" if tz == "Z" else ("+00:00" if tz else "")
            self.date_quote = quote


def _case_of(text: str) -> str:
    if text.isupper():
        return "upper"
    if text[:1].isupper():
        return "title"
    return "lower"


def _apply_case(word: str, case: str) -> str:
    return word.upper() if case == "upper" else word.title() if case == "title" else word


def _loads_as(text: str, expected: Any) -> bool:
    """Does ``k: <text>`` load (PyYAML safe_load) to exactly ``expected``?"""
    import yaml

    try:
        loaded = yaml.safe_load("k: " + text + "\n")
    except Exception:
        return False
    if not isinstance(loaded, dict) or "k" not in loaded:
        return False
    got = loaded["k"]
    return got is expected or (type(got) is type(expected) and got == expected)


def _quote_single(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_double(value: str) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if _loads_as(text, value) else json.dumps(value, ensure_ascii=True)


def _render_str(value: str, quote: str | None, in_flow: bool) -> str:
    candidates: list[str] = []
    single_line = "\n" not in value and "\r" not in value
    if quote is None and single_line and value and value == value.strip():
        if not (in_flow and any(c in value for c in ",[]{}")):
            candidates.append(value)
    if quote in (None, "'") and single_line:
        candidates.append(_quote_single(value))
    for text in candidates:
        if _loads_as(text, value):
            return text
    return _quote_double(value)


def _render_block(value: str, indent: int, eol: str, style: str = "|") -> str | None:
    """A literal block (``|-``; folded ``>-`` when the old one was folded and ``value`` is one
    line) holding ``value``, or None when a block cannot hold it."""
    if not value or value != value.strip():
        return None
    lines = value.replace("\r\n", "\n").split("\n")
    body = [(" " * indent + line) if line else "" for line in lines]
    head = ">-" if style == ">" and len(lines) == 1 else "|-"
    text = head + eol + eol.join(body)
    try:
        import yaml

        ok = yaml.safe_load("k: " + text.replace("\r\n", "\n") + "\n") == {"k": value}
    except Exception:
        ok = False
    return text if ok else None


def _as_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _render_date(value: dt.datetime, old_text: str | None, quote: str | None, style: _Style) -> str:
    naive = _as_utc(value)
    match = _DATE_RE.match(old_text) if old_text is not None else None
    if match:
        sep = "T" if (match.group("sep") or " ").upper() == "T" else " "
        old_tz = match.group("tz") or ""
        tz = "Z" if old_tz == "Z" else ("+00:00" if old_tz else "")
    else:  # no date there before: the file's usual way of writing dates
        sep, tz, quote = style.date_sep, style.date_tz, style.date_quote
    text = naive.strftime("%Y-%m-%d") + sep + naive.strftime("%H:%M:%S")
    if naive.microsecond:
        text += f".{naive.microsecond:06d}"
    text += tz
    if quote == "'":
        return _quote_single(text)
    if quote == '"':
        return json.dumps(text)
    return text


def render_scalar(
    value: Any,
    *,
    old_text: str | None = None,
    quote: str | None = None,
    in_flow: bool = False,
    style: _Style | None = None,
) -> str:
    """The YAML text for ``value`` in the style of the scalar it replaces (``old_text``, written
    plain when ``quote`` is None, else ``'`` or ``"``)."""
    style = style or _Style()
    if value is None:
        return "null"
    if isinstance(value, bool):
        words, case = style.bool_words, style.bool_case
        if old_text is not None and quote is None and old_text.lower() in _BOOL_WORDS:
            words, case = _BOOL_WORDS[old_text.lower()], _case_of(old_text)
        return _apply_case(words[0] if value else words[1], case)
    if isinstance(value, dt.datetime):
        return _render_date(value, old_text, quote, style)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return _render_str(value, quote, in_flow)
    raise TypeError(f"cannot write a {type(value).__name__} as a YAML scalar")


# --------------------------------------------------------------------------- locating nodes


def _compose(text: str, filename: str) -> Any:
    """The document's nodes, each with its exact start and end in ``text``: PyYAML's composer,
    the C one (libyaml) unless the text starts with a byte order mark (libyaml's positions
    leave it out, the text we splice into has it).  A plain scalar's style is None with both."""
    import yaml

    from .yamlparse import FastLoader, children

    loader = yaml.SafeLoader if text.startswith("\ufeff") else FastLoader
    try:
        root = yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"is not valid YAML: {exc.problem or exc.context}",
            path=filename,
            line=None if mark is None else mark.line + 1,
            hint="fix the syntax there, then run the command again",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"is not valid YAML: {exc}", path=filename, hint="fix the syntax, then try again"
        ) from None
    stack = [] if root is None else [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # an alias is the node it names
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            node.style = node.style or None  # libyaml says "" for plain
        else:
            stack.extend(children(node))
    return root


def _kind(node: Any) -> str:
    import yaml

    if isinstance(node, yaml.MappingNode):
        return "map"
    if isinstance(node, yaml.SequenceNode):
        return "seq"
    if isinstance(node, yaml.ScalarNode):
        return "scalar"
    return "other"


def _show(path: YamlPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


def _find_key(node: Any, key: str) -> tuple[Any, Any] | None:
    found = None
    for key_node, value_node in node.value:
        if _kind(key_node) == "scalar" and key_node.value == key:
            found = (key_node, value_node)  # the last one wins, as in yaml.safe_load
    return found


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _last_content_end(text: str, node: Any) -> int:
    """Index just after the last character that belongs to ``node``."""
    while _kind(node) in ("map", "seq") and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if _kind(node) == "map" else last
    end = int(node.end_mark.index)
    while end > 0 and text[end - 1] in " \t\r\n":
        end -= 1
    return end


class _Doc:
    """What every edit of one document needs: its text, learnt style, line ending and name."""

    __slots__ = ("eol", "filename", "style", "text")

    def __init__(self, text: str, style: _Style, eol: str, filename: str) -> None:
        self.text, self.style, self.eol, self.filename = text, style, eol, filename


class _Edit:
    __slots__ = ("end", "order", "start", "text")

    def __init__(self, start: int, end: int, text: str, order: int) -> None:
        self.start, self.end, self.text, self.order = start, end, text, order


def set_scalars(
    text: str,
    edits: Mapping[YamlPath, Any],
    *,
    filename: str = "challenge_config.yaml",
) -> str:
    """``text`` with the scalar at each path set to its new value, and nothing else changed.

    A path whose last key is absent from its (block) mapping is added as a new line at the end
    of that mapping.  Raises :class:`ConfigError` (with ``filename`` and the line) for a document
    that does not parse or a path that does not exist.
    """
    if not edits:
        return text
    root = _compose(text, filename)
    eol = "\r\n" if "\r\n" in text else "\n"
    style = _Style()
    _learn_styles(root, text, style)
    doc = _Doc(text, style, eol, filename)
    splices: list[_Edit] = []
    for order, (path, value) in enumerate(edits.items()):
        splices.extend(_plan(doc, root, tuple(path), value, order))
    out = text
    for edit in sorted(splices, key=lambda e: (e.start, e.order), reverse=True):
        out = out[: edit.start] + edit.text + out[edit.end :]
    _verify(text, out, edits, filename)
    return out


set_values = set_scalars
"""Lists and mappings too: only the scalars that change are rewritten where the shape stays
(same keys, same length); otherwise that list or mapping is written again in its own style
(flow stays flow, block stays block) and nothing around it changes."""


def _learn_styles(node: Any, text: str, style: _Style) -> None:
    stack = [node]
    while stack:
        current = stack.pop()
        kind = _kind(current)
        if kind == "scalar":
            style.learn(current.value, current.style if current.style in ("'", '"') else None)
        elif kind == "map":
            stack.extend(v for _, v in reversed(current.value))
        elif kind == "seq":
            stack.extend(reversed(current.value))


def _plan(doc: _Doc, root: Any, path: YamlPath, value: Any, order: int) -> list[_Edit]:
    filename = doc.filename
    if not path:
        raise ConfigError("cannot replace the whole document", path=filename)
    node = root
    parent_flow = False
    key_node = None
    for depth, part in enumerate(path):
        kind = _kind(node)
        where = _show(path[:depth]) if depth else "the document"
        if kind == "map" and not isinstance(part, int):
            found = _find_key(node, str(part))
            if found is None:
                if depth == len(path) - 1:
                    return [_insert(doc, node, str(part), value, order)]
                raise ConfigError(
                    f"{_show(path[: depth + 1])} is missing",
                    path=filename,
                    line=_line(node),
                    hint=f"add `{part}:` under {where}",
                )
            parent_flow = bool(node.flow_style)
            key_node, node = found
        elif kind == "seq" and isinstance(part, int):
            if not 0 <= part < len(node.value):
                raise ConfigError(
                    f"{_show(path[: depth + 1])} does not exist ({where} has "
                    f"{len(node.value)} items)",
                    path=filename,
                    line=_line(key_node if key_node is not None else node),
                    hint="check the list in the file",
                )
            parent_flow = bool(node.flow_style)
            key_node, node = None, node.value[part]
        else:
            wanted = "a list" if isinstance(part, int) else "a mapping"
            raise ConfigError(
                f"{where} is not {wanted}, so {_show(path)} cannot be set",
                path=filename,
                line=_line(node) if node is not None else None,
                hint="check the structure of the file",
            )
    if _kind(node) not in ("scalar", "map", "seq"):
        raise ConfigError(
            f"{_show(path)} is not a plain value, list or mapping",
            path=filename,
            line=_line(key_node if key_node is not None else node),
            hint="edit it by hand",
        )
    return _plan_value(doc, node, key_node, value, parent_flow, order)


def _is_collection(value: Any) -> bool:
    return isinstance(value, (list, dict))


def _plan_value(
    doc: _Doc, node: Any, key_node: Any, value: Any, in_flow: bool, order: int
) -> list[_Edit]:
    """The splices that make ``node`` hold ``value``: scalar by scalar while the shape stays."""
    kind = _kind(node)
    if kind == "scalar":
        if not _is_collection(value):
            if node.style not in ("|", ">") and _loads_as(
                doc.text[int(node.start_mark.index) : int(node.end_mark.index)], value
            ):
                return []
            return [_replace(doc, node, key_node, value, in_flow, order)]
        return [_rewrite(doc, node, key_node, value, order)]
    flow = bool(node.flow_style)
    if kind == "map" and isinstance(value, dict):
        pairs = {str(k.value): (k, v) for k, v in node.value if _kind(k) == "scalar"}
        if len(pairs) == len(node.value) and set(pairs) == {str(k) for k in value}:
            edits: list[_Edit] = []
            for key, (child_key, child) in pairs.items():
                edits.extend(_plan_value(doc, child, child_key, value[key], flow, order))
            return edits
    if kind == "seq" and isinstance(value, list) and len(value) == len(node.value) and value:
        edits = []
        for child, item in zip(node.value, value, strict=True):
            edits.extend(_plan_value(doc, child, None, item, flow, order))
        return edits
    return [_rewrite(doc, node, key_node, value, order)]


def _flow_quote(node: Any) -> str | None:
    """The quote the strings inside a collection use (None: plain)."""
    stack = [node]
    while stack:
        current = stack.pop()
        kind = _kind(current)
        if kind == "scalar":
            if current.style in ("'", '"'):
                return str(current.style)
        elif kind == "map":
            for k, v in current.value:
                stack.extend((v, k))
        elif kind == "seq":
            stack.extend(reversed(current.value))
    return None


def render_flow(value: Any, *, quote: str | None = None, style: _Style | None = None) -> str:
    """``value`` in YAML flow style (``[a, b]``, ``{k: v}``), strings quoted with ``quote``."""
    if isinstance(value, dict):
        inner = ", ".join(
            f"{render_flow(str(k), quote=quote, style=style)}: "
            f"{render_flow(v, quote=quote, style=style)}"
            for k, v in value.items()
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(render_flow(v, quote=quote, style=style) for v in value) + "]"
    if isinstance(value, str) and quote == '"':
        return _quote_double(value)
    return render_scalar(value, quote=quote, in_flow=True, style=style)


def _render_block_value(value: Any, indent: int, eol: str, quote: str | None,
                        style: _Style) -> str:
    """``value`` as a block list or mapping whose first line starts at the cursor and whose
    other lines are indented by ``indent``."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                inner = _render_block_value(item, indent + 2, eol, quote, style)
                lines.append("- " + inner)
            else:
                lines.append("- " + render_flow(item, quote=quote, style=style))
    else:
        for key, item in value.items():
            head = render_scalar(str(key), style=style) + ":"
            if isinstance(item, list) and item and all(isinstance(i, dict) for i in item):
                inner = _render_block_value(item, indent, eol, quote, style)
                lines.append(head + eol + pad + inner)
            else:
                lines.append(head + " " + render_flow(item, quote=quote, style=style))
    return (eol + pad).join(lines)


def _rewrite(doc: _Doc, node: Any, key_node: Any, value: Any, order: int) -> _Edit:
    """``node`` written again whole, in its own style (flow stays flow, block stays block)."""
    text = doc.text
    quote = _flow_quote(node) if _kind(node) != "scalar" else None
    block = _kind(node) in ("map", "seq") and not node.flow_style
    if block and _is_collection(value) and value:
        start = int(node.start_mark.index)
        end = _last_content_end(text, node)
        indent = int(node.start_mark.column)
        return _Edit(start, end, _render_block_value(value, indent, doc.eol, quote, doc.style),
                     order)
    new = render_flow(value, quote=quote, style=doc.style)
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    if block:  # an emptied block list or mapping: `key: []`, right after the key's colon
        end = _last_content_end(text, node)
        if key_node is not None:
            start = text.index(":", int(key_node.end_mark.index)) + 1
            return _Edit(start, end, " " + new, order)
    if _kind(node) == "scalar" and (start == end or not text[start:end].strip()):
        if key_node is not None:
            colon = text.index(":", int(key_node.end_mark.index))
            return _Edit(colon + 1, end, " " + new, order)
    return _Edit(start, end, new, order)


def _replace(
    doc: _Doc, node: Any, key_node: Any, value: Any, in_flow: bool, order: int
) -> _Edit:
    text, style = doc.text, doc.style
    start, end = int(node.start_mark.index), int(node.end_mark.index)
    span = text[start:end]
    if start == end or (node.style is None and node.value == "" and not span.strip()):
        # an empty value (`key:`): write after the colon that follows the key
        if key_node is not None:
            colon = text.index(":", int(key_node.end_mark.index))
            return _Edit(colon + 1, colon + 1, " " + render_scalar(value, style=style), order)
    prefix = ""
    anchor = re.match(r"&\S+\s+", span)
    if anchor:
        prefix = anchor.group(0)
    quote = node.style if node.style in ("'", '"') else None
    if node.style in ("|", ">"):
        trailing_match = _TRAILING_BREAKS.search(span)
        trailing = trailing_match.group(0) if trailing_match else ""
        new = None
        if isinstance(value, str):
            lines = [line for line in span.split("\n")[1:] if line.strip()]
            indent = len(lines[0]) - len(lines[0].lstrip(" ")) if lines else 0
            least = 1 if key_node is None else int(key_node.start_mark.column) + 1
            new = _render_block(value, max(indent, least), doc.eol, str(node.style))
        if new is None:
            new = render_scalar(value, in_flow=in_flow, style=style)
        return _Edit(start, end, prefix + new + trailing, order)
    new = render_scalar(value, old_text=node.value, quote=quote, in_flow=in_flow, style=style)
    return _Edit(start, end, prefix + new, order)


def _insert(doc: _Doc, mapping: Any, key: str, value: Any, order: int) -> _Edit:
    text, eol = doc.text, doc.eol
    if mapping.flow_style or not mapping.value:
        raise ConfigError(
            f"cannot add `{key}` to the mapping written inline here",
            path=doc.filename,
            line=_line(mapping),
            hint=f"add `{key}:` by hand",
        )
    indent = int(mapping.value[0][0].start_mark.column)
    end = _last_content_end(text, mapping)
    newline = text.find("\n", end)
    key_text = render_scalar(key)
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        # plain scalars, quoted only where YAML needs it, as block siblings are written
        rendered = eol + " " * (indent + 2) + _render_block_value(
            value, indent + 2, eol, None, doc.style
        )
        line = " " * indent + key_text + ":" + rendered + eol
    elif isinstance(value, list) and value and (dash := _sibling_dash(mapping)) is not None:
        # the siblings' lists are block lists: this one too, indented as theirs
        items = "".join(
            " " * (indent + dash) + "- " + render_flow(item, style=doc.style) + eol
            for item in value
        )
        line = " " * indent + key_text + ":" + eol + items
    elif _is_collection(value):
        rendered = render_flow(value, style=doc.style)
        line = " " * indent + key_text + ": " + rendered + eol
    else:
        line = " " * indent + key_text + ": " + render_scalar(value, style=doc.style) + eol
    if newline == -1:
        return _Edit(len(text), len(text), eol + line[: -len(eol)], order)
    return _Edit(newline + 1, newline + 1, line, order)


def _sibling_dash(mapping: Any) -> int | None:
    """How far right of its key a sibling block list of scalars puts its ``-`` (0 for an
    indentless list); None when no sibling is one."""
    for key_node, value_node in mapping.value:
        if (_kind(value_node) == "seq" and not value_node.flow_style and value_node.value
                and all(_kind(item) == "scalar" for item in value_node.value)):
            return int(value_node.start_mark.column) - int(key_node.start_mark.column)
    return None


def _same_value(got: Any, expected: Any) -> bool:
    if isinstance(expected, dt.datetime):
        if isinstance(got, str):
            try:
                got = dt.datetime.fromisoformat(got.replace("Z", "+00:00"))
            except ValueError:
                return False
        return isinstance(got, dt.datetime) and _as_utc(got) == _as_utc(expected)
    return got is expected or (type(got) is type(expected) and got == expected)


def _leaves(data: Any) -> dict[tuple[Any, ...], Any]:
    """Every scalar of a loaded document by its path (through aliases; a self-containing
    collection is not entered again)."""
    found: dict[tuple[Any, ...], Any] = {}
    stack: list[tuple[Any, tuple[Any, ...], frozenset[int]]] = [(data, (), frozenset())]
    while stack:
        node, path, inside = stack.pop()
        if isinstance(node, (dict, list)):
            if id(node) in inside:
                continue
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((child, (*path, key), inside | {id(node)}) for key, child in items)
        else:
            found[path] = node
    return found


def _verify(before: str, text: str, edits: Mapping[YamlPath, Any], filename: str) -> None:
    """The edited document reads back with each edit's value and every other value as before
    (an anchored scalar also changes its aliases: that is refused, not done silently).
    Both documents are read as everywhere else (:mod:`evalai_mirror.yamlload`: the C loader,
    and ``before`` is usually the text just read, so it is not parsed again)."""
    from . import yamlload

    was_data = yamlload.safe_load(before)  # first: the text just read, remembered
    try:
        data = yamlload.safe_load(text)
    except yamlload.YamlSyntaxError as exc:  # pragma: no cover - guarded by the scalar checks
        raise ConfigError(
            f"editing would break the YAML ({exc})", path=filename, hint="edit the file by hand"
        ) from None
    for path, expected in edits.items():
        got: Any = data
        for part in path:
            try:
                got = got[part]
            except (KeyError, IndexError, TypeError):
                got = KeyError
                break
        if not _same_value(got, expected):
            raise ConfigError(
                f"could not write {_show(tuple(path))} safely (it would read back as {got!r})",
                path=filename,
                hint="edit the value by hand",
            )
    old, new = _leaves(was_data), _leaves(data)
    edited = {tuple(path) for path in edits}
    for path in sorted(set(old) | set(new), key=repr):
        was, now = old.get(path, KeyError), new.get(path, KeyError)
        under = any(path[: len(e)] == e for e in edited)
        if under or _same_value(now, was) or repr(now) == repr(was):  # repr: nan
            continue
        raise ConfigError(
            f"{_show(path)} would change too, though it is not being written: it shares a "
            "YAML anchor (&name / *name) with a value that is",
            path=filename,
            line=yamlload.load(before).line(path),
            hint="write the values out in full instead of through the alias, then try again",
        )

"""Load YAML exactly as EvalAI does, and remember the line of every key.

EvalAI reads ``challenge_config.yaml`` with ``yaml.safe_load`` (PyYAML, YAML 1.1: ``yes``/``no``
are booleans, an unquoted ``2024-01-01 00:00:00`` is a ``datetime``).  :func:`load` gives the
same data, plus a side table ``{path: line}`` where a path is a tuple of mapping keys and
sequence indexes, e.g. ``("challenge_phases", 0, "codename")``, and a line is 1-based.
:mod:`evalai_mirror.yamlparse` does the parsing, with its limits.

A document parsed once is kept in the user's cache (``parsed/`` in
:func:`evalai_mirror.fsutil.cache_dir`), named by a hash of its text: the validate hook parses
the config when a commit is made, and the push hook that sends the commit, ``status`` and
``watch`` then read it back without loading PyYAML at all, which costs a hook process more than
parsing itself.  What is kept is the parse's result only, never a verdict; an entry is read as
Python reads its own ``__pycache__`` (``marshal``), the folder is the user's own, and anything
in it that does not read back as an entry is parsed anew.  The hash covers the text, this
package's version and the parser module's file, so an upgrade or an edited parser never reads
an older entry; the folder keeps the newest ``KEEP`` entries.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import marshal
import os
import sys
from typing import Any

from evalai_mirror import __version__
from evalai_mirror.fsutil import atomic_write_bytes, cache_dir

Path = tuple[Any, ...]


class YamlSyntaxError(Exception):
    """The text is not valid YAML.  ``server_message`` is what EvalAI answers for it."""

    def __init__(self, server_message: str, line: int | None, column: int | None) -> None:
        super().__init__(server_message)
        self.server_message = server_message
        self.line = line
        self.column = column


MAX_DEPTH = 200
MAX_ALIAS_NODES = 100_000


class YamlLimitError(YamlSyntaxError):
    """The text is YAML, but nested too deep or with aliases that expand too far to read
    safely.  ``server_message`` says which limit, and what EvalAI does with such a file."""


class Loaded:
    """The parsed document, the 1-based line of every key and sequence item, and of every key
    a mapping holds twice (``repeated``: the later one, whose value ``safe_load`` keeps)."""

    __slots__ = ("data", "lines", "repeated")

    def __init__(self, data: Any, lines: dict[Path, int],
                 repeated: dict[Path, int] | None = None) -> None:
        self.data = data
        self.lines = lines
        self.repeated = {} if repeated is None else repeated

    def copy(self) -> Loaded:
        """A copy the caller may change without changing this one."""
        return Loaded(copy.deepcopy(self.data), dict(self.lines), dict(self.repeated))

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while True:
            found = self.lines.get(path)
            if found is not None:
                return found
            if not path:
                return None
            path = path[:-1]


def load(text: str | bytes) -> Loaded:
    """Parse ``text`` as ``yaml.safe_load`` would; raise :class:`YamlSyntaxError` if it fails.

    Exceptions that are not YAML errors (a timestamp like ``2024-13-45 00:00:00`` raises
    ``ValueError``) propagate, as they do on the server, where they become a 500.
    """
    global _LAST
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    last = _LAST
    if last is not None and last[0] == text:  # a push validates a config, then reads it
        return last[1].copy()
    entry = _entry_path(text)
    loaded = None if entry is None else _cached(entry)
    if loaded is None:
        from evalai_mirror import yamlparse  # PyYAML, loaded only for a text not kept

        loaded = yamlparse.parse(text)
        if entry is not None:
            _keep(entry, loaded)
    _LAST = (text, loaded.copy())
    return loaded


# The last text parsed and what it gave (copied both ways: callers may change what they get).
_LAST: tuple[str, Loaded] | None = None


def safe_load(text: str | bytes) -> Any:
    """Only the data, as ``yaml.safe_load`` returns it."""
    return load(text).data


# --------------------------------------------------------------------------- the kept parses

KEEP = 32  # entries the folder keeps, the newest (a commit's config, the working copy's, ...)
MAX_TEXT = 1 << 20  # a longer text is parsed every time (a config is a few kB)
_FORMAT = b"evalai-mirror parsed yaml 2"


class _NotKept(Exception):
    """A value the entry format cannot hold (a value that contains itself, an aware time)."""


def _entry_path(text: str) -> str | None:
    """The file that keeps ``text``'s parse, or None when it is not to be kept."""
    if len(text) > MAX_TEXT:
        return None
    try:
        parser = os.stat(os.path.join(os.path.dirname(__file__), "yamlparse.py"))
        folder = cache_dir() / "parsed"
    except (OSError, RuntimeError):  # no parser file to stamp, no home folder
        return None
    salt = b"%s %s %d %d %d %d.%d\0" % (
        _FORMAT, __version__.encode(), parser.st_size, parser.st_mtime_ns, marshal.version,
        *sys.version_info[:2],
    )
    name = hashlib.sha256(salt + text.encode("utf-8", "surrogatepass")).hexdigest()
    return os.path.join(folder, name)


def _cached(path: str) -> Loaded | None:
    """The parse kept in ``path``; None when there is none (what is there and is not an
    entry is removed)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_TEXT * 8 + 1)
        kept = marshal.loads(raw)
        data, lines, repeated = _decode(kept[0]), kept[1], kept[2]
        if not isinstance(lines, dict) or not isinstance(repeated, dict):
            raise ValueError("not an entry")
        decoded = [{tuple(_decode(part) for part in key): line for key, line in table.items()}
                   for table in (lines, repeated)]
        os.utime(path)  # the newest entries are the ones kept
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError, IndexError, KeyError):
        # not an entry (cut short, another format...): parse the text anew
        _forget(path)
        return None
    return Loaded(data, *decoded)


def _keep(path: str, loaded: Loaded) -> None:
    """Keep ``loaded`` in ``path``; nothing when it cannot be kept or written."""
    try:
        memo: dict[int, Any] = {}
        lines, repeated = (
            {tuple(_encode(part, memo, set()) for part in key): line for key, line in table.items()}
            for table in (loaded.lines, loaded.repeated)
        )
        raw = marshal.dumps((_encode(loaded.data, memo, set()), lines, repeated))
    except (_NotKept, ValueError, RecursionError):
        return
    try:
        atomic_write_bytes(path, raw, mode=0o600)
        _prune(os.path.dirname(path))
    except OSError:
        pass  # a cache: the next run parses the text again


def _prune(folder: str) -> None:
    try:
        entries = [e for e in os.scandir(folder) if len(e.name) == 64]
        if len(entries) <= KEEP:
            return
        entries.sort(key=lambda e: e.stat().st_mtime_ns)
        for entry in entries[: len(entries) - KEEP]:
            _forget(entry.path)
    except OSError:
        pass


def _forget(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# safe_load gives dicts, lists, sets, str, bytes, int, float, bool, None, dates and naive
# datetimes (yamlparse takes zones out); marshal holds all but the last two, and a tuple, which
# safe_load never gives, stands for them: (0, y, m, d, H, M, S, us) or (1, y, m, d).


def _encode(value: Any, memo: dict[int, Any], open_: set[int]) -> Any:
    kind = type(value)
    if kind in (str, int, float, bool, bytes) or value is None:
        return value
    key = id(value)
    if key in memo:  # an alias: the same object again, as safe_load shares it
        return memo[key]
    if key in open_:
        raise _NotKept("a value that contains itself")
    open_.add(key)
    encoded: Any
    if kind is dict:
        encoded = {_encode(k, memo, open_): _encode(v, memo, open_) for k, v in value.items()}
    elif kind is list:
        encoded = [_encode(item, memo, open_) for item in value]
    elif kind is set:
        encoded = {_encode(item, memo, open_) for item in value}
    elif kind is datetime.datetime:
        if value.tzinfo is not None:
            raise _NotKept("a time with a zone")
        encoded = (0, value.year, value.month, value.day, value.hour, value.minute,
                   value.second, value.microsecond)
    elif kind is datetime.date:
        encoded = (1, value.year, value.month, value.day)
    else:
        raise _NotKept(f"a {kind.__name__}")
    open_.discard(key)
    memo[key] = encoded
    return encoded


def _decode(value: Any, memo: dict[int, Any] | None = None) -> Any:
    kind = type(value)
    if kind in (str, int, float, bool, bytes) or value is None:
        return value
    memo = {} if memo is None else memo
    key = id(value)
    if key in memo:
        return memo[key]
    decoded: Any
    if kind is dict:
        decoded = {_decode(k, memo): _decode(v, memo) for k, v in value.items()}
    elif kind is list:
        decoded = [_decode(item, memo) for item in value]
    elif kind is set:
        decoded = {_decode(item, memo) for item in value}
    elif kind is tuple:
        if value[0] == 0:
            decoded = datetime.datetime(*value[1:])
        elif value[0] == 1:
            decoded = datetime.date(*value[1:])
        else:
            raise ValueError("not an entry")
    else:
        raise ValueError("not an entry")
    memo[key] = decoded
    return decoded

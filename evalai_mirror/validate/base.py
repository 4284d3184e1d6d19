"""What every rule shares: :class:`Problem`, the server-crash signal, and :class:`CheckerBase`
(the config being checked, where in it we are, and how a rule reports a problem or reads a file).
"""

from __future__ import annotations

import posixpath
from typing import Any, NamedTuple

from evalai_mirror import yamlload
from evalai_mirror.source import FileSource, normalise


class Problem(NamedTuple):
    """One reason EvalAI would refuse the configuration.

    ``message`` is the server's exact text (for ``crash=True``: ours, since the server answers
    500 there); ``path`` is the file it concerns and ``line`` the 1-based line, when known.

    Immutable, with the fields and keyword constructor of a frozen dataclass; a NamedTuple
    because importing :mod:`dataclasses` (and with it :mod:`inspect`) would cost ``validate``
    about 9 ms of start-up, half of the interpreter's own (see benchmarks/bench_validate.py).
    Use ``_asdict()`` / ``_replace()`` where a dataclass would use ``asdict`` / ``replace``.
    """

    message: str
    path: str
    line: int | None
    crash: bool = False
    hint: str | None = None
    ours: bool = False
    """A limit of evalai-mirror's own (a YAML bomb, deep nesting), not EvalAI's verdict."""


class Crash(Exception):
    """The server would raise here: stop, as the server does."""

    def __init__(self, message: str, where: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


def crash_text(what: str, fix: str) -> str:
    return f"EvalAI would fail with a server error (HTTP 500), not a message: {what}. {fix}"


class CheckerBase:
    """The state of one check; the rule mixins (``rules_*.py``) add one method per part."""

    data: dict[Any, Any]  # the parsed config, set by ``Checker.run``

    def __init__(
        self, source: FileSource, config_path: str, loaded: yamlload.Loaded, repo_layout: bool
    ) -> None:
        self.source = source
        self.config_path = config_path
        self.base = posixpath.dirname(config_path)
        self.loaded = loaded
        self.repo_layout = repo_layout
        self.problems: list[Problem] = []
        self.at: tuple[Any, ...] = ()
        self.phase_ids: list[Any] = []
        self.leaderboard_ids: list[Any] = []
        self.dataset_split_ids: list[Any] = []

    # -- helpers ------------------------------------------------------------------------------
    def add(
        self, message: str, where: tuple[Any, ...] | None = None, hint: str | None = None
    ) -> None:
        where = self.at if where is None else where
        self.problems.append(Problem(message, self.config_path, self.loaded.line(where), hint=hint))

    def crash(self, what: str, fix: str, where: tuple[Any, ...] | None = None) -> Crash:
        return Crash(crash_text(what, fix), self.at if where is None else where)

    def resolve(self, value: str) -> str | None:
        """A config-relative path as a source path, or None when it escapes the root."""
        norm = normalise(value)
        if norm is None:
            return None
        joined = posixpath.join(self.base, norm) if self.base else norm
        return normalise(joined)

    def is_file(self, value: str) -> bool:
        path = self.resolve(value)
        return path is not None and self.source.is_file(path)

    def read_html(self, value: Any) -> str | None:
        """``get_value_from_field``: the file's text if it is an existing .html file."""
        if not isinstance(value, str):
            raise self.crash(
                f"{'.'.join(map(str, self.at))} is a {type(value).__name__}, not a file path",
                "Give the path of an HTML file.",
            )
        if not value.endswith(".html"):
            return None
        path = self.resolve(value)
        data = None if path is None else self.source.read(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self.crash(f"{value} is not UTF-8 text", "Save the file as UTF-8.") from exc

    def cascade_hint(self, section: str, what: str, ident: Any) -> str:
        """Why an id is invalid: the entry it names was rejected above, or does not exist."""
        entries = self.data.get(section)
        declared = isinstance(entries, list) and any(
            isinstance(e, dict) and e.get("id") == ident for e in entries
        )
        if declared:
            return f"the {what} with id {ident} has errors reported above"
        return f"no {what} has id {ident!r} under {section}"


def iterate(checker: CheckerBase, value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value)  # iterating a mapping gives its keys, as on the server
    if not hasattr(value, "__iter__"):
        raise checker.crash(
            f"{checker.at[-1] if checker.at else 'a value'} is a {type(value).__name__}, not a list",
            "Write it as a YAML list (`- ...` items).",
        )
    return list(value)


def hashable_or_crash(checker: CheckerBase, value: Any, what: str) -> None:
    try:
        hash(value)
    except TypeError as exc:
        raise checker.crash(f"{what} is a list or mapping", "Use a plain value.") from exc

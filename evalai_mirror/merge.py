"""The three-way merge of synced fields: base snapshot, repository, EvalAI.

Pure: values in, decisions out.  Nothing here reads files, talks to EvalAI or runs git.

For every key the merge decides a :class:`FieldState` and the value both sides should hold
afterwards.  Only one side moved away from the base: that side wins.  Both moved to the same
value: nothing to send.  Both moved differently: a conflict, except for text keys (the HTML
fields), where edits to lines that do not overlap merge like ``git merge-file``.  With no base
(a fresh clone, no shared history) differing values are always conflicts: never guess.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import Enum
from typing import Any, Literal

from evalai_mirror.records import record


class _Missing(Enum):
    MISSING = "missing"

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing.MISSING
"""The value of a key that one side does not have (a phase added on one side only)."""


class FieldState(str, Enum):
    IN_SYNC = "in sync"
    LOCAL = "changed here"
    REMOTE = "changed on EvalAI"
    BOTH_SAME = "changed on both sides, same value"
    MERGED = "merged (non-overlapping edits)"
    CONFLICT = "conflict"


@record(frozen=True)
class FieldResult:
    """One key's decision.  ``value`` is what both sides hold afterwards (unused for CONFLICT)."""

    key: str
    state: FieldState
    base: Any
    local: Any
    remote: Any
    value: Any

    @property
    def is_conflict(self) -> bool:
        return self.state is FieldState.CONFLICT


def same(a: Any, b: Any) -> bool:
    """Equality that does not confuse ``True`` with ``1`` or ``1`` with ``1.0``."""
    return a is b or (type(a) is type(b) and a == b)


@record(frozen=True)
class MergeResult:
    fields: dict[str, FieldResult]

    def _to(self, side: Literal["local", "remote"]) -> dict[str, Any]:
        return {
            key: res.value
            for key, res in self.fields.items()
            if not res.is_conflict and not same(res.value, getattr(res, side))
        }

    @property
    def to_remote(self) -> dict[str, Any]:
        """Key -> value that EvalAI must receive."""
        return self._to("remote")

    @property
    def to_local(self) -> dict[str, Any]:
        """Key -> value that the working copy must receive."""
        return self._to("local")

    @property
    def conflicts(self) -> list[FieldResult]:
        return [res for res in self.fields.values() if res.is_conflict]

    @property
    def agreed(self) -> dict[str, Any]:
        """The new base: the settled value of every key, the old base value for conflicts.

        Keys whose settled value is MISSING (gone on both sides) are left out, and so are
        conflicts when there was no base: keep merging those with ``base=None`` until resolved.
        """
        result: dict[str, Any] = {}
        for key, res in self.fields.items():
            value = res.base if res.is_conflict else res.value
            if value is not MISSING:
                result[key] = value
        return result

    @property
    def changed(self) -> bool:
        """True when any key is not plainly in sync (something to send, write, record or resolve)."""
        return any(res.state is not FieldState.IN_SYNC for res in self.fields.values())


def merge_text(base: str, local: str, remote: str) -> str | None:
    """Line-based three-way merge of trimmed texts; None when the edits overlap."""
    import merge3

    def lines(text: str) -> list[str]:
        return (text + "\n").splitlines(keepends=True)

    merger = merge3.Merge3(lines(base), lines(local), lines(remote))
    out: list[str] = []
    for group in merger.merge_groups():
        if group[0] == "conflict":
            return None
        out.extend(group[1])
    return "".join(out).strip()


def _decide(
    key: str,
    base: Any,
    local: Any,
    remote: Any,
    *,
    has_base: bool,
    is_text: bool,
    prefer: Literal["local", "remote"] | None,
) -> FieldResult:
    def result(state: FieldState, value: Any) -> FieldResult:
        return FieldResult(key, state, base, local, remote, value)

    if same(local, remote):
        moved = has_base and not same(base, local)
        return result(FieldState.BOTH_SAME if moved else FieldState.IN_SYNC, local)
    if has_base:
        if same(local, base):
            return result(FieldState.REMOTE, remote)
        if same(remote, base):
            return result(FieldState.LOCAL, local)
        if is_text and all(isinstance(v, str) for v in (base, local, remote)):
            merged = merge_text(base, local, remote)
            if merged is not None:
                return result(FieldState.MERGED, merged)
    if prefer == "local":
        return result(FieldState.LOCAL, local)
    if prefer == "remote":
        return result(FieldState.REMOTE, remote)
    return result(FieldState.CONFLICT, None)


def merge(
    base: Mapping[str, Any] | None,
    local: Mapping[str, Any],
    remote: Mapping[str, Any],
    *,
    text_keys: Collection[str] = (),
    prefer: Literal["local", "remote"] | None = None,
) -> MergeResult:
    """Decide every key of ``base``, ``local`` and ``remote``.

    A key absent from one side counts as the value :data:`MISSING`.  ``prefer`` settles what
    would otherwise be a conflict in favour of that side.
    """
    keys = set(local) | set(remote)
    if base is not None:
        keys |= set(base)
    text = set(text_keys)
    fields: dict[str, FieldResult] = {}
    for key in sorted(keys):
        fields[key] = _decide(
            key,
            MISSING if base is None else base.get(key, MISSING),
            local.get(key, MISSING),
            remote.get(key, MISSING),
            has_base=base is not None,
            is_text=key in text,
            prefer=prefer,
        )
    return MergeResult(fields)

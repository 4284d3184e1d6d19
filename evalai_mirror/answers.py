"""The shapes of EvalAI's answers, checked once at the API boundary.

The client (``api.py``) passes every 2xx answer it returns through one of these checks, so that
nothing past it sees a value of the wrong type: a synced field holds the JSON type its catalogue
kind says (or null), every object a snapshot names by pk has an integer pk, and every phase a
codename of its own.  A well-formed JSON answer of another shape (a title that is a list, two
phases with one codename) is a :class:`~evalai_mirror.errors.ShapeError`: one line naming the
request and the value, which ``watch`` says and polls on past, and every other command stops on
before it compares or writes anything.
"""

from __future__ import annotations

from typing import Any

from .catalogue import FIELDS, Kind, Read
from .errors import ShapeError

_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.TEXT: (str,),
    Kind.HTML: (str,),
    Kind.DATE: (str,),
    Kind.BOOL: (bool,),
    Kind.INT: (int,),
    Kind.CHOICE: (str, int),
    Kind.LIST: (list,),
    Kind.SET: (list,),
    Kind.JSON: (object,),
    Kind.SCHEMA: (dict, list, str),
}
_NAMES = {str: "text", bool: "true or false", int: "a whole number", list: "a list of text",
          dict: "an object", object: "JSON"}


def _fields(read: Read) -> dict[str, Kind]:
    return {f.json_key: f.kind for f in FIELDS if f.read is read}


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "an object" if isinstance(value, dict) else type(value).__name__


def _fits(value: Any, kind: Kind) -> bool:
    if value is None or kind is Kind.JSON:
        return True
    types = _TYPES[kind]
    if isinstance(value, bool) and bool not in types:
        return False
    if not isinstance(value, types):
        return False
    if isinstance(value, list) and kind in (Kind.LIST, Kind.SET):
        return all(isinstance(item, str) for item in value)
    return True


def _bad(where: str, what: str) -> ShapeError:
    return ShapeError(
        f"EvalAI answered {where} with {what}, which evalai-mirror cannot read; nothing was "
        "compared or written",
        hint="try again later; if it stays, report the answer to the EvalAI admins",
    )


def _fields_fit(item: dict[str, Any], read: Read, where: str, label: str = "") -> None:
    for key, kind in _fields(read).items():
        if key in item and not _fits(item[key], kind):
            expected = " or ".join(_NAMES[t] for t in _TYPES[kind])
            raise _bad(where, f"{label}{key} as {_what(item[key])}, not {expected}")


def _pk_of(item: dict[str, Any], key: str, where: str, label: str) -> None:
    value = item.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise _bad(where, f"{label}{key} as {_what(value)}, not a whole number")


def challenge(answer: dict[str, Any], where: str) -> dict[str, Any]:
    """A challenge's detail (GET or PATCH answer)."""
    _pk_of(answer, "id", where, "")
    _fields_fit(answer, Read.CHALLENGE, where)
    return answer


def challenges(items: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """The host team's challenge list: each an integer pk and a text repository (or null)."""
    for item in items:
        _pk_of(item, "id", where, "a challenge's ")
        repository = item.get("github_repository")
        if repository is not None and not isinstance(repository, str):
            raise _bad(where, f"a challenge's github_repository as {_what(repository)}")
    return items


def phase(answer: dict[str, Any], where: str, label: str = "") -> dict[str, Any]:
    """One phase: an integer pk, a codename that is text, its fields' types."""
    _pk_of(answer, "id", where, label)
    codename = answer.get("codename")
    if not isinstance(codename, str) or not codename.strip():
        pk = answer.get("id")
        raise _bad(where, f"phase {pk if pk is not None else '?'} without a codename")
    _fields_fit(answer, Read.PHASES, where, f"phase {codename}: ")
    return answer


def phases(items: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """A challenge's phases: each as :func:`phase`, no codename twice."""
    seen: dict[str, Any] = {}
    for item in items:
        phase(item, where)
        codename = str(item["codename"])
        if codename in seen:
            raise _bad(where, f"two phases with the codename {codename} "
                              f"(pks {seen[codename]} and {item.get('id')})")
        seen[codename] = item.get("id")
    return items


def phase_splits(items: list[dict[str, Any]], where: str) -> list[dict[str, Any]]:
    """The phase split list: integer pks for the split, its phase and its dataset split."""
    for item in items:
        for key in ("id", "challenge_phase", "dataset_split"):
            _pk_of(item, key, where, "a phase split's ")
        _fields_fit(item, Read.SPLITS, where, "a phase split's ")
    return items


def phase_split(answer: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("id", "leaderboard", "challenge_phase", "dataset_split"):
        _pk_of(answer, key, where, "")
    _fields_fit(answer, Read.SPLIT_DETAIL, where)
    return answer


def leaderboard(answer: dict[str, Any], where: str) -> dict[str, Any]:
    for key in ("id", "config_id"):
        _pk_of(answer, key, where, "")
    return answer


def dataset_split(answer: dict[str, Any], where: str) -> dict[str, Any]:
    _pk_of(answer, "id", where, "")
    codename = answer.get("codename")
    if codename is not None and not isinstance(codename, str):
        raise _bad(where, f"codename as {_what(codename)}, not text")
    return answer

"""Field values as a snapshot holds them: one normaliser per catalogue :class:`~.catalogue.Kind`.

Both sides go through the same normaliser, so that a config pushed as it is and read back from
EvalAI compares equal: text trimmed as EvalAI trims it (``str.strip()``), CRLF as LF; dates as UTC
``YYYY-MM-DDTHH:MM:SSZ`` (``.ffffffZ`` when microseconds are non-zero; naive dates are UTC, and an
unpadded ``2025-08-1 00:00:00`` reads as EvalAI reads it); booleans and integers where they clearly
are one; lists of strings as lists; tags as a sorted list without repeats; mappings and the
leaderboard schema as canonical JSON values (a schema written as a JSON string is parsed).  A value
that cannot be read as its kind is returned as it is (validation reports it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from .catalogue import Field, Kind

_TRUE_WORDS = frozenset({"t", "y", "yes", "true", "on", "1"})
_FALSE_WORDS = frozenset({"f", "n", "no", "false", "off", "0"})
_INT_RE = re.compile(r"^\s*[-+]?\d+\s*$")
_LOOSE_DATE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ Tt](\d{1,2}):(\d{1,2})(?::(\d{1,2})(\.\d+)?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?\s*$"
)


def format_date(value: dt.datetime) -> str:
    """UTC ``YYYY-MM-DDTHH:MM:SSZ`` (``.ffffffZ`` when microseconds are non-zero)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_date(text: str) -> dt.datetime | None:
    """An ISO date (``Z``, ``+00:00``, or naive = UTC; unpadded months, days and hours as
    EvalAI's parser takes them) as an aware UTC datetime, else None."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    value: dt.datetime | None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        value = _loose_date(text)
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def _loose_date(text: str) -> dt.datetime | None:
    found = _LOOSE_DATE.match(text)
    if found is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = found.groups()
    try:
        value = dt.datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            round(float(fraction) * 1_000_000) if fraction else 0,
        )
    except ValueError:
        return None
    if zone:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        value = value.replace(tzinfo=dt.timezone(sign * offset))
    return value


def norm_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_date(value)
    if isinstance(value, dt.date):
        return format_date(dt.datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        parsed = parse_date(value)
        return value.strip() if parsed is None else format_date(parsed)
    return value


def norm_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return value


def norm_int(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value):
        return int(value)
    return value


def norm_text(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        value = str(value)
    if isinstance(value, str):
        return value.replace("\r\n", "\n").strip()
    return value


def _plain(value: Any) -> Any:
    """A JSON-like value with dates as strings, so that it compares and stores as JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return norm_date(value)
    return value


def norm_json(value: Any) -> Any:
    return _plain(value)


def norm_schema(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value.strip()
    return _plain(value)


def norm_list(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [norm_text(v) if isinstance(v, str) else _plain(v) for v in value]
    return value


def norm_set(value: Any) -> Any:
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [norm_text(v) if isinstance(v, str) else v for v in value]
        if all(isinstance(v, str) for v in items):
            return sorted(set(items))
        return [_plain(v) for v in items]
    return value


def norm_choice(value: Any) -> Any:
    if isinstance(value, str):
        number = norm_int(value)
        return number if isinstance(number, int) else value.strip()
    return value


_NORMALISERS = {
    Kind.TEXT: norm_text,
    Kind.HTML: norm_text,
    Kind.DATE: norm_date,
    Kind.BOOL: norm_bool,
    Kind.INT: norm_int,
    Kind.CHOICE: norm_choice,
    Kind.LIST: norm_list,
    Kind.SET: norm_set,
    Kind.JSON: norm_json,
    Kind.SCHEMA: norm_schema,
}


def normalise(spec: Field, value: Any) -> Any:
    """``value`` of the field ``spec`` as a snapshot holds it; None stays None."""
    if value is None:
        return None
    return _NORMALISERS[spec.kind](value)


def to_api(spec: Field, value: Any) -> Any:
    """A snapshot value as a PATCH body carries it (the schema as a JSON string, as EvalAI's
    leaderboard view wants it)."""
    value = normalise(spec, value)
    if spec.kind is Kind.SCHEMA and value is not None and not isinstance(value, str):
        return json.dumps(value)
    return value

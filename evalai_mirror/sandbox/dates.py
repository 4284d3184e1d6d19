"""Dates as EvalAI (Django REST Framework, USE_TZ, UTC) reads and writes them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

# Django's parse_datetime pattern: "T" or a space, optional seconds/fraction, optional zone.
_DATETIME_RE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?"
    r"\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$"
)

WRONG_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)


def format_datetime(value: datetime) -> str:
    """``2019-01-01T00:00:00Z``; ``.ffffffZ`` only when microseconds are non-zero."""
    value = value.astimezone(timezone.utc) if value.tzinfo else value
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_datetime(value: Any) -> datetime | None:
    """A PATCH value as DRF's DateTimeField reads it (naive means UTC); None if unreadable."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    match = _DATETIME_RE.match(value.strip())
    if not match:
        return None
    parts = match.groupdict()
    tz_text = parts.pop("tzinfo")
    micro = parts.pop("microsecond")
    try:
        result = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            int(parts["second"] or 0),
            int((micro or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if not tz_text or tz_text == "Z":
        return result.replace(tzinfo=timezone.utc)
    sign = -1 if tz_text[0] == "-" else 1
    digits = tz_text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    return result.replace(tzinfo=timezone(sign * offset)).astimezone(timezone.utc)


def config_datetime(value: Any) -> str | None:
    """A date from challenge_config.yaml (usually a naive ``datetime``: UTC) as the API shows it."""
    if isinstance(value, datetime):
        return format_datetime(parse_datetime(value) or value)
    if isinstance(value, date):
        return format_datetime(datetime(value.year, value.month, value.day, tzinfo=timezone.utc))
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return format_datetime(parsed) if parsed else None


def now_text() -> str:
    return format_datetime(datetime.now(timezone.utc))

"""Dates as EvalAI (Django REST Framework, USE_TZ, UTC) reads and writes them."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from evalai_mirror.challenge import format_date
from evalai_mirror.validate import DATETIME_PATTERN

_DATETIME_RE = re.compile(DATETIME_PATTERN)


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
        return format_date(value)  # naive: UTC
    if isinstance(value, date):
        return format_date(datetime(value.year, value.month, value.day))
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return format_date(parsed) if parsed else None


def now_text() -> str:
    return format_date(datetime.now(timezone.utc))

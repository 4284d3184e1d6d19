"""The parts of Django REST framework's field validation that the config's values go through.

``str(serializer.errors)`` is part of the server's message, so the texts and the repr matter.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from typing import Any

# DRF's BooleanField.TRUE_VALUES / FALSE_VALUES
TRUE_VALUES = {
    "t",
    "T",
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "true",
    "True",
    "TRUE",
    "on",
    "On",
    "ON",
    "1",
    1,
}
FALSE_VALUES = {
    "f",
    "F",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "false",
    "False",
    "FALSE",
    "off",
    "Off",
    "OFF",
    "0",
    0,
}
# Django's parse_datetime pattern: "T" or a space, optional seconds/fraction, optional zone.
DATETIME_PATTERN = (
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"[T ](?P<hour>\d{1,2}):(?P<minute>\d{1,2})"
    r"(?::(?P<second>\d{1,2})(?:[.,](?P<microsecond>\d{1,6})\d{0,6})?)?"
    r"\s*(?P<tzinfo>Z|[+-]\d{2}(?::?\d{2})?)?$"
)
WRONG_DATETIME_FORMAT = (
    "Datetime has wrong format. Use one of these formats instead: "
    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."
)
_INT_MAX = 2147483647

Err = tuple[str, str]  # (text, code)


def _err_repr(errors: list[Err]) -> str:
    return "[" + ", ".join(f"ErrorDetail(string={t!r}, code={c!r})" for t, c in errors) + "]"


def errors_repr(errors: dict[str, Any]) -> str:
    """``str(serializer.errors)`` as DRF prints it."""
    parts = []
    for key, value in errors.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{i!r}: {_err_repr(v)}" for i, v in value.items())
            parts.append(f"{key!r}: {{{inner}}}")
        else:
            parts.append(f"{key!r}: {_err_repr(value)}")
    return "{" + ", ".join(parts) + "}"


class Field:
    """One serializer field: required / null / blank handling, then a type check."""

    def __init__(
        self,
        kind: str,
        *,
        required: bool = False,
        null: bool = False,
        blank: bool = True,
        max_length: int | None = None,
        choices: tuple[Any, ...] = (),
        minimum: int | None = 0,
        maximum: int = _INT_MAX,
        child: Field | None = None,
        check: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.kind = kind
        self.required = required
        self.null = null
        self.blank = blank
        self.max_length = max_length
        self.choices = {str(c): c for c in choices}
        self.minimum = minimum
        self.maximum = maximum
        self.child = child
        self.check = check

    def errors(self, present: bool, value: Any) -> list[Err] | dict[int, list[Err]]:
        if not present:
            return [("This field is required.", "required")] if self.required else []
        if value is None:
            return [] if self.null else [("This field may not be null.", "null")]
        kind = self.kind
        if kind == "char":
            return self._char(value)
        if kind == "bool":
            try:
                if value in TRUE_VALUES or value in FALSE_VALUES:
                    return []
            except TypeError:
                pass
            return [("Must be a valid boolean.", "invalid")]
        if kind == "int":
            return self._int(value)
        if kind == "choice":
            if value == "" and self.blank:
                return []
            if str(value) in self.choices:
                return []
            return [(f'"{value}" is not a valid choice.', "invalid_choice")]
        if kind == "datetime":
            return _datetime_errors(value)
        if kind == "json":
            import json

            try:
                json.dumps(value)
            except (TypeError, ValueError):
                return [("Value must be valid JSON.", "invalid")]
            return []
        if kind == "strlist":
            return self._strlist(value)
        return []

    def _char(self, value: Any) -> list[Err]:
        if isinstance(value, str) and value.strip() == "" and not self.blank:
            return [("This field may not be blank.", "blank")]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            return [("Not a valid string.", "invalid")]
        text = str(value).strip()
        if not text and not self.blank:
            return [("This field may not be blank.", "blank")]
        if self.max_length is not None and len(text) > self.max_length:
            return [
                (f"Ensure this field has no more than {self.max_length} characters.", "max_length")
            ]
        if self.check is not None:
            message = self.check(text)
            if message:
                return [(message, "invalid")]
        return []

    def _int(self, value: Any) -> list[Err]:
        if isinstance(value, str) and len(value) > 1000:
            return [("String value too large.", "max_string_length")]
        try:
            number = int(re.sub(r"\.0*\s*$", "", str(value)))
        except (ValueError, TypeError):
            return [("A valid integer is required.", "invalid")]
        if self.minimum is not None and number < self.minimum:
            return [(f"Ensure this value is greater than or equal to {self.minimum}.", "min_value")]
        if number > self.maximum:
            return [(f"Ensure this value is less than or equal to {self.maximum}.", "max_value")]
        return []

    def _strlist(self, value: Any) -> list[Err] | dict[int, list[Err]]:
        if isinstance(value, (str, dict)) or not hasattr(value, "__iter__"):
            return [
                (f'Expected a list of items but got type "{type(value).__name__}".', "not_a_list")
            ]
        child = self.child or Field("char", blank=False, max_length=self.max_length)
        found: dict[int, list[Err]] = {}
        for index, item in enumerate(value):
            item_errors = child.errors(True, item)
            if item_errors:
                found[index] = item_errors  # type: ignore[assignment]
        return found


def _datetime_errors(value: Any) -> list[Err]:
    if isinstance(value, _dt.datetime):
        return []
    if isinstance(value, _dt.date):
        return [("Expected a datetime but got a date.", "date")]
    if isinstance(value, str):
        try:
            _dt.datetime.fromisoformat(value)
            return []
        except ValueError:
            pass
        match = re.match(DATETIME_PATTERN, value)
        if match:
            parts = {k: v for k, v in match.groupdict().items() if k != "tzinfo" and v is not None}
            micro = parts.pop("microsecond", None)
            try:
                numbers = {k: int(v) for k, v in parts.items()}
                _dt.datetime(
                    numbers["year"],
                    numbers["month"],
                    numbers["day"],
                    numbers["hour"],
                    numbers["minute"],
                    numbers.get("second", 0),
                    int(micro.ljust(6, "0")) if micro else 0,
                )
                return []
            except ValueError:
                pass
    return [(WRONG_DATETIME_FORMAT, "invalid")]


def serializer_errors(fields: dict[str, Field], data: dict[Any, Any]) -> dict[str, Any]:
    """The ``serializer.errors`` dict DRF would build for ``data`` (unknown keys ignored)."""
    found: dict[str, Any] = {}
    for name, field in fields.items():
        errors = field.errors(name in data, data.get(name))
        if errors:
            found[name] = errors
    return found

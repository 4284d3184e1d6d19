"""PATCH/PUT as EvalAI's serializers take it: a partial update, field errors as DRF words them.

Only the writable fields below change; unknown and read-only keys are ignored (200), as DRF does.
Text is trimmed (``str.strip()``), dates are stored as the API shows them (UTC, ``...Z``).
"""

from __future__ import annotations

import re
from typing import Any

from evalai_mirror.challenge import format_date
from evalai_mirror.records import record
from evalai_mirror.sandbox.dates import parse_datetime
from evalai_mirror.validate import FALSE_VALUES, TRUE_VALUES, WRONG_DATETIME_FORMAT

NULL = "This field may not be null."
BLANK = "This field may not be blank."

_INT_RE = re.compile(r"^-?\d+(\.0*)?$")


@record(frozen=True)
class Field:
    kind: str  # "char", "bool", "int", "datetime", "json", "strlist", "choice", "intchoice"
    null: bool = False
    blank: bool = True
    max_length: int | None = None
    min_value: int | None = None
    choices: tuple[str, ...] = ()


class FieldError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _char(value: Any, spec: Field) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError("Not a valid string.")
    text = str(value).strip()
    if not text and not spec.blank:
        raise FieldError(BLANK)
    if spec.max_length is not None and len(text) > spec.max_length:
        raise FieldError(f"Ensure this field has no more than {spec.max_length} characters.")
    return text


def _int(value: Any, spec: Field) -> int:
    if isinstance(value, bool) or not _INT_RE.match(str(value).strip()):
        raise FieldError("A valid integer is required.")
    number = int(str(value).strip().split(".")[0])
    if spec.min_value is not None and number < spec.min_value:
        raise FieldError(f"Ensure this value is greater than or equal to {spec.min_value}.")
    return number


def _bool(value: Any) -> bool:
    if value is True or value is False:
        return bool(value)
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value in TRUE_VALUES:
        return True
    if isinstance(value, str) and value in FALSE_VALUES:
        return False
    raise FieldError("Must be a valid boolean.")


def convert(value: Any, spec: Field) -> Any:
    """``value`` as the field stores it, or :class:`FieldError` with DRF's message."""
    if value is None:
        if spec.null or spec.kind == "json":
            return None
        raise FieldError(NULL)
    if spec.kind == "char":
        return _char(value, spec)
    if spec.kind == "int":
        return _int(value, spec)
    if spec.kind == "bool":
        return _bool(value)
    if spec.kind == "datetime":
        parsed = parse_datetime(value)
        if parsed is None:
            raise FieldError(WRONG_DATETIME_FORMAT)
        return format_date(parsed)
    if spec.kind == "choice":
        if str(value) not in spec.choices:
            raise FieldError(f'"{value}" is not a valid choice.')
        return str(value)
    if spec.kind == "intchoice":  # DRF's ChoiceField over integer choices: 3 and "3" are 3
        if isinstance(value, bool) or str(value) not in spec.choices:
            raise FieldError(f'"{value}" is not a valid choice.')
        return int(str(value))
    if spec.kind == "strlist":
        if not isinstance(value, list):
            raise FieldError(f'Expected a list of items but got type "{type(value).__name__}".')
        return [_char(item, Field("char")) for item in value]
    return value  # json: any value


def apply(doc: dict[str, Any], data: dict[str, Any], specs: dict[str, Field]) -> dict[str, Any]:
    """A copy of ``doc`` with the writable keys of ``data`` applied.

    Raises :class:`PatchErrors` with ``{field: [message]}`` when any value is bad; nothing
    changes then.
    """
    errors: dict[str, list[str]] = {}
    updated = dict(doc)
    for key, spec in specs.items():  # in the serializer's order, as DRF lists its errors
        if key not in data:
            continue
        try:
            updated[key] = convert(data[key], spec)
        except FieldError as exc:
            errors[key] = [exc.message]
    if errors:
        raise PatchErrors(errors)
    return updated


class PatchErrors(Exception):
    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


_TEXT = Field("char", null=True)
_BOOL = Field("bool")
_DATE = Field("datetime", null=True)
_POSITIVE = Field("int", min_value=0)

CHALLENGE_FIELDS: dict[str, Field] = {
    "title": Field("char", blank=False, max_length=100),
    "short_description": _TEXT,
    "description": _TEXT,
    "terms_and_conditions": _TEXT,
    "submission_guidelines": _TEXT,
    "evaluation_details": _TEXT,
    "leaderboard_description": _TEXT,
    "start_date": _DATE,
    "end_date": _DATE,
    "published": _BOOL,
    "is_registration_open": _BOOL,
    "enable_forum": _BOOL,
    "anonymous_leaderboard": _BOOL,
    "manual_participant_approval": _BOOL,
    "remote_evaluation": _BOOL,
    "is_docker_based": _BOOL,
    "is_static_dataset_code_upload": _BOOL,
    "has_prize": _BOOL,
    "has_sponsors": _BOOL,
    "require_complete_profile": _BOOL,
    "allow_resuming_submissions": _BOOL,
    "allow_host_cancel_submissions": _BOOL,
    "allow_cancel_running_submissions": _BOOL,
    "allow_participants_resubmissions": _BOOL,
    "cpu_only_jobs": _BOOL,
    "is_submission_paused": _BOOL,
    "submission_time_limit": _POSITIVE,
    "max_team_members": Field("int", null=True, min_value=0),
    "forum_url": Field("char", null=True, max_length=100),
    "challenge_usage_type": Field("choice", choices=("paid", "internal")),
    "allowed_email_domains": Field("strlist"),
    "blocked_email_domains": Field("strlist"),
    "banned_email_ids": Field("strlist"),
}

PHASE_FIELDS: dict[str, Field] = {
    "name": Field("char", blank=False, max_length=100),
    "description": Field("char"),
    "codename": Field("char", blank=False, max_length=100),
    "start_date": _DATE,
    "end_date": _DATE,
    "leaderboard_public": _BOOL,
    "is_public": _BOOL,
    "is_active": _BOOL,
    "is_submission_public": _BOOL,
    "is_restricted_to_select_one_submission": _BOOL,
    "is_partial_submission_evaluation_enabled": _BOOL,
    "disable_logs": _BOOL,
    "is_submission_paused": _BOOL,
    "max_submissions_per_day": _POSITIVE,
    "max_submissions_per_month": _POSITIVE,
    "max_submissions": _POSITIVE,
    "max_concurrent_submissions_allowed": _POSITIVE,
    "allowed_submission_file_types": Field("char", null=True, max_length=200),
    "submission_artifact_retention_policy": Field(
        "choice",
        choices=("keep_forever", "days_14", "days_30", "months_3", "months_6", "months_12"),
    ),
    "submission_meta_attributes": Field("json"),
    "default_submission_meta_attributes": Field("json"),
    "allowed_email_ids": Field("strlist"),
}

# ZipChallengePhaseSplitSerializer (the pk fields challenge_phase, dataset_split and leaderboard
# are writable too; the service checks that the object exists).
PHASE_SPLIT_FIELDS: dict[str, Field] = {
    "visibility": Field("intchoice", choices=("1", "2", "3")),
    "leaderboard_decimal_precision": Field("int", min_value=0),
    "is_leaderboard_order_descending": _BOOL,
    "show_leaderboard_by_latest_submission": _BOOL,
    "show_execution_time": _BOOL,
    "show_scores_on_leaderboard": _BOOL,
}
PHASE_SPLIT_PKS = {"challenge_phase": "phase", "dataset_split": "dataset_split", "leaderboard": "leaderboard"}

# LeaderboardSerializer (the view json.loads ``schema`` first) and DatasetSplitSerializer.
LEADERBOARD_FIELDS: dict[str, Field] = {
    "schema": Field("json"),
    "config_id": Field("int", null=True),
}
DATASET_SPLIT_FIELDS: dict[str, Field] = {
    "name": Field("char", blank=False, max_length=100),
    "codename": Field("char", blank=False, max_length=100),
    "config_id": Field("int", null=True),
}

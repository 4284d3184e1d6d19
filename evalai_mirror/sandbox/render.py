"""Documents -> the JSON EvalAI answers, key for key and in the same order as the samples.

Quirks kept on purpose: ``image`` and ``test_annotation`` are absolute URLs where the real view
passes the request to its serializer (GETs, the team's list) and relative media paths where it
does not (PATCH/PUT answers); a host's single-phase GET has ``config_id``, ``test_annotation``,
``annotations_uploaded_using_cli`` and ``environment_image``, the phase list and PATCH answers
do not.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from evalai_mirror.sandbox.dates import parse_datetime

CHALLENGE_DEFAULTS: dict[str, Any] = {
    "id": None,
    "title": "",
    "short_description": None,
    "description": None,
    "terms_and_conditions": None,
    "submission_guidelines": None,
    "evaluation_details": None,
    "image": None,
    "start_date": None,
    "end_date": None,
    "creator": None,
    "domain": None,
    "domain_name": None,
    "challenge_usage_type": "paid",
    "list_tags": [],
    "has_prize": False,
    "has_sponsors": False,
    "published": False,
    "submission_time_limit": 86400,
    "is_registration_open": True,
    "enable_forum": True,
    "anonymous_leaderboard": False,
    "manual_participant_approval": False,
    "is_active": True,
    "leaderboard_description": None,
    "allowed_email_domains": [],
    "blocked_email_domains": [],
    "banned_email_ids": [],
    "require_complete_profile": False,
    "max_team_members": None,
    "approved_by_admin": False,
    "is_approval_requested": False,
    "forum_url": None,
    "is_docker_based": False,
    "is_static_dataset_code_upload": False,
    "slug": "",
    "max_docker_image_size": 42949672960,
    "cli_version": None,
    "remote_evaluation": False,
    "allow_resuming_submissions": False,
    "allow_host_cancel_submissions": False,
    "allow_cancel_running_submissions": False,
    "allow_participants_resubmissions": False,
    "workers": None,
    "created_at": None,
    "queue": "",
    "worker_cpu_cores": 512,
    "worker_memory": 1024,
    "cpu_only_jobs": False,
    "job_cpu_cores": "2000m",
    "job_memory": "8Gi",
    "uses_ec2_worker": False,
    "ec2_storage": 8,
    "ephemeral_storage": 21,
    "evaluation_module_error": None,
    "worker_image_url": "",
    "worker_python_version": "3.9",
    "worker_instance_type": "g4dn.xlarge",
    "sqs_retention_period": 345600,
    "use_fifo_sqs": False,
    "github_repository": "",
    "github_branch": "",
    "is_frozen": False,
    "is_submission_paused": False,
}

# Challenge.DOMAIN_OPTIONS: code -> domain_name
DOMAINS = {
    "CV": "Computer Vision",
    "NLP": "Natural Language Processing",
    "RL": "Reinforcement Learning",
    "MM": "Multimodal",
    "AUD": "Audio",
    "TAB": "Tabular",
}

DEFAULT_FILE_TYPES = ".json, .zip, .txt, .tsv, .gz, .csv, .h5, .npy"

PHASE_DEFAULTS: dict[str, Any] = {
    "id": None,
    "name": "",
    "description": "",
    "leaderboard_public": False,
    "start_date": None,
    "end_date": None,
    "challenge": None,
    "max_submissions_per_day": 100000,
    "max_submissions_per_month": 100000,
    "max_submissions": 100000,
    "submission_artifact_retention_policy": "keep_forever",
    "is_public": False,
    "is_active": True,
    "is_submission_public": False,
    "annotations_uploaded_using_cli": False,
    "codename": "",
    "test_annotation": None,
    "slug": "",
    "max_concurrent_submissions_allowed": 3,
    "environment_image": None,
    "is_restricted_to_select_one_submission": False,
    "submission_meta_attributes": None,
    "is_partial_submission_evaluation_enabled": False,
    "config_id": None,
    "allowed_submission_file_types": DEFAULT_FILE_TYPES,
    "default_submission_meta_attributes": None,
    "allowed_email_ids": [],
    "disable_logs": False,
    "is_submission_paused": False,
}

# ChallengePhaseSerializer (list, PATCH answers) and the host's ChallengePhaseCreateSerializer.
PHASE_KEYS = [
    "id", "name", "description", "leaderboard_public", "start_date", "end_date", "challenge",
    "max_submissions_per_day", "max_submissions_per_month", "max_submissions",
    "submission_artifact_retention_policy", "is_public", "is_active", "codename", "slug",
    "max_concurrent_submissions_allowed", "is_restricted_to_select_one_submission",
    "submission_meta_attributes", "is_partial_submission_evaluation_enabled",
    "allowed_submission_file_types", "default_submission_meta_attributes", "allowed_email_ids",
    "is_submission_public", "disable_logs", "is_submission_paused",
]  # fmt: skip
PHASE_HOST_KEYS = [key for key in PHASE_DEFAULTS]


def _is_active(doc: dict[str, Any], default: bool) -> bool:
    """EvalAI's ``is_active`` property: start_date < now < end_date (read-only, computed)."""
    start, end = parse_datetime(doc.get("start_date")), parse_datetime(doc.get("end_date"))
    if start is None or end is None:
        return default
    return start < datetime.now(timezone.utc) < end


def _media(path: str | None, base_url: str | None) -> str | None:
    if not path:
        return None
    return f"{base_url}{path}" if base_url else path


def challenge(doc: dict[str, Any], team: dict[str, Any] | None, base_url: str | None) -> Any:
    """The challenge as GET (``base_url`` given) or PATCH (``base_url`` None) answers it."""
    out: dict[str, Any] = {}
    for key, default in CHALLENGE_DEFAULTS.items():
        out[key] = doc.get(key, default)
    out["creator"] = None if team is None else {
        "id": team["id"],
        "team_name": team["team_name"],
        "created_by": team["created_by"],
        "team_url": team.get("team_url", ""),
    }
    out["image"] = _media(doc.get("image"), base_url)
    out["domain_name"] = DOMAINS.get(out["domain"]) if isinstance(out["domain"], str) else None
    out["is_active"] = _is_active(doc, bool(out["is_active"]))
    return out


def phase(doc: dict[str, Any], *, host: bool, base_url: str | None) -> dict[str, Any]:
    keys = PHASE_HOST_KEYS if host else PHASE_KEYS
    out = {key: doc.get(key, PHASE_DEFAULTS[key]) for key in keys}
    out["is_active"] = _is_active(doc, bool(out["is_active"]))
    if host:
        out["test_annotation"] = _media(doc.get("test_annotation"), base_url)
    return out


# ChallengePhaseSplit's model defaults.
PHASE_SPLIT_DEFAULTS: dict[str, Any] = {
    "visibility": 3,
    "leaderboard_decimal_precision": 2,
    "is_leaderboard_order_descending": True,
    "show_leaderboard_by_latest_submission": False,
    "show_execution_time": False,
    "show_scores_on_leaderboard": True,
    "is_multi_metric_leaderboard": True,
}


def _split_value(doc: dict[str, Any], key: str) -> Any:
    return doc.get(key, PHASE_SPLIT_DEFAULTS[key])


def phase_split(
    doc: dict[str, Any],
    phase_doc: dict[str, Any] | None,
    split_doc: dict[str, Any] | None,
    leaderboard_doc: dict[str, Any] | None,
) -> dict[str, Any]:
    """ChallengePhaseSplitSerializer (the split list): names and the leaderboard's schema, but
    neither the leaderboard's pk nor the decimal precision or the order."""
    return {
        "id": doc["id"],
        "dataset_split": doc["dataset_split"],
        "challenge_phase": doc["challenge_phase"],
        "challenge_phase_name": None if phase_doc is None else phase_doc.get("name"),
        "dataset_split_name": None if split_doc is None else split_doc.get("name"),
        "visibility": _split_value(doc, "visibility"),
        "show_leaderboard_by_latest_submission": _split_value(doc, "show_leaderboard_by_latest_submission"),
        "show_execution_time": _split_value(doc, "show_execution_time"),
        "show_scores_on_leaderboard": _split_value(doc, "show_scores_on_leaderboard"),
        "leaderboard_schema": None if leaderboard_doc is None else leaderboard_doc.get("schema"),
        "is_multi_metric_leaderboard": _split_value(doc, "is_multi_metric_leaderboard"),
    }


def phase_split_detail(doc: dict[str, Any]) -> dict[str, Any]:
    """ZipChallengePhaseSplitSerializer (one split's GET and PATCH answers)."""
    out = {key: doc[key] for key in ("id", "challenge_phase", "dataset_split", "leaderboard")}
    for key in (
        "visibility", "leaderboard_decimal_precision", "is_leaderboard_order_descending",
        "show_leaderboard_by_latest_submission", "show_execution_time", "show_scores_on_leaderboard",
    ):  # fmt: skip
        out[key] = _split_value(doc, key)
    return out


def leaderboard(doc: dict[str, Any]) -> dict[str, Any]:
    """LeaderboardSerializer."""
    return {"id": doc["id"], "schema": doc.get("schema"), "config_id": doc.get("config_id")}


def dataset_split(doc: dict[str, Any]) -> dict[str, Any]:
    """DatasetSplitSerializer."""
    return {key: doc.get(key) for key in ("id", "name", "codename", "config_id")}


def paginated(results: list[Any], page: int, page_size: int, url: str) -> dict[str, Any]:
    """DRF's PageNumberPagination envelope; ``url`` is the absolute URL without a query."""
    start = (page - 1) * page_size
    chunk = results[start : start + page_size]
    has_next = start + page_size < len(results)
    previous: str | None = None
    if page > 2:
        previous = f"{url}?page={page - 1}"
    elif page == 2:
        previous = url
    return {
        "count": len(results),
        "next": f"{url}?page={page + 1}" if has_next else None,
        "previous": previous,
        "results": chunk,
    }

"""EvalAI's serializers for the config's parts: which fields each checks, and how (see drf.py),
plus the challenge's ``image`` (the logo), which Django checks by decoding it with Pillow.
"""

from __future__ import annotations

import re
from pathlib import Path

from evalai_mirror.validate.drf import Field

_URL_RE = r"(?i)^(?:https?|ftps?)://[^\s/?#]+\.[^\s/?#]+(?::\d+)?(?:[/?#]\S*)?\Z"
_IMAGE_RE = r"^(ami-[0-9a-f]+|\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/evalai-\S+)$"


def _image_url(text: str) -> str | None:
    if not text or re.match(_IMAGE_RE, text):
        return None
    return (
        "worker_image_url must be an EC2 AMI (ami-...) or an EvalAI ECR image in this AWS "
        "account (evalai-* repositories)."
    )


def _url(text: str) -> str | None:
    return None if not text or re.match(_URL_RE, text) else "Enter a valid URL."


def _bool() -> Field:
    return Field("bool")


def _pos() -> Field:
    return Field("int")


# In the order of ZipChallengeSerializer's Meta.fields, which is the order of its errors.  Left
# out: the ones the server sets (creator, evaluation_script, github_*), is_active (read-only) and
# slug (unique: only the server can tell).
_INT32_MIN = -2147483648
_INT64 = 9223372036854775807
CHALLENGE_FIELDS: dict[str, Field] = {
    "title": Field("char", required=True, blank=False, max_length=100),
    "short_description": Field("char", null=True),
    "description": Field("char", null=True),
    "terms_and_conditions": Field("char", null=True),
    "submission_guidelines": Field("char", null=True),
    "start_date": Field("datetime", null=True),
    "end_date": Field("datetime", null=True),
    "evaluation_details": Field("char", null=True),
    "published": _bool(),
    "challenge_usage_type": Field("choice", choices=("paid", "internal"), blank=False),
    "submission_time_limit": _pos(),
    "is_registration_open": _bool(),
    "enable_forum": _bool(),
    "anonymous_leaderboard": _bool(),
    "leaderboard_description": Field("char", null=True),
    # "image" comes here: see SERIALIZER_ORDER
    "allowed_email_domains": Field("strlist", max_length=50),
    "blocked_email_domains": Field("strlist", max_length=50),
    "banned_email_ids": Field("strlist", null=True, child=Field("char", null=True)),
    "require_complete_profile": _bool(),
    "max_team_members": _pos(),
    "forum_url": Field("char", null=True, max_length=100, check=_url),
    "remote_evaluation": _bool(),
    "allow_resuming_submissions": _bool(),
    "allow_host_cancel_submissions": _bool(),
    "allow_cancel_running_submissions": _bool(),
    "allow_participants_resubmissions": _bool(),
    "is_docker_based": _bool(),
    "is_static_dataset_code_upload": _bool(),
    "max_docker_image_size": Field("int", null=True, minimum=-_INT64 - 1, maximum=_INT64),
    "cli_version": Field("char", null=True, max_length=20),
    "vpc_cidr": Field("char", null=True, max_length=200),
    "subnet_1_cidr": Field("char", null=True, max_length=200),
    "subnet_2_cidr": Field("char", null=True, max_length=200),
    "worker_instance_type": Field("char", null=True, max_length=256),
    "worker_ami_type": Field("char", null=True, max_length=256),
    "worker_disk_size": Field("int", null=True, minimum=_INT32_MIN),
    "max_worker_instance": Field("int", null=True, minimum=_INT32_MIN),
    "min_worker_instance": Field("int", null=True, minimum=_INT32_MIN),
    "desired_worker_instance": Field("int", null=True, minimum=_INT32_MIN),
    "cpu_only_jobs": _bool(),
    "job_cpu_cores": Field("char", null=True, max_length=256),
    "job_memory": Field("char", null=True, max_length=256),
    "uses_ec2_worker": _bool(),
    "ec2_storage": _pos(),
    "ephemeral_storage": _pos(),
    "evaluation_module_error": Field("char", null=True),
    "worker_image_url": Field("char", null=True, check=_image_url),
    # a model field with choices: DRF's ChoiceField answers before the serializer's own check
    "worker_python_version": Field("choice", choices=("3.7", "3.8", "3.9")),
    "sqs_retention_period": _pos(),
    "use_fifo_sqs": _bool(),
}

PHASE_FIELDS: dict[str, Field] = {
    "name": Field("char", required=True, blank=False, max_length=100),
    "description": Field("char", required=True, blank=False),
    "leaderboard_public": _bool(),
    "start_date": Field("datetime", null=True),
    "end_date": Field("datetime", null=True),
    "is_public": _bool(),
    "is_submission_public": _bool(),
    "max_submissions_per_day": _pos(),
    "max_submissions_per_month": _pos(),
    "max_submissions": _pos(),
    "max_concurrent_submissions_allowed": _pos(),
    "codename": Field("char", blank=False, max_length=100),
    "is_restricted_to_select_one_submission": _bool(),
    "is_partial_submission_evaluation_enabled": _bool(),
    "submission_artifact_retention_policy": Field(
        "choice",
        blank=False,
        choices=("keep_forever", "days_14", "days_30", "months_3", "months_6", "months_12"),
    ),
    "environment_image": Field("char", null=True, max_length=2128),
    "allowed_submission_file_types": Field("char", blank=False, max_length=200),
    "disable_logs": _bool(),
    "is_submission_paused": _bool(),
    "allowed_email_ids": Field("strlist", null=True),
}

DATASET_SPLIT_FIELDS: dict[str, Field] = {
    "name": Field("char", required=True, blank=False, max_length=100),
    "codename": Field("char", required=True, blank=False, max_length=100),
}

PHASE_SPLIT_FIELDS: dict[str, Field] = {
    "visibility": Field("choice", choices=(1, 2, 3)),
    "leaderboard_decimal_precision": _pos(),
    "is_leaderboard_order_descending": _bool(),
    "show_leaderboard_by_latest_submission": _bool(),
    "show_execution_time": _bool(),
    "show_scores_on_leaderboard": _bool(),
}

LEADERBOARD_FIELDS: dict[str, Field] = {"schema": Field("json")}

# ZipChallengeSerializer's order puts ``image`` after ``leaderboard_description``.
_AFTER = list(CHALLENGE_FIELDS).index("leaderboard_description") + 1
SERIALIZER_ORDER = (*list(CHALLENGE_FIELDS)[:_AFTER], "image", *list(CHALLENGE_FIELDS)[_AFTER:])
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")  # case-sensitive, as EvalAI's endswith()
NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."
INVALID_IMAGE = (
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
)


def decodes_as_image(data: bytes) -> bool:
    """Django's ImageField check: Pillow opens the file and ``verify()``s it.

    A file that passed is remembered by its SHA-256 in the user's cache (``valid-images/``):
    loading Pillow costs a hook run more than everything else validate does, and a logo seldom
    changes.  Only passes are remembered; a file that fails is decoded again each time."""
    marker = _passed_marker(data)
    if marker is not None and marker.exists():
        return True
    import io

    from PIL import Image  # imported only when a config names a logo not seen before

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # Django catches everything here, as invalid_image
        return False
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass  # a cache: the next run decodes the file again
    return True


def _passed_marker(data: bytes) -> Path | None:
    import hashlib

    from evalai_mirror.fsutil import cache_dir

    try:
        return cache_dir() / "valid-images" / hashlib.sha256(data).hexdigest()
    except (OSError, RuntimeError):  # no home folder to find the cache in
        return None

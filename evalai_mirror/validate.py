"""EvalAI's server-side rules for ``challenge_config.yaml``, offline, with the server's messages.

The checks follow ``apps/challenges/challenge_config_utils.py`` of EvalAI (see
``evalai_validation_rules.md`` in the shared reference): the same order, the same byte-exact
texts (typos, leading spaces and missing periods included), the same cascades.  Where the real
server crashes (HTTP 500) a :class:`Problem` with ``crash=True`` says so and how to fix it.

Beyond the server, every problem names the file and line it comes from.  Files are read through
a :class:`~evalai_mirror.source.FileSource`, so the same code checks a working copy, a commit or
the contents of an uploaded zip.
"""

from __future__ import annotations

import datetime as _dt
import posixpath
import re
from collections.abc import Callable
from typing import Any, NamedTuple

from evalai_mirror import yamlload
from evalai_mirror.source import FileSource, MappingSource, normalise

CONFIG_NAMES = ("challenge_config.yaml", "challenge_config.yml")
DOMAINS = ("CV", "NLP", "RL", "MM", "AUD", "TAB")

OFFLINE_LIMITS = [
    "For an existing challenge EvalAI refuses to delete a leaderboard, phase, dataset split or "
    "phase split; that needs the configuration EvalAI holds.",
    "For an existing challenge new leaderboard/dataset-split mappings are allowed only for new "
    "phases, and use_fifo_sqs cannot change.",
    "After an admin approves the challenge, leaderboard schemas, dataset split names and "
    "codenames, and phase split visibility and ordering are frozen.",
    "Team membership, the token and who owns the repository's challenge are checked only by "
    "the server (use --remote).",
]

ZIP_UNEXTRACTABLE = "The zip file contents cannot be extracted. Please check the format!"
NO_YAML = "There is no YAML file in the zip file you uploaded!"
MULTIPLE_YAML = "There are {} challenge config YAML files instead of 1 in the zip file!"

_DUPLICATE_SPLIT = (
    "ERROR: Duplicate combinations of leaderboard_id {}, challenge_phase_id {} and "
    "dataset_split_id {} found in challenge phase splits."
)
_SPLIT_KEYS = (
    "is_leaderboard_order_descending",
    "leaderboard_decimal_precision",
    "visibility",
    "dataset_split_id",
    "leaderboard_id",
    "challenge_phase_id",
)
# Patterns are compiled on first use (re caches them): compiling costs start-up time.
_AMOUNT_RE = r"^\d+(\.\d{1,2})?[A-Z]{3}$"


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


class _Crash(Exception):
    """The server would raise here: stop, as the server does."""

    def __init__(self, message: str, where: tuple[Any, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.where = where


def _crash_text(what: str, fix: str) -> str:
    return f"EvalAI would fail with a server error (HTTP 500), not a message: {what}. {fix}"


# --------------------------------------------------------------------------------------------
# The parts of Django REST framework's field validation that the config's values go through.
# ``str(serializer.errors)`` is part of the server's message, so the texts and the repr matter.

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
_URL_RE = r"(?i)^(?:https?|ftps?)://[^\s/?#]+\.[^\s/?#]+(?::\d+)?(?:[/?#]\S*)?\Z"
_INT_MAX = 2147483647

_Err = tuple[str, str]  # (text, code)


def _err_repr(errors: list[_Err]) -> str:
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


class _Field:
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
        check: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.kind = kind
        self.required = required
        self.null = null
        self.blank = blank
        self.max_length = max_length
        self.choices = {str(c): c for c in choices}
        self.minimum = minimum
        self.check = check

    def errors(self, present: bool, value: Any) -> list[_Err] | dict[int, list[_Err]]:
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

    def _char(self, value: Any) -> list[_Err]:
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

    def _int(self, value: Any) -> list[_Err]:
        if isinstance(value, str) and len(value) > 1000:
            return [("String value too large.", "max_string_length")]
        try:
            number = int(re.sub(r"\.0*\s*$", "", str(value)))
        except (ValueError, TypeError):
            return [("A valid integer is required.", "invalid")]
        if self.minimum is not None and number < self.minimum:
            return [(f"Ensure this value is greater than or equal to {self.minimum}.", "min_value")]
        if number > _INT_MAX:
            return [(f"Ensure this value is less than or equal to {_INT_MAX}.", "max_value")]
        return []

    def _strlist(self, value: Any) -> list[_Err] | dict[int, list[_Err]]:
        if isinstance(value, (str, dict)) or not hasattr(value, "__iter__"):
            return [
                (f'Expected a list of items but got type "{type(value).__name__}".', "not_a_list")
            ]
        child = _Field("char", blank=False, max_length=self.max_length)
        found: dict[int, list[_Err]] = {}
        for index, item in enumerate(value):
            item_errors = child.errors(True, item)
            if item_errors:
                found[index] = item_errors  # type: ignore[assignment]
        return found


def _datetime_errors(value: Any) -> list[_Err]:
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


def _bool() -> _Field:
    return _Field("bool")


def _pos() -> _Field:
    return _Field("int")


CHALLENGE_FIELDS: dict[str, _Field] = {
    "title": _Field("char", required=True, blank=False, max_length=100),
    "short_description": _Field("char", null=True),
    "description": _Field("char", null=True),
    "terms_and_conditions": _Field("char", null=True),
    "submission_guidelines": _Field("char", null=True),
    "evaluation_details": _Field("char", null=True),
    "start_date": _Field("datetime", null=True),
    "end_date": _Field("datetime", null=True),
    "published": _bool(),
    "is_registration_open": _bool(),
    "enable_forum": _bool(),
    "forum_url": _Field("char", null=True, max_length=100, check=_url),
    "anonymous_leaderboard": _bool(),
    "remote_evaluation": _bool(),
    "is_docker_based": _bool(),
    "is_static_dataset_code_upload": _bool(),
    "uses_ec2_worker": _bool(),
    "cpu_only_jobs": _bool(),
    "max_team_members": _pos(),
    "submission_time_limit": _pos(),
    "ec2_storage": _pos(),
    "ephemeral_storage": _pos(),
    "sqs_retention_period": _pos(),
    "challenge_usage_type": _Field("choice", choices=("paid", "internal"), blank=False),
    # a model field with choices: DRF's ChoiceField answers before the serializer's own check
    "worker_python_version": _Field("choice", choices=("3.7", "3.8", "3.9")),
    "worker_image_url": _Field("char", null=True, check=_image_url),
    "cli_version": _Field("char", null=True, max_length=20),
    "vpc_cidr": _Field("char", null=True, max_length=200),
    "subnet_1_cidr": _Field("char", null=True, max_length=200),
    "subnet_2_cidr": _Field("char", null=True, max_length=200),
    "job_cpu_cores": _Field("char", null=True, max_length=256),
    "job_memory": _Field("char", null=True, max_length=256),
    "worker_ami_type": _Field("char", null=True, max_length=256),
    "allowed_email_domains": _Field("strlist", max_length=50),
    "blocked_email_domains": _Field("strlist", max_length=50),
}

PHASE_FIELDS: dict[str, _Field] = {
    "name": _Field("char", required=True, blank=False, max_length=100),
    "description": _Field("char", required=True, blank=False),
    "leaderboard_public": _bool(),
    "start_date": _Field("datetime", null=True),
    "end_date": _Field("datetime", null=True),
    "is_public": _bool(),
    "is_submission_public": _bool(),
    "max_submissions_per_day": _pos(),
    "max_submissions_per_month": _pos(),
    "max_submissions": _pos(),
    "max_concurrent_submissions_allowed": _pos(),
    "codename": _Field("char", blank=False, max_length=100),
    "is_restricted_to_select_one_submission": _bool(),
    "is_partial_submission_evaluation_enabled": _bool(),
    "submission_artifact_retention_policy": _Field(
        "choice",
        blank=False,
        choices=("keep_forever", "days_14", "days_30", "months_3", "months_6", "months_12"),
    ),
    "environment_image": _Field("char", null=True, max_length=2128),
    "allowed_submission_file_types": _Field("char", blank=False, max_length=200),
    "disable_logs": _bool(),
    "is_submission_paused": _bool(),
    "allowed_email_ids": _Field("strlist", null=True),
}

DATASET_SPLIT_FIELDS: dict[str, _Field] = {
    "name": _Field("char", required=True, blank=False, max_length=100),
    "codename": _Field("char", required=True, blank=False, max_length=100),
}

PHASE_SPLIT_FIELDS: dict[str, _Field] = {
    "visibility": _Field("choice", choices=(1, 2, 3)),
    "leaderboard_decimal_precision": _pos(),
    "is_leaderboard_order_descending": _bool(),
    "show_leaderboard_by_latest_submission": _bool(),
    "show_execution_time": _bool(),
    "show_scores_on_leaderboard": _bool(),
}

LEADERBOARD_FIELDS: dict[str, _Field] = {"schema": _Field("json")}

# ZipChallengeSerializer's order puts ``image`` after ``anonymous_leaderboard``.
_AFTER = list(CHALLENGE_FIELDS).index("anonymous_leaderboard") + 1
_SERIALIZER_ORDER = (*list(CHALLENGE_FIELDS)[:_AFTER], "image", *list(CHALLENGE_FIELDS)[_AFTER:])
_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")  # case-sensitive, as EvalAI's endswith()
_NOT_A_FILE = "The submitted data was not a file. Check the encoding type on the form."
_INVALID_IMAGE = (
    "Upload a valid image. The file you uploaded was either not an image or a corrupted image."
)


def _decodes_as_image(data: bytes) -> bool:
    """Django's ImageField check: Pillow opens the file and ``verify()``s it."""
    import io

    from PIL import Image  # imported only when a config names a logo

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
    except Exception:  # Django catches everything here, as invalid_image
        return False
    return True


def serializer_errors(fields: dict[str, _Field], data: dict[Any, Any]) -> dict[str, Any]:
    """The ``serializer.errors`` dict DRF would build for ``data`` (unknown keys ignored)."""
    found: dict[str, Any] = {}
    for name, field in fields.items():
        errors = field.errors(name in data, data.get(name))
        if errors:
            found[name] = errors
    return found


# --------------------------------------------------------------------------------------------
# The checks.


class _Checker:
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

    def crash(self, what: str, fix: str, where: tuple[Any, ...] | None = None) -> _Crash:
        return _Crash(_crash_text(what, fix), self.at if where is None else where)

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

    # -- top level ----------------------------------------------------------------------------
    def run(self) -> None:
        data = self.loaded.data
        if not isinstance(data, dict):
            raise self.crash(
                f"the file does not contain a mapping of keys (it parsed to {type(data).__name__})",
                "Start from the EvalAI-Starters challenge_config.yaml.",
                (),
            )
        self.data = data
        self.title()
        self.logo()
        for key, missing in (
            ("description", "Please add the challenge description"),
            ("evaluation_details", "Please add the evaluation details"),
            ("terms_and_conditions", "Please add the terms and conditions."),
            ("submission_guidelines", "Please add the submission guidelines."),
        ):
            self.html_field(key, missing)
        self.evaluation_script()
        self.dates()
        if not self.problems:
            self.challenge_serializer()
        self.leaderboards()
        self.challenge_phases()
        self.dataset_splits()
        self.challenge_phase_splits()
        self.tags()
        self.domain()
        self.prizes()

    def title(self) -> None:
        self.at = ("title",)
        title = self.data.get("title")
        if title and not hasattr(title, "__len__"):
            raise self.crash(
                f"title is a {type(title).__name__}, which has no length", "Quote the title."
            )
        if not title:
            self.add("Please add the challenge title", hint="add `title: <name>`")

    def logo(self) -> None:
        self.at = ("image",)
        image = self.data.get("image")
        if image and not isinstance(image, str):
            raise self.crash(f"image is a {type(image).__name__}", "Give a file path.")

    def html_field(self, key: str, missing: str) -> None:
        self.at = (key,)
        value = self.data.get(key)
        if value and not hasattr(value, "__len__"):
            raise self.crash(f"{key} is a {type(value).__name__}", "Give an HTML file path.")
        if not value:
            self.add(missing, hint=f"add `{key}: templates/{key}.html`")
            return
        if not isinstance(value, str):
            raise self.crash(f"{key} is a {type(value).__name__}", "Give an HTML file path.")
        if self.resolve(value) is None:
            self.add(f"Invalid file path for {key}.", hint="use a path inside the repository")
        elif not self.is_file(value):
            self.add(
                f"File at path {key} not found. Please specify a valid file path",
                hint=f"{value} does not exist",
            )
        elif not value.endswith(".html"):
            self.add(f"File {key} is not a HTML file. Please specify a valid HTML file")
        else:
            self.data[key] = self.read_html(value)

    def evaluation_script(self) -> None:
        self.at = ("evaluation_script",)
        script = self.data.get("evaluation_script")
        if not script:
            self.add(
                "ERROR: There is no key for the evaluation script in the YAML file. "
                "Please add it and then try again!",
                hint="add `evaluation_script: evaluation_script.zip`",
            )
            return
        if not isinstance(script, str):
            raise self.crash(
                f"evaluation_script is a {type(script).__name__}",
                "Use `evaluation_script: evaluation_script.zip`.",
            )
        if not script.endswith(".zip"):
            self.add(
                "ERROR: Please pass in a zip file as evaluation script. If using the "
                "`evaluation_script` directory (recommended), it should be "
                "`evaluation_script.zip`."
            )
            return
        if self.is_file(script):
            return
        if self.repo_layout:
            folder = self.resolve(script[: -len(".zip")])
            if folder is not None and self.source.list_files(folder):
                return  # the tool builds the zip from this folder
        self.add(
            "ERROR: No evaluation script is present in the zip file. "
            "Please add it and then try again!",
            hint=f"add files to {script[: -len('.zip')]}/",
        )

    def dates(self) -> None:
        self.at = ("start_date",)
        start = self.data.get("start_date")
        end = self.data.get("end_date")
        if not start or not end:
            self.add(
                "ERROR: Please add the start_date and end_date.",
                ("start_date",) if not start else ("end_date",),
            )
        if start and end:
            try:
                later = start > end
            except TypeError as exc:
                raise self.crash(
                    f"start_date ({type(start).__name__}) and end_date ({type(end).__name__}) "
                    "cannot be compared",
                    "Write both as unquoted `YYYY-MM-DD HH:MM:SS`.",
                ) from exc
            if later:
                self.add("ERROR: Start date cannot be greater than end date.")

    def challenge_serializer(self) -> None:
        errors = serializer_errors(CHALLENGE_FIELDS, self.data)
        image = self.image_errors()
        if image:
            merged = {**errors, "image": image}
            errors = {key: merged[key] for key in _SERIALIZER_ORDER if key in merged}
        if errors:
            first = next(iter(errors))
            self.add(
                "ERROR: Unable to serialize the challenge because of the following errors: "
                f"{errors_repr(errors)}.",
                (first,),
            )

    def image_errors(self) -> list[_Err]:
        """The serializer's ImageField.  EvalAI hands it the file only for a ``.jpg``,
        ``.jpeg`` or ``.png`` path inside the zip that exists, and the YAML's text otherwise;
        Django then decodes the file with Pillow."""
        image = self.data.get("image")
        if image is None:  # left out, or null: no logo
            return []
        ok = isinstance(image, str) and image.endswith(_IMAGE_EXTENSIONS)
        path = self.resolve(image) if ok else None  # "" and false are "not a file" too
        data = None if path is None else self.source.read(path)
        if data is None:
            return [(_NOT_A_FILE, "invalid")]
        if not data:
            return [("The submitted file is empty.", "empty")]
        if not _decodes_as_image(data):
            return [(_INVALID_IMAGE, "invalid_image")]
        return []

    # -- leaderboards -------------------------------------------------------------------------
    def leaderboards(self) -> None:
        self.at = ("leaderboard",)
        boards = self.data.get("leaderboard")
        if not boards:
            self.add(
                "ERROR: There is no key for the leaderboard in the YAML file. "
                "Please add it and then try again!"
            )
            return
        for index, board in enumerate(_iterate(self, boards)):
            self.at = ("leaderboard", index)
            if not isinstance(board, dict):
                raise self.crash(
                    f"leaderboard entry {index + 1} is not a mapping", "Give it `id` and `schema`."
                )
            error = False
            if "id" not in board:
                self.add("ERROR: There is no leaderboard ID for the leaderboard.")
                error = True
            ident = board.get("id")
            if "schema" not in board:
                self.add(
                    f"ERROR: There is no leaderboard schema for the leaderboard with ID: {ident}."
                )
                error = True
            else:
                schema: Any = board["schema"]
                self.at = ("leaderboard", index, "schema")
                if not isinstance(schema, (dict, list, str)):
                    raise self.crash(
                        f"the schema of leaderboard {ident} is a {type(schema).__name__}",
                        "Give `labels` and `default_order_by` in a mapping.",
                    )
                if "labels" not in schema:
                    self.add(
                        "ERROR: There is no 'labels' key in the schema for the leaderboard "
                        f"with ID: {ident}."
                    )
                    error = True
                if "default_order_by" not in schema:
                    self.add(
                        "ERROR: There is no 'default_order_by' key in the schema for the "
                        f"leaderboard with ID: {ident}."
                    )
                    error = True
                elif "labels" in schema:
                    mapping: Any = schema
                    order_by = mapping["default_order_by"]
                    labels = mapping["labels"]
                    try:
                        known = order_by in labels
                    except TypeError as exc:
                        raise self.crash(
                            f"the labels of leaderboard {ident} are not a list",
                            "Write `labels: [...]`.",
                        ) from exc
                    if not known:
                        self.add(
                            f"ERROR: The 'default_order_by' value '{order_by}' in the schema "
                            f"for the leaderboard with ID: {ident} is not a valid label.",
                            ("leaderboard", index, "schema", "default_order_by"),
                        )
                        error = True
            if error:
                continue
            errors = serializer_errors(LEADERBOARD_FIELDS, board)
            if errors:
                self.add(
                    f"ERROR: The leaderboard with ID: {ident} has the following schema "
                    f"errors:\n {errors_repr(errors)}"
                )
            else:
                self.leaderboard_ids.append(ident)

    # -- phases -------------------------------------------------------------------------------
    def challenge_phases(self) -> None:
        self.at = ("challenge_phases",)
        phases = self.data.get("challenge_phases")
        if not phases:
            self.add(
                "ERROR: No challenge phase key found. Please add challenge phases in the YAML "
                "file and try again!"
            )
            return
        codenames: list[Any] = []
        for index, phase in enumerate(_iterate(self, phases)):
            here = ("challenge_phases", index)
            self.at = here
            if not isinstance(phase, dict):
                raise self.crash(
                    f"challenge phase {index + 1} is not a mapping", "Fix its indentation."
                )
            need_name = f"challenge phase {index + 1} has no `name`, which the server needs for this message"
            if "codename" not in phase:
                self.add(
                    "ERROR: No codename found for the challenge phase. "
                    "Please add a codename and try again!"
                )
            else:
                codename = phase["codename"]
                _hashable_or_crash(self, codename, "codename")
                if codename not in codenames:
                    codenames.append(codename)
                else:
                    if "name" not in phase:
                        raise self.crash(need_name, "Add `name:` to the phase.")
                    self.add(
                        f"ERROR: Duplicate codename {codename} for phase {phase['name']}. "
                        "Please ensure codenames are unique",
                        (*here, "codename"),
                    )
            annotation = phase.get("test_annotation_file")
            if annotation:
                if not isinstance(annotation, str):
                    raise self.crash(
                        f"test_annotation_file of phase {index + 1} is a {type(annotation).__name__}",
                        "Give a file path.",
                        (*here, "test_annotation_file"),
                    )
                if not self.is_file(annotation):
                    if "name" not in phase:
                        raise self.crash(need_name, "Add `name:` to the phase.")
                    self.add(
                        "ERROR: No test annotation file found in the zip file for challenge "
                        f"phase {phase['name']}",
                        (*here, "test_annotation_file"),
                        hint=f"{annotation} does not exist",
                    )
            if phase.get("max_submissions_per_month", None) is None:
                phase["max_submissions_per_month"] = phase.get("max_submissions", None)
            if phase.get("description"):
                phase["description"] = self.read_html(phase["description"])
            else:
                if "name" not in phase:
                    raise self.crash(need_name, "Add `name:` and `description:` to the phase.")
                self.add(f" ERROR: There is no key for description in phase {phase['name']}.")
            if phase.get("is_submission_public") and phase.get(
                "is_restricted_to_select_one_submission"
            ):
                if "name" not in phase:
                    raise self.crash(need_name, "Add `name:` to the phase.")
                self.add(
                    "ERROR: is_submission_public can't be 'True' for challenge phase "
                    f"'{phase['name']}' with is_restricted_to_select_one_submission 'True'. "
                    "Please change is_submission_public to 'False' and try again!",
                    (*here, "is_submission_public"),
                )
            self.phase_dates(phase, here)
            self.meta_attributes(phase, here)
            if "id" not in phase:
                raise self.crash(
                    f"challenge phase {index + 1} has no `id`", "Add `id: <number>` to the phase."
                )
            errors = serializer_errors(PHASE_FIELDS, phase)
            if errors:
                self.add(
                    f"ERROR: Challenge phase {phase['id']} has the following schema errors:\n "
                    f"{errors_repr(errors)}",
                    (*here, next(iter(errors))),
                )
            else:
                self.phase_ids.append(phase["id"])

    def phase_dates(self, phase: dict[Any, Any], here: tuple[Any, ...]) -> None:
        start = phase.get("start_date")
        end = phase.get("end_date")
        ident = phase.get("id")
        if not start or not end:
            self.add(
                f"ERROR: Please add the start_date and end_date in challenge phase {ident}.",
                (*here, "start_date" if not start else "end_date"),
            )
        if start and end:
            try:
                later = start > end
            except TypeError as exc:
                raise self.crash(
                    f"the dates of challenge phase {ident} cannot be compared "
                    f"({type(start).__name__} and {type(end).__name__})",
                    "Write both as unquoted `YYYY-MM-DD HH:MM:SS`.",
                    (*here, "start_date"),
                ) from exc
            if later:
                self.add(
                    f"ERROR: Start date cannot be greater than end date in challenge phase {ident}.",
                    (*here, "start_date"),
                )

    def meta_attributes(self, phase: dict[Any, Any], here: tuple[Any, ...]) -> None:
        attributes = phase.get("submission_meta_attributes")
        if not attributes:
            return
        ident = phase.get("id")
        for index, attribute in enumerate(_iterate(self, attributes)):
            where = (*here, "submission_meta_attributes", index)
            self.at = where
            if not isinstance(attribute, dict):
                raise self.crash(
                    f"submission meta attribute {index + 1} of phase {ident} is not a mapping",
                    "Give it name, description and type.",
                )
            if "id" not in phase:
                raise self.crash("a phase has no `id`", "Add `id: <number>` to the phase.", here)
            missing = [k for k in ("name", "description", "type") if k not in attribute]
            if missing:
                self.add(
                    "ERROR: Please enter the following fields for the submission meta attribute "
                    f"in challenge phase {phase['id']}: {', '.join(missing)}"
                )
                continue
            kind = attribute["type"]
            _hashable_or_crash(self, kind, "type")
            if kind not in ("boolean", "text", "radio", "checkbox"):
                self.add(
                    "ERROR: Please ensure that the submission meta attribute types for the "
                    f"attribute '{kind}' in challenge phase {phase['id']} are among the "
                    "following: boolean, text, radio, or checkbox.",
                    (*where, "type"),
                )
            elif kind in ("radio", "checkbox"):
                options = attribute.get("options")
                if not options or not len(options):
                    self.add(
                        "ERROR: Please include at least one option in the attribute for "
                        f"challenge phase {phase['id']}"
                    )

    # -- dataset splits -----------------------------------------------------------------------
    def dataset_splits(self) -> None:
        self.at = ("dataset_splits",)
        splits = self.data.get("dataset_splits")
        if not splits:
            self.add("ERROR: There is no key for dataset splits.")
            return
        codenames: list[Any] = []
        entries = list(_iterate(self, splits))
        for index, split in enumerate(entries):
            self.at = ("dataset_splits", index)
            if not isinstance(split, dict):
                raise self.crash(
                    f"dataset split {index + 1} is not a mapping", "Give it id, name and codename."
                )
            if not split.get("name"):
                self.add(f"ERROR: There is no name for dataset split {split.get('id')}.")
            if "codename" not in split:
                self.add(f"ERROR: There is no codename for dataset split {split.get('id')}.")
            else:
                codename = split["codename"]
                _hashable_or_crash(self, codename, "codename")
                if codename not in codenames:
                    codenames.append(codename)
                else:
                    if "name" not in split:
                        raise self.crash(
                            f"dataset split {index + 1} has no `name`, which the server needs "
                            "to report its duplicate codename",
                            "Add `name:` to the split.",
                        )
                    self.add(
                        f"ERROR: Duplicate codename {codename} for dataset split "
                        f"{split['name']}. Please ensure codenames are unique.",
                        ("dataset_splits", index, "codename"),
                    )
        for index, split in enumerate(entries):
            self.at = ("dataset_splits", index)
            if "id" not in split:
                raise self.crash(f"dataset split {index + 1} has no `id`", "Add `id: <number>`.")
            errors = serializer_errors(DATASET_SPLIT_FIELDS, split)
            if errors:
                self.add(
                    f"ERROR: Dataset split {split['id']} has the following schema errors:\n "
                    f"{errors_repr(errors)}"
                )
            else:
                self.dataset_split_ids.append(split["id"])

    # -- phase splits -------------------------------------------------------------------------
    def challenge_phase_splits(self) -> None:
        self.at = ("challenge_phase_splits",)
        splits = self.data.get("challenge_phase_splits")
        if splits is None or not hasattr(splits, "__iter__"):
            raise self.crash(
                "challenge_phase_splits is missing or not a list",
                "Add a `challenge_phase_splits:` list mapping each phase to a leaderboard and "
                "a dataset split.",
            )
        entries = list(splits)
        seen: set[Any] = set()
        duplicates: list[tuple[Any, Any, Any]] = []
        first_duplicate: int | None = None
        for index, entry in enumerate(entries):
            self.at = ("challenge_phase_splits", index)
            if not isinstance(entry, dict):
                raise self.crash(
                    f"challenge phase split {index + 1} is not a mapping", "Fix its indentation."
                )
            absent = [
                k
                for k in ("leaderboard_id", "challenge_phase_id", "dataset_split_id")
                if k not in entry
            ]
            if absent:
                raise self.crash(
                    f"challenge phase split {index + 1} has no {', '.join(absent)}",
                    "Add " + ", ".join(f"`{k}`" for k in absent) + " to it.",
                )
            combination = (
                entry["leaderboard_id"],
                entry["challenge_phase_id"],
                entry["dataset_split_id"],
            )
            _hashable_or_crash(
                self, combination, "leaderboard_id/challenge_phase_id/dataset_split_id"
            )
            if combination in seen:
                duplicates.append(combination)
                if first_duplicate is None:
                    first_duplicate = index
            else:
                seen.add(combination)
        if duplicates:
            where = ("challenge_phase_splits", first_duplicate)
            self.add(_DUPLICATE_SPLIT, where)
            for combination in duplicates:
                self.add(_DUPLICATE_SPLIT.format(*combination), where)
        if not entries:
            self.add("ERROR: There is no key for challenge phase splits.")
            return
        number = 1
        for index, entry in enumerate(entries):
            self.at = ("challenge_phase_splits", index)
            missing = [k for k in _SPLIT_KEYS if k not in entry]
            if missing:
                self.add(
                    "ERROR: The following keys are missing in the challenge phase splits of "
                    f"YAML file (phase_split: {number}): {', '.join(missing)}"
                )
                continue
            lb, ph, ds = (
                entry["leaderboard_id"],
                entry["challenge_phase_id"],
                entry["dataset_split_id"],
            )
            if lb not in self.leaderboard_ids:
                self.add(
                    f"ERROR: Invalid leaderboard id {lb} found in challenge phase split {number}.",
                    ("challenge_phase_splits", index, "leaderboard_id"),
                    hint=self.cascade_hint("leaderboard", "leaderboard", lb),
                )
            if ph not in self.phase_ids:
                self.add(
                    f"ERROR: Invalid phased id {ph} found in challenge phase split {number}.",
                    ("challenge_phase_splits", index, "challenge_phase_id"),
                    hint=self.cascade_hint("challenge_phases", "phase", ph),
                )
            if ds not in self.dataset_split_ids:
                self.add(
                    f"ERROR: Invalid dataset split id {ds} found in challenge phase split {number}.",
                    ("challenge_phase_splits", index, "dataset_split_id"),
                    hint=self.cascade_hint("dataset_splits", "dataset split", ds),
                )
            errors = serializer_errors(PHASE_SPLIT_FIELDS, entry)
            if errors:
                self.add(
                    f"ERROR: Challenge phase split {number} has the following schema errors:\n "
                    f"{errors_repr(errors)}",
                    ("challenge_phase_splits", index, next(iter(errors))),
                )
            number += 1

    # -- tags, domain, prizes -----------------------------------------------------------------
    def tags(self) -> None:
        if "tags" not in self.data:
            return
        self.at = ("tags",)
        tags = self.data["tags"]
        if not hasattr(tags, "__len__"):
            raise self.crash(f"tags is a {type(tags).__name__}", "Write `tags: [a, b]`.")
        if len(tags) > 4:
            self.add("ERROR: Tags are limited to 4. Please remove extra tags then try again!")

    def domain(self) -> None:
        if "domain" not in self.data:
            return
        self.at = ("domain",)
        if self.data["domain"] not in DOMAINS:
            self.add(
                "ERROR: Domain name is incorrect. Please enter correct domain name then try again!",
                hint="use one of " + ", ".join(DOMAINS),
            )

    def prizes(self) -> None:
        if "prizes" not in self.data:
            return
        self.at = ("prizes",)
        ranks: list[Any] = []
        for index, prize in enumerate(_iterate(self, self.data["prizes"])):
            self.at = ("prizes", index)
            if not isinstance(prize, dict):
                raise self.crash(f"prize {index + 1} is not a mapping", "Give it rank and amount.")
            if "rank" not in prize or "amount" not in prize:
                self.add("ERROR: Prize rank or amount not found in YAML data.")
            if "rank" not in prize:
                raise self.crash(f"prize {index + 1} has no `rank`", "Add `rank: <n>`.")
            rank = prize["rank"]
            _hashable_or_crash(self, rank, "rank")
            if rank in ranks:
                self.add(
                    f"ERROR: Duplicate rank {rank} found in YAML data.", ("prizes", index, "rank")
                )
            ranks.append(rank)
            if not isinstance(rank, int) or rank < 1:
                self.add(
                    f"ERROR: Invalid rank value {rank}. Rank should be an integer.",
                    ("prizes", index, "rank"),
                )
            if "amount" not in prize:
                raise self.crash(f"prize {index + 1} has no `amount`", "Add `amount: 100.00USD`.")
            amount = prize["amount"]
            if not isinstance(amount, str):
                raise self.crash(
                    f"the amount of prize {index + 1} is a {type(amount).__name__}, not text",
                    "Write it like `amount: 100.00USD`.",
                    ("prizes", index, "amount"),
                )
            if not re.match(_AMOUNT_RE, amount):
                self.add(
                    f"ERROR: Invalid amount value {amount}. Amount should be in decimal format "
                    "with three-letter currency code (e.g. 100.00USD, 500EUR, 1000INR).",
                    ("prizes", index, "amount"),
                )


def _iterate(checker: _Checker, value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value)  # iterating a mapping gives its keys, as on the server
    if not hasattr(value, "__iter__"):
        raise checker.crash(
            f"{checker.at[-1] if checker.at else 'a value'} is a {type(value).__name__}, not a list",
            "Write it as a YAML list (`- ...` items).",
        )
    return list(value)


def _hashable_or_crash(checker: _Checker, value: Any, what: str) -> None:
    try:
        hash(value)
    except TypeError as exc:
        raise checker.crash(f"{what} is a list or mapping", "Use a plain value.") from exc


# --------------------------------------------------------------------------------------------
# Public API.


def check_config_text(
    source: FileSource,
    config_path: str,
    text: bytes,
    *,
    repo_layout: bool,
) -> list[Problem]:
    """Parse ``text`` (the config at ``config_path`` in ``source``) and run every check."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return [
            Problem(
                _crash_text(f"{config_path} is not UTF-8 text", "Save it as UTF-8."),
                config_path,
                None,
                crash=True,
            )
        ]
    try:
        loaded = yamlload.load(decoded)
    except yamlload.YamlSyntaxError as exc:
        return [
            Problem(
                exc.server_message,
                config_path,
                exc.line,
                hint="fix the YAML syntax at that line",
            )
        ]
    except ValueError as exc:  # e.g. a timestamp with month 13: the server crashes too
        return [
            Problem(
                _crash_text(f"the YAML could not be read ({exc})", "Fix the date or value."),
                config_path,
                None,
                crash=True,
            )
        ]
    checker = _Checker(source, config_path, loaded, repo_layout)
    try:
        checker.run()
    except _Crash as crash:
        checker.problems.append(
            Problem(crash.message, config_path, loaded.line(crash.where), crash=True)
        )
    except (TypeError, AttributeError, KeyError, ValueError, IndexError) as exc:
        where = checker.at
        checker.problems.append(
            Problem(
                _crash_text(
                    f"a value of an unexpected type near {'.'.join(map(str, where)) or 'the top'}"
                    f" ({type(exc).__name__})",
                    "Check that value against the EvalAI-Starters template.",
                ),
                config_path,
                loaded.line(where),
                crash=True,
            )
        )
    return checker.problems


def validate_source(
    source: FileSource, config_path: str = "challenge_config.yaml"
) -> list[Problem]:
    """Check a challenge repository (working copy or commit) as EvalAI would check its zip.

    In this layout ``evaluation_script: evaluation_script.zip`` is satisfied by an
    ``evaluation_script/`` folder with files (the zip is built from it) or by the zip itself.
    """
    norm = normalise(config_path)
    if norm is None:
        return [Problem("Challenge configuration contains unsafe file paths.", config_path, None)]
    text = source.read(norm)
    if text is None:
        return [Problem(NO_YAML, norm, None, hint=f"create {norm}")]
    return check_config_text(source, norm, text, repo_layout=True)


def validate_zip_bytes(data: bytes) -> list[Problem]:
    """Exactly what EvalAI does with an uploaded challenge zip."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if not all(normalise(n.rstrip("/")) is not None for n in names if n.rstrip("/")):
                return [Problem(ZIP_UNEXTRACTABLE, "uploaded zip", None)]
            files = {n: archive.read(n) for n in names if not n.endswith("/")}
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        ValueError,
        NotImplementedError,
    ):
        return [Problem(ZIP_UNEXTRACTABLE, "uploaded zip", None)]
    configs = [n for n in names if n in CONFIG_NAMES]
    if not configs:
        return [Problem(NO_YAML, "uploaded zip", None)]
    if len(configs) > 1:
        return [Problem(MULTIPLE_YAML.format(len(configs)), "uploaded zip", None)]
    source = MappingSource(files)
    return check_config_text(source, configs[0], files[configs[0]], repo_layout=False)


def summary(problems: list[Problem]) -> str:
    """One line for a list of problems: the first, where it is, and how many more."""
    first = problems[0]
    where = f"{first.path}:{first.line}" if first.line else first.path
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}: {first.message.strip()}{more}"


def server_error_text(problems: list[Problem]) -> str:
    """The ``{"error": ...}`` text EvalAI answers for these problems."""
    return "\n".join(p.message for p in problems)


# --------------------------------------------------------------------------------------------
# Update-only rules: they need the configuration EvalAI holds for the existing challenge.


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _entries(config: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = config.get(key) if isinstance(config, dict) else None
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, dict)]


def _triple(entry: dict[str, Any]) -> tuple[int, int, int] | None:
    parts = [
        _as_int(entry.get(k)) for k in ("leaderboard_id", "challenge_phase_id", "dataset_split_id")
    ]
    if any(p is None for p in parts):
        return None
    return (parts[0], parts[1], parts[2])  # type: ignore[return-value]


def check_update(previous: dict[str, Any], new: dict[str, Any], *, approved: bool) -> list[str]:
    """EvalAI's extra messages when ``new`` replaces ``previous`` for an existing challenge."""
    import json

    messages: list[str] = []
    old_splits = _entries(previous, "challenge_phase_splits")
    old_triples = [t for t in (_triple(e) for e in old_splits) if t is not None]
    old_boards = {_as_int(b.get("id")): b for b in _entries(previous, "leaderboard")}
    old_datasets = {_as_int(s.get("id")): s for s in _entries(previous, "dataset_splits")}
    current_boards = sorted({t[0] for t in old_triples})
    current_datasets = sorted({t[2] for t in old_triples})
    current_phases = [
        i
        for i in (_as_int(p.get("id")) for p in _entries(previous, "challenge_phases"))
        if i is not None
    ]

    new_boards = {_as_int(b.get("id")): b for b in _entries(new, "leaderboard")}
    new_datasets = {_as_int(s.get("id")): s for s in _entries(new, "dataset_splits")}
    new_phases = {_as_int(p.get("id")) for p in _entries(new, "challenge_phases")}

    for board_id in current_boards:
        if board_id not in new_boards:
            messages.append(
                f"ERROR: The leaderboard with ID: {board_id} not found in config. Deletion of an "
                "existing leaderboard after challenge creation is not allowed."
            )
        elif approved and board_id in old_boards:
            before = json.dumps(old_boards[board_id].get("schema"), sort_keys=True, default=str)
            after = json.dumps(new_boards[board_id].get("schema"), sort_keys=True, default=str)
            if before != after:
                messages.append(
                    f"ERROR: Leaderboard {board_id} cannot be changed after the challenge is "
                    "approved by an admin. Revert the leaderboard block to match the approved "
                    "configuration or contact support."
                )
    for phase_id in current_phases:
        if phase_id not in new_phases:
            messages.append(
                f"ERROR: Challenge phase {phase_id} not found in config. Deletion of existing "
                "challenge phase after challenge creation is not allowed."
            )
    for split_id in current_datasets:
        if split_id not in new_datasets:
            messages.append(
                f"ERROR: Dataset split {split_id} not found in config. Deletion of existing "
                "dataset split after challenge creation is not allowed."
            )
        elif approved and split_id in old_datasets:
            old, cur = old_datasets[split_id], new_datasets[split_id]
            if old.get("name") != cur.get("name") or old.get("codename") != cur.get("codename"):
                messages.append(
                    f"ERROR: Dataset split {split_id} cannot be changed after the challenge is "
                    "approved by an admin. Revert the dataset split block to match the approved "
                    "configuration or contact support."
                )
    old_by_triple = {t: e for t, e in ((_triple(e), e) for e in old_splits) if t is not None}
    remaining = list(old_triples)
    known_boards = set(current_boards) | set(new_boards)
    known_datasets = set(current_datasets) | set(new_datasets)
    for entry in _entries(new, "challenge_phase_splits"):
        triple = _triple(entry)
        if triple is None:
            continue
        lb, ph, ds = triple
        if triple in remaining:
            remaining.remove(triple)
            old = old_by_triple[triple]
            if approved and any(
                old.get(k) != entry.get(k)
                for k in (
                    "visibility",
                    "leaderboard_decimal_precision",
                    "is_leaderboard_order_descending",
                )
            ):
                messages.append(
                    f"ERROR: Challenge phase split (leaderboard_id: {lb}, challenge_phase_id: {ph}, "
                    f"dataset_split_id: {ds}) cannot be changed after the challenge is approved by "
                    "an admin. Revert visibility / ordering fields to match the approved "
                    "configuration or contact support."
                )
            continue
        if triple in old_by_triple:
            continue
        if ph in current_phases:
            messages.append(
                "ERROR: Cannot add a new leaderboard/dataset-split mapping for an existing "
                f"challenge phase (leaderboard_id: {lb}, challenge_phase_id: {ph}, "
                f"dataset_split_id: {ds}). New mappings are only allowed for newly added "
                "challenge phases."
            )
            continue
        if lb not in known_boards:
            messages.append(
                f"ERROR: Leaderboard id {lb} is not part of this challenge or the uploaded "
                "configuration. New challenge phases may only use leaderboards declared in the "
                "configuration."
            )
        if ds not in known_datasets:
            messages.append(
                f"ERROR: Dataset split id {ds} is not part of this challenge or the uploaded "
                "configuration. New challenge phases must use dataset splits declared in the "
                "configuration."
            )
    for lb, ph, ds in remaining:
        messages.append(
            f"ERROR: Challenge phase split (leaderboard_id: {lb}, challenge_phase_id: {ph}, "
            f"dataset_split_id: {ds}) not found in config. Deletion of existing challenge phase "
            "split after challenge creation is not allowed."
        )
    if "use_fifo_sqs" in new and bool(previous.get("use_fifo_sqs", False)) != bool(
        new.get("use_fifo_sqs")
    ):
        errors = {
            "use_fifo_sqs": [
                (
                    "use_fifo_sqs cannot be changed after the challenge queue has been created.",
                    "invalid",
                )
            ]
        }
        messages.insert(
            0,
            "ERROR: Unable to serialize the challenge because of the following errors: "
            f"{errors_repr(errors)}.",
        )
    return messages

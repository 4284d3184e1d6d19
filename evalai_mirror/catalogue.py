"""The one catalogue of every synced field: where it lives in the repository, how EvalAI returns
it, which request writes it, how its values compare, and its value when the config lacks it.

Everything else (the model in ``challenge.py``, the writer, the merge's text keys, push's choice
of request, the sandbox, the README's field table) reads this module; nothing else lists fields.

The list comes from EvalAI itself (Cloud-CV/EvalAI ``apps/challenges``): a field is a key that
``challenge_config.yaml`` can set (``ZipChallengeSerializer``, ``ChallengePhaseCreateSerializer``,
the three keys ``create_or_update_github_challenge`` reads of a phase split, ``LeaderboardSerializer``,
``DatasetSplitSerializer``, ``utils.add_tags_to_challenge`` / ``add_domain_to_challenge`` /
``add_prizes_to_challenge`` / ``add_sponsors_to_challenge``) *and* a host can read back
(``ChallengeSerializer``, ``ChallengePhaseSerializer``, ``ChallengePhaseSplitSerializer``,
``ZipChallengePhaseSplitSerializer``, ``LeaderboardSerializer``, ``DatasetSplitSerializer``, the
prizes and sponsors lists).  Three phase-split flags (``show_*``) are not read from the config by
EvalAI's zip but are returned and PATCHable: they live in the config's phase split entries,
which EvalAI's zip ignores, so only a PATCH writes them.

Keys (a snapshot is ``{key: normalised value}``):

=================  ============================================  ==============================
scope              key                                           YAML node in the config
=================  ============================================  ==============================
challenge          ``<name>`` (also ``tags``, ``domain``,        the top-level mapping
                   ``prizes``, ``sponsors``)
phase              ``phases.<codename>.<name>``                  ``challenge_phases[i]`` whose
                                                                 ``codename`` matches
phase split        ``splits.<phase codename>.<dataset split      ``challenge_phase_splits[i]``
                   codename>.<name>``                            whose ``challenge_phase_id`` and
                                                                 ``dataset_split_id`` are those
                                                                 phases' and splits' ``id``
leaderboard        ``leaderboards.<config id>.schema``           ``leaderboard[i]``, ``id`` matches
dataset split      ``dataset_splits.<codename>.name``            ``dataset_splits[i]``, ``codename``
=================  ============================================  ==============================
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from typing import Any

from evalai_mirror.records import record


class Scope(str, Enum):
    CHALLENGE = "challenge"
    PHASE = "phase"
    PHASE_SPLIT = "phase split"
    LEADERBOARD = "leaderboard"
    DATASET_SPLIT = "dataset split"


class Kind(str, Enum):
    """How values compare (each has a normaliser in ``normalise.py``)."""

    TEXT = "text"  # str, trimmed as EvalAI trims it, CRLF as LF
    HTML = "html"  # text kept in an HTML file the config names; merged line by line
    DATE = "date"  # UTC ``YYYY-MM-DDTHH:MM:SSZ``
    BOOL = "bool"
    INT = "int"
    CHOICE = "choice"  # a str (or int for visibility) out of a fixed set; compared as is
    LIST = "list"  # a list of str, order kept
    SET = "set"  # a list of str whose order EvalAI does not keep (tags): sorted, unique
    JSON = "json"  # any JSON value (mappings, lists of mappings): compared as a canonical value
    SCHEMA = "schema"  # the leaderboard schema: a mapping, often written as JSON in YAML


class Read(str, Enum):
    """The GET that returns a field (see api.py for the paths)."""

    CHALLENGE = "GET challenge"  # /api/challenges/challenge_host_team/<team>/challenge/<pk>
    PHASES = "GET phases"  # /api/challenges/challenge/<pk>/challenge_phase (a list)
    SPLITS = "GET phase splits"  # /api/challenges/<pk>/challenge_phase_split (a list)
    SPLIT_DETAIL = "GET phase split"  # /api/challenges/challenge/create/challenge_phase_split/<pk>/
    LEADERBOARD = "GET leaderboard"  # /api/challenges/challenge/create/leaderboard/<pk>/
    DATASET_SPLIT = "GET dataset split"  # /api/challenges/challenge/create/dataset_split/<pk>/
    PRIZES = "GET prizes"  # /api/challenges/challenge/<pk>/prizes/
    SPONSORS = "GET sponsors"  # /api/challenges/challenge/<pk>/sponsors/


# The GETs a watch poll sends (at once).  Status and pull send every GET (these, one detail
# GET per phase split, prizes and sponsors) in one round trip; watch does so about once a minute.
POLL_READS: frozenset[Read] = frozenset({Read.CHALLENGE, Read.PHASES, Read.SPLITS})


class Write(str, Enum):
    """The narrowest request that writes a field."""

    CHALLENGE = "challenge PATCH"  # /api/challenges/challenge_host_team/<team>/challenge/<pk>
    PHASE = "phase PATCH"  # /api/challenges/challenge/<pk>/challenge_phase/<phase pk>
    PHASE_SPLIT = "phase split PATCH"  # /api/challenges/challenge/create/challenge_phase_split/<pk>/
    LEADERBOARD = "leaderboard PATCH"  # /api/challenges/challenge/create/leaderboard/<pk>/
    DATASET_SPLIT = "dataset split PATCH"  # /api/challenges/challenge/create/dataset_split/<pk>/
    TAGS_DOMAIN = "tags and domain PATCH"  # /api/challenges/challenge/<pk>/update_challenge_tags_and_domain/
    ZIP = "zip upload"  # only the whole challenge zip writes it


class ZipSets(str, Enum):
    """What the zip upload does to an existing challenge's field."""

    IF_PRESENT = "if present"  # sets it when the config has the key, else leaves EvalAI's value
    ALWAYS = "always"  # sets it from the config, and to the default when the key is absent
    NEVER = "never"  # the zip does not write it (a PATCH does)


@record(frozen=True)
class Field:
    """One synced field."""

    name: str  # the config key (= the JSON key in EvalAI's answers unless ``api_key`` says)
    scope: Scope
    kind: Kind
    read: Read
    write: Write
    default: Any = None  # the value when the config lacks the key (EvalAI's model default)
    api_key: str | None = None  # the JSON key of the GET answer, when it differs from ``name``
    zip_sets: ZipSets = ZipSets.IF_PRESENT
    html_default: str | None = None  # HTML fields: the file when the config names none
    choices: tuple[Any, ...] = ()
    nullable: bool = True  # None is a value EvalAI can hold
    note: str = ""

    @property
    def json_key(self) -> str:
        return self.api_key or self.name

    @property
    def yaml_where(self) -> str:
        """Where it lives in the repository, for people (the README table)."""
        node = {
            Scope.CHALLENGE: "",
            Scope.PHASE: "challenge_phases[].",
            Scope.PHASE_SPLIT: "challenge_phase_splits[].",
            Scope.LEADERBOARD: "leaderboard[].",
            Scope.DATASET_SPLIT: "dataset_splits[].",
        }[self.scope]
        if self.kind is Kind.HTML:
            return f"the HTML file `{node}{self.name}` names (else `{self.html_default}`)"
        return f"`{node}{self.name}`"

    @property
    def polled(self) -> bool:
        """Compared by every watch poll (all fields are compared by status, pull and before
        a write that sets them; the others by a watch poll about once a minute)."""
        return self.read in POLL_READS


def _challenge(name: str, kind: Kind, default: Any = None, **kw: Any) -> Field:
    html = f"templates/{name}.html" if kind is Kind.HTML else None
    return Field(name, Scope.CHALLENGE, kind, Read.CHALLENGE, Write.CHALLENGE, default,
                 html_default=html, **kw)


def _phase(name: str, kind: Kind, default: Any = None, **kw: Any) -> Field:
    html = "templates/challenge_phase_{codename}_description.html" if kind is Kind.HTML else None
    return Field(name, Scope.PHASE, kind, Read.PHASES, Write.PHASE, default, html_default=html,
                 **kw)


DEFAULT_FILE_TYPES = ".json, .zip, .txt, .tsv, .gz, .csv, .h5, .npy"
DEFAULT_MAX_SUBMISSIONS = 100000
DOMAINS = ("CV", "NLP", "RL", "MM", "AUD", "TAB")
VISIBILITIES = (1, 2, 3)  # private, host, public

FIELDS: tuple[Field, ...] = (
    # -- the challenge: ZipChallengeSerializer (zip + challenge PATCH) ∩ ChallengeSerializer (GET)
    _challenge("title", Kind.TEXT, nullable=False),
    _challenge("short_description", Kind.TEXT),
    _challenge("description", Kind.HTML),
    _challenge("evaluation_details", Kind.HTML),
    _challenge("terms_and_conditions", Kind.HTML),
    _challenge("submission_guidelines", Kind.HTML),
    _challenge("leaderboard_description", Kind.TEXT),
    _challenge("start_date", Kind.DATE),
    _challenge("end_date", Kind.DATE),
    _challenge("published", Kind.BOOL, False),
    _challenge("remote_evaluation", Kind.BOOL, False),
    _challenge("is_docker_based", Kind.BOOL, False),
    _challenge("is_static_dataset_code_upload", Kind.BOOL, False),
    _challenge("is_registration_open", Kind.BOOL, True),
    _challenge("enable_forum", Kind.BOOL, True),
    _challenge("forum_url", Kind.TEXT),
    _challenge("anonymous_leaderboard", Kind.BOOL, False),
    _challenge("require_complete_profile", Kind.BOOL, False),
    _challenge("max_team_members", Kind.INT, None),
    _challenge("submission_time_limit", Kind.INT, 86400),
    _challenge("allowed_email_domains", Kind.LIST, []),
    _challenge("blocked_email_domains", Kind.LIST, []),
    _challenge("banned_email_ids", Kind.LIST, []),
    _challenge("allow_resuming_submissions", Kind.BOOL, False),
    _challenge("allow_host_cancel_submissions", Kind.BOOL, False),
    _challenge("allow_cancel_running_submissions", Kind.BOOL, False),
    _challenge("allow_participants_resubmissions", Kind.BOOL, False),
    _challenge("cli_version", Kind.TEXT),
    _challenge("challenge_usage_type", Kind.CHOICE, "paid", choices=("paid", "internal"),
               nullable=False),
    _challenge("max_docker_image_size", Kind.INT, 42949672960),
    _challenge("cpu_only_jobs", Kind.BOOL, False),
    _challenge("job_cpu_cores", Kind.TEXT, "2000m"),
    _challenge("job_memory", Kind.TEXT, "8Gi"),
    _challenge("uses_ec2_worker", Kind.BOOL, False),
    _challenge("ec2_storage", Kind.INT, 8),
    _challenge("ephemeral_storage", Kind.INT, 21),
    _challenge("worker_image_url", Kind.TEXT, ""),
    _challenge("worker_python_version", Kind.TEXT, "3.9"),
    _challenge("worker_instance_type", Kind.TEXT, "g4dn.xlarge"),
    _challenge("sqs_retention_period", Kind.INT, 345600),
    _challenge("use_fifo_sqs", Kind.BOOL, False, note="EvalAI refuses to change it once set"),
    # -- tags and domain: utils.add_tags_to_challenge / add_domain_to_challenge (zip, always)
    Field("tags", Scope.CHALLENGE, Kind.SET, Read.CHALLENGE, Write.TAGS_DOMAIN, [],
          api_key="list_tags", zip_sets=ZipSets.ALWAYS,
          note="EvalAI keeps tags in no fixed order: compared as a set"),
    Field("domain", Scope.CHALLENGE, Kind.CHOICE, Read.CHALLENGE, Write.TAGS_DOMAIN, None,
          zip_sets=ZipSets.ALWAYS, choices=DOMAINS),
    # -- prizes and sponsors: only the zip writes them; read by their own GETs
    Field("prizes", Scope.CHALLENGE, Kind.JSON, Read.PRIZES, Write.ZIP, [],
          note="rank, amount, description per prize; the zip adds and updates, never removes"),
    Field("sponsors", Scope.CHALLENGE, Kind.JSON, Read.SPONSORS, Write.ZIP, [],
          note="name, website per sponsor"),
    # -- a phase: ChallengePhaseCreateSerializer (zip + phase PATCH) ∩ ChallengePhaseSerializer
    _phase("name", Kind.TEXT, nullable=False),
    _phase("description", Kind.HTML),
    _phase("start_date", Kind.DATE),
    _phase("end_date", Kind.DATE),
    _phase("leaderboard_public", Kind.BOOL, False),
    _phase("is_public", Kind.BOOL, False),
    _phase("is_submission_public", Kind.BOOL, False),
    _phase("max_submissions_per_day", Kind.INT, DEFAULT_MAX_SUBMISSIONS),
    _phase("max_submissions_per_month", Kind.INT, DEFAULT_MAX_SUBMISSIONS,
           note="EvalAI's default; the sync reads the phase's max_submissions when absent"),
    _phase("max_submissions", Kind.INT, DEFAULT_MAX_SUBMISSIONS),
    _phase("max_concurrent_submissions_allowed", Kind.INT, 3),
    _phase("is_restricted_to_select_one_submission", Kind.BOOL, False),
    _phase("is_partial_submission_evaluation_enabled", Kind.BOOL, False),
    _phase("allowed_submission_file_types", Kind.TEXT, DEFAULT_FILE_TYPES),
    _phase("submission_meta_attributes", Kind.JSON, None, zip_sets=ZipSets.ALWAYS),
    _phase("default_submission_meta_attributes", Kind.JSON, None, zip_sets=ZipSets.ALWAYS),
    _phase("allowed_email_ids", Kind.LIST, []),
    _phase("disable_logs", Kind.BOOL, False),
    _phase("is_submission_paused", Kind.BOOL, False),
    _phase("submission_artifact_retention_policy", Kind.TEXT, "keep_forever"),
    # -- a phase split: keyed by (phase codename, dataset split codename)
    Field("visibility", Scope.PHASE_SPLIT, Kind.CHOICE, Read.SPLITS, Write.PHASE_SPLIT, 3,
          choices=VISIBILITIES, nullable=False, note="1 private, 2 host, 3 public"),
    Field("leaderboard_decimal_precision", Scope.PHASE_SPLIT, Kind.INT, Read.SPLIT_DETAIL,
          Write.PHASE_SPLIT, 2, nullable=False),
    Field("is_leaderboard_order_descending", Scope.PHASE_SPLIT, Kind.BOOL, Read.SPLIT_DETAIL,
          Write.PHASE_SPLIT, True, nullable=False),
    Field("show_leaderboard_by_latest_submission", Scope.PHASE_SPLIT, Kind.BOOL, Read.SPLITS,
          Write.PHASE_SPLIT, False, zip_sets=ZipSets.NEVER, nullable=False),
    Field("show_execution_time", Scope.PHASE_SPLIT, Kind.BOOL, Read.SPLITS, Write.PHASE_SPLIT,
          False, zip_sets=ZipSets.NEVER, nullable=False),
    Field("show_scores_on_leaderboard", Scope.PHASE_SPLIT, Kind.BOOL, Read.SPLITS,
          Write.PHASE_SPLIT, True, zip_sets=ZipSets.NEVER, nullable=False),
    # -- a leaderboard: keyed by its config id
    Field("schema", Scope.LEADERBOARD, Kind.SCHEMA, Read.SPLITS, Write.LEADERBOARD, None,
          api_key="leaderboard_schema",
          note="returned with each phase split that uses the leaderboard; PATCHed as a JSON string"),
    # -- a dataset split: keyed by its codename
    Field("name", Scope.DATASET_SPLIT, Kind.TEXT, Read.SPLITS, Write.DATASET_SPLIT, None,
          api_key="dataset_split_name", nullable=False),
)

# What only the zip carries and EvalAI never returns to a host: status shows these in a section
# of their own ("sent one way"), each with whether this repository changed it since the last push.
SENT_ONE_WAY: tuple[tuple[str, str], ...] = (
    ("evaluation_script", "the evaluation script (evaluation_script/)"),
    ("annotations", "the test annotation file of phase {}"),
    ("image", "the logo's bytes (image)"),
)

# Config keys EvalAI accepts and returns but that are not synced, and why.
NOT_SYNCED: dict[str, str] = {
    "manual_participant_approval": "returned, but neither the zip nor the challenge PATCH sets it",
    "slug": "EvalAI makes it from the title",
    "github_repository": "set from the upload's repository, not the config",
    "github_branch": "set from the upload's branch, not the config",
    "image": "the logo: sent one way",
    "evaluation_script": "sent one way",
}

_BY_SCOPE: dict[Scope, dict[str, Field]] = {}
for _f in FIELDS:
    _BY_SCOPE.setdefault(_f.scope, {})[_f.name] = _f
del _f

PHASE_PREFIX = "phases."
SPLIT_PREFIX = "splits."
LEADERBOARD_PREFIX = "leaderboards."
DATASET_SPLIT_PREFIX = "dataset_splits."


def fields(scope: Scope) -> dict[str, Field]:
    """The fields of ``scope``, by name, in catalogue order."""
    return _BY_SCOPE.get(scope, {})


def all_fields() -> Iterator[Field]:
    return iter(FIELDS)


# --------------------------------------------------------------------------- keys


def challenge_key(name: str) -> str:
    return name


def phase_key(codename: str, name: str) -> str:
    """``phases.<codename>.<name>``."""
    return f"{PHASE_PREFIX}{codename}.{name}"


def split_key(phase: str, dataset_split: str, name: str) -> str:
    """``splits.<phase codename>.<dataset split codename>.<name>``."""
    return f"{SPLIT_PREFIX}{phase}.{dataset_split}.{name}"


def leaderboard_key(config_id: int | str, name: str = "schema") -> str:
    """``leaderboards.<config id>.schema``."""
    return f"{LEADERBOARD_PREFIX}{config_id}.{name}"


def dataset_split_key(codename: str, name: str = "name") -> str:
    """``dataset_splits.<codename>.name``."""
    return f"{DATASET_SPLIT_PREFIX}{codename}.{name}"


@record(frozen=True)
class Key:
    """A parsed key: its field, and the identity of the object it belongs to."""

    field: Field
    scope: Scope
    ident: tuple[str, ...]  # () challenge; (codename,) phase / dataset split; (phase, split);
    # (config id,) leaderboard

    @property
    def name(self) -> str:
        return self.field.name


def parse_key(key: str) -> Key | None:
    """The field and object of ``key``; None for a key the catalogue does not know.

    Codenames may contain dots, so a phase key's codename is everything between the prefix and
    the last dot; a split key's phase and dataset split codenames are split at the first dot
    (phase codenames with dots are then ambiguous; EvalAI-Starters codenames have none).
    """
    head, sep, name = key.rpartition(".")
    if not sep:
        found = fields(Scope.CHALLENGE).get(key)
        return Key(found, Scope.CHALLENGE, ()) if found else None
    for prefix, scope in (
        (PHASE_PREFIX, Scope.PHASE),
        (SPLIT_PREFIX, Scope.PHASE_SPLIT),
        (LEADERBOARD_PREFIX, Scope.LEADERBOARD),
        (DATASET_SPLIT_PREFIX, Scope.DATASET_SPLIT),
    ):
        if head.startswith(prefix) and len(head) > len(prefix):
            spec = fields(scope).get(name)
            if spec is None:
                return None
            rest = head[len(prefix) :]
            if scope is Scope.PHASE_SPLIT:
                phase, dot, dsplit = rest.partition(".")
                if not dot or not dsplit:
                    return None
                return Key(spec, scope, (phase, dsplit))
            return Key(spec, scope, (rest,))
    return None


def field_of(key: str) -> Field | None:
    parsed = parse_key(key)
    return None if parsed is None else parsed.field


def is_text_key(key: str) -> bool:
    """An HTML-backed key (merged line by line when both sides edit it)."""
    spec = field_of(key)
    return spec is not None and spec.kind is Kind.HTML


def write_of(key: str) -> Write | None:
    spec = field_of(key)
    return None if spec is None else spec.write


# --------------------------------------------------------------------------- the README table

_KEY_PATTERN = {
    Scope.CHALLENGE: "{name}",
    Scope.PHASE: "phases.<codename>.{name}",
    Scope.PHASE_SPLIT: "splits.<phase>.<dataset split>.{name}",
    Scope.LEADERBOARD: "leaderboards.<id>.{name}",
    Scope.DATASET_SPLIT: "dataset_splits.<codename>.{name}",
}


def key_pattern(spec: Field) -> str:
    return _KEY_PATTERN[spec.scope].format(name=spec.name)


def readme_table() -> str:
    """The README's field table (Markdown), one row per catalogue field."""
    rows = [
        "| field | where it lives in the repository | read from EvalAI | written by |",
        "|---|---|---|---|",
    ]
    for spec in FIELDS:
        read = f"{spec.read.value} `{spec.json_key}`"
        if not spec.polled:
            read += " (watch: once a minute)"
        write = spec.write.value
        if spec.write is not Write.ZIP and spec.zip_sets is not ZipSets.NEVER:
            write += " (or the zip)"
        rows.append(f"| `{key_pattern(spec)}` | {spec.yaml_where} | {read} | {write} |")
    return "\n".join(rows) + "\n"

"""Challenge files <-> the synced fields, and the PATCH bodies that carry them to EvalAI.

A *snapshot* is ``{field key: normalised value}`` (see ARCHITECTURE.md, "Synced fields"):
``title`` ... for the challenge, ``phases.<codename>.<field>`` for a phase.  The repository's
snapshot comes from ``challenge_config.yaml`` and the HTML files it names (:func:`read_local`),
EvalAI's from its JSON (:func:`from_remote`); both are normalised the same way so that a config
pushed as it is and read back from EvalAI compares equal.  Absent optional fields count as
EvalAI's model defaults.

Everything that only the zip endpoint can change (leaderboards, splits, the set of phases, the
evaluation script, annotations, the logo, other keys) is kept as digests in
``LocalChallenge.structure``, so a sync can tell that a zip upload is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import source as source_mod
from .errors import ConfigError, SyncError
from .merge import MISSING
from .source import FileSource
from .values import format_date as format_date  # re-exported (sandbox)
from .values import norm_bool as _norm_bool
from .values import norm_date as _norm_date
from .values import norm_int as _norm_int
from .values import norm_text as _norm_text
from .values import parse_date

YamlPath = tuple[str | int, ...]

CHALLENGE_FIELDS: tuple[str, ...] = (
    "title",
    "short_description",
    "description",
    "evaluation_details",
    "terms_and_conditions",
    "submission_guidelines",
    "leaderboard_description",
    "start_date",
    "end_date",
    "published",
    "remote_evaluation",
    "is_docker_based",
)
PHASE_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "start_date",
    "end_date",
    "leaderboard_public",
    "is_public",
    "is_submission_public",
    "max_submissions_per_day",
    "max_submissions_per_month",
    "max_submissions",
    "is_restricted_to_select_one_submission",
    "is_partial_submission_evaluation_enabled",
    "allowed_submission_file_types",
)
HTML_CHALLENGE_FIELDS: tuple[str, ...] = (
    "description",
    "evaluation_details",
    "terms_and_conditions",
    "submission_guidelines",
)
PHASE_HTML_FIELD = "description"

DATE_FIELDS = frozenset({"start_date", "end_date"})
BOOL_FIELDS = frozenset(
    {
        "published",
        "remote_evaluation",
        "is_docker_based",
        "leaderboard_public",
        "is_public",
        "is_submission_public",
        "is_restricted_to_select_one_submission",
        "is_partial_submission_evaluation_enabled",
    }
)
INT_FIELDS = frozenset({"max_submissions_per_day", "max_submissions_per_month", "max_submissions"})

# EvalAI's model defaults (apps/challenges/models.py) for keys a config leaves out.
DEFAULT_FILE_TYPES = ".json, .zip, .txt, .tsv, .gz, .csv, .h5, .npy"
DEFAULT_MAX_SUBMISSIONS = 100000
CHALLENGE_DEFAULTS: dict[str, Any] = {
    "published": False,
    "remote_evaluation": False,
    "is_docker_based": False,
}
PHASE_DEFAULTS: dict[str, Any] = {
    "leaderboard_public": False,
    "is_public": False,
    "is_submission_public": False,
    "max_submissions_per_day": DEFAULT_MAX_SUBMISSIONS,
    "max_submissions": DEFAULT_MAX_SUBMISSIONS,
    # max_submissions_per_month: the phase's max_submissions when absent (see _phase_default)
    "is_restricted_to_select_one_submission": False,
    "is_partial_submission_evaluation_enabled": False,
    "allowed_submission_file_types": DEFAULT_FILE_TYPES,
}

# Top-level config keys whose content has its own structure digest (or is a synced field).
_STRUCTURE_KEYS = frozenset(
    {"leaderboard", "dataset_splits", "challenge_phase_splits", "challenge_phases", "image",
     "evaluation_script"}
)
_PHASE_PREFIX = "phases."
_MISSING_FILE = hashlib.sha256(b"\0evalai-mirror: no such file").hexdigest()


# --------------------------------------------------------------------------- keys


def phase_key(codename: str, field_name: str) -> str:
    """``phases.<codename>.<field>``."""
    return f"{_PHASE_PREFIX}{codename}.{field_name}"


def split_key(key: str) -> tuple[str | None, str]:
    """``"phases.dev.name"`` -> ``("dev", "name")``; ``"title"`` -> ``(None, "title")``."""
    if key.startswith(_PHASE_PREFIX):
        codename, sep, name = key[len(_PHASE_PREFIX) :].rpartition(".")
        if sep and codename:
            return codename, name
    return None, key


def is_text_key(key: str) -> bool:
    codename, name = split_key(key)
    if codename is None:
        return name in HTML_CHALLENGE_FIELDS
    return name == PHASE_HTML_FIELD


def text_keys(keys: Iterable[str]) -> set[str]:
    """The HTML-backed keys among ``keys``: the 4 challenge HTML fields and phase descriptions."""
    return {key for key in keys if is_text_key(key)}


# --------------------------------------------------------------------------- values


def normalise(field_name: str, value: Any) -> Any:
    """``value`` of ``field_name`` (a bare field or a full key) as a snapshot holds it.

    Dates -> UTC ``...Z`` strings (naive = UTC); text -> trimmed, CRLF as LF; booleans and limits
    -> bool / int where they clearly are one; None stays None.  Values that cannot be read as
    their type are returned as they are (validation reports them).
    """
    if value is None:
        return None
    name = split_key(field_name)[1]
    if name in DATE_FIELDS:
        return _norm_date(value)
    if name in BOOL_FIELDS:
        return _norm_bool(value)
    if name in INT_FIELDS:
        return _norm_int(value)
    return _norm_text(value)


def to_api_value(key: str, value: Any) -> Any:
    """A snapshot value as the PATCH body carries it (dates as ``...Z``)."""
    return normalise(key, value)


def patch_payloads(
    snapshot: Mapping[str, Any], keys: Iterable[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(challenge PATCH body, ``{codename: phase PATCH body}``) for ``keys`` of ``snapshot``.

    Keys the snapshot does not have are left out.
    """
    challenge_body: dict[str, Any] = {}
    phase_bodies: dict[str, dict[str, Any]] = {}
    for key in sorted(set(keys)):
        if key not in snapshot or snapshot[key] is MISSING:
            continue
        codename, name = split_key(key)
        value = to_api_value(key, snapshot[key])
        if codename is None:
            if name in CHALLENGE_FIELDS:
                challenge_body[name] = value
        elif name in PHASE_FIELDS:
            phase_bodies.setdefault(codename, {})[name] = value
    return challenge_body, phase_bodies


# --------------------------------------------------------------------------- EvalAI's side


def from_remote(challenge: Mapping[str, Any], phases: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The snapshot of EvalAI's side from the challenge GET and the phase list items."""
    snapshot: dict[str, Any] = {
        name: normalise(name, challenge.get(name)) for name in CHALLENGE_FIELDS
    }
    for phase in phases:
        codename = phase.get("codename")
        if codename is None:
            continue
        for name in PHASE_FIELDS:
            snapshot[phase_key(str(codename), name)] = normalise(name, phase.get(name))
    return snapshot


# --------------------------------------------------------------------------- the repository


@dataclass(frozen=True)
class Location:
    """Where a field lives: the config and its YAML path and line, or the HTML file."""

    path: str
    yaml_path: YamlPath | None
    line: int | None


@dataclass
class LocalChallenge:
    config_path: str
    fields: dict[str, Any]
    locations: dict[str, Location]
    phase_ids: dict[str, int]
    structure: dict[str, str]
    # HTML-backed keys: where the config names the file (YAML path), and the keys whose file
    # name is not (usably) in the config yet, so writing them must also write the name.
    html_refs: dict[str, YamlPath] = field(default_factory=dict)
    unreferenced: set[str] = field(default_factory=set)

    def files(self) -> set[str]:
        """The config and every file a field was read from: :attr:`fields` depend on these
        files alone, so a source with the same files has the same fields."""
        return {self.config_path, *(where.path for where in self.locations.values())}


def digest(value: Any) -> str:
    """A stable sha256 of a JSON-like value (dict order does not matter)."""
    text = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _file_digest(source: FileSource, path: str | None) -> str:
    """A file's identity for the structure digests: its git blob id, which a commit's tree
    gives without reading the file (annotation files can be large)."""
    found = source.file_id(path) if path is not None else None
    return _MISSING_FILE if found is None else found


class _Reader:
    """Reads one config and the files it names; remembers where each field lives."""

    def __init__(self, source: FileSource, config_path: str) -> None:
        self.source = source
        self.config_path = config_path
        self.fields: dict[str, Any] = {}
        self.locations: dict[str, Location] = {}
        self.html_refs: dict[str, YamlPath] = {}
        self.unreferenced: set[str] = set()
        self.lines: Any = None

    def load(self) -> dict[str, Any]:
        from . import yamlload

        raw = self.source.read(self.config_path)
        if raw is None:
            raise ConfigError(
                f"not found in the {self.source.label}",
                path=self.config_path,
                hint="run this in the challenge repository, or create challenge_config.yaml",
            )
        try:
            loaded = yamlload.load(raw)
        except UnicodeDecodeError:
            raise ConfigError(
                "is not UTF-8 text", path=self.config_path, hint="save the file as UTF-8"
            ) from None
        except yamlload.YamlSyntaxError as exc:
            raise ConfigError(
                f"is not valid YAML: {exc.server_message.strip()}",
                path=self.config_path,
                line=exc.line,
                hint="fix the syntax there, then run the command again",
            ) from None
        except ValueError as exc:  # e.g. an impossible date such as 2024-13-45 00:00:00
            raise ConfigError(
                f"has a value YAML cannot read ({exc})",
                path=self.config_path,
                hint="fix the value (dates are YYYY-MM-DD HH:MM:SS), then try again",
            ) from None
        if not isinstance(loaded.data, dict):
            raise ConfigError(
                "must be a mapping of keys to values (like `title: My challenge`), "
                f"not {_kind(loaded.data)}",
                path=self.config_path,
                line=1,
                hint="start from the EvalAI-Starters challenge_config.yaml",
            )
        self.lines = loaded
        return loaded.data

    def line(self, path: YamlPath) -> int | None:
        return None if self.lines is None else self.lines.line(path)

    def inside(self, ref: str, yaml_path: YamlPath, what: str) -> str:
        norm = source_mod.normalise(ref.strip())
        if norm is None:
            raise ConfigError(
                f"{what} `{ref}` points outside the repository",
                path=self.config_path,
                line=self.line(yaml_path),
                hint="use a path relative to the repository root, such as templates/x.html",
            )
        return norm

    def read_text(self, path: str) -> str | None:
        data = self.source.read(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ConfigError(
                "is not UTF-8 text", path=path, hint="save the file as UTF-8"
            ) from None

    def scalar(self, key: str, yaml_path: YamlPath, container: Mapping[str, Any],
               default: Any) -> None:
        name = yaml_path[-1]
        assert isinstance(name, str)
        value = normalise(name, container[name]) if name in container else default
        self.fields[key] = value
        self.locations[key] = Location(self.config_path, yaml_path, self.line(yaml_path))

    def html(self, key: str, yaml_path: YamlPath, container: Mapping[str, Any],
             default_path: str) -> None:
        ref = container.get(str(yaml_path[-1]))
        path, value = default_path, None
        usable = isinstance(ref, str) and ref.strip().endswith(".html")
        if isinstance(ref, str) and ref.strip():
            norm = self.inside(ref, yaml_path, str(yaml_path[-1]))
            if usable:
                path = norm
                text = self.read_text(norm)
                value = None if text is None else normalise(key, text)
        self.html_refs[key] = yaml_path
        if not usable:
            self.unreferenced.add(key)
        self.fields[key] = value
        self.locations[key] = Location(path, None, None)


def _kind(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    return f"a single {type(value).__name__} value"


def read_local(source: FileSource, config_path: str = "challenge_config.yaml") -> LocalChallenge:
    """The repository's snapshot, where each field lives, and the structure digests."""
    reader = _Reader(source, config_path)
    data = reader.load()
    for name in CHALLENGE_FIELDS:
        if name in HTML_CHALLENGE_FIELDS:
            reader.html(name, (name,), data, f"templates/{name}.html")
        else:
            reader.scalar(name, (name,), data, CHALLENGE_DEFAULTS.get(name))
    phase_ids: dict[str, int] = {}
    phases = data.get("challenge_phases")
    phase_list = phases if isinstance(phases, list) else []
    for index, phase in enumerate(phase_list):
        if not isinstance(phase, dict) or phase.get("codename") is None:
            continue
        codename = str(phase["codename"])
        if codename in phase_ids or phase_key(codename, "name") in reader.fields:
            continue  # a duplicate codename: validation reports it, the first one counts
        config_id = _norm_int(phase.get("id"))
        if isinstance(config_id, int) and not isinstance(config_id, bool):
            phase_ids[codename] = config_id
        for name in PHASE_FIELDS:
            key = phase_key(codename, name)
            where: YamlPath = ("challenge_phases", index, name)
            if name == PHASE_HTML_FIELD:
                default_path = f"templates/challenge_phase_{codename}_description.html"
                reader.html(key, where, phase, default_path)
            else:
                reader.scalar(key, where, phase, _phase_default(name, phase))
    try:
        structure = _structure(reader, data, phase_list)
    except ValueError:  # json: "Circular reference detected"
        raise ConfigError(
            "contains itself through a YAML alias (an `*alias` inside its own `&anchor`)",
            path=config_path,
            hint="replace that alias with a copy of what it names",
        ) from None
    return LocalChallenge(
        config_path=config_path,
        fields=reader.fields,
        locations=reader.locations,
        phase_ids=phase_ids,
        structure=structure,
        html_refs=reader.html_refs,
        unreferenced=reader.unreferenced,
    )


def _phase_default(name: str, phase: Mapping[str, Any]) -> Any:
    if name == "max_submissions_per_month":
        if "max_submissions" in phase:
            return normalise("max_submissions", phase["max_submissions"])
        return DEFAULT_MAX_SUBMISSIONS
    return PHASE_DEFAULTS.get(name)


def _structure(reader: _Reader, data: Mapping[str, Any], phases: list[Any]) -> dict[str, str]:
    source = reader.source
    structure = {
        "leaderboard": digest(data.get("leaderboard")),
        "dataset_splits": digest(data.get("dataset_splits")),
        "challenge_phase_splits": digest(data.get("challenge_phase_splits")),
    }
    phase_shapes = []
    for index, phase in enumerate(phases):
        if not isinstance(phase, dict):
            phase_shapes.append({"index": index, "entry": phase})
            continue
        rest = {k: v for k, v in phase.items() if k not in PHASE_FIELDS}
        phase_shapes.append(rest)
        ref = phase.get("test_annotation_file")
        codename = phase.get("codename")
        if isinstance(ref, str) and ref.strip() and codename is not None:
            where: YamlPath = ("challenge_phases", index, "test_annotation_file")
            path = reader.inside(ref, where, "test_annotation_file")
            structure.setdefault(f"annotations.{codename}", _file_digest(source, path))
    phase_shapes.sort(key=lambda item: json.dumps(item, sort_keys=True, default=str))
    structure["phases"] = digest(phase_shapes)
    script = hashlib.sha256()
    for path in source.list_files("evaluation_script"):
        script.update(path.encode("utf-8") + b"\0" + _file_digest(source, path).encode("ascii"))
    structure["evaluation_script"] = script.hexdigest()
    image = data.get("image")
    image_path = None
    if isinstance(image, str) and image.strip():
        image_path = reader.inside(image, ("image",), "image")
    structure["image"] = _file_digest(source, image_path)
    other = {
        k: v
        for k, v in data.items()
        if str(k) not in CHALLENGE_FIELDS and str(k) not in _STRUCTURE_KEYS
    }
    structure["other"] = digest({str(k): v for k, v in other.items()})
    return structure


# --------------------------------------------------------------------------- writing back


def _yaml_value(key: str, value: Any) -> Any:
    if split_key(key)[1] in DATE_FIELDS and isinstance(value, str):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    return value


def _html_bytes(value: Any, old: bytes | None) -> bytes:
    text = "" if value is None else str(value).replace("\r\n", "\n")
    eol = "\r\n" if old is not None and b"\r\n" in old else "\n"
    final_newline = old is None or old.endswith(b"\n") or not old
    if eol != "\n":
        text = text.replace("\n", eol)
    if text and final_newline:
        text += eol
    return text.encode("utf-8")


def render_local_changes(
    local: LocalChallenge, source: FileSource, changes: Mapping[str, Any]
) -> dict[str, bytes]:
    """The new full content of every file that must change for the working copy to carry
    ``changes`` (key -> normalised value).  YAML keys are edited surgically (yamledit), HTML
    keys rewrite the file the config names, keeping its line endings and final newline.
    """
    from .yamledit import set_scalars

    yaml_edits: dict[YamlPath, Any] = {}
    files: dict[str, bytes] = {}
    for key in sorted(changes):
        value = changes[key]
        location = local.locations.get(key)
        if location is None or value is MISSING:
            codename, _ = split_key(key)
            what = f"phase `{codename}`" if codename else f"`{key}`"
            raise SyncError(
                f"{key}: {what} exists on one side only, which only a zip upload can change",
                hint="add or remove the phase in challenge_config.yaml, then push",
            )
        if location.yaml_path is not None:
            yaml_edits[location.yaml_path] = _yaml_value(key, value)
            continue
        new = _html_bytes(value, source.read(location.path))
        if location.path in files and files[location.path] != new:
            raise SyncError(
                f"{key}: {location.path} holds two fields that would get different text",
                hint="give each field its own HTML file in challenge_config.yaml",
            )
        files[location.path] = new
        if key in local.unreferenced:
            yaml_edits[local.html_refs[key]] = location.path
    files = {path: data for path, data in files.items() if source.read(path) != data}
    for other, where in sorted(local.locations.items()):
        if other in changes or other in local.unreferenced or where.path not in files:
            continue
        if where.yaml_path is None and normalise(other, files[where.path].decode("utf-8")) != (
            local.fields.get(other)
        ):
            raise SyncError(
                f"{where.path} also holds {other}, which would change too; nothing was written",
                hint="give each field its own HTML file in challenge_config.yaml, then try again",
            )
    if yaml_edits:
        raw = source.read(local.config_path)
        if raw is None:
            raise ConfigError(
                f"not found in the {source.label}",
                path=local.config_path,
                hint="restore challenge_config.yaml, then try again",
            )
        text = raw.decode("utf-8")
        new_text = set_scalars(text, yaml_edits, filename=local.config_path)
        if new_text != text:
            files[local.config_path] = new_text.encode("utf-8")
    return files

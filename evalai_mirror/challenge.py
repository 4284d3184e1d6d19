"""Challenge files <-> the synced fields.

A *snapshot* is ``{field key: normalised value}`` for every field of the catalogue
(``catalogue.py``: the keys, where each field lives, how it compares).  The repository's snapshot
comes from ``challenge_config.yaml`` and the HTML files it names (:func:`read_local`), EvalAI's
from its JSON (``remote.py``); both go through the same normalisers (``values.py``) so that a
config pushed as it is and read back from EvalAI compares equal.  A key the config lacks counts
as EvalAI's model default (and is not in :attr:`LocalChallenge.explicit`).

What only the zip can change (adding or removing phases, leaderboards, dataset splits or phase
splits, the evaluation script, annotation files, the logo, keys that are not fields) is kept as
digests in ``LocalChallenge.structure``, so that a sync can tell that a zip upload is needed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from evalai_mirror.records import field, record

from . import catalogue as cat
from . import source as source_mod
from .catalogue import Kind, Scope
from .errors import ConfigError
from .source import FileSource
from .values import format_date as format_date  # re-exported (sandbox)
from .values import norm_int as _norm_int
from .values import normalise as _normalise_value

YamlPath = tuple[str | int, ...]

CHALLENGE_FIELDS: tuple[str, ...] = tuple(cat.fields(Scope.CHALLENGE))
PHASE_FIELDS: tuple[str, ...] = tuple(cat.fields(Scope.PHASE))
SPLIT_FIELDS: tuple[str, ...] = tuple(cat.fields(Scope.PHASE_SPLIT))

# Top-level config keys whose content has its own structure digest (or is a synced field).
_STRUCTURE_KEYS = frozenset(
    {"leaderboard", "dataset_splits", "challenge_phase_splits", "challenge_phases", "image",
     "evaluation_script"}
)
_MISSING_FILE = hashlib.sha256(b"\0evalai-mirror: no such file").hexdigest()
# Top-level config keys whose value EvalAI's challenge GET returns (and only that GET).
_CHALLENGE_GET_KEYS = frozenset(
    name for name, spec in cat.fields(Scope.CHALLENGE).items() if spec.read is cat.Read.CHALLENGE
)


# --------------------------------------------------------------------------- keys

phase_key = cat.phase_key


def split_key(key: str) -> tuple[str | None, str]:
    """The group a key is shown under and its field name: ``"phases.dev.name"`` ->
    ``("dev", "name")``, ``"splits.dev.train.visibility"`` -> ``("split dev/train",
    "visibility")``, ``"title"`` -> ``(None, "title")``."""
    parsed = cat.parse_key(key)
    if parsed is None or parsed.scope is Scope.CHALLENGE:
        return None, key
    if parsed.scope is Scope.PHASE:
        return parsed.ident[0], parsed.name
    label = {
        Scope.PHASE_SPLIT: "split",
        Scope.LEADERBOARD: "leaderboard",
        Scope.DATASET_SPLIT: "dataset split",
    }[parsed.scope]
    return f"{label} {'/'.join(parsed.ident)}", parsed.name


def group_prefix(key: str) -> str:
    """``phases.dev.`` for ``phases.dev.name``: what the rows of one group share."""
    return key[: key.rfind(".") + 1] if "." in key else ""


is_text_key = cat.is_text_key


def text_keys(keys: Iterable[str]) -> set[str]:
    """The HTML-backed keys among ``keys`` (merged line by line when both sides edit them)."""
    return {key for key in keys if cat.is_text_key(key)}


def from_remote(
    challenge: Mapping[str, Any], phases: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """EvalAI's snapshot of the challenge and phase fields (``remotemodel.snapshot`` reads
    the rest)."""
    from .remotemodel import snapshot

    return snapshot(challenge=challenge, phases=phases)[0]


def field_write(key: str) -> cat.Write | None:
    """The narrowest request that writes ``key`` (None: not a catalogue field)."""
    spec = cat.field_of(key)
    return None if spec is None else spec.write


def zip_sets(key: str, local: LocalChallenge) -> bool:
    """Whether the zip upload of ``local`` sets ``key`` on EvalAI (a key the config lacks
    keeps EvalAI's value, except those the zip always resets)."""
    spec = cat.field_of(key)
    if spec is None or spec.zip_sets is cat.ZipSets.NEVER:
        return False
    return spec.zip_sets is cat.ZipSets.ALWAYS or key in local.explicit


def top_level_blocks(text: str) -> dict[str, str]:
    """The config's text cut at its top-level keys, read as lines (no YAML): {key: its
    lines}; comment and blank lines go with the key above them ("" before the first)."""
    blocks: dict[str, list[str]] = {}
    key = ""
    for line in text.splitlines():
        if line[:1] not in ("", " ", "\t", "#", "-", ".") and ":" in line:
            key = line.split(":", 1)[0].strip().strip("'\"")
        blocks.setdefault(key, []).append(line)
    return {name: "\n".join(lines) for name, lines in blocks.items()}


def edits_only_challenge_keys(before: str, after: str) -> bool:
    """Whether the config text ``after`` differs from ``before`` only in top-level keys that
    EvalAI's challenge GET returns (and in at least one): a guess, made without YAML, that a
    push of ``after`` reads the challenge and nothing else.  A wrong guess costs time or one
    GET, never a wrong result."""
    old, new = top_level_blocks(before), top_level_blocks(after)
    changed = {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}
    return bool(changed) and changed <= _CHALLENGE_GET_KEYS


def challenge_html_files(text: str) -> list[str]:
    """The files the config text names for the challenge's own HTML fields (its description,
    evaluation details...), read as lines (no YAML): a field the config leaves out names its
    default file, one whose value is not a plain one-line path names none.  A guess for
    :func:`edits_only_challenge_keys`' use, never for what a push sends."""
    blocks = top_level_blocks(text)
    found = []
    for name, spec in cat.fields(Scope.CHALLENGE).items():
        if spec.kind is not Kind.HTML or spec.read is not cat.Read.CHALLENGE:
            continue
        block = blocks.get(name)
        if block is None:
            path = spec.html_default
        else:
            value = block.split("\n", 1)[0].split(":", 1)[1].split(" #", 1)[0].strip()
            plain = value[:1] not in ("", "|", ">", "&", "*", "!", "[", "{")
            path = value.strip("'\"") if plain else None
        norm = None if path is None else source_mod.normalise(path)
        if norm is not None:
            found.append(norm)
    return found


def field_read(key: str) -> cat.Read | None:
    """The GET that returns ``key`` (None: not a catalogue field)."""
    spec = cat.field_of(key)
    return None if spec is None else spec.read


def fill_base(
    base: Mapping[str, Any], local: LocalChallenge, remote: Mapping[str, Any], keys: Iterable[str]
) -> dict[str, Any]:
    """``base`` with a value for the keys it does not know yet (fields a newer version syncs):
    the repository's when the config leaves the key to its default or both sides agree (so
    an EvalAI-side value shows as "changed on EvalAI"), else none (a conflict to resolve)."""
    out = dict(base)
    for key in keys:
        if key in out or key not in local.fields or key not in remote:
            continue
        here = local.fields[key]
        if key not in local.explicit or (key in remote and remote[key] == here):
            out[key] = here
    return out


def normalise(key: str, value: Any) -> Any:
    """``value`` of ``key`` (a full key, or a challenge or phase field name) as a snapshot
    holds it.  Unknown keys are normalised as text."""
    spec = cat.field_of(key) or cat.fields(Scope.PHASE).get(key)
    if spec is None:
        spec = cat.fields(Scope.CHALLENGE)["title"]
    return _normalise_value(spec, value)


# --------------------------------------------------------------------------- the repository


@record(frozen=True)
class Location:
    """Where a field lives: the config and its YAML path and line, or the HTML file."""

    path: str
    yaml_path: YamlPath | None
    line: int | None


@record
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
    dataset_split_ids: dict[str, int] = field(default_factory=dict)  # codename -> config id
    # the keys the config sets (the rest hold their default)
    explicit: set[str] = field(default_factory=set)

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
        self.explicit: set[str] = set()
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
        except yamlload.YamlLimitError as exc:
            raise ConfigError(
                f"cannot be read safely: {exc.server_message.strip()}",
                path=self.config_path,
                line=exc.line,
                hint="simplify it there, then run the command again",
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
               spec: cat.Field, default: Any) -> None:
        name = yaml_path[-1]
        assert isinstance(name, str)
        if name in container:
            value = _normalise_value(spec, container[name])
            self.explicit.add(key)
        else:
            value = default
        self.fields[key] = value
        self.locations[key] = Location(self.config_path, yaml_path, self.line(yaml_path))

    def one(self, spec: cat.Field, key: str, node: YamlPath, container: Mapping[str, Any],
            html_default: str | None = None, default: Any = None) -> None:
        where: YamlPath = (*node, spec.name)
        if spec.kind is Kind.HTML:
            self.html(key, where, container, html_default or str(spec.html_default))
        else:
            self.scalar(key, where, container, spec, spec.default if default is None else default)

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
                self.explicit.add(key)
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
    for spec in cat.fields(Scope.CHALLENGE).values():
        reader.one(spec, spec.name, (), data)
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
        for spec in cat.fields(Scope.PHASE).values():
            html = f"templates/challenge_phase_{codename}_description.html"
            reader.one(spec, phase_key(codename, spec.name), ("challenge_phases", index), phase,
                       html, _phase_default(spec, phase))
    split_codenames = _read_parts(reader, data, phase_ids)
    from .remotemodel import local_prizes, local_sponsors

    reader.fields["prizes"] = local_prizes(reader.fields.get("prizes"))
    reader.fields["sponsors"] = local_sponsors(reader.fields.get("sponsors"))
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
        explicit=reader.explicit,
        dataset_split_ids=split_codenames,
    )


def _entries(data: Mapping[str, Any], key: str) -> list[tuple[int, dict[str, Any]]]:
    found = data.get(key)
    items = found if isinstance(found, list) else []
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)]


def _config_id(entry: Mapping[str, Any], key: str = "id") -> int | None:
    value = _norm_int(entry.get(key))
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_parts(reader: _Reader, data: Mapping[str, Any], phase_ids: dict[str, int]) -> dict[str, int]:
    """Dataset split names, leaderboard schemas and phase split fields; the dataset split
    codename -> config id map."""
    splits: dict[str, int] = {}
    for index, entry in _entries(data, "dataset_splits"):
        codename = entry.get("codename")
        config_id = _config_id(entry)
        if codename is None or str(codename) in splits:
            continue
        if config_id is not None:
            splits[str(codename)] = config_id
        for spec in cat.fields(Scope.DATASET_SPLIT).values():
            reader.one(spec, cat.dataset_split_key(str(codename), spec.name),
                       ("dataset_splits", index), entry)
    for index, entry in _entries(data, "leaderboard"):
        config_id = _config_id(entry)
        if config_id is None or cat.leaderboard_key(config_id) in reader.fields:
            continue
        for spec in cat.fields(Scope.LEADERBOARD).values():
            reader.one(spec, cat.leaderboard_key(config_id, spec.name), ("leaderboard", index),
                       entry)
    phase_by_id = {config_id: codename for codename, config_id in phase_ids.items()}
    split_by_id = {config_id: codename for codename, config_id in splits.items()}
    for index, entry in _entries(data, "challenge_phase_splits"):
        phase = phase_by_id.get(_config_id(entry, "challenge_phase_id") or -1)
        dsplit = split_by_id.get(_config_id(entry, "dataset_split_id") or -1)
        if phase is None or dsplit is None or cat.split_key(phase, dsplit, "visibility") in (
            reader.fields
        ):
            continue
        for spec in cat.fields(Scope.PHASE_SPLIT).values():
            reader.one(spec, cat.split_key(phase, dsplit, spec.name),
                       ("challenge_phase_splits", index), entry)
    return splits


def _phase_default(spec: cat.Field, phase: Mapping[str, Any]) -> Any:
    if spec.name == "max_submissions_per_month" and "max_submissions" in phase:
        return _normalise_value(spec, phase["max_submissions"])
    return None


def _without(entry: Any, names: Iterable[str]) -> Any:
    if not isinstance(entry, dict):
        return entry
    drop = set(names)
    return {str(k): v for k, v in entry.items() if str(k) not in drop}


def _structure(reader: _Reader, data: Mapping[str, Any], phases: list[Any]) -> dict[str, str]:
    source = reader.source
    structure = {
        name: digest([_without(e, cat.fields(scope)) for e in _list(data.get(name))])
        for name, scope in (
            ("leaderboard", Scope.LEADERBOARD),
            ("dataset_splits", Scope.DATASET_SPLIT),
            ("challenge_phase_splits", Scope.PHASE_SPLIT),
        )
    }
    phase_shapes = []
    for index, phase in enumerate(phases):
        if not isinstance(phase, dict):
            phase_shapes.append({"index": index, "entry": phase})
            continue
        rest = _without(phase, PHASE_FIELDS)
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




def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


# --------------------------------------------------------------------------- writing back


def render_local_changes(
    local: LocalChallenge, source: FileSource, changes: Mapping[str, Any]
) -> dict[str, bytes]:
    """See :func:`evalai_mirror.writeback.render_local_changes`."""
    from .writeback import render_local_changes as render

    return render(local, source, changes)

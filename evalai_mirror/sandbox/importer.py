"""A validated challenge zip -> the challenge, its phases, leaderboards and splits, as EvalAI
creates or updates them (create_or_update_github_challenge).

Matching on update is by config ids (phases, leaderboards, dataset splits) and by the triple of
config ids (phase splits); fields the config leaves out keep their current values.
"""

from __future__ import annotations

import io
import posixpath
import re
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

from evalai_mirror.sandbox import fields, render
from evalai_mirror.sandbox.dates import config_datetime, now_text
from evalai_mirror.sandbox.store import Store
from evalai_mirror.source import MappingSource
from evalai_mirror.validate import CONFIG_NAMES
from evalai_mirror.yamlload import safe_load

HTML_KEYS = ("description", "evaluation_details", "terms_and_conditions", "submission_guidelines")
_IMAGE_EXTS = (".jpg", ".jpeg", ".png")


def read_zip(data: bytes) -> tuple[dict[str, Any], MappingSource]:
    """The parsed config and the zip's files (already validated by the caller)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = MappingSource(
            {
                info.filename: archive.read(info)
                for info in archive.infolist()
                if not info.is_dir() and not info.filename.startswith("__MACOSX")
            }
        )
    name = next(n for n in CONFIG_NAMES if files.is_file(n))
    config = safe_load(files.files[name])
    return (config if isinstance(config, dict) else {}), files


def slug_for(title: str, pk: int) -> str:
    """EvalAI's challenge slug: runs of anything but [0-9a-z] become one dash, then ``-pk``."""
    return re.sub(r"[^0-9a-z]+", "-", title.lower()) + f"-{pk}"


def _file_text(files: MappingSource, path: Any) -> str | None:
    data = files.read(path) if isinstance(path, str) else None
    if data is None:
        return None
    return data.decode("utf-8", errors="replace").strip()


def _overlay(doc: dict[str, Any], values: dict[str, Any], specs: dict[str, fields.Field]) -> None:
    """Config values through the same conversions as the serializer; bad ones are skipped."""
    for key, value in values.items():
        spec = specs.get(key)
        if spec is None:
            continue
        if spec.kind == "datetime":
            converted = config_datetime(value)
            if converted is not None or value is None:
                doc[key] = converted
            continue
        try:
            doc[key] = fields.convert(value, spec)
        except fields.FieldError:
            continue


def _as_int(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


class PartialUpdate(Exception):
    """EvalAI's zip update stops here: the challenge's fields, tags and domain are saved, the
    rest is not (it reads an unset variable when the config's first sponsor already exists)."""


def extras(store: Store, pk: int, config: dict[str, Any]) -> None:
    """Tags and domain as EvalAI's zip view sets them: tags the config drops go, new ones are
    added after the kept ones; no ``tags`` clears them, no ``domain`` clears it."""
    doc = store.get("challenge", pk) or {}
    new = config.get("tags")
    if isinstance(new, list):
        kept = [tag for tag in doc.get("list_tags") or [] if tag in new]
        doc["list_tags"] = kept + [tag for tag in dict.fromkeys(new) if tag not in kept]
    else:
        doc["list_tags"] = []
    domain = config.get("domain")
    doc["domain"] = domain if domain in render.DOMAINS else None
    store.put("challenge", pk, doc)


def _first_sponsor_exists(store: Store, pk: int, config: dict[str, Any]) -> bool:
    sponsors = config.get("sponsors")
    doc = store.get("challenge", pk) or {}
    if not isinstance(sponsors, list) or not sponsors or not isinstance(sponsors[0], dict):
        return False
    return any(s.get("name") == sponsors[0].get("name") for s in doc.get("_sponsors") or [])


def sponsors_and_prizes(store: Store, pk: int, config: dict[str, Any]) -> None:
    """``has_sponsors`` / ``has_prize`` and the lists behind EvalAI's prizes and sponsors
    endpoints: sponsors by name (those the config drops go), prizes by rank (kept)."""
    doc = store.get("challenge", pk) or {}
    sponsors = [s for s in config.get("sponsors") or [] if isinstance(s, dict)]
    if "sponsors" in config:
        doc["_sponsors"] = [
            {"name": str(s.get("name")), "website": str(s.get("website", ""))} for s in sponsors
        ]
        doc["has_sponsors"] = doc.get("has_sponsors", False) or bool(sponsors)
    else:
        doc["has_sponsors"] = False
    prizes = [p for p in config.get("prizes") or [] if isinstance(p, dict)]
    if "prizes" in config:
        by_rank = {p["rank"]: p for p in doc.get("_prizes") or []}
        for prize in prizes:
            by_rank[prize.get("rank")] = {
                "amount": str(prize.get("amount")),
                "rank": prize.get("rank"),
                "description": str(prize.get("description", "")),
            }
        doc["_prizes"] = list(by_rank.values())
        doc["has_prize"] = doc.get("has_prize", False) or bool(prizes)
    else:
        doc["has_prize"] = False
    store.put("challenge", pk, doc)


class Importer:
    def __init__(self, store: Store) -> None:
        self.store = store

    def apply(
        self,
        *,
        team_pk: int,
        repository: str,
        data: bytes,
        parsed: tuple[dict[str, Any], MappingSource],
        existing_pk: int | None,
    ) -> tuple[int, str]:
        """Create (``existing_pk`` None) or update the challenge from the zip ``data``, which
        :func:`read_zip` ``parsed``; returns (pk, title)."""
        config, files = parsed
        with self.store.transaction():
            pk = self._challenge(team_pk, repository, config, files, existing_pk)
            title = str(self.store.get("challenge", pk)["title"])  # type: ignore[index]
            extras(self.store, pk, config)
            stopped = existing_pk is not None and _first_sponsor_exists(self.store, pk, config)
            if not stopped:
                sponsors_and_prizes(self.store, pk, config)
                leaderboards = self._leaderboards(pk, config)
                splits = self._dataset_splits(pk, config)
                phases = self._phases(pk, title, config, files)
                self._phase_splits(pk, config, phases, splits, leaderboards)
                self.store.put_blob("config_zip", pk, data)
        if stopped:
            raise PartialUpdate(pk)
        return pk, title

    # -- the challenge --------------------------------------------------------------------
    def _challenge(
        self,
        team_pk: int,
        repository: str,
        config: dict[str, Any],
        files: MappingSource,
        existing_pk: int | None,
    ) -> int:
        existing = None if existing_pk is None else self.store.get("challenge", existing_pk)
        doc: dict[str, Any]
        if existing is None:
            doc = {k: v for k, v in render.CHALLENGE_DEFAULTS.items() if k != "creator"}
            doc.update(_team=team_pk, github_repository=repository, created_at=now_text())
        else:
            doc = existing
        values = {k: v for k, v in config.items() if k not in HTML_KEYS}
        _overlay(doc, values, fields.CHALLENGE_FIELDS)
        for key in HTML_KEYS:
            if key in config:
                doc[key] = _file_text(files, config[key])
        image = config.get("image")
        logo: bytes | None = None
        if isinstance(image, str) and image.lower().endswith(_IMAGE_EXTS):
            logo = files.read(image)
            if logo is not None:
                ext = posixpath.splitext(image)[1].lower()
                doc["image"] = f"/media/logos/{uuid.uuid4()}{ext}"
        if existing is None:
            pk = self.store.insert("challenge", None, doc)
            doc["slug"] = slug_for(str(doc["title"]), pk)
            doc["queue"] = f"{doc['slug']}-dev-{uuid.uuid4()}"
        else:
            pk = int(doc["id"])
            doc["slug"] = slug_for(str(doc["title"]), pk)
        self.store.put("challenge", pk, doc)
        if logo is not None:
            self.store.put_blob("logo", pk, logo)
        return pk

    # -- leaderboards and dataset splits --------------------------------------------------
    def _by_config_id(self, kind: str, pk: int) -> dict[Any, dict[str, Any]]:
        return {doc["config_id"]: doc for doc in self.store.children(kind, pk)}

    def _leaderboards(self, pk: int, config: dict[str, Any]) -> dict[Any, int]:
        return self._by_entry(
            "leaderboard", pk, config.get("leaderboard"), lambda e: {"schema": e.get("schema")}
        )

    def _dataset_splits(self, pk: int, config: dict[str, Any]) -> dict[Any, int]:
        return self._by_entry(
            "dataset_split",
            pk,
            config.get("dataset_splits"),
            lambda e: {key: str(e.get(key, "")).strip() for key in ("name", "codename")},
        )

    def _by_entry(
        self,
        kind: str,
        pk: int,
        entries: Any,
        values: Callable[[dict[str, Any]], dict[str, Any]],
    ) -> dict[Any, int]:
        """One ``kind`` document per config entry with an ``id`` (matched on it, created when
        new), its fields set to ``values(entry)``; returns {config id: pk}."""
        current = self._by_config_id(kind, pk)
        result: dict[Any, int] = {}
        for entry in entries or []:
            if not isinstance(entry, dict) or "id" not in entry:
                continue
            config_id = _as_int(entry["id"])
            doc = current.get(config_id) or {"config_id": config_id}
            doc.update(values(entry))
            if "id" in doc:
                self.store.put(kind, doc["id"], doc)
            else:
                self.store.insert(kind, pk, doc)
            result[config_id] = int(doc["id"])
        return result

    # -- phases ---------------------------------------------------------------------------
    def _phases(
        self, pk: int, title: str, config: dict[str, Any], files: MappingSource
    ) -> dict[Any, int]:
        current = self._by_config_id("phase", pk)
        result: dict[Any, int] = {}
        prefix = (title.split(" ")[0] if title else "").lower()
        for entry in config.get("challenge_phases") or []:
            if not isinstance(entry, dict) or "id" not in entry:
                continue
            config_id = _as_int(entry["id"])
            existing = current.get(config_id)
            doc = existing or {**render.PHASE_DEFAULTS, "challenge": pk, "config_id": config_id}
            values = {k: v for k, v in entry.items() if k not in ("description", "id")}
            for key in ("submission_meta_attributes", "default_submission_meta_attributes"):
                values.setdefault(key, None)  # the view sets an absent one to None
            if "max_submissions_per_month" not in entry and "max_submissions" in entry:
                values["max_submissions_per_month"] = entry["max_submissions"]
            _overlay(doc, values, fields.PHASE_FIELDS)
            doc["description"] = _file_text(files, entry.get("description"))
            annotation = entry.get("test_annotation_file")
            if (
                isinstance(annotation, str)
                and files.is_file(annotation)
                and not doc.get("annotations_uploaded_using_cli")
            ):
                ext = posixpath.splitext(annotation)[1]
                doc["test_annotation"] = f"/media/test_annotations/{uuid.uuid4()}{ext}"
            doc["slug"] = f"{prefix}-{doc.get('codename', '')}-{pk}"
            if existing is None:
                self.store.insert("phase", pk, doc)
            else:
                self.store.put("phase", doc["id"], doc)
            result[config_id] = int(doc["id"])
        return result

    def _phase_splits(
        self,
        pk: int,
        config: dict[str, Any],
        phases: dict[Any, int],
        splits: dict[Any, int],
        leaderboards: dict[Any, int],
    ) -> None:
        current = {
            (doc["challenge_phase"], doc["leaderboard"], doc["dataset_split"]): doc
            for doc in self.store.children("phase_split", pk)
        }
        for entry in config.get("challenge_phase_splits") or []:
            if not isinstance(entry, dict):
                continue
            phase_pk = phases.get(_as_int(entry.get("challenge_phase_id")))
            board_pk = leaderboards.get(_as_int(entry.get("leaderboard_id")))
            split_pk = splits.get(_as_int(entry.get("dataset_split_id")))
            if phase_pk is None or board_pk is None or split_pk is None:
                continue
            doc = current.get((phase_pk, board_pk, split_pk)) or {
                "challenge_phase": phase_pk,
                "leaderboard": board_pk,
                "dataset_split": split_pk,
            }
            # The zip reads these three of a split and nothing else (the show_* flags are
            # changed by a PATCH only).
            for key in ("visibility", "leaderboard_decimal_precision", "is_leaderboard_order_descending"):
                if key in entry:
                    doc[key] = entry[key]
            if "id" in doc:
                self.store.put("phase_split", doc["id"], doc)
            else:
                self.store.insert("phase_split", pk, doc)

"""Rules for ``leaderboard``, ``dataset_splits`` and ``challenge_phase_splits`` (which must name
a leaderboard, phase and dataset split that passed their own checks)."""

from __future__ import annotations

from typing import Any

from evalai_mirror.validate.base import CheckerBase, hashable_or_crash, iterate
from evalai_mirror.validate.drf import errors_repr, serializer_errors
from evalai_mirror.validate.serializers import (
    DATASET_SPLIT_FIELDS,
    LEADERBOARD_FIELDS,
    PHASE_SPLIT_FIELDS,
)

DUPLICATE_SPLIT = (
    "ERROR: Duplicate combinations of leaderboard_id {}, challenge_phase_id {} and "
    "dataset_split_id {} found in challenge phase splits."
)
SPLIT_KEYS = (
    "is_leaderboard_order_descending",
    "leaderboard_decimal_precision",
    "visibility",
    "dataset_split_id",
    "leaderboard_id",
    "challenge_phase_id",
)


class SplitRules(CheckerBase):
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
        for index, board in enumerate(iterate(self, boards)):
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

    # -- dataset splits -----------------------------------------------------------------------
    def dataset_splits(self) -> None:
        self.at = ("dataset_splits",)
        splits = self.data.get("dataset_splits")
        if not splits:
            self.add("ERROR: There is no key for dataset splits.")
            return
        codenames: list[Any] = []
        entries = list(iterate(self, splits))
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
                hashable_or_crash(self, codename, "codename")
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
            hashable_or_crash(
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
            self.add(DUPLICATE_SPLIT, where)
            for combination in duplicates:
                self.add(DUPLICATE_SPLIT.format(*combination), where)
        if not entries:
            self.add("ERROR: There is no key for challenge phase splits.")
            return
        number = 1
        for index, entry in enumerate(entries):
            self.at = ("challenge_phase_splits", index)
            missing = [k for k in SPLIT_KEYS if k not in entry]
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

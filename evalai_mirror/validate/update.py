"""Update-only rules: they need the configuration EvalAI holds for the existing challenge."""

from __future__ import annotations

from typing import Any

from evalai_mirror.validate.drf import errors_repr


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

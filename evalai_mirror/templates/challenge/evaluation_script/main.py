"""Score a submission: the accuracy of its predictions against the phase's annotation file.

EvalAI calls ``evaluate(test_annotation_file, user_submission_file, phase_codename, **kwargs)``
for every submission (``kwargs["submission_metadata"]`` describes it) and shows what it returns
on the leaderboard. The metric names must be the ``labels`` of the leaderboard schema in
challenge_config.yaml, and the split codenames the ``dataset_splits`` codenames.

Annotation files hold ``{"labels": [...]}``; a submission holds ``{"predictions": [...]}``,
one prediction per label, in the same order. Keep this file compatible with the Python version
of EvalAI's workers (3.7 or later).
"""

from __future__ import annotations

import json
from typing import Any

# Which dataset split each phase (by codename) is evaluated on.
SPLIT_BY_PHASE = {"dev": "dev_split", "test": "test_split"}


def _load_list(path: str, key: str) -> list[Any]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ValueError(f'{path} must be a JSON object with a "{key}" list')
    values: list[Any] = data[key]
    return values


def score(labels: list[Any], predictions: list[Any]) -> dict[str, float]:
    """Accuracy (in percent) and the number of correct predictions."""
    if len(predictions) != len(labels):
        raise ValueError(
            f"the submission has {len(predictions)} predictions; {len(labels)} are expected"
        )
    correct = sum(1 for i, label in enumerate(labels) if predictions[i] == label)
    accuracy = 100.0 * correct / len(labels) if labels else 0.0
    return {"Accuracy": accuracy, "Correct": float(correct)}


def evaluate(
    test_annotation_file: str, user_submission_file: str, phase_codename: str, **kwargs: Any
) -> dict[str, Any]:
    split = SPLIT_BY_PHASE[phase_codename]
    labels = _load_list(test_annotation_file, "labels")
    predictions = _load_list(user_submission_file, "predictions")
    result = [{split: score(labels, predictions)}]
    return {"result": result, "submission_result": result[0]}

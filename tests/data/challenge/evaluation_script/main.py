"""Gives every submission the same fixed metrics on each split its phase is scored on."""

PHASE_SPLITS = {"dev": ["train_split"], "test": ["train_split", "test_split"]}
FIXED = {"Metric1": 1, "Metric2": 2, "Metric3": 3, "Total": 6}


def evaluate(test_annotation_file, user_submission_file, phase_codename, **kwargs):
    result = [{split: dict(FIXED)} for split in PHASE_SPLITS[phase_codename]]
    return {"result": result, "submission_result": result[0]}

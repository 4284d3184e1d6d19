"""A corpus of broken challenge configurations, each an edit of the EvalAI-Starters fixture.

Every case names the edit, EvalAI's exact messages (byte for byte, in the server's order) and
the line each one points at.  Edits replace whole lines so that the fixture's line numbers stay
valid; ``L(n)`` in a comment is the fixture's line n.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evalai_mirror.source import WorkTreeSource
from evalai_mirror.validate import Problem, validate_source

Edit = Callable[[Path], None]


def line(number: int, new: str, *, expect: str | None = None) -> Edit:
    """Replace line ``number`` (1-based) of challenge_config.yaml with ``new``."""

    def apply(root: Path) -> None:
        config = root / "challenge_config.yaml"
        lines = config.read_text().split("\n")
        if expect is not None:
            assert expect in lines[number - 1], (number, lines[number - 1])
        lines[number - 1] = new
        config.write_text("\n".join(lines))

    return apply


def drop(number: int, expect: str) -> Edit:
    """Comment out line ``number`` (the key disappears; the numbering stays)."""
    return line(number, "# (removed)", expect=expect)


def tail(number: int, new: str) -> Edit:
    """Cut the file from line ``number`` on and put ``new`` there instead."""

    def apply(root: Path) -> None:
        config = root / "challenge_config.yaml"
        lines = config.read_text().split("\n")
        config.write_text("\n".join([*lines[: number - 1], new]))

    return apply


def whole(text: str) -> Edit:
    def apply(root: Path) -> None:
        (root / "challenge_config.yaml").write_text(text)

    return apply


def rm(relpath: str) -> Edit:
    def apply(root: Path) -> None:
        target = root / relpath
        if target.is_dir():
            for item in sorted(target.rglob("*"), reverse=True):
                item.unlink() if item.is_file() else item.rmdir()
            target.rmdir()
        else:
            target.unlink()

    return apply


def write(relpath: str, data: str) -> Edit:
    def apply(root: Path) -> None:
        (root / relpath).write_text(data)

    return apply


LONG = "x" * 101
SER = "ERROR: Unable to serialize the challenge because of the following errors: "


def ed(text: str, code: str) -> str:
    return f"ErrorDetail(string={text!r}, code={code!r})"


def bad_lb(n: int, lb: Any = 1) -> str:
    return f"ERROR: Invalid leaderboard id {lb} found in challenge phase split {n}."


def bad_phase(n: int, ph: Any) -> str:
    return f"ERROR: Invalid phased id {ph} found in challenge phase split {n}."


def bad_ds(n: int, ds: Any) -> str:
    return f"ERROR: Invalid dataset split id {ds} found in challenge phase split {n}."


ALL_BAD_LB = [(bad_lb(1), 97), (bad_lb(2), 103), (bad_lb(3), 109)]
CRASH = object()  # marks an expected crash problem (our text, the server answers 500)

# (id, edits, [(message or CRASH, line), ...])
CASES: list[tuple[str, list[Edit], list[tuple[Any, int | None]]]] = [
    # --- YAML syntax and shape (read_and_validate_yaml) ---
    (
        "yaml-mapping-values",
        [line(2, "title: Random: Challenge")],
        [("\nMapping values are not allowed here in line 2, column 14\n", 2)],
    ),
    (
        "yaml-flow-sequence",
        [line(21, '        "labels": ["Metric1", "Metric2" "Total",')],
        [("\nExpected ',' or ']', but got '<scalar>' in line 21, column 41\n", 21)],
    ),
    (
        "yaml-unknown-tag",
        [line(3, "short_description: !!python/object:os.system x")],
        [
            (
                "\nCould not determine a constructor for the tag "
                "'tag:yaml.org,2002:python/object:os.system' in line 3, column 20\n",
                3,
            )
        ],
    ),
    ("yaml-bad-timestamp", [line(13, "start_date: 2019-13-45 00:00:00")], [(CRASH, None)]),
    ("yaml-not-a-mapping", [whole("- title\n- description\n")], [(CRASH, 1)]),
    ("yaml-empty", [whole("# nothing\n")], [(CRASH, None)]),
    # --- top-level keys and the HTML files ---
    ("title-missing", [drop(2, "title:")], [("Please add the challenge title", 3)]),
    ("title-empty", [line(2, 'title: ""')], [("Please add the challenge title", 2)]),
    (
        "title-too-long",
        [line(2, f"title: {LONG}")],
        [
            (
                SER
                + "{'title': ["
                + ed("Ensure this field has no more than 100 characters.", "max_length")
                + "]}.",
                2,
            )
        ],
    ),
    (
        "description-missing",
        [drop(4, "description:")],
        [("Please add the challenge description", 2)],
    ),
    (
        "evaluation-details-missing",
        [drop(5, "evaluation_details")],
        [("Please add the evaluation details", 2)],
    ),
    (
        "terms-missing",
        [drop(6, "terms_and_conditions")],
        [("Please add the terms and conditions.", 2)],
    ),
    (
        "guidelines-missing",
        [drop(8, "submission_guidelines")],
        [("Please add the submission guidelines.", 2)],
    ),
    (
        "description-file-missing",
        [rm("templates/description.html")],
        [("File at path description not found. Please specify a valid file path", 4)],
    ),
    (
        "terms-not-html",
        [
            write("templates/terms.txt", "terms"),
            line(6, "terms_and_conditions: templates/terms.txt"),
        ],
        [("File terms_and_conditions is not a HTML file. Please specify a valid HTML file", 6)],
    ),
    (
        "description-escapes-root",
        [line(4, "description: ../outside.html")],
        [("Invalid file path for description.", 4)],
    ),
    (
        "evaluation-script-key-missing",
        [drop(10, "evaluation_script")],
        [
            (
                "ERROR: There is no key for the evaluation script in the YAML file. "
                "Please add it and then try again!",
                2,
            )
        ],
    ),
    (
        "evaluation-script-not-zip",
        [line(10, "evaluation_script: evaluation_script.tar.gz")],
        [
            (
                "ERROR: Please pass in a zip file as evaluation script. If using the "
                "`evaluation_script` directory (recommended), it should be `evaluation_script.zip`.",
                10,
            )
        ],
    ),
    (
        "evaluation-script-missing",
        [rm("evaluation_script")],
        [
            (
                "ERROR: No evaluation script is present in the zip file. "
                "Please add it and then try again!",
                10,
            )
        ],
    ),
    # --- dates ---
    (
        "start-date-missing",
        [drop(13, "start_date")],
        [("ERROR: Please add the start_date and end_date.", 2)],
    ),
    (
        "start-after-end",
        [line(13, "start_date: 2100-01-01 00:00:00")],
        [("ERROR: Start date cannot be greater than end date.", 13)],
    ),
    ("date-str-vs-datetime", [line(13, 'start_date: "2019-01-01 00:00:00"')], [(CRASH, 13)]),
    (
        "dates-unparseable",
        [line(13, 'start_date: "01/01/2019"'), line(14, 'end_date: "12/31/2099"')],
        [
            (
                SER
                + "{'start_date': ["
                + ed(
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                    "invalid",
                )
                + "], 'end_date': ["
                + ed(
                    "Datetime has wrong format. Use one of these formats instead: "
                    "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].",
                    "invalid",
                )
                + "]}.",
                13,
            )
        ],
    ),
    # --- serializer constraints of the challenge ---
    (
        "published-not-bool",
        [line(15, "published: maybe")],
        [(SER + "{'published': [" + ed("Must be a valid boolean.", "invalid") + "]}.", 15)],
    ),
    (
        "worker-python-version",
        [line(9, 'worker_python_version: "3.12"')],
        [
            (
                SER
                + "{'worker_python_version': ["
                + ed('"3.12" is not a valid choice.', "invalid_choice")
                + "]}.",
                9,
            )
        ],
    ),
    (
        "max-team-members-negative",
        [line(9, "max_team_members: -2")],
        [
            (
                SER
                + "{'max_team_members': ["
                + ed("Ensure this value is greater than or equal to 0.", "min_value")
                + "]}.",
                9,
            )
        ],
    ),
    (
        "serializer-skipped-after-earlier-error",
        [drop(2, "title:"), line(15, "published: maybe")],
        [("Please add the challenge title", 3)],
    ),
    # --- tags, domain, prizes ---
    (
        "too-many-tags",
        [line(9, "tags: [a, b, c, d, e]")],
        [("ERROR: Tags are limited to 4. Please remove extra tags then try again!", 9)],
    ),
    (
        "wrong-domain",
        [line(9, "domain: Vision")],
        [("ERROR: Domain name is incorrect. Please enter correct domain name then try again!", 9)],
    ),
    (
        "prize-duplicate-rank",
        [line(9, "prizes: [{rank: 1, amount: 10USD}, {rank: 1, amount: 5.50EUR}]")],
        [("ERROR: Duplicate rank 1 found in YAML data.", 9)],
    ),
    (
        "prize-rank-zero",
        [line(9, "prizes: [{rank: 0, amount: 10USD}]")],
        [("ERROR: Invalid rank value 0. Rank should be an integer.", 9)],
    ),
    (
        "prize-amount-format",
        [line(9, "prizes: [{rank: 1, amount: 10 dollars}]")],
        [
            (
                "ERROR: Invalid amount value 10 dollars. Amount should be in decimal format with "
                "three-letter currency code (e.g. 100.00USD, 500EUR, 1000INR).",
                9,
            )
        ],
    ),
    (
        "prize-without-rank",
        [line(9, "prizes: [{amount: 10USD}]")],
        [("ERROR: Prize rank or amount not found in YAML data.", 9), (CRASH, 9)],
    ),
    ("prize-amount-number", [line(9, "prizes: [{rank: 1, amount: 100}]")], [(CRASH, 9)]),
    # --- leaderboard ---
    (
        "leaderboard-missing",
        [line(17, "leaderboards:")],
        [
            (
                "ERROR: There is no key for the leaderboard in the YAML file. "
                "Please add it and then try again!",
                2,
            ),
            *ALL_BAD_LB,
        ],
    ),
    (
        "leaderboard-without-id",
        [line(18, "  - ident: 1")],
        [("ERROR: There is no leaderboard ID for the leaderboard.", 18), *ALL_BAD_LB],
    ),
    (
        "leaderboard-without-labels",
        [line(21, '        "label": ["Metric1", "Total"],')],
        [
            ("ERROR: There is no 'labels' key in the schema for the leaderboard with ID: 1.", 19),
            *ALL_BAD_LB,
        ],
    ),
    (
        "leaderboard-order-by-not-a-label",
        [line(22, '        "default_order_by": "Score",')],
        [
            (
                "ERROR: The 'default_order_by' value 'Score' in the schema for the leaderboard "
                "with ID: 1 is not a valid label.",
                22,
            ),
            *ALL_BAD_LB,
        ],
    ),
    (
        "leaderboard-without-order-by",
        [line(22, '        "order": "Total",')],
        [
            (
                "ERROR: There is no 'default_order_by' key in the schema for the leaderboard "
                "with ID: 1.",
                19,
            ),
            *ALL_BAD_LB,
        ],
    ),
    # --- challenge phases ---
    (
        "phases-missing",
        [line(25, "phases:")],
        [
            (
                "ERROR: No challenge phase key found. Please add challenge phases in the YAML file "
                "and try again!",
                2,
            ),
            (bad_phase(1, 1), 96),
            (bad_phase(2, 2), 102),
            (bad_phase(3, 2), 108),
        ],
    ),
    (
        "phase-codename-missing",
        [drop(35, "codename: dev")],
        [
            (
                "ERROR: No codename found for the challenge phase. Please add a codename and try again!",
                26,
            )
        ],
    ),
    (
        "phase-codename-duplicate",
        [line(65, "    codename: dev")],
        [
            (
                "ERROR: Duplicate codename dev for phase Test Phase. Please ensure codenames are unique",
                65,
            )
        ],
    ),
    (
        "phase-duplicate-codename-without-name",
        [line(65, "    codename: dev"), drop(57, "name: Test Phase")],
        [(CRASH, 56)],
    ),
    (
        "phase-annotation-missing",
        [rm("annotations/test_annotations_devsplit.json")],
        [
            (
                "ERROR: No test annotation file found in the zip file for challenge phase Dev Phase",
                34,
            )
        ],
    ),
    (
        "phase-description-missing",
        [drop(28, "description: templates/challenge_phase_1")],
        [
            (" ERROR: There is no key for description in phase Dev Phase.", 26),
            (
                "ERROR: Challenge phase 1 has the following schema errors:\n {'description': ["
                + ed("This field is required.", "required")
                + "]}",
                26,
            ),
            (bad_phase(1, 1), 96),
        ],
    ),
    (
        "phase-description-not-html",
        [write("templates/p1.txt", "x"), line(28, "    description: templates/p1.txt")],
        [
            (
                "ERROR: Challenge phase 1 has the following schema errors:\n {'description': ["
                + ed("This field may not be null.", "null")
                + "]}",
                28,
            ),
            (bad_phase(1, 1), 96),
        ],
    ),
    (
        "phase-public-and-restricted",
        [line(54, "    is_restricted_to_select_one_submission: True")],
        [
            (
                "ERROR: is_submission_public can't be 'True' for challenge phase 'Dev Phase' with "
                "is_restricted_to_select_one_submission 'True'. Please change is_submission_public "
                "to 'False' and try again!",
                31,
            )
        ],
    ),
    (
        "phase-dates-missing",
        [drop(33, "end_date")],
        [("ERROR: Please add the start_date and end_date in challenge phase 1.", 26)],
    ),
    (
        "phase-start-after-end",
        [line(62, "    start_date: 2100-01-01 00:00:00")],
        [("ERROR: Start date cannot be greater than end date in challenge phase 2.", 62)],
    ),
    (
        "meta-attribute-missing-field",
        [drop(41, "description: Shown to participants")],
        [
            (
                "ERROR: Please enter the following fields for the submission meta attribute in "
                "challenge phase 1: description",
                40,
            )
        ],
    ),
    (
        "meta-attribute-bad-type",
        [line(42, "        type: number")],
        [
            (
                "ERROR: Please ensure that the submission meta attribute types for the attribute "
                "'number' in challenge phase 1 are among the following: boolean, text, radio, or "
                "checkbox.",
                42,
            )
        ],
    ),
    (
        "meta-attribute-no-options",
        [line(46, "        options: []")],
        [("ERROR: Please include at least one option in the attribute for challenge phase 1", 43)],
    ),
    (
        "phase-max-submissions-negative",
        [line(36, "    max_submissions_per_day: -1")],
        [
            (
                "ERROR: Challenge phase 1 has the following schema errors:\n "
                "{'max_submissions_per_day': ["
                + ed("Ensure this value is greater than or equal to 0.", "min_value")
                + "]}",
                36,
            ),
            (bad_phase(1, 1), 96),
        ],
    ),
    (
        "phase-name-too-long",
        [line(57, f"    name: {LONG}")],
        [
            (
                "ERROR: Challenge phase 2 has the following schema errors:\n {'name': ["
                + ed("Ensure this field has no more than 100 characters.", "max_length")
                + "]}",
                57,
            ),
            (bad_phase(2, 2), 102),
            (bad_phase(3, 2), 108),
        ],
    ),
    ("phase-without-id", [line(26, "  - ident: 1")], [(CRASH, 26)]),
    # --- dataset splits ---
    (
        "dataset-splits-missing",
        [line(87, "splits:")],
        [
            ("ERROR: There is no key for dataset splits.", 2),
            (bad_ds(1, 1), 98),
            (bad_ds(2, 1), 104),
            (bad_ds(3, 2), 110),
        ],
    ),
    (
        "dataset-split-without-name",
        [drop(89, "name: Train Split")],
        [
            ("ERROR: There is no name for dataset split 1.", 88),
            (
                "ERROR: Dataset split 1 has the following schema errors:\n {'name': ["
                + ed("This field is required.", "required")
                + "]}",
                88,
            ),
            (bad_ds(1, 1), 98),
            (bad_ds(2, 1), 104),
        ],
    ),
    (
        "dataset-split-without-codename",
        [drop(93, "codename: test_split")],
        [
            ("ERROR: There is no codename for dataset split 2.", 91),
            (
                "ERROR: Dataset split 2 has the following schema errors:\n {'codename': ["
                + ed("This field is required.", "required")
                + "]}",
                91,
            ),
            (bad_ds(3, 2), 110),
        ],
    ),
    (
        "dataset-split-duplicate-codename",
        [line(93, "    codename: train_split")],
        [
            (
                "ERROR: Duplicate codename train_split for dataset split Test Split. "
                "Please ensure codenames are unique.",
                93,
            )
        ],
    ),
    ("dataset-split-without-id", [line(88, "  - ident: 1")], [(CRASH, 88)]),
    # --- challenge phase splits ---
    (
        "phase-split-duplicate",
        [line(110, "    dataset_split_id: 1")],
        [
            (
                "ERROR: Duplicate combinations of leaderboard_id {}, challenge_phase_id {} and "
                "dataset_split_id {} found in challenge phase splits.",
                108,
            ),
            (
                "ERROR: Duplicate combinations of leaderboard_id 1, challenge_phase_id 2 and "
                "dataset_split_id 1 found in challenge phase splits.",
                108,
            ),
        ],
    ),
    (
        "phase-split-missing-key-renumbers",
        [drop(99, "visibility: 1"), line(104, "    dataset_split_id: 9")],
        [
            (
                "ERROR: The following keys are missing in the challenge phase splits of YAML file "
                "(phase_split: 1): visibility",
                96,
            ),
            (bad_ds(1, 9), 104),
        ],
    ),
    (
        "phase-split-bad-visibility",
        [line(105, "    visibility: 5")],
        [
            (
                "ERROR: Challenge phase split 2 has the following schema errors:\n {'visibility': ["
                + ed('"5" is not a valid choice.', "invalid_choice")
                + "]}",
                105,
            )
        ],
    ),
    (
        "phase-split-quoted-id-not-normalised",
        [line(97, '    leaderboard_id: "1"')],
        [(bad_lb(1), 97)],
    ),
    (
        "phase-split-unknown-phase",
        [line(96, "  - challenge_phase_id: 7")],
        [(bad_phase(1, 7), 96)],
    ),
    ("phase-split-without-leaderboard-id", [drop(103, "leaderboard_id: 1")], [(CRASH, 102)]),
    ("phase-splits-key-missing", [line(95, "splits_of_phases:")], [(CRASH, 2)]),
    (
        "phase-splits-empty-list",
        [tail(95, "challenge_phase_splits: []\n")],
        [("ERROR: There is no key for challenge phase splits.", 95)],
    ),
]


def _check(problems: list[Problem], expected: list[tuple[Any, int | None]]) -> None:
    got = [(CRASH if p.crash else p.message, p.line) for p in problems]
    assert got == expected
    for problem in problems:
        assert problem.path == "challenge_config.yaml"
        if problem.crash:
            assert "HTTP 500" in problem.message


@pytest.mark.parametrize(("edits", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_broken_config(
    fixture_copy: Path, edits: list[Edit], expected: list[tuple[Any, int | None]]
) -> None:
    for edit in edits:
        edit(fixture_copy)
    _check(validate_source(WorkTreeSource(fixture_copy)), expected)


def test_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)

"""Surgical YAML edits: only the changed scalar's text changes, and it reads back as set."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

import pytest
import yaml
from conftest import FIXTURE
from hypothesis import given, settings
from hypothesis import strategies as st

from evalai_mirror.errors import ConfigError
from evalai_mirror.yamledit import set_scalars

FIXTURE_TEXT = (FIXTURE / "challenge_config.yaml").read_text(encoding="utf-8")
UTC = dt.timezone.utc


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(removed, added) lines of a diff, paired up."""
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    added = [line[2:] for line in diff if line.startswith("+ ")]
    width = max(len(removed), len(added))
    removed += [""] * (width - len(removed))
    added += [""] * (width - len(added))
    return list(zip(removed, added, strict=True))


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


def test_title_change_is_one_changed_line() -> None:
    new = set_scalars(FIXTURE_TEXT, {("title",): "A Better Title"})
    assert changed_lines(FIXTURE_TEXT, new) == [
        ("title: Random Number Generator Challenge", "title: A Better Title")
    ]
    assert new.startswith("# Test fixture for evalai-mirror:")  # the comment is intact
    assert yaml.safe_load(new)["title"] == "A Better Title"


def test_flow_mapping_elsewhere_stays_byte_identical() -> None:
    new = set_scalars(FIXTURE_TEXT, {("challenge_phases", 1, "end_date"): dt.datetime(2100, 1, 1)})
    assert '"default_order_by": "Total",\n      }' in new
    assert changed_lines(FIXTURE_TEXT, new) == [
        ("    end_date: 2099-05-24 23:59:59", "    end_date: 2100-01-01 00:00:00")
    ]


@pytest.mark.parametrize(
    "path, value, expected_line",
    [
        (("published",), False, "published: False"),
        (("challenge_phases", 0, "leaderboard_public"), True, "    leaderboard_public: True"),
        (("challenge_phases", 0, "max_submissions"), 7, "    max_submissions: 7"),
        (("start_date",), dt.datetime(2020, 2, 3, 4, 5, 6, tzinfo=UTC),
         "start_date: 2020-02-03 04:05:06"),
        (("end_date",), dt.datetime(2100, 1, 1, 2, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         "end_date: 2100-01-01 00:00:00"),  # written as naive UTC, like the file
        (("short_description",), "Ratio: 3 # of 4", "short_description: 'Ratio: 3 # of 4'"),
        (("short_description",), "True", "short_description: 'True'"),
        (("short_description",), "2019-01-01", "short_description: '2019-01-01'"),
        (("short_description",), "12", "short_description: '12'"),
        (("short_description",), "it's", "short_description: it's"),
        (("short_description",), "line one\nline two",
         'short_description: "line one\\nline two"'),
        (("challenge_phases", 1, "name"), "- dash", "    name: '- dash'"),
    ],
)
def test_every_scalar_type_round_trips(path: tuple[Any, ...], value: Any, expected_line: str) -> None:
    new = set_scalars(FIXTURE_TEXT, {path: value})
    [(_, added)] = changed_lines(FIXTURE_TEXT, new)
    assert added == expected_line
    loaded = at(yaml.safe_load(new), path)
    if isinstance(value, dt.datetime):
        assert loaded.replace(tzinfo=UTC) == value
    else:
        assert loaded == value and type(loaded) is type(value)


@pytest.mark.parametrize(
    "old, value, expected",
    [
        ("k: 'quoted'\n", "new value", "k: 'new value'\n"),
        ('k: "quoted"\n', "it's", 'k: "it\'s"\n'),
        ("k: 'x'\n", "multi\nline", 'k: "multi\\nline"\n'),
        ("k: true\n", False, "k: false\n"),
        ("k: yes\n", False, "k: no\n"),
        ("k: ON\n", False, "k: OFF\n"),
        ("k: 2019-01-01T00:00:00Z\n", dt.datetime(2020, 5, 6, 7, 8, 9), "k: 2020-05-06T07:08:09Z\n"),
        ("k: '2019-01-01 00:00:00'\n", dt.datetime(2020, 5, 6), "k: '2020-05-06 00:00:00'\n"),
        ('k: "2019-01-01T00:00:00+00:00"\n', dt.datetime(2020, 5, 6, 0, 0, 0, 500),
         'k: "2020-05-06T00:00:00.000500+00:00"\n'),
        ("k: |\n  one\n  two\n\nz: 1\n", "three\nfour", "k: |-\n  three\n  four\n\nz: 1\n"),
        ("k:\nz: 1\n", "filled", "k: filled\nz: 1\n"),
        ("k: &a old\nz: 1\n", "new", "k: &a new\nz: 1\n"),  # an alias of it: refused, below
        ("k: old # keep this comment\n", "new", "k: new # keep this comment\n"),
        ("k: {a: 1, b: old}\n", "x, y", "k: {a: 1, b: 'x, y'}\n"),
        ("k: 5\r\nz: 1\r\n", 6, "k: 6\r\nz: 1\r\n"),
    ],
)
def test_styles_are_kept(old: str, value: Any, expected: str) -> None:
    path: tuple[Any, ...] = ("k", "b") if old.startswith("k: {") else ("k",)
    assert set_scalars(old, {path: value}) == expected


def test_nested_block_scalar_keeps_its_indentation() -> None:
    text = "phases:\n  - notes: >\n      folded\n      text\n    id: 1\n"
    new = set_scalars(text, {("phases", 0, "notes"): "one\ntwo"})
    assert new == "phases:\n  - notes: |-\n      one\n      two\n    id: 1\n"
    assert yaml.safe_load(new) == {"phases": [{"notes": "one\ntwo", "id": 1}]}
    blank_first = "a:\n  b: |\n\n    x\n  c: 1\n"
    assert yaml.safe_load(set_scalars(blank_first, {("a", "b"): "y"})) == {"a": {"b": "y", "c": 1}}


def test_absent_key_is_added_at_the_end_of_its_mapping() -> None:
    new = set_scalars(
        FIXTURE_TEXT, {("challenge_phases", 0, "allowed_submission_file_types"): ".json, .csv"}
    )
    old_lines, new_lines = FIXTURE_TEXT.splitlines(), new.splitlines()
    index = new_lines.index("    allowed_submission_file_types: .json, .csv")
    assert new_lines[index - 1] == "    is_partial_submission_evaluation_enabled: False"
    assert new_lines[index + 1] == "  - id: 2"
    assert new_lines[:index] + new_lines[index + 1 :] == old_lines
    assert yaml.safe_load(new)["challenge_phases"][0]["allowed_submission_file_types"] == ".json, .csv"


def test_absent_top_level_key_goes_after_the_last_nested_block() -> None:
    text = "a: 1\nlist:\n  - x: 1\n    y: 2\n# trailing comment\n"
    new = set_scalars(text, {("remote_evaluation",): True, ("is_docker_based",): False})
    assert new == "a: 1\nlist:\n  - x: 1\n    y: 2\nremote_evaluation: true\nis_docker_based: false\n# trailing comment\n"


def test_absent_key_in_a_file_without_final_newline() -> None:
    assert set_scalars("a: 1", {("b",): "two"}) == "a: 1\nb: two"


def test_absent_date_takes_the_files_date_style() -> None:
    new = set_scalars(FIXTURE_TEXT, {("challenge_phases", 0, "extra_date"): dt.datetime(2030, 1, 1)})
    assert "    extra_date: 2030-01-01 00:00:00\n" in new


@pytest.mark.parametrize(
    "text, path, message, line",
    [
        ("a: [1\n", ("a",), "not valid YAML", 2),
        (FIXTURE_TEXT, ("challenge_phases", 5, "name"), "challenge_phases[5] does not exist", 25),
        (FIXTURE_TEXT, ("nope", "deeper"), "nope is missing", 2),
        (FIXTURE_TEXT, ("title", "x"), "title is not a mapping", 2),
    ],
)
def test_bad_input_is_a_config_error(
    text: str, path: tuple[Any, ...], message: str, line: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        set_scalars(text, {path: "v"}, filename="challenge_config.yaml")
    assert message in str(caught.value)
    assert caught.value.path == "challenge_config.yaml"
    assert caught.value.line == line


ANCHORED = (
    "challenge_phases:\n"
    "  - codename: dev\n"
    "    start_date: &start 2024-01-01 00:00:00\n"
    "  - codename: test\n"
    "    start_date: *start\n"
)


@pytest.mark.parametrize(
    "index, other, line",
    [(0, "challenge_phases[1].start_date", 5), (1, "challenge_phases[0].start_date", 3)],
)
def test_a_value_shared_through_an_anchor_is_not_changed_silently(
    index: int, other: str, line: int
) -> None:
    # writing either phase's date would rewrite the anchored text, so both phases would move
    with pytest.raises(ConfigError) as caught:
        set_scalars(ANCHORED, {("challenge_phases", index, "start_date"): dt.datetime(2025, 1, 1)})
    assert f"{other} would change too" in str(caught.value)
    assert caught.value.line == line


def test_a_merge_key_mapping_gets_its_own_value() -> None:
    text = "base: &b\n  k: 1\nphase:\n  <<: *b\n  n: 2\n"
    new = set_scalars(text, {("phase", "k"): 5})
    assert yaml.safe_load(new) == {"base": {"k": 1}, "phase": {"k": 5, "n": 2}}
    with pytest.raises(ConfigError, match=r"phase\.k would change too"):
        set_scalars(text, {("base", "k"): 5})


def test_no_edits_is_the_same_text() -> None:
    assert set_scalars(FIXTURE_TEXT, {}) is FIXTURE_TEXT


# --------------------------------------------------------------------------- property

def _scalar_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _scalar_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _scalar_paths(value, (*prefix, index))
    else:
        out.append(prefix)
    return out


FIXTURE_DATA = yaml.safe_load(FIXTURE_TEXT)
# the flow mapping's scalars sit on their own lines too; every scalar of the fixture qualifies
SCALAR_PATHS = _scalar_paths(FIXTURE_DATA)
TEXTS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff"),
    max_size=30,
).map(str.strip)
VALUES = st.one_of(
    TEXTS,
    st.sampled_from(["yes", "null", "~", "1.5", "0x1f", "#x", "a: b", "[x]", "{y}", "'q'", '"d"']),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2200, 1, 1)),
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(SCALAR_PATHS), VALUES, min_size=1, max_size=4))
def test_random_edits_change_only_their_lines(edits: dict[tuple[Any, ...], Any]) -> None:
    new = set_scalars(FIXTURE_TEXT, edits)
    data = yaml.safe_load(new)
    for path, value in edits.items():
        got = at(data, path)
        if isinstance(value, dt.datetime):
            assert isinstance(got, dt.datetime) and got.replace(tzinfo=None) == value
        else:
            assert got == value and type(got) is type(value), (path, value, got)
    # every path that was not edited keeps its value ...
    for path in SCALAR_PATHS:
        if path not in edits:
            assert at(data, path) == at(FIXTURE_DATA, path)
    # ... and every line that holds no edited scalar is byte-identical
    edited_lines = {_line_of(path) for path in edits}
    old_lines, new_lines = FIXTURE_TEXT.splitlines(), new.splitlines()
    assert len(old_lines) == len(new_lines)
    for number, (old, fresh) in enumerate(zip(old_lines, new_lines, strict=True), start=1):
        if number not in edited_lines:
            assert old == fresh, number


def _line_of(path: tuple[Any, ...]) -> int:
    from evalai_mirror import yamlload

    return yamlload.load(FIXTURE_TEXT).lines[path]


def test_a_byte_order_mark_and_wide_characters_keep_every_position() -> None:
    # libyaml leaves a byte order mark out of its positions; non-BMP characters count as one
    text = "\ufefftitle: Old # kept\ndescription: é😀x\nshort_description:\n"
    out = set_scalars(text, {("title",): "New", ("short_description",): "Short"})
    assert out == "\ufefftitle: New # kept\ndescription: é😀x\nshort_description: Short\n"
    wide = "description: é😀x\r\ntitle: Old\r\n"
    assert set_scalars(wide, {("title",): "Néw"}) == "description: é😀x\r\ntitle: Néw\r\n"

"""The field catalogue: keys parse back to their fields, every field is complete, values
normalise the same from the config and from EvalAI."""

from __future__ import annotations

import datetime as dt

import pytest

from evalai_mirror import catalogue as cat
from evalai_mirror import values


def test_every_key_pattern_parses_back_to_its_field() -> None:
    for spec in cat.FIELDS:
        key = {
            cat.Scope.CHALLENGE: lambda s: cat.challenge_key(s.name),
            cat.Scope.PHASE: lambda s: cat.phase_key("dev", s.name),
            cat.Scope.PHASE_SPLIT: lambda s: cat.split_key("dev", "train_split", s.name),
            cat.Scope.LEADERBOARD: lambda s: cat.leaderboard_key(1, s.name),
            cat.Scope.DATASET_SPLIT: lambda s: cat.dataset_split_key("train_split", s.name),
        }[spec.scope](spec)
        parsed = cat.parse_key(key)
        assert parsed is not None and parsed.field is spec, key


def test_unknown_keys_are_none() -> None:
    assert cat.parse_key("no_such_field") is None
    assert cat.parse_key("phases.dev.no_such_field") is None
    assert cat.parse_key("splits.dev.visibility") is None  # no dataset split codename


def test_names_are_unique_per_scope() -> None:
    seen = [(spec.scope, spec.name) for spec in cat.FIELDS]
    assert len(seen) == len(set(seen))


def test_html_fields_name_a_default_file() -> None:
    for spec in cat.FIELDS:
        assert (spec.kind is cat.Kind.HTML) == (spec.html_default is not None)
        assert cat.is_text_key(cat.key_pattern(spec).replace("<codename>", "dev")) == (
            spec.kind is cat.Kind.HTML
        )


def test_poll_reads_at_most_three_gets() -> None:
    assert len(cat.POLL_READS) <= 3


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("start_date", "2025-08-1 00:00:00", "2025-08-01T00:00:00Z"),
        ("start_date", dt.datetime(2025, 8, 1), "2025-08-01T00:00:00Z"),
        ("start_date", "2025-08-01T02:00:00+02:00", "2025-08-01T00:00:00Z"),
        ("published", "True", True),
        ("max_team_members", "4", 4),
        ("tags", ["b", "a", "b"], ["a", "b"]),
        ("title", "  Hi \r\n", "Hi"),
    ],
)
def test_challenge_values_normalise(name: str, raw: object, expected: object) -> None:
    spec = cat.fields(cat.Scope.CHALLENGE)[name]
    assert values.normalise(spec, raw) == expected


def test_schema_written_as_json_text_equals_the_mapping() -> None:
    spec = cat.fields(cat.Scope.LEADERBOARD)["schema"]
    mapping = {"labels": ["A", "B"], "default_order_by": "A"}
    assert values.normalise(spec, '{"labels": ["A", "B"], "default_order_by": "A"}') == mapping
    assert values.to_api(spec, mapping) == '{"labels": ["A", "B"], "default_order_by": "A"}'


def test_readme_table_has_a_row_per_field() -> None:
    table = cat.readme_table()
    assert len(table.strip().splitlines()) == len(cat.FIELDS) + 2


def test_readme_field_table_is_the_catalogues() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- field table:")
    start = readme.index("\n", start) + 1
    end = readme.index("<!-- end of field table -->")
    assert readme[start:end] == cat.readme_table(), (
        "regenerate the README's field table from catalogue.readme_table()"
    )

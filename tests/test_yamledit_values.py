"""Surgical writes of lists, mappings and the leaderboard schema (yamledit.set_values): only the
lines of the value that changed change, in the file's own style."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from evalai_mirror.yamledit import set_values

CONFIG = """\
# a comment
title: T
tags: [cv, "random numbers"]   # flow, mixed quotes
allowed_email_domains:
  - example.org
  - example.com

# the leaderboard
leaderboard:
  - id: 1
    schema:
      {
        "labels": ["Metric1", "Total"],
        "default_order_by": "Total",
      }
challenge_phases:
  - id: 1
    codename: dev
    submission_meta_attributes:
      - name: A
        type: text
      - name: B
        type: radio
        options: ["x", "y"]
    max_submissions: 5
"""


def changed_lines(old: str, new: str) -> list[tuple[str, str]]:
    a, b = old.splitlines(), new.splitlines()
    assert len(a) == len(b), new
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def write(edits: dict[tuple[Any, ...], Any], text: str = CONFIG) -> str:
    new = set_values(text, edits)
    data = yaml.safe_load(new)
    for path, value in edits.items():
        node: Any = data
        for part in path:
            node = node[part]
        assert node == value
    return new


def test_flow_list_item_changes_in_place() -> None:
    new = write({("tags",): ["cv", "random digits"]})
    assert changed_lines(CONFIG, new) == [
        ('tags: [cv, "random numbers"]   # flow, mixed quotes',
         'tags: [cv, "random digits"]   # flow, mixed quotes')
    ]


def test_flow_list_grows_in_flow_style_and_keeps_its_comment() -> None:
    new = write({("tags",): ["cv", "random numbers", "new"]})
    assert changed_lines(CONFIG, new) == [
        ('tags: [cv, "random numbers"]   # flow, mixed quotes',
         'tags: ["cv", "random numbers", "new"]   # flow, mixed quotes')
    ]


def test_block_list_grows_in_block_style() -> None:
    new = write({("allowed_email_domains",): ["example.org", "example.com", "x.io"]})
    assert "  - example.org\n  - example.com\n  - x.io\n\n# the leaderboard" in new
    assert new.replace("  - x.io\n", "") == CONFIG


def test_block_list_emptied_becomes_an_empty_flow_list() -> None:
    new = write({("allowed_email_domains",): []})
    assert "allowed_email_domains: []\n\n# the leaderboard" in new


def test_schema_label_changes_on_its_line_only() -> None:
    schema = {"labels": ["Metric1", "Grand total"], "default_order_by": "Total"}
    new = write({("leaderboard", 0, "schema"): schema})
    assert changed_lines(CONFIG, new) == [
        ('        "labels": ["Metric1", "Total"],', '        "labels": ["Metric1", "Grand total"],')
    ]


def test_schema_with_a_new_key_is_written_again_as_json() -> None:
    schema = {"labels": ["Metric1", "Total"], "default_order_by": "Total", "metadata": {"a": 1}}
    new = write({("leaderboard", 0, "schema"): schema})
    assert '"metadata": {"a": 1}' in new and "# the leaderboard" in new


def test_list_of_mappings_item_field_changes_in_place() -> None:
    attrs = [{"name": "A", "type": "text"}, {"name": "B", "type": "radio", "options": ["x", "z"]}]
    new = write({("challenge_phases", 0, "submission_meta_attributes"): attrs})
    assert changed_lines(CONFIG, new) == [
        ('        options: ["x", "y"]', '        options: ["x", "z"]')
    ]


def test_list_of_mappings_grows_in_block_style() -> None:
    attrs = [{"name": "A", "type": "text"}, {"name": "B", "type": "radio", "options": ["x", "y"]},
             {"name": "C", "type": "boolean"}]
    new = write({("challenge_phases", 0, "submission_meta_attributes"): attrs})
    assert "    max_submissions: 5\n" in new and "# a comment" in new


def test_absent_list_key_is_added_next_to_its_siblings() -> None:
    new = write({("challenge_phases", 0, "allowed_email_ids"): ["a@b.c"]})
    assert new == CONFIG + "    allowed_email_ids: [a@b.c]\n"


def test_absent_scalar_key_is_added_bare() -> None:
    new = write({("max_team_members",): 4})
    assert "max_team_members: 4\n" in new


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_crlf_files_keep_crlf(eol: str) -> None:
    text = CONFIG.replace("\n", eol)
    new = write({("allowed_email_domains",): ["a.org", "b.org", "c.org"]}, text)
    assert new.count("\r\n") == (new.count("\n") if eol == "\r\n" else 0)


def test_scalar_becomes_a_list() -> None:
    new = write({("title",): ["x"]})
    assert "title: [x]\n" in new


SPLITS = """\
challenge_phase_splits:\r
  # the dev split\r
  - challenge_phase_id: 1\r
    dataset_split_id: 1\r
    visibility: 1\r
\r
    # ranking\r
    is_leaderboard_order_descending: True\r
  - challenge_phase_id: 2\r
    dataset_split_id: 1\r
    is_leaderboard_order_descending: True\r
"""


def test_absent_keys_take_their_siblings_style_in_a_crlf_file_with_comments() -> None:
    new = write({("challenge_phase_splits", 0, "show_execution_time"): True,
                 ("challenge_phase_splits", 0, "leaderboard_decimal_precision"): 3}, SPLITS)
    assert new == SPLITS.replace(
        "    is_leaderboard_order_descending: True\r\n  - challenge_phase_id: 2",
        "    is_leaderboard_order_descending: True\r\n    show_execution_time: True\r\n"
        "    leaderboard_decimal_precision: 3\r\n  - challenge_phase_id: 2",
    )


def test_an_absent_list_next_to_block_lists_is_written_as_a_block_list() -> None:
    text = "title: T\ntags:\n  - a\n  - b\n# the end\n"
    new = write({("allowed_email_domains",): ["x.org", "y.org"]}, text)
    assert new == "title: T\ntags:\n  - a\n  - b\nallowed_email_domains:\n  - x.org\n  - y.org\n# the end\n"
    indentless = "tags:\n- a\nlist_two: [1]\n"
    assert write({("banned_email_ids",): ["p@q.r"]}, indentless).endswith("banned_email_ids:\n- p@q.r\n")


def test_a_value_reset_to_its_default_changes_only_its_line() -> None:
    text = "max_team_members: 4  # a cap\nforum_url: 'http://forum'\ntags:\n  - a\n  - b\ndomain: CV\n"
    new = write({("max_team_members",): None, ("forum_url",): None, ("tags",): [],
                 ("allowed_email_domains",): []}, text)
    assert new == ("max_team_members: null  # a cap\nforum_url: null\ntags: []\ndomain: CV\n"
                   "allowed_email_domains: []\n")

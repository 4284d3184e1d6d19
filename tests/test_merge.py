"""The three-way merge: each state, text merging, and properties checked with hypothesis."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalai_mirror.merge import MISSING, FieldState, MergeResult, merge, merge_text, same


def state_of(result: MergeResult, key: str) -> FieldState:
    return result.fields[key].state


# --------------------------------------------------------------------------- each state


def test_equal_sides_are_in_sync_and_need_nothing() -> None:
    result = merge({"title": "A"}, {"title": "A"}, {"title": "A"})
    assert state_of(result, "title") is FieldState.IN_SYNC
    assert result.to_local == {} and result.to_remote == {} and result.conflicts == []
    assert not result.changed
    assert result.agreed == {"title": "A"}


def test_only_local_moved_goes_to_remote() -> None:
    result = merge({"title": "A"}, {"title": "B"}, {"title": "A"})
    assert state_of(result, "title") is FieldState.LOCAL
    assert result.to_remote == {"title": "B"}
    assert result.to_local == {}
    assert result.agreed == {"title": "B"}
    assert result.changed


def test_only_remote_moved_goes_to_local() -> None:
    result = merge({"published": False}, {"published": False}, {"published": True})
    assert state_of(result, "published") is FieldState.REMOTE
    assert result.to_local == {"published": True}
    assert result.to_remote == {}


def test_both_moved_to_the_same_value() -> None:
    result = merge({"end_date": "2099-01-01T00:00:00Z"}, {"end_date": "x"}, {"end_date": "x"})
    assert state_of(result, "end_date") is FieldState.BOTH_SAME
    assert result.to_local == {} and result.to_remote == {}
    assert result.agreed == {"end_date": "x"}
    assert result.changed  # the base must move


def test_both_moved_differently_is_a_conflict() -> None:
    result = merge({"title": "A"}, {"title": "B"}, {"title": "C"})
    assert state_of(result, "title") is FieldState.CONFLICT
    [conflict] = result.conflicts
    assert (conflict.base, conflict.local, conflict.remote) == ("A", "B", "C")
    assert result.to_local == {} and result.to_remote == {}
    assert result.agreed == {"title": "A"}  # the old base stays until resolved


@pytest.mark.parametrize("prefer, expected", [("local", "B"), ("remote", "C")])
def test_prefer_settles_a_conflict(prefer: Any, expected: str) -> None:
    result = merge({"title": "A"}, {"title": "B"}, {"title": "C"}, prefer=prefer)
    assert result.conflicts == []
    assert result.fields["title"].value == expected
    assert result.agreed == {"title": expected}


def test_true_is_not_one() -> None:
    result = merge({"k": 1}, {"k": True}, {"k": 1})
    assert state_of(result, "k") is FieldState.LOCAL
    assert same(1, 1) and not same(True, 1) and not same(1, 1.0)


def test_no_base_equal_is_in_sync_different_is_conflict() -> None:
    result = merge(None, {"a": 1, "b": 2}, {"a": 1, "b": 3})
    assert state_of(result, "a") is FieldState.IN_SYNC
    assert state_of(result, "b") is FieldState.CONFLICT
    assert result.agreed == {"a": 1}  # nothing to fall back on for b


def test_no_base_never_guesses_even_for_text() -> None:
    result = merge(None, {"description": "x\ny"}, {"description": "x\nz"}, text_keys={"description"})
    assert state_of(result, "description") is FieldState.CONFLICT


def test_key_on_one_side_only_counts_as_missing() -> None:
    base = {"phases.dev.name": "Dev"}
    local = {"phases.dev.name": "Dev", "phases.new.name": "New"}
    result = merge(base, local, {"phases.dev.name": "Dev"})
    new = result.fields["phases.new.name"]
    assert new.state is FieldState.LOCAL
    assert new.remote is MISSING and new.base is MISSING
    assert result.to_remote == {"phases.new.name": "New"}


def test_key_removed_on_one_side_shows_as_that_side() -> None:
    base = {"phases.old.name": "Old"}
    result = merge(base, {}, {"phases.old.name": "Old"})
    assert state_of(result, "phases.old.name") is FieldState.LOCAL
    assert result.to_remote == {"phases.old.name": MISSING}
    assert result.agreed == {}  # gone from the new base


def test_key_removed_on_both_sides_leaves_the_base() -> None:
    result = merge({"gone": 1}, {}, {})
    assert state_of(result, "gone") is FieldState.BOTH_SAME
    assert result.agreed == {}


# --------------------------------------------------------------------------- text


def test_text_edits_in_different_lines_merge() -> None:
    base = "<p>one</p>\n<p>two</p>\n<p>three</p>\n<p>four</p>"
    local = base.replace("one", "ONE")
    remote = base.replace("four", "FOUR")
    result = merge({"description": base}, {"description": local}, {"description": remote},
                   text_keys={"description"})
    field = result.fields["description"]
    assert field.state is FieldState.MERGED
    assert field.value == "<p>ONE</p>\n<p>two</p>\n<p>three</p>\n<p>FOUR</p>"
    assert result.to_local == {"description": field.value}
    assert result.to_remote == {"description": field.value}


def test_text_edits_of_the_same_line_conflict() -> None:
    base = "a\nb\nc"
    result = merge({"d": base}, {"d": "a\nB1\nc"}, {"d": "a\nB2\nc"}, text_keys={"d"})
    assert state_of(result, "d") is FieldState.CONFLICT


def test_adjacent_line_edits_conflict_like_git_merge_file() -> None:
    assert merge_text("a\nb\nc", "A\nb\nc", "a\nB\nc") is None


def test_text_merge_only_for_text_keys() -> None:
    base = "a\nb\nc\nd"
    result = merge({"t": base}, {"t": "A\nb\nc\nd"}, {"t": "a\nb\nc\nD"})
    assert state_of(result, "t") is FieldState.CONFLICT


def test_merged_text_is_trimmed() -> None:
    merged = merge_text("a\nb\nc\nd", "a\nb\nc\nd\n\n  ", "\n a\nb\nc\nd")
    assert merged is not None and merged == merged.strip()


def test_text_merge_needs_text_on_all_sides() -> None:
    result = merge({"d": None}, {"d": "a"}, {"d": "b"}, text_keys={"d"})
    assert state_of(result, "d") is FieldState.CONFLICT


# --------------------------------------------------------------------------- properties

KEYS = ["title", "description", "published", "phases.dev.max_submissions"]
TEXT_KEYS = {"description"}
LINES = st.sampled_from(["<p>a</p>", "<p>b</p>", "c", "d", "e", ""])
TEXT = st.lists(LINES, min_size=0, max_size=6).map(lambda ls: "\n".join(ls).strip())
VALUE = st.one_of(st.none(), st.booleans(), st.integers(0, 3), TEXT, st.just(MISSING))


@st.composite
def three_sides(draw: st.DrawFn) -> tuple[dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    base: dict[str, Any] = {}
    local: dict[str, Any] = {}
    remote: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, min_size=1)):
        b = draw(VALUE)
        # each side keeps the base value or moves, often enough to hit every state
        l_ = draw(st.one_of(st.just(b), VALUE))
        r = draw(st.one_of(st.just(b), st.just(l_), VALUE))
        for side, value in ((base, b), (local, l_), (remote, r)):
            if value is not MISSING:
                side[key] = value
    no_base = draw(st.booleans()) and draw(st.booleans())
    return (None if no_base else base), local, remote


def _get(side: dict[str, Any] | None, key: str) -> Any:
    return MISSING if side is None else side.get(key, MISSING)


def _apply(side: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(side)
    for key, value in changes.items():
        if value is MISSING:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _carries(value: Any, moved: Any, base: Any) -> bool:
    """Does the settled ``value`` carry the change from ``base`` to ``moved``?"""
    if same(value, moved):
        return True
    if isinstance(value, str) and isinstance(moved, str) and isinstance(base, str):
        added = set(moved.split("\n")) - set(base.split("\n"))
        return all(line in value.split("\n") for line in added)
    return False


@settings(max_examples=300, deadline=None)
@given(three_sides())
def test_no_change_is_dropped_without_a_conflict(sides: Any) -> None:
    base, local, remote = sides
    result = merge(base, local, remote, text_keys=TEXT_KEYS)
    for key, field in result.fields.items():
        b = _get(base, key)
        for moved in (_get(local, key), _get(remote, key)):
            if base is not None and same(moved, b):
                continue
            assert field.state is FieldState.CONFLICT or _carries(field.value, moved, b), field
        if field.state is not FieldState.CONFLICT:
            # both sides hold the settled value afterwards
            assert same(_apply(local, result.to_local).get(key, MISSING), field.value)
            assert same(_apply(remote, result.to_remote).get(key, MISSING), field.value)


@settings(max_examples=300, deadline=None)
@given(three_sides())
def test_merging_again_after_applying_is_a_no_op(sides: Any) -> None:
    base, local, remote = sides
    for prefer in (None, "local", "remote"):
        first = merge(base, local, remote, text_keys=TEXT_KEYS, prefer=prefer)
        new_local = _apply(local, first.to_local)
        new_remote = _apply(remote, first.to_remote)
        # with no base, a conflict has no old base value to keep: the next merge has none either
        new_base = None if base is None and first.conflicts else first.agreed
        again = merge(new_base, new_local, new_remote, text_keys=TEXT_KEYS)
        assert again.to_local == {} and again.to_remote == {}
        conflicted = {c.key for c in first.conflicts}
        assert {c.key for c in again.conflicts} == conflicted
        for key, field in again.fields.items():
            if key not in conflicted:
                assert field.state is FieldState.IN_SYNC, field
        if prefer is not None:
            assert not again.changed


@settings(max_examples=300, deadline=None)
@given(three_sides())
def test_swapping_sides_swaps_what_goes_where(sides: Any) -> None:
    base, local, remote = sides
    forward = merge(base, local, remote, text_keys=TEXT_KEYS)
    backward = merge(base, remote, local, text_keys=TEXT_KEYS)
    assert forward.to_local == backward.to_remote
    assert forward.to_remote == backward.to_local
    assert {c.key for c in forward.conflicts} == {c.key for c in backward.conflicts}
    assert forward.agreed == backward.agreed


@settings(max_examples=200, deadline=None)
@given(three_sides(), st.sampled_from(["local", "remote"]))
def test_prefer_never_leaves_conflicts(sides: Any, prefer: Any) -> None:
    base, local, remote = sides
    result = merge(base, local, remote, text_keys=TEXT_KEYS, prefer=prefer)
    assert result.conflicts == []
    plain = merge(base, local, remote, text_keys=TEXT_KEYS)
    winner = local if prefer == "local" else remote
    for field in plain.conflicts:
        assert same(result.fields[field.key].value, winner.get(field.key, MISSING))

"""The kept parses: a document parsed once is read back from the user's cache, exactly as
``yaml.safe_load`` gives it, and anything in the cache that is not an entry is parsed anew."""

from __future__ import annotations

import datetime
import marshal
import math
import os
from pathlib import Path

import pytest
import yaml

from evalai_mirror import yamlload

DOCUMENT = """\
title: Kept
start_date: 2024-01-01 00:00:00
zoned: 2024-01-01 10:00:00+02:00
day: 2024-03-04
2024-05-06: a date as a key
7: an int key
flags: !!set {a, b}
blob: !!binary aGVsbG8=
ratio: .nan
big: 123456789012345678901234567890
none: ~
yes_no: [yes, no]
shared: &anchor
  - {codename: dev, when: 2024-01-02 03:04:05.250000}
again: *anchor
"""


@pytest.fixture
def parsed_dir(isolated_env: Path) -> Path:
    return Path(os.environ["XDG_CACHE_HOME"]) / "evalai-mirror" / "parsed"


def fresh_load(text: str) -> yamlload.Loaded:
    """``load`` as a new process runs it: without the last parse remembered in memory."""
    yamlload._LAST = None
    return yamlload.load(text)


def entries(folder: Path) -> list[Path]:
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_a_kept_parse_reads_back_as_safe_load_gives_it(parsed_dir: Path) -> None:
    first = fresh_load(DOCUMENT)
    assert len(entries(parsed_dir)) == 1
    kept = fresh_load(DOCUMENT)
    expected = yaml.safe_load(DOCUMENT)
    expected["zoned"] = datetime.datetime(2024, 1, 1, 8, 0)  # the server's PyYAML drops zones
    for loaded in (first, kept):
        data = loaded.data
        assert math.isnan(data.pop("ratio"))
        assert data == {k: v for k, v in expected.items() if k != "ratio"}
        assert type(data["start_date"]) is datetime.datetime
        assert type(data["day"]) is datetime.date
        assert datetime.date(2024, 5, 6) in data and 7 in data
        assert data["flags"] == {"a", "b"} and type(data["flags"]) is set
        assert data["blob"] == b"hello"
        assert data["shared"] is data["again"]  # an alias is one object, as safe_load gives
    assert kept.lines == first.lines
    assert kept.line(("shared", 0, "when")) == 14
    assert kept.line((datetime.date(2024, 5, 6),)) == 5
    assert kept.repeated == first.repeated == {}


def test_a_key_set_twice_is_noted_and_kept(parsed_dir: Path) -> None:
    text = "a: 1\nb:\n  c: 2\n  c: 3\na: 4\n"
    for loaded in (fresh_load(text), fresh_load(text)):  # parsed, then read back
        assert loaded.data == {"a": 4, "b": {"c": 3}}  # as safe_load: the later value
        assert loaded.repeated == {("b", "c"): 4, ("a",): 5}
        assert loaded.line(("a",)) == 1


def test_a_kept_parse_is_what_is_read(parsed_dir: Path) -> None:
    fresh_load("title: Kept\n")
    (entry,) = entries(parsed_dir)
    entry.write_bytes(marshal.dumps(({"title": "From the entry"}, {(): 1, ("title",): 1}, {})))
    assert fresh_load("title: Kept\n").data == {"title": "From the entry"}
    assert oct(entry.stat().st_mode & 0o777) == oct(0o600)


@pytest.mark.parametrize("raw", [b"", b"\x00garbage", marshal.dumps(("one",)),
                                 marshal.dumps(([(9, 1)], {}, {})),
                                 marshal.dumps(({}, {}))])
def test_what_is_not_an_entry_is_parsed_anew(parsed_dir: Path, raw: bytes) -> None:
    fresh_load("title: Kept\n")
    (entry,) = entries(parsed_dir)
    entry.write_bytes(raw)
    assert fresh_load("title: Kept\n").data == {"title": "Kept"}
    assert fresh_load("title: Kept\n").data == {"title": "Kept"}  # and kept again
    assert entry.read_bytes() != raw


def test_errors_and_self_containing_values_are_not_kept(parsed_dir: Path) -> None:
    for _ in range(2):
        with pytest.raises(yamlload.YamlSyntaxError):
            fresh_load("a: [1, 2\n")
    recursive = fresh_load("a: &x [1, *x]\n").data
    assert recursive["a"][1] is recursive["a"]
    assert entries(parsed_dir) == []


def test_the_folder_keeps_the_newest_entries(parsed_dir: Path) -> None:
    for number in range(yamlload.KEEP + 3):
        fresh_load(f"title: Number {number}\n")
    kept = entries(parsed_dir)
    assert len(kept) == yamlload.KEEP
    fresh_load("title: Number 0\n")  # the oldest went: parsed and kept again, the next oldest goes
    assert len(entries(parsed_dir)) == yamlload.KEEP
    assert set(entries(parsed_dir)) != set(kept)
    fresh_load(f"title: Number {yamlload.KEEP + 2}\n")  # the newest is there: read back
    assert len(entries(parsed_dir)) == yamlload.KEEP


def test_a_long_text_is_not_kept(parsed_dir: Path) -> None:
    text = "title: x\n" + "# padding\n" * (yamlload.MAX_TEXT // 10 + 1)
    assert fresh_load(text).data == {"title": "x"}
    assert entries(parsed_dir) == []

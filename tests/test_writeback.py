"""Writing EvalAI's values into the working copy: HTML files keep their line endings and the
whitespace around their text; a file two fields share is one decision, the rest is written;
values in a style EvalAI reads the same are in sync and keep their style."""

from __future__ import annotations

from pathlib import Path

from evalai_mirror import challenge as ch
from evalai_mirror.source import MappingSource
from evalai_mirror.writeback import html_bytes, plan_local_changes

FIXTURE = Path(__file__).resolve().parent / "data" / "challenge"
CONFIG = "challenge_config.yaml"


def files() -> dict[str, bytes]:
    return {
        p.relative_to(FIXTURE).as_posix(): p.read_bytes()
        for p in FIXTURE.rglob("*") if p.is_file()
    }


def test_html_keeps_its_line_endings_and_surrounding_whitespace() -> None:
    old = b"\r\n  <p>one</p>\r\n<p>two</p>  \r\n\r\n"
    assert html_bytes("<p>one</p>\n<p>2</p>", old) == b"\r\n  <p>one</p>\r\n<p>2</p>  \r\n\r\n"
    assert html_bytes("<p>x</p>", None) == b"<p>x</p>\n"
    assert html_bytes("<p>x</p>", b"<p>y</p>") == b"<p>x</p>"  # no final newline: none added


def test_trimmed_text_is_not_an_edit() -> None:
    """EvalAI stores text trimmed: a file with blank lines around its text is in sync."""
    tree = files()
    tree["templates/description.html"] = b"\n\n" + tree["templates/description.html"] + b"\n  \n"
    local = ch.read_local(MappingSource(tree))
    assert local.fields["description"] == ch.read_local(MappingSource(files())).fields["description"]


def test_a_shared_html_file_is_one_decision_and_everything_else_is_written() -> None:
    tree = files()
    config = tree[CONFIG].decode().replace(
        "templates/challenge_phase_1_description.html", "templates/description.html"
    )
    tree[CONFIG] = config.encode()
    source = MappingSource(tree)
    local = ch.read_local(source)
    planned = plan_local_changes(
        local, source, {"description": "<p>New on EvalAI</p>", "title": "New title"}
    )
    assert set(planned.held) == {"description"}
    assert "phases.dev.description" in planned.held["description"]
    assert set(planned.files) == {CONFIG}
    assert b"title: New title\n" in planned.files[CONFIG]


def test_non_canonical_styles_read_as_evalai_reads_them_and_keep_their_style() -> None:
    tree = files()
    config = tree[CONFIG].decode()
    config = config.replace("start_date: 2019-01-01 00:00:00", "start_date: 2019-1-1 00:00:00", 1)
    config = config.replace(
        "short_description: Guess a hidden sequence of random numbers; each submission is scored",
        "short_description: >\n  Guess a hidden sequence of random numbers;\n  each submission is scored",
    )
    tree[CONFIG] = config.encode()
    source = MappingSource(tree)
    local = ch.read_local(source)
    canonical = ch.read_local(MappingSource(files()))
    assert local.fields["start_date"] == canonical.fields["start_date"] == "2019-01-01T00:00:00Z"
    assert local.fields["short_description"] == canonical.fields["short_description"]
    # a pull of another end date leaves the unpadded start date as written
    planned = plan_local_changes(local, source, {"end_date": "2099-06-30T23:59:59Z"})
    new = planned.files[CONFIG].decode()
    assert "start_date: 2019-1-1 00:00:00" in new and "end_date: 2099-06-30 23:59:59" in new
    # a pull of a new short description keeps the folded style
    planned = plan_local_changes(local, source, {"short_description": "Guess numbers"})
    assert "short_description: >-\n  Guess numbers\n" in planned.files[CONFIG].decode()
    again = ch.read_local(MappingSource({**tree, CONFIG: planned.files[CONFIG]}))
    assert again.fields["short_description"] == "Guess numbers"

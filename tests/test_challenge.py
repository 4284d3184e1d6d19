"""Challenge files <-> synced fields: normalising, reading, EvalAI's JSON, PATCH bodies, writing."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import API_SAMPLES, FIXTURE

from evalai_mirror import catalogue as cat
from evalai_mirror import challenge as ch
from evalai_mirror.errors import ConfigError, SyncError
from evalai_mirror.fsutil import atomic_write_bytes
from evalai_mirror.merge import MISSING, FieldState, merge
from evalai_mirror.remotemodel import Pks, plan_requests
from evalai_mirror.source import MappingSource, WorkTreeSource

CONFIG = "challenge_config.yaml"


def fixture_files() -> dict[str, bytes]:
    return {
        p.relative_to(FIXTURE).as_posix(): p.read_bytes() for p in FIXTURE.rglob("*") if p.is_file()
    }


def with_config(edit: Any, files: dict[str, bytes] | None = None) -> MappingSource:
    """The fixture in memory, its config passed through ``edit(data) -> data``."""
    files = dict(files or fixture_files())
    data = yaml.safe_load(files[CONFIG])
    files[CONFIG] = yaml.safe_dump(edit(data), sort_keys=False).encode()
    return MappingSource(files, label="test")


def recorded_remote() -> dict[str, Any]:
    challenge = json.loads((API_SAMPLES / "challenge_detail_get.json").read_text())
    phases = json.loads((API_SAMPLES / "challenge_phase_list_get.json").read_text())["results"]
    return ch.from_remote(challenge, phases)


# --------------------------------------------------------------------------- keys and values


def test_keys() -> None:
    assert ch.phase_key("dev", "end_date") == "phases.dev.end_date"
    assert ch.split_key("phases.dev.end_date") == ("dev", "end_date")
    assert ch.split_key("phases.v1.2.name") == ("v1.2", "name")
    assert ch.split_key("title") == (None, "title")
    keys = ["title", "description", "terms_and_conditions", "phases.dev.description",
            "phases.dev.name", "leaderboard_description"]
    assert ch.text_keys(keys) == {"description", "terms_and_conditions", "phases.dev.description"}
    assert ch.split_key("splits.dev.train.visibility") == ("split dev/train", "visibility")
    assert ch.split_key("leaderboards.1.schema") == ("leaderboard 1", "schema")
    assert ch.CHALLENGE_FIELDS == tuple(cat.fields(cat.Scope.CHALLENGE))
    assert ch.PHASE_FIELDS == tuple(cat.fields(cat.Scope.PHASE))


@pytest.mark.parametrize(
    "value, expected",
    [
        (dt.datetime(2019, 1, 1), "2019-01-01T00:00:00Z"),
        (dt.datetime(2019, 1, 1, 2, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         "2019-01-01T00:00:00Z"),
        (dt.datetime(2019, 1, 1, 0, 0, 0, 250000), "2019-01-01T00:00:00.250000Z"),
        (dt.date(2019, 1, 1), "2019-01-01T00:00:00Z"),
        ("2019-01-01 00:00:00", "2019-01-01T00:00:00Z"),
        ("2019-01-01T00:00:00Z", "2019-01-01T00:00:00Z"),
        ("2019-01-01T00:00:00+00:00", "2019-01-01T00:00:00Z"),
        ("2019-01-01T05:30:00+05:30", "2019-01-01T00:00:00Z"),
        ("2019-01-01T00:00:00.000001Z", "2019-01-01T00:00:00.000001Z"),
        (" not a date ", "not a date"),
        (None, None),
    ],
)
def test_normalise_dates(value: Any, expected: Any) -> None:
    assert ch.normalise("start_date", value) == expected
    assert ch.normalise("phases.dev.end_date", value) == expected


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("title", "  A title \n", "A title"),
        ("description", "<p>a</p>\r\n<p>b</p>\r\n", "<p>a</p>\n<p>b</p>"),
        ("title", 2024, "2024"),
        ("published", True, True),
        ("published", "false", False),
        ("published", 1, True),
        ("phases.dev.is_public", "maybe", "maybe"),
        ("phases.dev.max_submissions", 50, 50),
        ("phases.dev.max_submissions", "50", 50),
        ("phases.dev.max_submissions", 50.0, 50),
        ("phases.dev.max_submissions", True, True),
        ("phases.dev.max_submissions", "lots", "lots"),
        ("phases.dev.name", None, None),
    ],
)
def test_normalise_other_types(field: str, value: Any, expected: Any) -> None:
    got = ch.normalise(field, value)
    assert got == expected and type(got) is type(expected)


# --------------------------------------------------------------------------- read_local


FIXTURE_OWN_TEXTS = {
    "short_description",
    "description",
    "evaluation_details",
    "terms_and_conditions",
    "submission_guidelines",
    "leaderboard_description",
    "phases.dev.description",
    "phases.test.description",
    "phases.dev.submission_meta_attributes",
    "phases.test.submission_meta_attributes",
}
"""The fixture's texts are its own; the recorded challenge was made with other words."""


def test_fixture_reads_like_evalai_after_a_push() -> None:
    """The recorded EvalAI side was made from a challenge with the fixture's values and other
    texts, then its title was edited: every other value reads the same."""
    local = ch.read_local(WorkTreeSource(FIXTURE))
    remote = recorded_remote()
    # the challenge detail and phase list return every challenge and phase field but prizes
    # and sponsors (their own GETs); splits, leaderboards and dataset splits come from others
    scopes = {cat.Scope.CHALLENGE, cat.Scope.PHASE}
    read = {k for k in local.fields if (p := cat.parse_key(k)) and p.scope in scopes}
    assert set(remote) == read - {"prizes", "sponsors"}
    differing = {k for k in remote if local.fields[k] != remote[k]}
    assert differing == {"title"} | FIXTURE_OWN_TEXTS
    assert remote["title"] == local.fields["title"] + " (edited)"


def test_fixture_locations_and_phase_ids() -> None:
    local = ch.read_local(WorkTreeSource(FIXTURE))
    assert local.phase_ids == {"dev": 1, "test": 2}
    assert local.locations["title"] == ch.Location(CONFIG, ("title",), 2)
    assert local.locations["phases.test.end_date"] == ch.Location(
        CONFIG, ("challenge_phases", 1, "end_date"), 63
    )
    assert local.locations["description"] == ch.Location("templates/description.html", None, None)
    assert local.locations["phases.dev.description"].path == (
        "templates/challenge_phase_1_description.html"
    )
    assert local.unreferenced == set()
    assert local.fields["start_date"] == "2019-01-01T00:00:00Z"
    assert local.fields["published"] is True
    assert local.fields["phases.dev.max_submissions_per_day"] == 5


def test_absent_optional_fields_are_evalai_defaults() -> None:
    def strip(data: dict[str, Any]) -> dict[str, Any]:
        for key in ("published", "remote_evaluation", "is_docker_based", "short_description"):
            data.pop(key)
        for phase in data["challenge_phases"]:
            for key in ("leaderboard_public", "is_public", "is_submission_public",
                        "max_submissions_per_day", "max_submissions_per_month",
                        "is_restricted_to_select_one_submission",
                        "is_partial_submission_evaluation_enabled"):
                phase.pop(key)
        data["challenge_phases"][1].pop("max_submissions")
        return data

    local = ch.read_local(with_config(strip))
    fields = local.fields
    assert (fields["published"], fields["remote_evaluation"], fields["is_docker_based"]) == (
        False, False, False)
    assert fields["short_description"] is None
    assert fields["phases.dev.allowed_submission_file_types"] == (
        ".json, .zip, .txt, .tsv, .gz, .csv, .h5, .npy")
    assert fields["phases.dev.max_submissions_per_day"] == 100000
    assert fields["phases.dev.max_submissions_per_month"] == 50  # follows max_submissions
    assert fields["phases.test.max_submissions"] == 100000
    assert fields["phases.test.max_submissions_per_month"] == 100000
    assert fields["phases.dev.is_public"] is False
    assert fields["phases.dev.is_restricted_to_select_one_submission"] is False
    # an absent key still has a place to be written: the phase's mapping, at the phase's line
    where = local.locations["phases.dev.is_public"]
    assert where.yaml_path == ("challenge_phases", 0, "is_public")


def test_missing_html_file_and_unreferenced_html() -> None:
    def edit(data: dict[str, Any]) -> dict[str, Any]:
        data["evaluation_details"] = "templates/gone.html"
        del data["submission_guidelines"]
        data["challenge_phases"][1]["description"] = "Inline text, not a file"
        return data

    local = ch.read_local(with_config(edit))
    assert local.fields["evaluation_details"] is None
    assert local.locations["evaluation_details"].path == "templates/gone.html"
    assert local.fields["submission_guidelines"] is None
    assert local.locations["submission_guidelines"].path == "templates/submission_guidelines.html"
    # EvalAI reads a phase description only from an .html file: inline text gives no description
    assert local.fields["phases.test.description"] is None
    assert local.unreferenced == {"submission_guidelines", "phases.test.description"}


def _digests(edit: Any = None, files: dict[str, bytes] | None = None) -> dict[str, str]:
    return ch.read_local(with_config(edit or (lambda d: d), files)).structure


def test_structure_digests_see_only_what_the_zip_changes() -> None:
    base = _digests()
    assert set(base) == {
        "leaderboard", "dataset_splits", "challenge_phase_splits", "phases", "evaluation_script",
        "annotations.dev", "annotations.test", "image", "other",
    }

    def changed(edit: Any = None, files: dict[str, bytes] | None = None) -> set[str]:
        new = _digests(edit, files)
        return {key for key in base.keys() | new.keys() if base.get(key) != new.get(key)}

    def synced_only(d: dict[str, Any]) -> dict[str, Any]:
        d["title"] = "Other"
        d["challenge_phases"][0]["name"] = "Renamed"
        d["challenge_phases"][0]["max_submissions"] = 9
        return d

    assert changed(synced_only) == set()
    # every synced field is changed by a request of its own, not the zip
    assert changed(lambda d: {**d, "tags": ["cv"], "max_team_members": 3}) == set()
    assert changed(lambda d: (d["leaderboard"][0]["schema"]["labels"].append("X"), d)[1]) == set()
    assert changed(lambda d: (d["dataset_splits"][0].update(name="N"), d)[1]) == set()
    assert changed(lambda d: (d["challenge_phase_splits"][0].update(visibility=3), d)[1]) == set()
    assert changed(lambda d: (d["challenge_phases"][0].pop("submission_meta_attributes"), d)[1]
                   ) == set()
    # adding or removing a leaderboard, split or phase split, or other keys, needs the zip
    assert changed(lambda d: {**d, "not_a_field": 1}) == {"other"}
    assert changed(lambda d: (d["leaderboard"].append({"id": 2, "schema": {}}), d)[1]) == {
        "leaderboard"}
    assert changed(lambda d: (d["dataset_splits"][0].update(codename="n"), d)[1]) == {
        "dataset_splits"}
    assert changed(lambda d: (d["challenge_phase_splits"].pop(), d)[1]) == {
        "challenge_phase_splits"}
    assert changed(lambda d: (d["challenge_phases"][0].update(id=7), d)[1]) == {"phases"}

    files = fixture_files()
    assert changed(files={**files, "evaluation_script/main.py": b"# new\n"}) == {
        "evaluation_script"}
    assert changed(files={**files, "evaluation_script/extra.py": b""}) == {"evaluation_script"}
    assert changed(files={**files, "annotations/test_annotations_devsplit.json": b"{}"}) == {
        "annotations.dev"}
    assert changed(files={**files, "logo.jpg": b"\xff\xd8 other"}) == {"image"}
    assert changed(files={**files, "templates/description.html": b"<p>x</p>"}) == set()
    # the same config written in another key order has the same digests
    assert _digests(lambda d: dict(reversed(list(d.items())))) == base


@pytest.mark.parametrize(
    "config, message, line",
    [
        (b"title: [unclosed\n", "is not valid YAML", 2),
        (b"- just\n- a list\n", "must be a mapping", 1),
        (b"title: x\nstart_date: 2024-13-45 00:00:00\n", "YAML cannot read", None),
        (b"title: \xff\xfe\n", "is not UTF-8", None),
        (b"title: x\ndescription: ../outside.html\n", "points outside the repository", 2),
        (b"title: x\nchallenge_phases:\n  - codename: a\n    test_annotation_file: /etc/passwd\n",
         "points outside the repository", 4),
        (b"title: x\nextra: &x [1, *x]\n", "contains itself", None),
    ],
)
def test_bad_config_is_a_config_error(config: bytes, message: str, line: int | None) -> None:
    with pytest.raises(ConfigError) as caught:
        ch.read_local(MappingSource({CONFIG: config}))
    assert message in str(caught.value)
    assert caught.value.path == CONFIG and caught.value.line == line


def test_missing_config_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        ch.read_local(WorkTreeSource(tmp_path))
    assert "not found in the working copy" in str(caught.value)
    assert "challenge repository" in str(caught.value)


# --------------------------------------------------------------------------- EvalAI's side


def test_from_remote_shapes() -> None:
    remote = recorded_remote()
    assert remote["end_date"] == "2099-05-31T23:59:59Z"
    assert remote["phases.dev.max_submissions_per_day"] == 5
    assert remote["phases.test.leaderboard_public"] is True
    assert remote["description"].startswith("<p>Random number")
    assert len(remote) == len(ch.CHALLENGE_FIELDS) - 2 + 2 * len(ch.PHASE_FIELDS)
    assert remote["tags"] == [] and remote["domain"] is None
    assert remote["phases.dev.max_concurrent_submissions_allowed"] == 3


def test_plan_requests_one_per_object_and_kind() -> None:
    snapshot = {
        "title": "New",
        "end_date": "2100-01-01T00:00:00Z",
        "phases.dev.max_submissions_per_day": 7,
        "phases.dev.start_date": "2019-01-19 00:00:00",
        "phases.test.name": "T",
        "tags": ["a", "b"],
        "domain": "CV",
        "splits.dev.train.visibility": 1,
        "leaderboards.1.schema": {"labels": ["A"], "default_order_by": "A"},
        "dataset_splits.train.name": "Train",
        "prizes": [],
    }
    pks = Pks(phases={"dev": 11, "test": 12}, splits={("dev", "train"): 21},
              leaderboards={"1": 31}, dataset_splits={"train": 41})
    keys = [k for k in snapshot if k != "domain"]
    requests, zip_only = plan_requests(5, snapshot, keys, pks)
    got = {(r.write, r.pk): r.body for r in requests}
    assert got == {
        (cat.Write.CHALLENGE, 5): {"title": "New", "end_date": "2100-01-01T00:00:00Z"},
        (cat.Write.PHASE, 11): {"max_submissions_per_day": 7, "start_date": "2019-01-19T00:00:00Z"},
        (cat.Write.PHASE, 12): {"name": "T"},
        (cat.Write.TAGS_DOMAIN, 5): {"list_tags": ["a", "b"], "domain": "CV"},
        (cat.Write.PHASE_SPLIT, 21): {"visibility": 1},
        (cat.Write.LEADERBOARD, 31): {"schema": '{"labels": ["A"], "default_order_by": "A"}'},
        (cat.Write.DATASET_SPLIT, 41): {"name": "Train"},
    }
    assert zip_only == ["prizes"]
    # EvalAI's tags-and-domain request cannot clear a domain: that takes the zip
    no_domain = {**snapshot, "domain": None}
    requests, zip_only = plan_requests(5, no_domain, ["tags"], pks)
    assert requests == [] and zip_only == ["tags"]
    # an object EvalAI does not have yet: only the zip can add it
    assert plan_requests(5, {"phases.new.name": "N"}, ["phases.new.name"], pks)[1] == [
        "phases.new.name"]

def apply(source_files: dict[str, bytes], written: dict[str, bytes]) -> MappingSource:
    return MappingSource({**source_files, **written})


def test_pulling_the_recorded_remote_changes_one_line(fixture_copy: Path) -> None:
    source = WorkTreeSource(fixture_copy)
    local = ch.read_local(source)
    remote = {**local.fields, **recorded_remote(),
              **{k: local.fields[k] for k in FIXTURE_OWN_TEXTS}}
    result = merge(local.fields, local.fields, remote, text_keys=ch.text_keys(local.fields))
    assert result.to_local == {"title": "Random Number Generator Challenge (edited)"}
    written = ch.render_local_changes(local, source, result.to_local)
    assert set(written) == {CONFIG}
    for path, data in written.items():
        atomic_write_bytes(fixture_copy / path, data)
    old = (FIXTURE / CONFIG).read_text().splitlines()
    new = (fixture_copy / CONFIG).read_text().splitlines()
    assert [(a, b) for a, b in zip(old, new, strict=True) if a != b] == [
        ("title: Random Number Generator Challenge",
         "title: Random Number Generator Challenge (edited)")
    ]
    again = ch.read_local(WorkTreeSource(fixture_copy))
    assert again.fields == remote


def test_every_field_can_be_written_and_read_back() -> None:
    files = fixture_files()
    source = MappingSource(files)
    local = ch.read_local(source)
    changes = {
        "title": "T: with colon",
        "short_description": "yes",
        "description": "<p>new</p>\n<p>two</p>",
        "leaderboard_description": "multi\nline",
        "start_date": "2018-01-01T00:00:00Z",
        "end_date": "2100-01-01T12:30:00.500000Z",
        "published": False,
        "remote_evaluation": True,
        "phases.dev.name": "Dev #1",
        "phases.dev.description": "<p>dev</p>",
        "phases.dev.max_submissions_per_month": 99,
        "phases.dev.allowed_submission_file_types": ".json",
        "phases.test.is_restricted_to_select_one_submission": True,
        "phases.test.leaderboard_public": False,
    }
    written = ch.render_local_changes(local, source, changes)
    assert set(written) == {
        CONFIG, "templates/description.html", "templates/challenge_phase_1_description.html"}
    again = ch.read_local(apply(files, written))
    for key, value in changes.items():
        assert again.fields[key] == value, key
    untouched = set(local.fields) - set(changes)
    assert {k: again.fields[k] for k in untouched} == {k: local.fields[k] for k in untouched}
    assert again.structure == local.structure
    config = written[CONFIG].decode()
    assert "start_date: 2018-01-01 00:00:00\n" in config  # the file's naive style
    assert "end_date: 2100-01-01 12:30:00.500000\n" in config
    assert "remote_evaluation: True\n" in config and "published: False\n" in config


def test_html_keeps_final_newline_and_line_endings() -> None:
    files = fixture_files()
    files["templates/description.html"] = b"<p>old</p>\r\n<p>x</p>\r\n"
    files["templates/terms_and_conditions.html"] = b"<p>no final newline</p>"
    source = MappingSource(files)
    local = ch.read_local(source)
    assert local.fields["description"] == "<p>old</p>\n<p>x</p>"
    written = ch.render_local_changes(
        local, source, {"description": "<p>new</p>\n<p>x</p>", "terms_and_conditions": "<p>t</p>"}
    )
    assert written == {
        "templates/description.html": b"<p>new</p>\r\n<p>x</p>\r\n",
        "templates/terms_and_conditions.html": b"<p>t</p>",
    }


def test_html_file_shared_by_two_fields_is_not_changed_for_one() -> None:
    def share(data: Any) -> Any:
        data["evaluation_details"] = data["description"]
        return data

    source = with_config(share)
    local = ch.read_local(source)
    assert local.fields["evaluation_details"] == local.fields["description"]
    # writing only one of them would silently change the other (and the next push would send it)
    with pytest.raises(SyncError, match=r"templates/description.html also holds evaluation_details"):
        ch.render_local_changes(local, source, {"description": "<p>new</p>"})
    written = ch.render_local_changes(
        local, source, {"description": "<p>new</p>", "evaluation_details": "<p>new</p>"}
    )
    assert written == {"templates/description.html": b"<p>new</p>\n"}


def test_unchanged_html_is_not_written() -> None:
    source = MappingSource(fixture_files())
    local = ch.read_local(source)
    assert ch.render_local_changes(local, source, {"description": local.fields["description"]}) == {}


def test_unreferenced_html_gets_a_file_and_a_config_key() -> None:
    source = with_config(lambda d: (d.pop("submission_guidelines"), d)[1])
    local = ch.read_local(source)
    written = ch.render_local_changes(local, source, {"submission_guidelines": "<p>guide</p>"})
    assert written["templates/submission_guidelines.html"] == b"<p>guide</p>\n"
    config = yaml.safe_load(written[CONFIG])
    assert config["submission_guidelines"] == "templates/submission_guidelines.html"
    again = ch.read_local(apply(source.files, written))
    assert again.fields["submission_guidelines"] == "<p>guide</p>"
    assert again.unreferenced == set()


def test_absent_yaml_key_is_inserted() -> None:
    source = with_config(lambda d: (d["challenge_phases"][0].pop("is_public"), d)[1])
    local = ch.read_local(source)
    written = ch.render_local_changes(local, source, {"phases.dev.is_public": True})
    assert ch.read_local(apply(source.files, written)).fields["phases.dev.is_public"] is True


def test_a_phase_on_one_side_only_cannot_be_written() -> None:
    source = MappingSource(fixture_files())
    local = ch.read_local(source)
    with pytest.raises(SyncError, match=r"phase `extra`.*zip upload"):
        ch.render_local_changes(local, source, {"phases.extra.name": "Extra"})
    with pytest.raises(SyncError):
        ch.render_local_changes(local, source, {"phases.dev.name": MISSING})


def test_merge_states_over_real_snapshots() -> None:
    local = ch.read_local(MappingSource(fixture_files()))
    remote = {**local.fields, **recorded_remote()}
    base = dict(local.fields)
    edited_local = {**local.fields, "phases.dev.max_submissions": 60}
    result = merge(base, edited_local, remote, text_keys=ch.text_keys(remote))
    assert result.fields["title"].state is FieldState.REMOTE
    assert result.fields["phases.dev.max_submissions"].state is FieldState.LOCAL
    requests, zip_only = plan_requests(1, result.to_remote, result.to_remote, Pks({"dev": 1}))
    assert [(r.write, r.body) for r in requests] == [(cat.Write.PHASE, {"max_submissions": 60})]
    assert zip_only == []


def test_edits_only_challenge_keys_reads_the_config_text_by_top_level_key() -> None:
    before = (
        "# a challenge\ntitle: Old\nstart_date: 2026-01-01 00:00:00\n"
        "challenge_phases:\n  - id: 1\n    name: Dev\n\n# the end\n"
    )
    assert ch.top_level_blocks(before)["challenge_phases"] == (
        "challenge_phases:\n  - id: 1\n    name: Dev\n\n# the end"
    )
    assert ch.edits_only_challenge_keys(before, before.replace("Old", "New"))
    assert ch.edits_only_challenge_keys(before, before + "max_team_members: 3\n")  # a new key
    assert ch.edits_only_challenge_keys(before, before.replace("title: Old", "'title': New"))
    assert not ch.edits_only_challenge_keys(before, before)  # nothing to read
    assert not ch.edits_only_challenge_keys(before, before.replace("Dev", "Development"))
    both = before.replace("Old", "New").replace("Dev", "Development")
    assert not ch.edits_only_challenge_keys(before, both)  # a phase too: not the challenge alone
    assert not ch.edits_only_challenge_keys(before, "# a comment\n" + before)  # no key
    assert not ch.edits_only_challenge_keys(before, before + "image: logo.png\n")  # no field


def test_challenge_html_files_are_read_from_the_config_text() -> None:
    text = (
        "title: x\ndescription: \"pages/about.html\"  # the page\n"
        "evaluation_details: >\n  inline text\nterms_and_conditions: ../outside.html\n"
        "challenge_phases:\n  - description: templates/phase.html\n"
    )
    # submission_guidelines is left out: its default file; the phase's file is not the
    # challenge's; a folded block names no file, nor a path out of the repository
    assert ch.challenge_html_files(text) == [
        "pages/about.html", "templates/submission_guidelines.html"
    ]

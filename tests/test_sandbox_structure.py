"""The sandbox's phase splits, leaderboards, dataset splits, tags, domain, prizes and sponsors:
what its zip import sets (as EvalAI's create_or_update_github_challenge does), and that every
kind of edit in "EvalAI's UI" (``sandbox.edit_*``, ``/_sandbox/edit``, ``sandbox edit``) is
what the host API then answers."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from contract.record import EXTRA_CONFIG, fixture_zip
from test_sandbox import CONFIG, DETAIL, PHASES, SPLITS, call, post_zip

REPO = "host-org/random-challenge"


@pytest.fixture
def extras(sandbox: Any) -> tuple[Any, int]:
    """The fixture challenge with record.py's tags, domain, prizes and sponsors: (sandbox, pk)."""
    assert post_zip(sandbox, fixture_zip()).status_code == 201
    return sandbox, int(sandbox.challenge_pk(REPO))


def _splits(server: Any, pk: int) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["challenge_phase_name"], s["dataset_split_name"]): s for s in server.get_phase_splits(pk)}


def test_zip_applies_tags_domain_prizes_and_sponsors(extras: tuple[Any, int]) -> None:
    server, pk = extras
    detail = call(server, "GET", DETAIL.format(team=1, pk=pk)).json()
    assert sorted(detail["list_tags"]) == ["computer vision", "random numbers"]
    assert (detail["domain"], detail["domain_name"], detail["has_prize"], detail["has_sponsors"]) == (
        "CV", "Computer Vision", True, True,
    )  # fmt: skip
    prizes = call(server, "GET", f"/api/challenges/challenge/{pk}/prizes/", token=None).json()
    assert [(p["rank"], p["amount"]) for p in prizes] == [(1, "1000USD"), (2, "500.50USD")]
    sponsors = call(server, "GET", f"/api/challenges/challenge/{pk}/sponsors/", token=None).json()
    assert [s["name"] for s in sponsors] == ["Sponsor One", "Sponsor Two"]

    # An update without tags, domain, prizes and sponsors: tags and domain go, the flags drop.
    assert post_zip(server, fixture_zip(extra="")).status_code == 200
    detail = call(server, "GET", DETAIL.format(team=1, pk=pk)).json()
    assert (detail["list_tags"], detail["domain"], detail["domain_name"]) == ([], None, None)
    assert (detail["has_prize"], detail["has_sponsors"]) == (False, False)


def test_zip_update_keeps_tag_order_and_sets_only_three_split_keys(extras: tuple[Any, int]) -> None:
    server, pk = extras
    edited = server.edit_challenge(pk, list_tags=["random numbers", "computer vision", "ui tag"])
    assert edited["list_tags"] == ["computer vision", "random numbers", "ui tag"]  # kept ones keep their place
    dev_train = ("Dev Phase", "Train Split")
    server.edit_phase_split(pk, "dev", "train_split", show_execution_time=True, visibility=3)
    extra = EXTRA_CONFIG.replace("  - computer vision\n", "  - computer vision\n  - zip tag\n")
    extra = extra.replace("  - name: Sponsor One\n", "  - name: Sponsor Zero\n")  # else EvalAI's update fails
    assert post_zip(server, fixture_zip(extra=extra)).status_code == 200
    detail = call(server, "GET", DETAIL.format(team=1, pk=pk)).json()
    assert detail["list_tags"] == ["computer vision", "random numbers", "zip tag"]  # "ui tag" went
    split = _splits(server, pk)[dev_train]
    assert split["visibility"] == 1  # the config's value again
    assert split["show_execution_time"] is True  # the zip never sets the show_* flags


def test_zip_update_with_the_same_first_sponsor_fails_as_evalai_does(extras: tuple[Any, int]) -> None:
    server, pk = extras
    changed = EXTRA_CONFIG.replace("domain: CV", "domain: NLP").replace("1000USD", "2000USD")
    answer = post_zip(server, fixture_zip(extra=changed))
    assert answer.status_code == 400
    assert answer.json() == {"error": "Error in creating challenge: None. Please check the yaml configuration!"}
    assert call(server, "GET", DETAIL.format(team=1, pk=pk)).json()["domain"] == "NLP"  # saved before
    prizes = call(server, "GET", f"/api/challenges/challenge/{pk}/prizes/").json()
    assert prizes[0]["amount"] == "1000USD"  # not reached


def test_zip_update_resets_absent_submission_meta_attributes(sandbox: Any) -> None:
    assert post_zip(sandbox, fixture_zip(extra="")).status_code == 201
    pk = int(sandbox.challenge_pk(REPO))
    first = {p["codename"]: p for p in sandbox.get_phases(pk)}
    assert first["dev"]["submission_meta_attributes"] is not None
    config = CONFIG.replace("    submission_meta_attributes:\n", "    old_submission_meta_attributes:\n", 1)
    assert post_zip(sandbox, fixture_zip_with(config)).status_code == 200
    assert {p["codename"]: p for p in sandbox.get_phases(pk)}["dev"]["submission_meta_attributes"] is None


def fixture_zip_with(config: str) -> bytes:
    from test_sandbox import fixture_zip as plain_zip

    return plain_zip(config)


def test_every_kind_of_ui_edit_is_seen_by_the_host_api(extras: tuple[Any, int]) -> None:
    server, pk = extras
    detail_path = DETAIL.format(team=1, pk=pk)

    server.edit_challenge(pk, max_team_members=3, tags=["a", "random numbers"], domain="RL")
    detail = call(server, "GET", detail_path).json()
    assert (detail["max_team_members"], detail["list_tags"], detail["domain"]) == (3, ["random numbers", "a"], "RL")

    server.edit_challenge(pk, allowed_email_domains=["example.org"], prizes=[{"rank": 1, "amount": "5EUR"}],
                          sponsors=[])  # fmt: skip
    detail = call(server, "GET", detail_path).json()
    assert detail["allowed_email_domains"] == ["example.org"] and detail["has_sponsors"] is False
    prizes = call(server, "GET", f"/api/challenges/challenge/{pk}/prizes/").json()
    assert prizes == [{"challenge": pk, "amount": "5EUR", "rank": 1, "description": None}]

    server.edit_phase(pk, "test", max_concurrent_submissions_allowed=7, disable_logs=True)
    phase = next(p for p in call(server, "GET", PHASES.format(pk=pk)).json()["results"] if p["codename"] == "test")
    assert (phase["max_concurrent_submissions_allowed"], phase["disable_logs"]) == (7, True)

    server.edit_phase_split(pk, "test", "test_split", visibility=2, leaderboard_decimal_precision=5,
                            is_leaderboard_order_descending=False, show_scores_on_leaderboard=False)  # fmt: skip
    listed = {(s["challenge_phase_name"], s["dataset_split_name"]): s
              for s in call(server, "GET", SPLITS.format(pk=pk)).json()}  # fmt: skip
    split = listed[("Test Phase", "Test Split")]
    assert (split["visibility"], split["show_scores_on_leaderboard"]) == (2, False)
    detail_split = call(server, "GET", f"/api/challenges/challenge/create/challenge_phase_split/{split['id']}/").json()
    assert (detail_split["leaderboard_decimal_precision"], detail_split["is_leaderboard_order_descending"]) == (5, False)

    schema = {"labels": ["Total"], "default_order_by": "Total"}
    server.edit_leaderboard(pk, 1, schema=schema)
    assert all(s["leaderboard_schema"] == schema for s in call(server, "GET", SPLITS.format(pk=pk)).json())

    server.edit_dataset_split(pk, "train_split", name="Training data")
    names = {s["dataset_split_name"] for s in call(server, "GET", SPLITS.format(pk=pk)).json()}
    assert names == {"Training data", "Test Split"}


def test_ui_edits_are_checked_as_evalai_checks_them(extras: tuple[Any, int]) -> None:
    from evalai_mirror.sandbox.service import Refused

    server, pk = extras
    with pytest.raises(Refused) as bad:
        server.edit_phase_split(pk, "dev", "train_split", visibility=7)
    assert (bad.value.status, bad.value.body) == (400, {"visibility": ['"7" is not a valid choice.']})
    with pytest.raises(Refused) as bad:
        server.edit_challenge(pk, domain="XX", max_team_members=9)
    assert bad.value.status == 406
    assert call(server, "GET", DETAIL.format(team=1, pk=pk)).json()["max_team_members"] is None  # all or nothing
    with pytest.raises(Refused):
        server.edit_phase_split(pk, "dev", "no_such_split", visibility=1)


def test_control_route_edits_splits_and_leaderboards(extras: tuple[Any, int]) -> None:
    server, _pk = extras
    edit = server.url + "/_sandbox/edit"
    answer = requests.post(edit, json={"phase": "dev", "split": "train_split", "fields": {"visibility": 3}}, timeout=10)
    assert answer.status_code == 200 and answer.json()["visibility"] == 3
    answer = requests.post(edit, json={"leaderboard": 1, "fields": {"schema": '{"labels": ["X"]}'}}, timeout=10)
    assert answer.status_code == 200 and answer.json()["schema"] == {"labels": ["X"]}
    answer = requests.post(edit, json={"split": "test_split", "fields": {"name": ""}}, timeout=10)
    assert answer.status_code == 400 and answer.json() == {"name": ["This field may not be blank."]}


def test_cli_sandbox_edit_of_a_split_and_tags(
    sandbox_env: Any, run_cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = sandbox_env
    assert post_zip(server, fixture_zip()).status_code == 201
    pk = int(server.challenge_pk(REPO))
    assert run_cli(["sandbox", "edit", "--phase", "test", "--split", "test_split", "visibility=3"]) == 0
    assert "split test/test_split: visibility = 3" in capsys.readouterr().out
    assert _splits(server, pk)[("Test Phase", "Test Split")]["visibility"] == 3
    assert run_cli(["sandbox", "edit", 'tags=["only"]', "domain=AUD"]) == 0
    assert 'tags = ["only"]' in capsys.readouterr().out
    assert run_cli(["sandbox", "edit", "--leaderboard", "1", 'schema={"labels": ["Y"]}']) == 0
    assert _splits(server, pk)[("Test Phase", "Test Split")]["leaderboard_schema"] == {"labels": ["Y"]}
    assert run_cli(["sandbox", "edit", "--split", "test_split", "name=Final"]) == 0
    assert "dataset split test_split: name = \"Final\"" in capsys.readouterr().out

"""EvalAIClient's requests for phase splits, leaderboards, dataset splits, tags and domain,
prizes and sponsors, against the sandbox over real HTTP (no mocks)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from contract.record import fixture_zip

from evalai_mirror.api import EvalAIClient, at_once
from evalai_mirror.errors import AuthError, BadRequestError, NotFoundError
from evalai_mirror.settings import Connection

REPOSITORY = "host-org/structured-challenge"


def _client(sandbox: Any) -> EvalAIClient:
    conn = Connection(host_url=sandbox.url, token=sandbox.token, team_pk=int(sandbox.team_pk))
    return EvalAIClient(conn, retries=0)


def _sent(sandbox: Any, method: str, pattern: str) -> list[Any]:
    return [r for r in sandbox.requests() if r.method == method and re.search(pattern, r.path)]


@pytest.fixture
def made(sandbox: Any) -> Iterator[tuple[Any, EvalAIClient, int]]:
    """The fixture challenge with tags, a domain, prizes and sponsors (record.py's config),
    created through the client: (sandbox, client, pk)."""
    client = _client(sandbox)
    created, _ = client.create_or_update(fixture_zip(), REPOSITORY, "challenge")
    assert created
    found = client.find_challenge(REPOSITORY)
    assert found is not None
    sandbox.clear_requests()
    yield sandbox, client, int(found["id"])
    client.close()


def _split(client: EvalAIClient, pk: int, phase_name: str, split_name: str) -> dict[str, Any]:
    for split in client.phase_splits(pk):
        if (split["challenge_phase_name"], split["dataset_split_name"]) == (phase_name, split_name):
            return split
    raise AssertionError(f"no split {phase_name}/{split_name}")


def test_phase_split_detail_and_patch(made: tuple[Any, EvalAIClient, int]) -> None:
    sandbox, client, pk = made
    listed = _split(client, pk, "Dev Phase", "Train Split")
    assert listed["visibility"] == 1 and "leaderboard" not in listed  # EvalAI's list has no pk
    detail = client.get_phase_split(listed["id"])
    assert detail["leaderboard_decimal_precision"] == 2 and detail["is_leaderboard_order_descending"] is True
    assert isinstance(detail["leaderboard"], int)

    answer = client.patch_phase_split(
        listed["id"], {"visibility": 3, "leaderboard_decimal_precision": 4, "show_execution_time": True}
    )
    assert (answer["visibility"], answer["leaderboard_decimal_precision"], answer["show_execution_time"]) == (
        3, 4, True,
    )  # fmt: skip
    again = _split(client, pk, "Dev Phase", "Train Split")
    assert again["visibility"] == 3 and again["show_execution_time"] is True
    assert client.get_phase_split(listed["id"])["leaderboard_decimal_precision"] == 4
    assert [(r.method, r.path) for r in _sent(sandbox, "PATCH", "")] == [
        ("PATCH", f"/api/challenges/challenge/create/challenge_phase_split/{listed['id']}/")
    ]


def test_phase_split_errors_are_one_line(made: tuple[Any, EvalAIClient, int]) -> None:
    _, client, pk = made
    split_pk = client.phase_splits(pk)[0]["id"]
    with pytest.raises(BadRequestError) as bad:
        client.patch_phase_split(split_pk, {"visibility": 9, "leaderboard_decimal_precision": "x"})
    message = str(bad.value)
    assert "\n" not in message and 'visibility: "9" is not a valid choice.' in message
    assert "leaderboard_decimal_precision: A valid integer is required." in message
    with pytest.raises(BadRequestError, match='challenge_phase: Invalid pk "999999"'):
        client.patch_phase_split(split_pk, {"challenge_phase": 999999})
    with pytest.raises(NotFoundError, match="ChallengePhaseSplit 99999 does not exist"):
        client.get_phase_split(99999)


def test_phase_split_details_are_fetched_at_once(made: tuple[Any, EvalAIClient, int]) -> None:
    sandbox, client, pk = made
    pks = [split["id"] for split in client.phase_splits(pk)]
    assert len(pks) == 3
    sandbox.add_fault("GET", r"/challenge_phase_split/\d+/$", "delay", count=3, delay=0.4)
    started = time.monotonic()
    details = client.phase_split_details(pks)
    elapsed = time.monotonic() - started
    assert sorted(details) == sorted(pks) and all(details[p]["id"] == p for p in pks)
    assert elapsed < 1.0, f"{elapsed:.2f} s: the three GETs were not sent at once"


def test_at_once_raises_the_first_error_after_all_ended() -> None:
    ended: list[int] = []

    def ok() -> int:
        time.sleep(0.05)
        ended.append(1)
        return 1

    def fail() -> int:
        raise NotFoundError("gone")

    with pytest.raises(NotFoundError):
        at_once([fail, ok])
    assert ended == [1]
    assert at_once([ok, ok, ok]) == [1, 1, 1]


def test_leaderboard_get_and_patch(made: tuple[Any, EvalAIClient, int]) -> None:
    sandbox, client, pk = made
    split = client.phase_splits(pk)[0]
    board_pk = client.get_phase_split(split["id"])["leaderboard"]
    board = client.get_leaderboard(board_pk)
    assert board["config_id"] == 1 and board["schema"]["default_order_by"] == "Total"
    schema = {"labels": ["A", "B"], "default_order_by": "B"}
    assert client.patch_leaderboard(board_pk, {"schema": schema})["schema"] == schema  # a mapping is encoded
    assert client.patch_leaderboard(board_pk, {"schema": '{"labels": ["C"], "default_order_by": "C"}'})[
        "schema"
    ] == {"labels": ["C"], "default_order_by": "C"}
    assert client.phase_splits(pk)[0]["leaderboard_schema"] == {"labels": ["C"], "default_order_by": "C"}
    sandbox.clear_requests()
    with pytest.raises(BadRequestError, match="is not JSON"):
        client.patch_leaderboard(board_pk, {"schema": "labels: [A]"})
    assert sandbox.requests() == []  # refused before EvalAI's view could crash on it
    with pytest.raises(NotFoundError, match="Leaderboard 99999 does not exist"):
        client.get_leaderboard(99999)


def test_dataset_split_get_and_patch(made: tuple[Any, EvalAIClient, int]) -> None:
    _, client, pk = made
    split = _split(client, pk, "Test Phase", "Test Split")
    dataset = client.get_dataset_split(split["dataset_split"])
    assert (dataset["name"], dataset["codename"], dataset["config_id"]) == ("Test Split", "test_split", 2)
    answer = client.patch_dataset_split(split["dataset_split"], {"name": "  Held-out Split "})
    assert answer["name"] == "Held-out Split" and answer["codename"] == "test_split"
    assert _split(client, pk, "Test Phase", "Held-out Split")["id"] == split["id"]
    with pytest.raises(BadRequestError, match=r"name: Ensure this field has no more than 100 characters\."):
        client.patch_dataset_split(split["dataset_split"], {"name": "x" * 101})
    with pytest.raises(NotFoundError, match="DatasetSplit 99999 does not exist"):
        client.get_dataset_split(99999)


def test_tags_and_domain(made: tuple[Any, EvalAIClient, int]) -> None:
    sandbox, client, pk = made
    before = client.get_challenge(pk)
    assert sorted(before["list_tags"]) == ["computer vision", "random numbers"]
    assert (before["domain"], before["domain_name"]) == ("CV", "Computer Vision")
    client.patch_tags_and_domain(pk, ["new tag", "computer vision"], "NLP")  # EvalAI: an empty 200
    after = client.get_challenge(pk)
    assert after["list_tags"] == ["computer vision", "new tag"]  # kept ones first, then new ones
    assert (after["domain"], after["domain_name"]) == ("NLP", "Natural Language Processing")

    with pytest.raises(BadRequestError, match="Invalid domain value:XX") as bad:
        client.patch_tags_and_domain(pk, ["other"], "XX")
    assert "CV, NLP" in (bad.value.hint or "")
    assert client.get_challenge(pk)["list_tags"] == ["computer vision", "new tag"]  # nothing saved
    sandbox.clear_requests()
    with pytest.raises(BadRequestError, match="cannot clear the domain"):
        client.patch_tags_and_domain(pk, ["other"], None)
    assert sandbox.requests() == []


def test_tags_of_another_teams_challenge_is_an_auth_error(made: tuple[Any, EvalAIClient, int]) -> None:
    sandbox, client, _ = made
    other, _title = sandbox.service.importer.apply(
        team_pk=2, repository="someone/else", data=fixture_zip(), parsed=_parsed(), existing_pk=None
    )
    with pytest.raises(AuthError, match="not a host of this challenge") as denied:
        client.patch_tags_and_domain(other, ["a"], "CV")
    assert "\n" not in str(denied.value)


def _parsed() -> Any:
    from evalai_mirror.sandbox.importer import read_zip

    return read_zip(fixture_zip())


def test_prizes_and_sponsors(made: tuple[Any, EvalAIClient, int]) -> None:
    _, client, pk = made
    prizes = client.prizes(pk)
    assert [(p["rank"], p["amount"], p["description"]) for p in prizes] == [
        (1, "1000USD", "First prize"), (2, "500.50USD", "Second prize"),
    ]  # fmt: skip
    assert all(p["challenge"] == pk for p in prizes)
    assert [(s["name"], s["website"]) for s in client.sponsors(pk)] == [
        ("Sponsor One", "https://sponsor-one.example.com"),
        ("Sponsor Two", "https://sponsor-two.example.com"),
    ]
    detail = client.get_challenge(pk)
    assert detail["has_prize"] is True and detail["has_sponsors"] is True
    with pytest.raises(NotFoundError, match="Challenge does not exist"):
        client.prizes(99999)

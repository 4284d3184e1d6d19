"""Every kind of field, both ways, for real (git repo + the sandbox over HTTP): an EvalAI-side
edit shows in `status` as "changed on EvalAI" and `pull` changes exactly that value's lines; a
local edit goes by the narrowest request; an EvalAI-side edit plus a commit that needs the zip
makes the push refuse, naming the field, and EvalAI stays as it was."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, changes, commit_all, first_push, git, status_json

CONFIG = "challenge_config.yaml"
SPLITS = 3  # the fixture challenge's phase splits
EXTRA = (
    "tags:\n  - random numbers\n  - games\ndomain: CV\n"
    "prizes:\n  - rank: 1\n    amount: 500USD\n    description: First place\n"
)


@dataclass(frozen=True)
class Kind:
    key: str
    edit_remote: Callable[[Any, int], None]
    # the config's lines a pull of that edit changes: removed, added
    pulled: tuple[list[str], list[str]]
    # (old text, new text) of the local edit in the config (None: none tested), and the
    # request it goes by (the zip for what only the zip writes)
    local: tuple[str, str] | None
    request: str


SCHEMA = {"labels": ["Metric1", "Metric2", "Metric3", "Grand Total"], "default_order_by": "Total"}
KINDS = {
    "challenge scalar": Kind(
        "max_team_members",
        lambda s, pk: s.edit_challenge(pk, max_team_members=4),
        ([], ["max_team_members: 4"]),
        ("published: True\n", "published: True\nmax_team_members: 2\n"),
        r"PATCH /api/challenges/challenge_host_team/\d+/challenge/\d+$",
    ),
    "list": Kind(
        "allowed_email_domains",
        lambda s, pk: s.edit_challenge(pk, allowed_email_domains=["example.org"]),
        ([], ["allowed_email_domains:", "  - example.org"]),  # block, as the tags above
        ("published: True\n", "published: True\nallowed_email_domains: [a.org, b.org]\n"),
        r"PATCH /api/challenges/challenge_host_team/\d+/challenge/\d+$",
    ),
    "phase field": Kind(
        "phases.dev.max_submissions_per_day",
        lambda s, pk: s.edit_phase(pk, "dev", max_submissions_per_day=9),
        (["    max_submissions_per_day: 5"], ["    max_submissions_per_day: 9"]),
        ("    max_submissions_per_day: 5\n", "    max_submissions_per_day: 7\n"),
        r"PATCH /api/challenges/challenge/\d+/challenge_phase/\d+$",
    ),
    "phase split field": Kind(
        "splits.dev.train_split.visibility",
        lambda s, pk: s.edit_phase_split(pk, "dev", "train_split", visibility=3),
        (["    visibility: 1"], ["    visibility: 3"]),
        ("    dataset_split_id: 1\n    visibility: 1\n", "    dataset_split_id: 1\n    visibility: 2\n"),
        r"PATCH /api/challenges/challenge/create/challenge_phase_split/\d+/$",
    ),
    "phase split detail field": Kind(
        "splits.dev.train_split.leaderboard_decimal_precision",
        lambda s, pk: s.edit_phase_split(pk, "dev", "train_split", leaderboard_decimal_precision=4),
        (["    leaderboard_decimal_precision: 2"], ["    leaderboard_decimal_precision: 4"]),
        ("    visibility: 1\n    leaderboard_decimal_precision: 2\n",
         "    visibility: 1\n    leaderboard_decimal_precision: 3\n"),
        r"PATCH /api/challenges/challenge/create/challenge_phase_split/\d+/$",
    ),
    "phase split order": Kind(
        "splits.test.test_split.is_leaderboard_order_descending",
        lambda s, pk: s.edit_phase_split(pk, "test", "test_split",
                                         is_leaderboard_order_descending=False),
        (["    is_leaderboard_order_descending: True"], ["    is_leaderboard_order_descending: False"]),
        ("    is_leaderboard_order_descending: True\n", "    is_leaderboard_order_descending: False\n"),
        r"PATCH /api/challenges/challenge/create/challenge_phase_split/\d+/$",
    ),
    "phase split flag": Kind(  # absent from the config: the pull adds it next to its siblings
        "splits.test.test_split.show_execution_time",
        lambda s, pk: s.edit_phase_split(pk, "test", "test_split", show_execution_time=True),
        ([], ["    show_execution_time: True"]),
        ("    dataset_split_id: 2\n    visibility: 1\n",
         "    dataset_split_id: 2\n    visibility: 1\n    show_execution_time: True\n"),
        r"PATCH /api/challenges/challenge/create/challenge_phase_split/\d+/$",
    ),
    "phase mapping list": Kind(
        "phases.test.submission_meta_attributes",
        lambda s, pk: s.edit_phase(pk, "test", submission_meta_attributes=[
            {**a, "description": "Your method"} if a["name"] == "MethodName" else a
            for a in s.get_phases(pk)[1]["submission_meta_attributes"]]),
        (["        description: Shown to participants"], ["        description: Your method"]),
        ("        type: boolean\n    is_restricted_to_select_one_submission: False\n"
         "    is_partial_submission_evaluation_enabled: False\n\n",
         "        type: radio\n        options: [\"yes\", \"no\"]\n"
         "    is_restricted_to_select_one_submission: False\n"
         "    is_partial_submission_evaluation_enabled: False\n\n"),
        r"PATCH /api/challenges/challenge/\d+/challenge_phase/\d+$",
    ),
    "prizes": Kind(
        "prizes",
        lambda s, pk: s.edit_challenge(pk, prizes=[
            {"rank": 1, "amount": "750USD", "description": "First place"}]),
        (["    amount: 500USD"], ["    amount: 750USD"]),
        ("    amount: 500USD\n", "    amount: 1000USD\n"),
        r"POST /api/challenges/challenge/challenge_host_team/\d+/create_or_update_github_challenge/$",
    ),
    "sponsors": Kind(  # absent from the config (EvalAI's zip update fails once one exists)
        "sponsors",
        lambda s, pk: s.edit_challenge(pk, sponsors=[{"name": "Acme", "website": "https://acme.example"}]),
        ([], ["sponsors:", "  - name: Acme", "    website: https://acme.example"]),
        None,
        "",
    ),
    "leaderboard schema": Kind(
        "leaderboards.1.schema",
        lambda s, pk: s.edit_leaderboard(pk, 1, schema=SCHEMA),
        (['        "labels": ["Metric1", "Metric2", "Metric3", "Total"],'],
         ['        "labels": ["Metric1", "Metric2", "Metric3", "Grand Total"],']),
        ('"default_order_by": "Total",', '"default_order_by": "Metric1",'),
        r"PATCH /api/challenges/challenge/create/leaderboard/\d+/$",
    ),
    "dataset split name": Kind(
        "dataset_splits.train_split.name",
        lambda s, pk: s.edit_dataset_split(pk, "train_split", name="Training Split"),
        (["    name: Train Split"], ["    name: Training Split"]),
        ("    name: Train Split\n", "    name: Training\n"),
        r"PATCH /api/challenges/challenge/create/dataset_split/\d+/$",
    ),
    "tags": Kind(
        "tags",
        lambda s, pk: s.edit_challenge(pk, tags=["random numbers", "games", "puzzles"], domain="CV"),
        ([], ["  - puzzles"]),
        ("  - games\n", "  - board games\n"),
        r"PATCH /api/challenges/challenge/\d+/update_challenge_tags_and_domain/$",
    ),
    "domain": Kind(
        "domain",
        lambda s, pk: s.edit_challenge(pk, tags=["random numbers", "games"], domain="RL"),
        (["domain: CV"], ["domain: RL"]),
        ("domain: CV\n", "domain: NLP\n"),
        r"PATCH /api/challenges/challenge/\d+/update_challenge_tags_and_domain/$",
    ),
}


@pytest.fixture
def synced(
    challenge_repo: Path, sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Any, int]:
    """The fixture challenge with tags and a domain, pushed once: (repo, sandbox, pk)."""
    config = challenge_repo / CONFIG
    config.write_text(config.read_text().replace("published: True\n", "published: True\n" + EXTRA))
    commit_all(challenge_repo, "tags and domain")
    pk = first_push(challenge_repo, monkeypatch)
    sandbox_env.clear_requests()
    return challenge_repo, sandbox_env, pk


def diff_lines(repo: Path) -> tuple[list[str], list[str]]:
    out = git(repo, "diff", "-U0", "--", CONFIG)
    body = [line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return [line[1:] for line in body if line[0] == "-"], [line[1:] for line in body if line[0] == "+"]


@pytest.mark.parametrize("name", list(KINDS))
def test_an_evalai_side_edit_shows_and_pulls_exactly_its_lines(
    name: str, synced: tuple[Path, Any, int], run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, sandbox, pk = synced
    kind = KINDS[name]
    kind.edit_remote(sandbox, pk)
    sandbox.clear_requests()

    code, data = status_json(run_cli, repo, capsys)
    assert code == 2
    states = {f["key"]: f["state"] for f in data["fields"] if f["state"] != "in sync"}
    assert states == {kind.key: "changed on EvalAI"}
    # one round trip: the challenge, its phases, its phase splits, each split's detail (the
    # only answer with its precision and order), prizes and sponsors, sent at once
    assert sorted(r.method for r in sandbox.requests()) == ["GET"] * (3 + SPLITS + 2)
    assert len({r.path for r in sandbox.requests()}) == 3 + SPLITS + 2

    assert run_cli(["pull"], cwd=repo) == 0, capsys.readouterr()
    capsys.readouterr()
    assert diff_lines(repo) == kind.pulled
    code, data = status_json(run_cli, repo, capsys)
    assert code == 0, [f for f in data["fields"] if f["state"] != "in sync"]


@pytest.mark.parametrize("name", [n for n, k in KINDS.items() if k.local is not None])
def test_a_local_edit_goes_by_the_narrowest_request(
    name: str, synced: tuple[Path, Any, int], run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, sandbox, _pk = synced
    kind = KINDS[name]
    assert kind.local is not None  # sponsors: not written from this repository here
    config = repo / CONFIG
    text = config.read_text()
    assert kind.local[0] in text
    config.write_text(text.replace(kind.local[0], kind.local[1], 1))
    commit_all(repo, f"edit {name}")

    code = run_cli(["push"], cwd=repo)
    out = capsys.readouterr().out
    assert code == 0, out
    sent = [f"{method} {path}" for method, path in changes(sandbox)]
    assert len(sent) == 1 and re.match(kind.request, sent[0]), sent
    if kind.request.startswith("POST"):
        # only the zip writes it, and the zip sets every field: every field is compared first
        # (one round trip), then the one upload
        assert len(sandbox.requests()) == 3 + SPLITS + 2 + 1, [r.path for r in sandbox.requests()]
        assert "by zip" in out and f"only the zip writes {kind.key}" in out
    else:
        # a one-field change: at most 3 requests (the GETs that return it, then its PATCH)
        assert len(sandbox.requests()) <= 3, [r.path for r in sandbox.requests()]
        assert "by PATCH" in out
    code, data = status_json(run_cli, repo, capsys)
    assert code == 0, [f for f in data["fields"] if f["state"] != "in sync"]


@pytest.mark.parametrize("name", list(KINDS))
def test_a_zip_push_refuses_to_undo_an_evalai_side_edit(
    name: str, synced: tuple[Path, Any, int], run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, sandbox, pk = synced
    kind = KINDS[name]
    kind.edit_remote(sandbox, pk)
    annotation = repo / "annotations" / "test_annotations_devsplit.json"
    annotation.write_text(annotation.read_text() + "\n")
    commit_all(repo, "new annotations: the zip")
    before = sandbox.get_challenge(pk)
    sandbox.clear_requests()

    from evalai_mirror.challenge import read_local
    from evalai_mirror.source import WorkTreeSource

    if kind.key not in read_local(WorkTreeSource(repo)).explicit:
        # the config lacks the key: the zip leaves EvalAI's value alone
        assert run_cli(["push"], cwd=repo) == 0
        capsys.readouterr()
        assert [m for m, _ in changes(sandbox)] == ["POST"]
        # not undone: EvalAI still holds its own value, which a pull would bring here
        code, data = status_json(run_cli, repo, capsys)
        states = {f["key"]: f["state"] for f in data["fields"] if f["state"] != "in sync"}
        assert code == 2 and states == {kind.key: "changed on EvalAI"}
        return
    assert run_cli(["push"], cwd=repo) == 1
    err = capsys.readouterr().err
    assert kind.key in err and "zip" in err and "evalai-mirror pull" in err
    assert changes(sandbox) == []
    assert sandbox.get_challenge(pk) == before


def test_a_pull_keeps_the_base_of_what_it_did_not_read(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str],
) -> None:
    """A watch poll reads 3 GETs; the split fields EvalAI returns one request per split
    keep their base, so the next one-field push still reads only what it writes."""
    repo, sandbox, pk = synced
    sandbox.edit_challenge(pk, title="Edited On EvalAI")
    assert run_cli(["pull", "--commit"], cwd=repo) == 0
    page = repo / "templates" / "description.html"
    page.write_text(page.read_text() + "<p>More.</p>\n")
    commit_all(repo, "describe more")
    sandbox.clear_requests()
    assert run_cli(["push"], cwd=repo) == 0
    capsys.readouterr()
    assert [r.method for r in sandbox.requests()] == ["GET", "PATCH"]


def test_a_shared_html_file_is_one_decision_and_the_pull_writes_everything_else(
    challenge_repo: Path, sandbox_env: Any, monkeypatch: pytest.MonkeyPatch, run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The challenge and phase dev share templates/description.html; EvalAI changes the
    challenge's description (not the phase's) and the title: the pull writes the title, holds
    the shared file back as one decision, and exits 0."""
    config = challenge_repo / CONFIG
    config.write_text(config.read_text().replace(
        "templates/challenge_phase_1_description.html", "templates/description.html"))
    commit_all(challenge_repo, "one description for the challenge and phase dev")
    pk = first_push(challenge_repo, monkeypatch)
    sandbox_env.edit_challenge(pk, title="Shared Pages", description="<p>Only the challenge</p>")
    before = (challenge_repo / "templates" / "description.html").read_bytes()

    assert run_cli(["pull"], cwd=challenge_repo) == 0
    captured = capsys.readouterr()
    assert diff_lines(challenge_repo) == (["title: Random Number Generator Challenge"],
                                          ["title: Shared Pages"])
    assert (challenge_repo / "templates" / "description.html").read_bytes() == before
    said = captured.out + captured.err
    assert said.count("templates/description.html serves description") == 1, said
    assert "every other value was" in said
    code, data = status_json(run_cli, challenge_repo, capsys)
    states = {f["key"]: f["state"] for f in data["fields"] if f["state"] != "in sync"}
    assert code == 2 and states == {"description": "changed on EvalAI"}


def test_values_written_in_another_style_evalai_reads_the_same_are_in_sync(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str],
) -> None:
    """An unpadded date, a folded block, a quoted number-like string and the schema as block
    YAML instead of JSON are what EvalAI already holds: status is in sync, push sends nothing,
    and a pull of another value keeps them as written."""
    repo, sandbox, pk = synced
    config = repo / CONFIG
    text = config.read_text()
    for old, new in (
        ("start_date: 2019-01-01 00:00:00", "start_date: 2019-1-1 00:00:00"),
        ("short_description: Guess a hidden sequence of random numbers; each submission is scored",
         "short_description: >\n  Guess a hidden sequence of random numbers;\n"
         "  each submission is scored"),
        ("    name: Train Split\n", "    name: 'Train Split'\n"),
        ('      {\n        "labels": ["Metric1", "Metric2", "Metric3", "Total"],\n'
         '        "default_order_by": "Total",\n      }\n',
         "      labels:\n        - Metric1\n        - Metric2\n        - Metric3\n        - Total\n"
         "      default_order_by: Total\n"),
    ):
        assert old in text, old
        text = text.replace(old, new, 1)
    config.write_text(text)
    commit_all(repo, "the same values, written differently")

    code, data = status_json(run_cli, repo, capsys)
    assert code == 0, [f for f in data["fields"] if f["state"] != "in sync"]
    assert run_cli(["push"], cwd=repo) == 0
    capsys.readouterr()
    assert changes(sandbox) == []

    sandbox.edit_challenge(pk, end_date="2099-06-30T12:00:00Z")
    assert run_cli(["pull"], cwd=repo) == 0
    assert diff_lines(repo) == (["end_date: 2099-05-31 23:59:59"], ["end_date: 2099-06-30 12:00:00"])

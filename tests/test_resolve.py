"""`evalai-mirror resolve`: settle conflicts both ways, then push and pull leave everything in
sync (status exit 0).  Real git, the sandbox over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, git, set_title, status_json, sync_once


def _states(run_cli: RunCli, repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, str]]:
    code, data = status_json(run_cli, repo, capsys)
    return code, {f["key"]: f["state"] for f in data["fields"] if f["state"] != "in sync"}


@pytest.fixture
def conflicted(pushed_repo: tuple[Path, int], sandbox_env: Any) -> tuple[Path, int, str]:
    """Title committed here and edited on EvalAI; the first line of description.html changed
    on both sides differently: two conflicts.  Returns (repo, pk, EvalAI's description)."""
    repo, pk = pushed_repo
    set_title(repo, "Title from the repository")
    page = repo / "templates" / "description.html"
    original = page.read_text().strip()
    first = original.splitlines()[0]
    page.write_text(original.replace(first, "<p>Here</p>", 1) + "\n")
    git(repo, "commit", "-qam", "edit title and description")
    remote_description = original.replace(first, "<p>On EvalAI</p>", 1)
    sandbox_env.edit_challenge(pk, title="Title from EvalAI", description=remote_description)
    return repo, pk, remote_description


def test_take_local_then_push_leaves_everything_in_sync(
    conflicted: tuple[Path, int, str],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk, _ = conflicted
    code, states = _states(run_cli, repo, capsys)
    assert code == 2 and states == {"title": "conflict", "description": "conflict"}
    assert run_cli(["resolve", "title", "description", "--take", "local"], cwd=repo) == 0
    out = capsys.readouterr().out
    assert "title: kept the local value; the next push sends it" in out
    code, states = _states(run_cli, repo, capsys)
    assert code == 2 and states == {"title": "changed here", "description": "changed here"}
    assert sync_once("push").action == "patched"
    assert sandbox_env.get_challenge(pk)["title"] == "Title from the repository"
    assert "<p>Here</p>" in sandbox_env.get_challenge(pk)["description"]
    assert not sync_once("pull").written
    assert _states(run_cli, repo, capsys) == (0, {})
    assert run_cli(["log", "--json"], cwd=repo) == 0
    entries = json.loads(capsys.readouterr().out)
    resolve = next(e for e in entries if e["direction"] == "resolve")
    assert resolve["fields"] == ["description", "title"] and resolve["detail"] == "took local"


def test_take_remote_all_then_commit_push_pull_in_sync(
    conflicted: tuple[Path, int, str],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk, remote_description = conflicted
    assert run_cli(["resolve", "--all", "--take", "remote"], cwd=repo) == 0
    out = capsys.readouterr().out
    assert "title: took EvalAI's value" in out and "description: took EvalAI's value" in out
    assert "challenge_config.yaml" in out and "templates/description.html" in out
    assert "title: Title from EvalAI\n" in (repo / "challenge_config.yaml").read_text()
    page = (repo / "templates" / "description.html").read_text()
    assert page.strip() == remote_description.strip()
    assert _states(run_cli, repo, capsys) == (0, {})
    git(repo, "commit", "-qam", "take EvalAI's title and description")
    assert sync_once("push").action == "nothing"
    assert not sync_once("pull").written
    assert _states(run_cli, repo, capsys) == (0, {})
    assert sandbox_env.get_challenge(pk)["title"] == "Title from EvalAI"


def test_all_without_conflicts(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    assert run_cli(["resolve", "--all", "--take", "remote"], cwd=repo) == 0
    assert "no conflicts to resolve" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["resolve", "--take", "local"], "name the fields to settle, or pass --all"),
        (["resolve", "title", "--all", "--take", "local"], "not both"),
        (["resolve", "phases.nope.name", "--take", "remote"], "no field 'phases.nope.name'"),
    ],
)
def test_bad_requests_are_one_line_errors(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    repo, _pk = pushed_repo
    before = (repo / "challenge_config.yaml").read_bytes()
    assert run_cli(argv, cwd=repo) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert (repo / "challenge_config.yaml").read_bytes() == before


def test_take_is_required(pushed_repo: tuple[Path, int], run_cli: RunCli) -> None:
    repo, _pk = pushed_repo
    with pytest.raises(SystemExit) as exc:
        run_cli(["resolve", "title"], cwd=repo)
    assert exc.value.code == 2


def test_resolve_on_a_second_branch_does_not_take_over_the_challenge(
    challenge_repo: Path,
    sandbox_env: Any,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A second branch that resolves must be refused as pull and push are, or its recorded
    claim lets its next push overwrite the challenge the first branch syncs."""
    from conftest import first_push, state_of

    repo = challenge_repo
    git(repo, "switch", "-q", "-c", "challenge-x")
    pk = first_push(repo, monkeypatch)
    git(repo, "switch", "-q", "challenge")
    set_title(repo, "Title from the other branch")
    git(repo, "commit", "-qam", "other title")

    assert run_cli(["resolve", "title", "--take", "local"], cwd=repo) == 1
    assert "already synced from branch 'challenge-x'" in capsys.readouterr().err
    assert state_of(repo) is None
    assert run_cli(["push"], cwd=repo) == 1
    assert sandbox_env.get_challenge(pk)["title"] == "Random Number Generator Challenge"

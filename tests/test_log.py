"""`evalai-mirror log`: the audit log written by real pushes and pulls, newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, git, sync_once


def test_empty_log(challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["log"], cwd=challenge_repo) == 0
    assert "no syncs recorded yet" in capsys.readouterr().out
    assert run_cli(["log", "--json"], cwd=challenge_repo) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_push_and_pull_entries_newest_first(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    config = repo / "challenge_config.yaml"
    config.write_text(config.read_text().replace("title: ", "title: Renamed ", 1))
    git(repo, "commit", "-qam", "rename")
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert sync_once("push", command="push").action == "patched"
    sandbox_env.edit_phase(pk, "dev", max_submissions_per_day=3)
    assert sync_once("pull", command="pull").written

    assert run_cli(["log", "--json"], cwd=repo) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["direction"] for e in entries] == ["pull", "push", "push"]
    pull, push, created = entries
    assert pull["fields"] == ["phases.dev.max_submissions_per_day"]
    assert pull["command"] == "pull" and pull["commit"] is None
    assert push["fields"] == ["title"] and push["commit"] == sha
    assert created["fields"] == ["(created)"]
    assert {e["challenge_pk"] for e in entries} == {pk}
    assert {e["branch"] for e in entries} == {"challenge"}
    assert entries[0]["time"] >= entries[1]["time"] >= entries[2]["time"]

    assert run_cli(["log"], cwd=repo) == 0
    out = capsys.readouterr().out
    assert out.index("pull") < out.index(sha[:7])
    assert "fields: phases.dev.max_submissions_per_day" in out
    assert f"challenge {pk}" in out and "fields: title" in out

    assert run_cli(["log", "-n", "1", "--json"], cwd=repo / "templates") == 0
    assert [e["direction"] for e in json.loads(capsys.readouterr().out)] == ["pull"]
    assert run_cli(["log", "--direction", "push", "--json"], cwd=repo) == 0
    assert [e["direction"] for e in json.loads(capsys.readouterr().out)] == ["push", "push"]
    assert run_cli(["log", "--branch", "other", "--json"], cwd=repo) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_unreadable_line_is_skipped_with_a_warning(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    log = repo / ".git" / "evalai-mirror" / "log.jsonl"
    log.write_text(log.read_text() + "{not json\n")
    assert run_cli(["log", "--json"], cwd=repo) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 1
    assert "log.jsonl:2: skipped an unreadable log line" in captured.err


def test_negative_count_is_a_usage_error(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(["log", "-n", "-1"], cwd=challenge_repo) == 1
    assert "negative" in capsys.readouterr().err


"""A real token committed in github/host_config.json is called out on every sync, never shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import git


def test_push_and_pull_warn_loudly_about_a_committed_token(
    challenge_repo: Path, sandbox: Any, run_cli: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    host_config = challenge_repo / "github" / "host_config.json"
    host_config.write_text(
        json.dumps(
            {"token": sandbox.token, "team_pk": str(sandbox.team_pk), "evalai_host_url": sandbox.url}
        )
    )
    git(challenge_repo, "commit", "-qam", "Fill in host_config.json")

    assert run_cli(["push"], cwd=challenge_repo) == 0  # the token works: the challenge exists
    assert sandbox.challenge_pk("host-org/random-challenge") is not None
    push = capsys.readouterr()
    assert "TOKEN LEAK: github/host_config.json holds a real EvalAI token" in push.err
    assert run_cli(["pull"], cwd=challenge_repo) == 0
    pull = capsys.readouterr()
    assert "TOKEN LEAK" in pull.err
    for text in (push.out, push.err, pull.out, pull.err):
        assert sandbox.token not in text


def test_no_warning_for_the_placeholder(
    challenge_repo: Path, sandbox: Any, run_cli: Any, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in sandbox.env().items():
        monkeypatch.setenv(key, value)
    assert run_cli(["push"], cwd=challenge_repo) == 0
    assert "TOKEN LEAK" not in capsys.readouterr().err

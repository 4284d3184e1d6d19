"""`evalai-mirror config`: sources shown, token never printed, tracked-token warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RunCli, git

TOKEN = "eyJhbGciOiJIUzI1NiJ9.real-looking-token-value.Zm9vYmFy"


def _host_config(repo: Path, token: str) -> None:
    (repo / "github" / "host_config.json").write_text(
        json.dumps({"token": token, "team_pk": "5", "evalai_host_url": "https://eval.ai"})
    )


def test_text_output_shows_sources_and_masks_token(
    challenge_repo: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVALAI_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("EVALAI_TEAM_PK", "12")
    assert run_cli(["config"], cwd=challenge_repo / "templates") == 0
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert "EVALAI_AUTH_TOKEN" in out and TOKEN[-4:] in out
    assert "12" in out and "EVALAI_TEAM_PK" in out
    assert "https://eval.ai" in out and "(default)" in out
    assert "host-org/random-challenge" in out and "git remote origin" in out
    assert "challenge, challenge-*" in out
    assert "TOKEN LEAK" not in err  # the fixture's host_config.json holds only placeholders


def test_json_output(
    challenge_repo: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (challenge_repo / ".evalai-mirror.yml").write_text(
        "branches: [challenge]\nchallenges: {challenge: 9}\npoll_interval: 60\n"
    )
    token_file = challenge_repo.parent / "token.txt"
    token_file.write_text(TOKEN)
    code = run_cli(
        ["config", "--json", "--token-file", str(token_file), "--host-url", "http://127.0.0.1:9"],
        cwd=challenge_repo,
    )
    assert code == 0
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    data = json.loads(out)
    assert data["host_url"] == {"value": "http://127.0.0.1:9", "source": "--host-url"}
    assert data["token"]["source"] == "--token-file"
    assert data["token"]["value"].startswith("***")
    assert data["token_file"] == str(token_file.resolve())
    assert data["team_pk"] == {"value": None, "source": "unset"}
    assert "host team pk" in data["problem"]
    assert "not ready" in err
    repo = data["repository_settings"]
    assert repo["branches"] == {"value": ["challenge"], "source": ".evalai-mirror.yml"}
    assert repo["challenges"]["value"] == {"challenge": 9}
    assert repo["poll_interval"]["value"] == 60
    assert repo["config"]["source"] == "default"
    assert data["token_in_tracked_files"] == []


def test_real_token_in_tracked_host_config_warns_loudly(
    challenge_repo: Path,
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _host_config(challenge_repo, TOKEN)  # the fixture committed host_config.json: it is tracked
    assert run_cli(["config"], cwd=challenge_repo) == 0
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    assert "TOKEN LEAK" in err
    assert "github/host_config.json" in err and "pushed to GitHub" in err
    for fix in ("EVALAI_AUTH_TOKEN", "~/.evalai/token.json", "placeholder", "rotate"):
        assert fix in err
    # the warning stands even when the environment's token is the one in use
    monkeypatch.setenv("EVALAI_AUTH_TOKEN", "another-token-from-env-0000")
    assert run_cli(["config", "--json"], cwd=challenge_repo) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["token_in_tracked_files"] == ["github/host_config.json"]
    assert "TOKEN LEAK" in err


def test_real_token_in_untracked_host_config_is_quiet(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    git(challenge_repo, "rm", "-q", "--cached", "github/host_config.json")
    _host_config(challenge_repo, TOKEN)
    assert run_cli(["config"], cwd=challenge_repo) == 0
    out, err = capsys.readouterr()
    assert "TOKEN LEAK" not in err
    assert "github/host_config.json" in out  # it is the token's source
    assert TOKEN not in out + err


def test_outside_git_skips_tracked_check(
    fixture_copy: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    _host_config(fixture_copy, TOKEN)
    assert run_cli(["config"], cwd=fixture_copy) == 0
    out, err = capsys.readouterr()
    assert "TOKEN LEAK" not in err and TOKEN not in out + err
    assert str(fixture_copy.resolve()) in out


def test_bad_settings_file_is_one_line_error(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    (challenge_repo / ".evalai-mirror.yml").write_text("branches: [challenge]\ncolour: red\n")
    assert run_cli(["config"], cwd=challenge_repo) == 1
    err = capsys.readouterr().err
    assert "error: .evalai-mirror.yml:2: unknown setting 'colour'" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1

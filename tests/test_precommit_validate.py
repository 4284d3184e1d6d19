"""End to end: the `evalai-validate` pre-commit hook refuses a broken challenge_config.yaml."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def _pre_commit(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )


def _commit(repo: Path, message: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "commit", "-m", message], cwd=repo, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_precommit_hook_refuses_broken_config(
    challenge_repo: Path, hook_repo: tuple[Path, str]
) -> None:
    hook_path, sha = hook_repo
    (challenge_repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_path}\n    rev: {sha}\n    hooks:\n      - id: evalai-validate\n"
    )
    installed = _pre_commit(challenge_repo, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (challenge_repo / ".git" / "hooks" / "pre-commit").is_file()
    git(challenge_repo, "add", ".pre-commit-config.yaml")
    first = _commit(challenge_repo, "Add pre-commit")
    assert first.returncode == 0, first.stdout + first.stderr

    config = challenge_repo / "challenge_config.yaml"
    good = config.read_text()
    config.write_text(good.replace("leaderboard_decimal_precision: 2", "visibility_typo: 2", 1))
    git(challenge_repo, "add", "challenge_config.yaml")
    head = git(challenge_repo, "rev-parse", "HEAD").strip()
    refused = _commit(challenge_repo, "Break the config")
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert (
        "challenge_config.yaml:96: ERROR: The following keys are missing in the challenge phase "
        "splits of YAML file (phase_split: 1): leaderboard_decimal_precision"
    ) in output
    assert "Traceback" not in output
    assert git(challenge_repo, "rev-parse", "HEAD").strip() == head

    config.write_text(
        good.replace("title: Random Number Generator Challenge", "title: Better Title")
    )
    git(challenge_repo, "add", "challenge_config.yaml")
    accepted = _commit(challenge_repo, "Retitle")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "evalai-mirror validate" in accepted.stdout + accepted.stderr
    assert git(challenge_repo, "rev-parse", "HEAD").strip() != head

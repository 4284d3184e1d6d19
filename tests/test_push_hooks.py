"""The hooks that run `evalai-mirror push`: real git, the plain hooks and the pre-commit
framework's, the sandbox over real HTTP."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    REPOSITORY,
    ZERO,
    changes,
    commit_all,
    git,
    hold_shared_refs,
    set_title,
    state_of,
)

VENV_BIN = str(Path(sys.executable).parent)


class Runner:
    """Runs git (and the CLI) as a host would, with evalai-mirror on PATH; every output is
    checked for the token."""

    def __init__(self, repo: Path, token: str) -> None:
        self.repo, self.token = repo, token
        self.env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))

    def _run(self, argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(argv, cwd=self.repo, env=self.env, input=stdin,
                              capture_output=True, text=True, check=False, timeout=120)
        assert self.token not in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stdout + proc.stderr
        return proc

    def git(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self._run(["git", *args])

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return self._run([sys.executable, "-m", "evalai_mirror", *args], stdin=stdin)


@pytest.fixture
def host(challenge_repo: Path, sandbox_env: Any) -> Runner:
    return Runner(challenge_repo, sandbox_env.token)


@pytest.fixture
def plain_hooks(host: Runner) -> Runner:
    proc = host.cli("install-hooks", "--post-commit")
    assert proc.returncode == 0, proc.stderr
    return host


@pytest.fixture
def pre_push_pk(host: Runner, sandbox_env: Any) -> int:
    """Only the plain pre-push hook installed, and the challenge created by a first push."""
    assert host.cli("install-hooks", "--hook", "pre-push").returncode == 0
    assert host.cli("push").returncode == 0
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert pk is not None
    sandbox_env.clear_requests()
    return int(pk)


def remote_sha(repo: Path, branch: str = "challenge") -> str:
    return git(repo, "rev-parse", f"origin/{branch}").strip()


def ls_remote(repo: Path, branch: str) -> str:
    return git(repo, "ls-remote", "origin", f"refs/heads/{branch}").strip()


# -- plain hooks -------------------------------------------------------------------------------


@pytest.mark.slow
def test_plain_hooks_create_then_patch_on_commit_and_push(
    plain_hooks: Runner, sandbox_env: Any, challenge_repo: Path
) -> None:
    set_title(challenge_repo, "Made By A Commit")
    git(challenge_repo, "add", "-A")
    proc = plain_hooks.git("commit", "-q", "-m", "retitle")  # post-commit creates it
    assert proc.returncode == 0, proc.stderr
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert pk is not None, proc.stdout + proc.stderr
    assert sandbox_env.get_challenge(pk)["title"] == "Made By A Commit"
    assert "created challenge" in proc.stdout + proc.stderr  # git shows hook output on stderr

    sandbox_env.clear_requests()
    proc = plain_hooks.git("push", "-q", "origin", "challenge")  # pre-push: nothing new
    assert proc.returncode == 0, proc.stderr
    assert changes(sandbox_env) == []
    assert "nothing to send" in proc.stdout + proc.stderr

    set_title(challenge_repo, "Patched By A Commit")
    git(challenge_repo, "add", "-A")
    proc = plain_hooks.git("commit", "-q", "-m", "retitle again")
    assert proc.returncode == 0, proc.stderr
    assert [m for m, _ in changes(sandbox_env)] == ["PATCH"]
    assert sandbox_env.get_challenge(pk)["title"] == "Patched By A Commit"


@pytest.mark.slow
def test_pre_push_sends_the_pushed_commit_with_one_patch(
    host: Runner, sandbox_env: Any, challenge_repo: Path
) -> None:
    assert host.cli("install-hooks", "--hook", "pre-push").returncode == 0
    (challenge_repo / "README.md").write_text("notes\n")
    commit_all(challenge_repo, "readme")
    proc = host.git("push", "-q", "origin", "challenge")
    assert proc.returncode == 0, proc.stderr
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert pk is not None, proc.stdout + proc.stderr
    sandbox_env.clear_requests()

    set_title(challenge_repo, "Pushed Title")
    sha = commit_all(challenge_repo, "retitle")
    set_title(challenge_repo, "Uncommitted Title")
    proc = host.git("push", "-q", "origin", "challenge")
    assert proc.returncode == 0, proc.stderr
    assert changes(sandbox_env) == [
        ("PATCH", f"/api/challenges/challenge_host_team/{sandbox_env.team_pk}/challenge/{pk}")
    ]
    assert sandbox_env.get_challenge(pk)["title"] == "Pushed Title"
    assert remote_sha(challenge_repo) == sha


@pytest.mark.slow
def test_evalai_down_during_pre_push_keeps_the_push_pending(
    host: Runner, sandbox_env: Any, challenge_repo: Path, pre_push_pk: int
) -> None:
    pk = pre_push_pk
    set_title(challenge_repo, "Title During Outage")
    sha = commit_all(challenge_repo, "retitle")
    sandbox_env.add_fault(None, r".*", "drop", count=1000)
    proc = host.git("push", "-q", "origin", "challenge")
    assert proc.returncode == 0, proc.stderr  # git goes on
    assert "pending" in proc.stderr
    assert remote_sha(challenge_repo) == sha
    assert state_of(challenge_repo).pending == sha
    sandbox_env.clear_faults()
    assert sandbox_env.get_challenge(pk)["title"] != "Title During Outage"

    (challenge_repo / "README.md").write_text("notes\n")
    commit_all(challenge_repo, "readme")
    sandbox_env.clear_requests()
    proc = host.git("push", "-q", "origin", "challenge")
    assert proc.returncode == 0, proc.stderr
    assert "missed an earlier push" in proc.stdout + proc.stderr
    assert sandbox_env.get_challenge(pk)["title"] == "Title During Outage"
    assert [m for m, _ in changes(sandbox_env)] == ["PATCH"]
    assert state_of(challenge_repo).pending is None


@pytest.mark.slow
def test_a_stopped_evalai_warns_in_a_hook_and_fails_with_strict(
    host: Runner, sandbox_env: Any, challenge_repo: Path
) -> None:
    sha = git(challenge_repo, "rev-parse", "HEAD").strip()
    refs = f"refs/heads/challenge {sha} refs/heads/challenge {ZERO}\n"
    sandbox_env.stop()
    proc = host.cli("push", "--hook", "pre-push", "origin", "url", stdin=refs)
    assert proc.returncode == 0
    assert "warning: challenge: not sent to EvalAI" in proc.stderr
    assert state_of(challenge_repo).pending == sha
    proc = host.cli("push", "--hook", "pre-push", "--strict", "origin", "url", stdin=refs)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")


def test_missing_credentials_warn_in_a_hook(
    host: Runner, challenge_repo: Path
) -> None:
    for key in ("EVALAI_AUTH_TOKEN", "EVALAI_TEAM_PK"):
        host.env.pop(key)
    sha = git(challenge_repo, "rev-parse", "HEAD").strip()
    refs = f"refs/heads/challenge {sha} refs/heads/challenge {ZERO}\n"
    proc = host.cli("push", "--hook", "pre-push", "origin", "url", stdin=refs)
    assert proc.returncode == 0
    assert "warning: challenge: not sent to EvalAI: missing the EvalAI token" in proc.stderr
    proc = host.cli("push", "--hook", "pre-push", "--strict", "origin", "url", stdin=refs)
    assert proc.returncode == 1


def test_a_rejected_token_warns_in_a_hook_and_is_never_shown(
    host: Runner, sandbox_env: Any, challenge_repo: Path
) -> None:
    wrong = "not-the-token-" + "x" * 20
    host.env["EVALAI_AUTH_TOKEN"] = wrong
    sha = git(challenge_repo, "rev-parse", "HEAD").strip()
    refs = f"refs/heads/challenge {sha} refs/heads/challenge {ZERO}\n"
    proc = host.cli("push", "--hook", "pre-push", "origin", "url", stdin=refs)
    assert proc.returncode == 0
    assert "warning: challenge: not sent to EvalAI" in proc.stderr
    assert wrong not in proc.stdout + proc.stderr
    assert sandbox_env.challenge_pk(REPOSITORY) is None
    proc = host.cli("push")
    assert proc.returncode == 1 and wrong not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_non_challenge_branches_and_deletions_are_skipped_quietly(
    plain_hooks: Runner, sandbox_env: Any, challenge_repo: Path
) -> None:
    git(challenge_repo, "switch", "-q", "-c", "feature")
    set_title(challenge_repo, "Feature Work")
    git(challenge_repo, "add", "-A")
    proc = plain_hooks.git("commit", "-q", "-m", "feature")
    assert proc.returncode == 0
    assert "-> EvalAI" not in proc.stdout + proc.stderr  # (the validate hook may speak)
    proc = plain_hooks.git("push", "-q", "origin", "feature")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""
    assert sandbox_env.requests() == []

    git(challenge_repo, "push", "-q", "--no-verify", "origin", "feature:challenge-old")
    proc = plain_hooks.git("push", "-q", "origin", "--delete", "challenge-old")
    assert proc.returncode == 0, proc.stderr
    assert ls_remote(challenge_repo, "challenge-old") == ""
    assert sandbox_env.requests() == []


@pytest.mark.slow
def test_an_invalid_config_or_a_refusal_stops_git_push(
    host: Runner, sandbox_env: Any, challenge_repo: Path, pre_push_pk: int
) -> None:
    pk = pre_push_pk
    before = remote_sha(challenge_repo)

    config = challenge_repo / "challenge_config.yaml"
    good = config.read_text()
    config.write_text(good.replace("codename: dev", "codename: test", 1))
    commit_all(challenge_repo, "broken")
    proc = host.git("push", "-q", "origin", "challenge")
    assert proc.returncode != 0
    assert "is not a valid challenge: challenge_config.yaml:" in proc.stderr
    assert "the git push was stopped" in proc.stderr
    assert ls_remote(challenge_repo, "challenge").startswith(before)

    config.write_text(good)
    set_title(challenge_repo, "Local")
    commit_all(challenge_repo, "fixed")
    sandbox_env.edit_challenge(pk, title="Edited On EvalAI")
    sandbox_env.clear_requests()
    proc = host.git("push", "-q", "origin", "challenge")
    assert proc.returncode != 0
    assert "EvalAI changed title since the last sync" in proc.stderr
    assert "evalai-mirror pull" in proc.stderr
    assert changes(sandbox_env) == []
    assert sandbox_env.get_challenge(pk)["title"] == "Edited On EvalAI"
    assert ls_remote(challenge_repo, "challenge").startswith(before)


@pytest.mark.slow
def test_a_pull_commit_pushes_nothing_and_does_not_deadlock(
    plain_hooks: Runner, sandbox_env: Any, challenge_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalai_mirror import sync, syncpull

    assert plain_hooks.cli("push").returncode == 0
    pk = sandbox_env.challenge_pk(REPOSITORY)
    sandbox_env.edit_challenge(pk, title="Renamed On EvalAI")
    sandbox_env.clear_requests()
    monkeypatch.setenv("PATH", plain_hooks.env["PATH"])
    monkeypatch.chdir(challenge_repo)
    ctx = sync.open_context(argparse.Namespace())
    try:
        report = syncpull.pull(ctx, commit=True, git_push=True)
    finally:
        ctx.close()
    assert report.commit is not None and report.pushed
    assert remote_sha(challenge_repo) == report.commit
    assert "Renamed On EvalAI" in (challenge_repo / "challenge_config.yaml").read_text()
    assert changes(sandbox_env) == []  # post-commit and pre-push both found nothing to send
    log = (challenge_repo / ".git" / "evalai-mirror" / "log.jsonl").read_text()
    assert log.count('"direction": "push"') == 1  # only the first push


# -- the pre-commit framework --------------------------------------------------------------------


def _our_lines(output: str) -> list[str]:
    """evalai-mirror's lines in git's output under pre-commit (pre-commit's and git's dropped)."""
    return [line.strip() for line in output.splitlines()
            if line.startswith(("challenge ->", "challenge:", "warning:", "error:"))]


@pytest.mark.slow
def test_pre_commit_framework_hooks_push_on_commit_and_on_push(
    host: Runner, sandbox_env: Any, challenge_repo: Path, hook_repo: tuple[Path, str]
) -> None:
    path, sha = hook_repo
    (challenge_repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {path}\n"
        f"    rev: {sha}\n"
        "    hooks:\n"
        "      - id: evalai-push\n"
        "      - id: evalai-push-on-commit\n"
    )
    proc = host._run([sys.executable, "-m", "pre_commit", "install",
                      "-t", "pre-push", "-t", "post-commit"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = host._run([sys.executable, "-m", "pre_commit", "install-hooks"])
    assert proc.returncode == 0, proc.stdout + proc.stderr

    git(challenge_repo, "add", ".pre-commit-config.yaml")
    proc = host.git("commit", "-q", "-m", "pre-commit config")  # post-commit creates it
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert pk is not None, proc.stdout + proc.stderr
    # the manifest's verbose: true shows the passing hook's one line
    assert f"created challenge {pk}: " in proc.stdout + proc.stderr

    sandbox_env.clear_requests()
    set_title(challenge_repo, "Via pre-commit")
    git(challenge_repo, "add", "-A")
    host.env["SKIP"] = "evalai-push-on-commit"  # pre-commit's own switch: leave it to pre-push
    assert host.git("commit", "-q", "-m", "retitle").returncode == 0
    del host.env["SKIP"]
    commit = git(challenge_repo, "rev-parse", "HEAD").strip()
    assert changes(sandbox_env) == []
    proc = host.git("push", "origin", "challenge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [m for m, _ in changes(sandbox_env)] == ["PATCH"]
    assert sandbox_env.get_challenge(pk)["title"] == "Via pre-commit"
    assert remote_sha(challenge_repo) == commit
    ours = _our_lines(proc.stdout + proc.stderr)
    assert len(ours) == 1, (proc.stdout, proc.stderr)
    assert ours == [f"challenge -> EvalAI challenge {pk}: sent commit {commit[:7]} by PATCH: "
                    f"title ({ours[0].rsplit('(', 1)[1]}"], proc.stderr

    # not on a CI runner: the share is left running, and neither pre-commit (which reads the
    # hook's output to its end) nor git waits for it, here held by the remote until released
    bare = Path(git(challenge_repo, "remote", "get-url", "origin").strip())
    release = hold_shared_refs(bare)
    host.env.pop("CI", None)
    set_title(challenge_repo, "Shared Behind Git's Back")
    git(challenge_repo, "add", "-A")
    host.env["SKIP"] = "evalai-push-on-commit"
    assert host.git("commit", "-q", "-m", "retitle again").returncode == 0
    del host.env["SKIP"]
    proc = host.git("push", "origin", "challenge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sandbox_env.get_challenge(pk)["title"] == "Shared Behind Git's Back"
    release()
    host.env["CI"] = "true"

    # EvalAI down: the hook passes (git goes on) and git push's output says the push is pending
    set_title(challenge_repo, "During An Outage")
    git(challenge_repo, "add", "-A")
    host.env["SKIP"] = "evalai-push-on-commit"
    assert host.git("commit", "-q", "-m", "outage").returncode == 0
    del host.env["SKIP"]
    sandbox_env.add_fault(None, r".*", "drop", count=1000)
    proc = host.git("push", "origin", "challenge")
    sandbox_env.clear_faults()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    assert "evalai-mirror push" in output and "Passed" in output
    ours = _our_lines(output)
    assert 1 <= len(ours) <= 3, ours
    assert "kept as pending" in " ".join(ours)
    assert state_of(challenge_repo).pending is not None

    git(challenge_repo, "switch", "-q", "-c", "feature")
    set_title(challenge_repo, "Not Synced")
    git(challenge_repo, "add", "-A")
    sandbox_env.clear_requests()
    assert host.git("commit", "-q", "-m", "feature").returncode == 0
    proc = host.git("push", "origin", "feature")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sandbox_env.requests() == []

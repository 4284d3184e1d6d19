"""`evalai-mirror doctor`: every check failing and passing, against real git, real pre-commit
and the sandbox over HTTP."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, changes, commit_all, git, set_title

from evalai_mirror.checks import check_token_expiry, jwt_expiry

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _jwt(payload: dict[str, Any]) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return ".".join([part(b'{"alg":"HS256"}'), part(json.dumps(payload).encode()), part(b"sig")])


def _install_plain_hooks(repo: Path) -> None:
    from evalai_mirror import hooks
    from evalai_mirror.git import GitRepo

    hooks.install(GitRepo.open(repo))


def _doctor(run_cli: RunCli, repo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = run_cli(["doctor", "--json"], cwd=repo)
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is (code == 0)
    return code, {c["name"]: c for c in data["checks"]}


def _statuses(checks: dict[str, Any]) -> dict[str, str]:
    return {name: c["status"] for name, c in checks.items()}


# -- everything passing ---------------------------------------------------------------------


def test_all_checks_pass(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, pk = pushed_repo
    _install_plain_hooks(repo)
    sandbox_env.clear_requests()
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 0, checks
    assert set(_statuses(checks).values()) == {"pass"}
    assert list(checks) == [
        "challenge config", "secure host URL", "settings", "token expiry", "host reachable",
        "token valid", "host team", "challenge", "git hooks", "no Starters upload workflow",
        "token not committed",
    ]
    assert f"challenge {pk}" in checks["challenge"]["message"]
    assert "branch challenge" in checks["challenge"]["message"]
    assert f"/web/challenges/challenge-page/{pk}/overview" in checks["challenge"]["message"]
    # read-only: the membership probe is refused as "not a zip" and nothing else is written
    assert {r.method for r in sandbox_env.requests()} <= {"GET", "POST"}
    posts = [r for r in sandbox_env.requests() if r.method == "POST"]
    assert len(posts) == 1 and posts[0].status == 400
    assert posts[0].path.endswith("/validate_challenge_config/")
    assert run_cli(["doctor"], cwd=repo) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out and "ok    host team" in out
    assert sandbox_env.token not in out


# -- offline checks -------------------------------------------------------------------------


def test_token_expiry_from_the_jwt_payload() -> None:
    soon = _jwt({"exp": int((NOW + timedelta(days=10)).timestamp())})
    later = _jwt({"exp": int((NOW + timedelta(days=200)).timestamp())})
    past = _jwt({"exp": int((NOW - timedelta(days=1)).timestamp())})
    assert jwt_expiry(later) == NOW + timedelta(days=200)
    assert check_token_expiry(later, NOW).status == "pass"
    warn = check_token_expiry(soon, NOW)
    assert warn.status == "warn" and "10 day(s)" in warn.message and "profile page" in warn.fix
    fail = check_token_expiry(past, NOW)
    assert fail.status == "fail" and "expired on 2025-12-31" in fail.message
    assert jwt_expiry("not-a-jwt") is None and jwt_expiry("a.!!!.c") is None
    assert jwt_expiry(_jwt({"user_id": 1})) is None
    assert check_token_expiry("plain-token", NOW).status == "pass"
    assert check_token_expiry(None, NOW).status == "skip"


def test_expired_token_fails_from_the_cli(
    challenge_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    token = _jwt({"exp": 1_000_000_000})
    monkeypatch.setenv("EVALAI_AUTH_TOKEN", token)
    monkeypatch.setenv("EVALAI_TEAM_PK", "1")
    monkeypatch.setenv("EVALAI_HOST_URL", "http://127.0.0.1:9")  # nothing listens there
    code, checks = _doctor(run_cli, challenge_repo, capsys)
    assert code == 1
    assert checks["token expiry"]["status"] == "fail"
    assert "2001-09-09" in checks["token expiry"]["message"]
    assert checks["host reachable"]["status"] == "fail"
    assert checks["token valid"]["status"] == "skip"
    assert checks["challenge"]["status"] == "skip"


def test_missing_and_invalid_config(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    config = repo / "challenge_config.yaml"
    text = config.read_text()
    config.write_text(text.replace("title:", "titel:", 1))
    _code, checks = _doctor(run_cli, repo, capsys)
    check = checks["challenge config"]
    assert check["status"] == "fail" and check["message"].startswith("challenge_config.yaml:")
    assert "evalai-mirror validate" in check["fix"]
    config.unlink()
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1 and checks["challenge config"]["status"] == "fail"
    assert "no challenge_config.yaml at the repository root" in checks["challenge config"]["message"]


def test_plain_http_off_loopback_fails(
    challenge_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EVALAI_HOST_URL", "http://evalai.example.invalid")
    monkeypatch.setenv("EVALAI_AUTH_TOKEN", "some-token-value")
    monkeypatch.setenv("EVALAI_TEAM_PK", "1")
    code, checks = _doctor(run_cli, challenge_repo, capsys)
    assert code == 1
    assert checks["secure host URL"]["status"] == "fail"
    assert "https://" in checks["secure host URL"]["fix"]
    assert checks["host reachable"]["status"] == "skip"  # the token is never sent there


def test_missing_settings_fail(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    code, checks = _doctor(run_cli, challenge_repo, capsys)
    assert code == 1
    assert checks["settings"]["status"] == "fail"
    assert "EVALAI_AUTH_TOKEN" in checks["settings"]["message"]
    assert checks["secure host URL"]["status"] == "pass"  # the default https://eval.ai
    assert {checks[n]["status"] for n in ("host reachable", "token valid", "challenge")} == {"skip"}


# -- EvalAI checks --------------------------------------------------------------------------


def test_unreachable_host(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    sandbox_env.stop()
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1 and checks["host reachable"]["status"] == "fail"
    assert "could not be reached" in checks["host reachable"]["message"]


def test_invalid_token(
    pushed_repo: tuple[Path, int], run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    monkeypatch.setenv("EVALAI_AUTH_TOKEN", "wrong-token-1234")
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1
    assert checks["host reachable"]["status"] == "pass"
    assert checks["token valid"]["status"] == "fail"
    assert "invalid or expired" in checks["token valid"]["message"]
    assert checks["host team"]["status"] == "skip"


@pytest.mark.parametrize(("team", "message"), [("999", "no host team 999"), ("2", "not a member")])
def test_team_unknown_or_not_a_member(
    pushed_repo: tuple[Path, int],
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    team: str,
    message: str,
) -> None:
    repo, _pk = pushed_repo
    monkeypatch.setenv("EVALAI_TEAM_PK", team)
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1
    assert checks["token valid"]["status"] == "pass"
    assert checks["host team"]["status"] == "fail" and message in checks["host team"]["message"]


def test_no_challenge_yet_is_a_warning(
    challenge_repo: Path, sandbox_env: Any, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    _install_plain_hooks(challenge_repo)
    code, checks = _doctor(run_cli, challenge_repo, capsys)
    assert code == 0
    assert checks["challenge"]["status"] == "warn"
    assert "no challenge for host-org/random-challenge" in checks["challenge"]["message"]
    assert "push" in checks["challenge"]["fix"]


def test_pinned_challenge_missing_fails_and_other_branch_warns(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, pk = pushed_repo
    _install_plain_hooks(repo)
    (repo / ".evalai-mirror.yml").write_text("challenges:\n  feature: 999\n")
    git(repo, "switch", "-q", "-c", "feature")
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1 and checks["challenge"]["status"] == "fail"
    assert "challenge 999 (pinned in .evalai-mirror.yml)" in checks["challenge"]["message"]
    (repo / ".evalai-mirror.yml").unlink()
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 0 and checks["challenge"]["status"] == "warn"
    assert f"challenge {pk}" in checks["challenge"]["message"]
    assert "synced from branch challenge" in checks["challenge"]["message"]
    assert "'feature' does not sync" in checks["challenge"]["message"]


# -- hooks and the token file ---------------------------------------------------------------


def test_hooks_missing_plain_and_pre_commit_framework(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _pk = pushed_repo
    _code, checks = _doctor(run_cli, repo, capsys)
    assert checks["git hooks"]["status"] == "fail"
    assert "install-hooks" in checks["git hooks"]["fix"]
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n  - repo: https://example.invalid/evalai-mirror\n    rev: v1\n"
        "    hooks:\n      - id: evalai-validate\n      - id: evalai-push\n"
    )
    _code, checks = _doctor(run_cli, repo, capsys)
    assert checks["git hooks"]["status"] == "fail"
    assert "pre-commit install" in checks["git hooks"]["fix"]
    pre_commit = Path(sys.executable).parent / "pre-commit"
    subprocess.run(
        [str(pre_commit), "install", "-t", "pre-commit", "-t", "pre-push"],
        cwd=repo, check=True, capture_output=True,
    )
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 0 and checks["git hooks"]["status"] == "pass"
    assert "pre-commit runs evalai-push" in checks["git hooks"]["message"]


@pytest.mark.slow
def test_pre_commit_framework_hooks_are_recognised_and_chaining_never_pushes_twice(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli,
    capsys: pytest.CaptureFixture[str]
) -> None:
    """The config init writes, installed by real pre-commit: doctor sees it validate and push;
    install-hooks --chain leaves pre-commit's hooks alone, so git push sends once."""
    import os

    from evalai_mirror import hooks, scaffold
    from evalai_mirror.git import GitRepo

    repo, _pk = pushed_repo
    config = scaffold.render(scaffold.Options())[hooks.PRE_COMMIT_CONFIG]
    (repo / hooks.PRE_COMMIT_CONFIG).write_bytes(config)
    commit_all(repo, "pre-commit config")
    subprocess.run([str(Path(sys.executable).parent / "pre-commit"), "install"],
                   cwd=repo, check=True, capture_output=True)
    code, checks = _doctor(run_cli, repo, capsys)
    assert checks["git hooks"]["status"] == "pass", checks["git hooks"]
    message = checks["git hooks"]["message"]
    assert "pre-commit runs evalai-push" in message
    assert "validated by pre-commit (evalai-validate)" in message
    assert "nothing validates" not in message and "no pre-commit validate hook" not in message

    assert run_cli(["install-hooks", "--chain"], cwd=repo) == 0
    out = capsys.readouterr().out
    assert out.count("as it is: pre-commit runs") == 2, out
    folder = repo / ".git" / "hooks"
    assert hooks.installed(GitRepo.open(repo))["pre-push"] == hooks.FRAMEWORK
    assert not (folder / "pre-push.local").exists()

    set_title(repo, "Pushed Once")
    commit_all(repo, "retitle")
    sandbox_env.clear_requests()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["git", "push", "-q", "origin", "challenge"], cwd=repo, env=env,
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [m for m, _ in changes(sandbox_env)] == ["PATCH"]
    assert (proc.stdout + proc.stderr).count("sent commit") == 1, proc.stdout + proc.stderr

    # a chain made before (pre-commit's hook moved to pre-push.local under ours): doctor says
    # the push runs twice and how to undo it
    os.replace(folder / "pre-push", folder / "pre-push.local")
    (folder / "pre-push").write_bytes(hooks.render("pre-push", sys.executable))
    (folder / "pre-push").chmod(0o755)
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1 and checks["git hooks"]["status"] == "fail"
    assert "twice" in checks["git hooks"]["message"]
    assert "--uninstall --hook pre-push" in checks["git hooks"]["fix"]
    assert run_cli(["install-hooks", "--uninstall", "--hook", "pre-push"], cwd=repo) == 0
    capsys.readouterr()
    _code, checks = _doctor(run_cli, repo, capsys)
    assert checks["git hooks"]["status"] == "pass"


def test_plain_hooks_whose_python_is_gone_are_a_warning(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    from evalai_mirror import hooks
    from evalai_mirror.git import GitRepo

    repo, _pk = pushed_repo
    gone = str(tmp_path / "old-venv" / "bin" / "python")
    hooks.install(GitRepo.open(repo), python=gone)
    _code, checks = _doctor(run_cli, repo, capsys)
    assert checks["git hooks"]["status"] == "warn", checks["git hooks"]
    assert gone in checks["git hooks"]["message"]
    assert "install-hooks" in checks["git hooks"]["fix"]
    hooks.install(GitRepo.open(repo))
    _code, checks = _doctor(run_cli, repo, capsys)
    assert checks["git hooks"]["status"] == "pass"


def test_token_in_a_tracked_file_fails(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    _install_plain_hooks(repo)
    host_config = repo / "github" / "host_config.json"
    data = json.loads(host_config.read_text())
    data["token"] = sandbox_env.token
    host_config.write_text(json.dumps(data))
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1
    assert checks["token not committed"]["status"] == "fail"
    assert "github/host_config.json" in checks["token not committed"]["message"]
    assert run_cli(["doctor"], cwd=repo) == 1
    captured = capsys.readouterr()
    assert sandbox_env.token not in captured.out + captured.err



def test_a_corrupt_sync_state_is_a_failed_check_not_the_end_of_doctor(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    repo, _pk = pushed_repo
    _install_plain_hooks(repo)
    (repo / ".git" / "evalai-mirror" / "state.json").write_text("{not json")
    code, checks = _doctor(run_cli, repo, capsys)
    assert code == 1
    assert checks["sync state"]["status"] == "fail"
    assert "mv " in checks["sync state"]["fix"]
    # the checks after it still ran
    assert checks["git hooks"]["status"] == "pass"
    assert checks["challenge"]["status"] == "pass"


def test_an_unreadable_settings_file_is_a_failed_check_not_the_end_of_doctor(
    challenge_repo: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    (challenge_repo / "github" / "host_config.json").write_text('{\n  "token": "x",\n')
    code, checks = _doctor(run_cli, challenge_repo, capsys)
    assert code == 1
    assert checks["settings"]["status"] == "fail"
    assert checks["settings"]["message"].startswith("github/host_config.json:3: not valid JSON")
    assert checks["settings"]["fix"]
    # what needs no settings still ran; what needs them says why it did not
    assert checks["challenge config"]["status"] == "pass"
    assert checks["git hooks"]["status"] == "fail"
    assert checks["host reachable"]["status"] == "skip"
    assert "settings could not be read" in checks["host reachable"]["message"]
    assert list(checks) == [
        "challenge config", "secure host URL", "settings", "token expiry", "host reachable",
        "token valid", "host team", "challenge", "git hooks", "no Starters upload workflow",
        "token not committed",
    ]  # fmt: skip

    (challenge_repo / ".evalai-mirror.yml").write_text("branches: [\n")
    code, checks = _doctor(run_cli, challenge_repo, capsys)
    assert code == 1
    assert checks["challenge config"]["status"] == "fail"
    assert ".evalai-mirror.yml:2: not valid YAML" in checks["challenge config"]["message"]

    code = run_cli(["doctor"], cwd=challenge_repo)
    out = capsys.readouterr().out
    assert code == 1 and "FAIL  settings" in out and "Traceback" not in out

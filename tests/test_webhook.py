"""`evalai-mirror webhook ...` end to end: real git repository, the CLI in-process, and the local
stand-in of GitHub's hooks API over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import RunCli
from ghstub import REPO, TOKEN, GitHubStub, standard_stub

HOST = "https://evalai.example.org"
PAYLOAD_URL = HOST + "/api/v1/challenges/github/webhook/"
SECRET_LINE = re.compile(r"webhook secret \(shown once; evalai-mirror stores it nowhere\): ([0-9a-f]{64})")


@pytest.fixture
def gh() -> Iterator[GitHubStub]:
    with standard_stub() as stub:
        yield stub


@pytest.fixture
def webhook(
    gh: GitHubStub, challenge_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Callable[..., tuple[int, str, str]]:
    """``webhook("install", ...)`` in the challenge repository -> (exit code, stdout, stderr)."""
    monkeypatch.setenv("AUTH_TOKEN", TOKEN)

    def _run(action: str, *extra: str, host: str = HOST, api: bool = True) -> tuple[int, str, str]:
        argv = ["webhook", action]
        if action != "verify":
            argv += ["--host-url", host]
            if api:
                argv += ["--api-url", gh.url]
        code = run_cli([*argv, *extra], cwd=challenge_repo)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return _run


def _secret(out: str) -> str:
    found = SECRET_LINE.findall(out)
    assert len(found) == 1, out
    return str(found[0])


def test_install_creates_one_push_hook_with_a_secret(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub, challenge_repo: Path
) -> None:
    code, out, err = webhook("install")
    assert code == 0, err
    (hook,) = gh.hooks(REPO)  # the repository came from origin: host-org/random-challenge
    assert hook.config["url"] == PAYLOAD_URL
    assert hook.config["content_type"] == "json" and hook.config["insecure_ssl"] == "0"
    assert hook.events == ["push"] and hook.active
    secret = _secret(out)
    assert hook.config["secret"] == secret
    assert f"created webhook {hook.id} on {REPO}" in out
    assert "has no GitHub webhook route" in out  # the EvalAI route caveat
    assert TOKEN not in out + err
    # The secret is stored nowhere in the repository, tracked or not, nor in .git.
    for path in challenge_repo.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert all(entry["auth"] == f"Bearer {TOKEN}" for entry in gh.log)


def test_install_is_idempotent_and_keeps_the_secret(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    _, out, _ = webhook("install")
    first = _secret(out)
    code, out, _ = webhook("install")
    assert code == 0
    (hook,) = gh.hooks(REPO)
    assert hook.config["secret"] == first
    assert "already installed" in out and "kept the hook's existing secret" in out
    assert not SECRET_LINE.search(out)
    assert [e["method"] for e in gh.log[-1:]] == ["GET"]  # nothing changed, nothing written

    code, out, _ = webhook("install", "--rotate-secret")
    assert code == 0
    (hook,) = gh.hooks(REPO)
    second = _secret(out)
    assert second != first and hook.config["secret"] == second
    assert "new secret" in out


def test_install_repairs_an_existing_hook_without_losing_its_secret(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    hook_id = gh.add_hook(REPO, PAYLOAD_URL, secret="kept-secret", events=["push", "issues"],
                          content_type="form")
    gh.repos[REPO][hook_id].active = False
    code, out, _ = webhook("install")
    assert code == 0
    (hook,) = gh.hooks(REPO)
    assert hook.id == hook_id
    assert hook.events == ["push"] and hook.active and hook.config["content_type"] == "json"
    assert hook.config["secret"] == "kept-secret"
    assert f"updated webhook {hook_id}" in out


def test_install_gives_a_secretless_hook_a_secret(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    gh.add_hook(REPO, PAYLOAD_URL)
    code, out, _ = webhook("install")
    assert code == 0
    (hook,) = gh.hooks(REPO)
    assert hook.config["secret"] == _secret(out)
    assert "it had no secret" in out


@pytest.mark.parametrize(
    "host",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://192.168.1.5",
        "http://10.0.0.7:8080",
        "http://169.254.3.4",
        "http://evalai.local",
        "http://evalai",
    ],
)
def test_install_skips_hosts_github_cannot_reach(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub,
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.delenv("AUTH_TOKEN")  # not even a token is needed to say no
    code, _, err = webhook("install", "--allow-insecure-http", host=host)
    assert code == 1  # a refusal: scripts must not take it for success
    assert "not installing a webhook: GitHub cannot reach" in err
    assert "evalai-mirror watch" in err and "install-hooks" in err
    assert gh.log == []


def test_payload_url_override_is_checked_too(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    code, _, err = webhook("install", "--payload-url", "http://192.168.0.2/hook")
    assert code == 1 and "cannot reach" in err and gh.log == []
    code, out, _ = webhook("install", "--payload-url", "https://receiver.example.net/gh")
    assert code == 0
    (hook,) = gh.hooks(REPO)
    assert hook.config["url"] == "https://receiver.example.net/gh"
    assert "has no GitHub webhook route" not in out


def _assert_manual_steps(err: str, payload_url: str = PAYLOAD_URL) -> None:
    assert "Settings -> Webhooks -> Add webhook" in err
    assert f"Payload URL:  {payload_url}" in err
    assert "Content type: application/json" in err
    assert re.search(r"Secret: +[0-9a-f]{64}", err)
    assert '"Just the push event."' in err
    assert "Active:" in err


def test_missing_token_names_both_variables_and_prints_manual_steps(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTH_TOKEN")
    code, _, err = webhook("install")
    assert code == 1
    assert "AUTH_TOKEN" in err and "GITHUB_TOKEN" in err
    _assert_manual_steps(err)
    assert f"/{REPO}/settings/hooks/new" in err
    assert gh.log == []


def test_github_token_variable_works_too(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUTH_TOKEN")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert webhook("install")[0] == 0
    assert len(gh.hooks(REPO)) == 1


def test_token_without_hook_scope(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    gh.add_token("ghp_publicrepoonly00000000", scopes=["public_repo"], admin_of=(REPO,))
    monkeypatch.setenv("AUTH_TOKEN", "ghp_publicrepoonly00000000")
    code, out, err = webhook("install")
    assert code == 1
    assert "lacks the admin:repo_hook or repo scope" in err and "it has: public_repo" in err
    _assert_manual_steps(err)
    assert "ghp_publicrepoonly00000000" not in out + err
    assert gh.hooks(REPO) == []


def test_no_admin_rights(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    gh.add_token("ghp_writeronly0000000000000", scopes=["repo"], member_of=(REPO,))
    monkeypatch.setenv("AUTH_TOKEN", "ghp_writeronly0000000000000")
    code, _, err = webhook("install")
    assert code == 1
    assert "not an admin of host-org/random-challenge" in err
    _assert_manual_steps(err)


def test_bad_token_and_unknown_repository(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = webhook("install", "--repo", "host-org/elsewhere")
    assert code == 1 and "host-org/elsewhere not found" in err
    assert "/host-org/elsewhere/settings/hooks/new" in err
    monkeypatch.setenv("AUTH_TOKEN", "ghp_revokedrevokedrevoked00")
    code, out, err = webhook("status")
    assert code == 1 and "GitHub rejected the token" in err
    assert "ghp_revokedrevokedrevoked00" not in out + err


def test_repository_from_origin_or_refusal_outside_git(
    webhook: Callable[..., tuple[int, str, str]], challenge_repo: Path, tmp_path: Path,
    run_cli: RunCli, capsys: pytest.CaptureFixture[str], gh: GitHubStub
) -> None:
    subprocess.run(["git", "remote", "remove", "origin"], cwd=challenge_repo, check=True)
    code, _, err = webhook("status")
    assert code == 1 and "no origin remote" in err and "--repo" in err
    outside = tmp_path / "outside"
    outside.mkdir()
    code = run_cli(["webhook", "status", "--host-url", HOST, "--api-url", gh.url], cwd=outside)
    assert code == 1 and "--repo OWNER/NAME" in capsys.readouterr().err


def test_status_shows_our_hook_and_its_last_delivery(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    code, out, _ = webhook("status")
    assert code == 1 and "no webhook on host-org/random-challenge points at EvalAI" in out
    webhook("install")
    gh.add_hook(REPO, "https://ci.example.org/hook")
    (ours,) = [h for h in gh.hooks(REPO) if h.config["url"] == PAYLOAD_URL]
    code, out, _ = webhook("status")
    assert code == 0
    assert f"hook {ours.id}: {PAYLOAD_URL}  events=push  active  content=json  secret=set" in out
    assert "last delivery: none yet" in out
    assert "1 other hook(s)" in out and "ci.example.org" not in out
    gh.deliver(REPO, ours.id, status_code=200)
    code, out, _ = webhook("status")
    assert "-> 200 OK (ok)" in out
    gh.deliver(REPO, ours.id, status_code=502)
    code, out, _ = webhook("status")
    assert code == 0 and "-> 502" in out and "FAILED" in out


def test_status_warns_about_a_weak_hook(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    gh.add_hook(REPO, PAYLOAD_URL, events=["*"], content_type="form")
    code, _, err = webhook("status")
    assert code == 0
    assert "events are not just push" in err and "no secret" in err and "not json" in err


def test_remove_deletes_only_our_hook(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub
) -> None:
    webhook("install")
    other = gh.add_hook(REPO, "https://evalai.example.org/some/other/receiver")
    code, out, err = webhook("remove", "--hook-id", str(other))
    assert code == 1 and "refusing to delete hook" in err
    assert len(gh.hooks(REPO)) == 2
    code, out, _ = webhook("remove")
    assert code == 0 and "removed webhook" in out and "left 1 other hook(s)" in out
    assert [h.id for h in gh.hooks(REPO)] == [other]
    code, out, _ = webhook("remove")
    assert code == 0 and "nothing to remove" in out
    assert [h.id for h in gh.hooks(REPO)] == [other]
    code, _, err = webhook("remove", "--hook-id", "999999")
    assert code == 1 and "has no webhook 999999" in err


def _delivery_files(tmp_path: Path, body: bytes, headers: dict[str, str]) -> tuple[str, str, str]:
    payload = tmp_path / "payload.json"
    payload.write_bytes(body)
    as_json = tmp_path / "headers.json"
    as_json.write_text(json.dumps(headers))
    as_lines = tmp_path / "headers.txt"
    as_lines.write_text(
        "POST /api/v1/challenges/github/webhook/ HTTP/1.1\n"
        + "".join(f"{k.lower()}: {v}\n" for k, v in headers.items())
        + "\n"
    )
    return str(payload), str(as_json), str(as_lines)


def test_verify_checks_a_real_delivery_with_the_shown_secret(
    webhook: Callable[..., tuple[int, str, str]], gh: GitHubStub, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = webhook("install")
    secret = _secret(out)
    (hook,) = gh.hooks(REPO)
    body, headers = gh.deliver(REPO, hook.id)
    payload, as_json, as_lines = _delivery_files(tmp_path, body, headers)

    monkeypatch.setenv("HOOK_SECRET", secret)
    for header_file in (as_json, as_lines):
        code, out, err = webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                                 "--headers", header_file)
        assert code == 0, err
        assert "signature valid" in out
        assert secret not in out + err

    # GitHub's delivery JSON (GET .../deliveries/{id}) keeps the headers under request.headers.
    wrapped = tmp_path / "delivery.json"
    wrapped.write_text(json.dumps({"id": 1, "request": {"headers": headers, "payload": {}}}))
    assert webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                   "--headers", str(wrapped))[0] == 0

    monkeypatch.setenv("HOOK_SECRET", "0" * 64)
    code, out, err = webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                             "--headers", as_json)
    assert code == 1 and "signature does not match" in err and len(err.strip().splitlines()) == 1

    monkeypatch.setenv("HOOK_SECRET", secret)
    Path(payload).write_bytes(json.dumps(json.loads(body)).encode())  # re-encoded JSON
    assert webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                   "--headers", as_json)[0] == 1


def test_verify_bad_input_says_what_to_fix(
    webhook: Callable[..., tuple[int, str, str]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    payload, _, _ = _delivery_files(tmp_path, b"{}", {})
    unsigned = tmp_path / "unsigned.txt"
    unsigned.write_text("Content-Type: application/json\nX-GitHub-Event: push\n")
    code, _, err = webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                           "--headers", str(unsigned))
    assert code == 1 and "HOOK_SECRET is not set" in err

    monkeypatch.setenv("HOOK_SECRET", "abcdabcd")
    code, _, err = webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                           "--headers", str(unsigned))
    assert code == 1 and "no X-Hub-Signature-256 header" in err

    broken = tmp_path / "broken.txt"
    broken.write_text("Content-Type: application/json\nthis is not a header\n")
    code, _, err = webhook("verify", "--secret-env", "HOOK_SECRET", "--payload", payload,
                           "--headers", str(broken))
    assert code == 1 and f"{broken}:2: not a header line" in err
    assert "Traceback" not in err

    code, _, err = webhook("verify", "--secret-env", "HOOK_SECRET", "--payload",
                           str(tmp_path / "missing.json"), "--headers", str(unsigned))
    assert code == 1 and "cannot read" in err and "missing.json" in err


def test_default_host_is_said_out_loud(
    gh: GitHubStub, challenge_repo: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AUTH_TOKEN", TOKEN)
    code = run_cli(["webhook", "install", "--api-url", gh.url], cwd=challenge_repo)
    err = capsys.readouterr().err
    assert code == 0
    assert "no EvalAI host configured, using the default https://eval.ai" in err
    (hook,) = gh.hooks(REPO)
    assert hook.config["url"] == "https://eval.ai/api/v1/challenges/github/webhook/"

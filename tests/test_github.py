"""The GitHub REST client against the local stand-in of GitHub's hooks API (real HTTP)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from ghstub import REPO, TOKEN, GitHubStub, standard_stub

from evalai_mirror import ui
from evalai_mirror.errors import GitHubError
from evalai_mirror.github import (
    GitHubAuthError,
    GitHubClient,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubScopeError,
    GitHubUnreachableError,
    check_signature,
    hooks_to,
    same_url,
    sign,
    unreachable_reason,
    web_url,
)

URL = "https://evalai.example.org/api/v1/challenges/github/webhook/"


@pytest.fixture
def gh() -> Iterator[GitHubStub]:
    with standard_stub() as stub:
        yield stub


@pytest.fixture
def client(gh: GitHubStub) -> Iterator[GitHubClient]:
    with GitHubClient(TOKEN, api_url=gh.url) as c:
        yield c


def test_create_list_update_delete_round_trip(gh: GitHubStub, client: GitHubClient) -> None:
    hook = client.create_hook(REPO, url=URL, secret="s3cret-value")
    assert (hook.url, hook.events, hook.active, hook.content_type) == (URL, ("push",), True, "json")
    assert hook.has_secret
    sent = json.loads(gh.log[-1]["body"])
    assert sent == {
        "name": "web",
        "active": True,
        "events": ["push"],
        "config": {"url": URL, "content_type": "json", "secret": "s3cret-value", "insecure_ssl": "0"},
    }
    assert gh.log[-1]["auth"] == f"Bearer {TOKEN}"
    assert gh.log[-1]["user_agent"].startswith("evalai-mirror/")

    assert [h.id for h in client.list_hooks(REPO)] == [hook.id]
    updated = client.update_hook(REPO, hook.id, events=("push",), active=False)
    assert not updated.active
    # PATCH /hooks/{id} without config keeps the secret; /config changes single properties.
    assert gh.repos[REPO][hook.id].config["secret"] == "s3cret-value"
    client.update_hook_config(REPO, hook.id, url=URL + "x")
    assert gh.repos[REPO][hook.id].config == {
        "url": URL + "x", "content_type": "json", "insecure_ssl": "0", "secret": "s3cret-value"}
    client.update_hook_config(REPO, hook.id, url=URL, secret="rotated")
    assert gh.repos[REPO][hook.id].config["secret"] == "rotated"

    client.delete_hook(REPO, hook.id)
    assert client.list_hooks(REPO) == []


def test_a_netrc_entry_never_replaces_the_token(
    gh: GitHubStub, client: GitHubClient, isolated_env: Path
) -> None:
    netrc = isolated_env / ".netrc"  # git users often keep one; requests reads it by default
    netrc.write_text("machine 127.0.0.1 login someone password netrc-password\n")
    netrc.chmod(0o600)
    assert client.list_hooks(REPO) == []
    assert gh.log[-1]["auth"] == f"Bearer {TOKEN}"


def test_list_follows_pagination(gh: GitHubStub, client: GitHubClient) -> None:
    gh.page_size = 2
    ids = [gh.add_hook(REPO, f"https://example.org/{i}") for i in range(5)]
    assert [h.id for h in client.list_hooks(REPO)] == ids
    assert sum(1 for entry in gh.log if entry["path"].endswith("/hooks")) == 3


def test_deliveries_newest_first(gh: GitHubStub, client: GitHubClient) -> None:
    hook_id = gh.add_hook(REPO, URL, secret="x" * 10)
    assert client.list_deliveries(REPO, hook_id) == []
    gh.deliver(REPO, hook_id, status_code=200)
    gh.deliver(REPO, hook_id, status_code=502)
    (last,) = client.list_deliveries(REPO, hook_id, per_page=1)
    assert (last.status_code, last.ok, last.event) == (502, False, "push")
    assert [d.status_code for d in client.list_deliveries(REPO, hook_id, per_page=5)] == [502, 200]
    assert "per_page=1" in [e for e in gh.log if e["path"].endswith("/deliveries")][1]["query"]


def test_hooks_to_matches_trailing_slash_and_host_case() -> None:
    assert same_url("https://EvalAI.example.org/a/b/", "https://evalai.example.org/a/b")
    assert not same_url("https://evalai.example.org/a/b/", "http://evalai.example.org/a/b/")
    assert not same_url("https://evalai.example.org/a/", "https://evalai.example.org/a/c/")


def test_bad_token_is_401_and_never_in_the_message(gh: GitHubStub) -> None:
    bad = "ghp_" + "WrongWrongWrong" * 2
    with GitHubClient(bad, api_url=gh.url) as c, pytest.raises(GitHubAuthError) as info:
        c.list_hooks(REPO)
    assert "Bad credentials" in str(info.value)
    assert "AUTH_TOKEN" in str(info.value) and "GITHUB_TOKEN" in str(info.value)
    assert bad not in str(info.value)
    assert bad not in ui.redact(f"x {bad} y")  # registered as a secret on construction


def test_missing_scope_names_the_scope_and_what_the_token_has(gh: GitHubStub) -> None:
    gh.add_token("ghp_readorgonly0000000000", scopes=["read:org", "gist"], admin_of=(REPO,))
    with GitHubClient("ghp_readorgonly0000000000", api_url=gh.url) as c:
        with pytest.raises(GitHubScopeError) as info:
            c.create_hook(REPO, url=URL, secret="s")
    message = str(info.value)
    assert "admin:repo_hook" in message and "repo" in message
    assert "read:org, gist" in message


def test_fine_grained_token_without_webhooks_permission(gh: GitHubStub) -> None:
    gh.add_token("github_pat_finegrained000", scopes=None, admin_of=(REPO,),
                 webhooks_permission=False)
    with GitHubClient("github_pat_finegrained000", api_url=gh.url) as c:
        with pytest.raises(GitHubScopeError) as info:
            c.list_hooks(REPO)
    assert "repository_hooks=read" in str(info.value)
    assert "Webhooks: Read and write" in str(info.value)


def test_not_admin_is_a_permission_error(gh: GitHubStub) -> None:
    gh.add_token("ghp_member00000000000000", scopes=["repo"], member_of=(REPO,))
    with GitHubClient("ghp_member00000000000000", api_url=gh.url) as c:
        with pytest.raises(GitHubPermissionError) as info:
            c.list_hooks(REPO)
    assert "not an admin of host-org/random-challenge" in str(info.value)


def test_unknown_repository_is_not_found(client: GitHubClient) -> None:
    with pytest.raises(GitHubNotFoundError) as info:
        client.list_hooks("host-org/nope")
    assert "host-org/nope not found" in str(info.value)
    assert "--repo" in str(info.value)


def test_duplicate_hook_is_a_readable_422(gh: GitHubStub, client: GitHubClient) -> None:
    gh.add_hook(REPO, URL)
    with pytest.raises(GitHubError) as info:
        client.create_hook(REPO, url=URL, secret="s")
    assert "Hook already exists on this repository" in str(info.value)
    assert "{" not in str(info.value)


def test_unreachable_api_and_plain_http_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with GitHubClient(TOKEN, api_url=f"http://127.0.0.1:{port}", retries=0) as c:
        with pytest.raises(GitHubUnreachableError) as info:
            c.list_hooks(REPO)
    assert "--api-url" in str(info.value)
    with pytest.raises(GitHubError) as refused:
        GitHubClient(TOKEN, api_url="http://github.example.com/api/v3")
    assert "plain http" in str(refused.value)
    with pytest.raises(GitHubAuthError):
        GitHubClient("", api_url="https://api.github.com")


def test_bad_repository_name(client: GitHubClient) -> None:
    with pytest.raises(GitHubError) as info:
        client.list_hooks("just-a-name")
    assert "--repo owner/name" in str(info.value)


def test_signature_round_trip_and_failures() -> None:
    body = b'{"ref": "refs/heads/challenge"}'
    header = sign(b"topsecret", body)
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert check_signature(b"topsecret", body, header)[0]
    assert check_signature(b"topsecret", body, header.upper().replace("SHA256", "sha256"))[0]
    ok, reason = check_signature(b"other", body, header)
    assert not ok and "does not match" in reason
    assert not check_signature(b"topsecret", body + b"\n", header)[0]
    ok, reason = check_signature(b"topsecret", body, None)
    assert not ok and "no X-Hub-Signature-256" in reason
    ok, reason = check_signature(b"topsecret", body, "sha1=abc")
    assert not ok and "sha256=" in reason
    assert not check_signature(b"topsecret", body, "sha256=zz")[0]


@pytest.mark.parametrize(
    ("url", "reachable"),
    [
        ("https://eval.ai/api/v1/challenges/github/webhook/", True),
        ("https://8.8.8.8/hook", True),
        ("http://127.0.0.1:8000/hook", False),
        ("http://[::1]:8000/hook", False),
        ("http://localhost:8000/hook", False),
        ("http://evalai.localhost/hook", False),
        ("http://10.1.2.3/hook", False),
        ("http://172.16.0.9/hook", False),
        ("http://192.168.1.5/hook", False),
        ("http://169.254.10.10/hook", False),
        ("http://[fe80::1]/hook", False),
        ("http://[fd00::1]/hook", False),
        ("http://100.64.0.1/hook", False),
        ("http://evalai.local/hook", False),
        ("http://evalai/hook", False),
        ("http://evalai.corp.internal/hook", False),
    ],
)
def test_unreachable_reason(url: str, reachable: bool) -> None:
    assert (unreachable_reason(url) is None) is reachable


def test_web_url() -> None:
    assert web_url("https://api.github.com") == "https://github.com"
    assert web_url("https://ghe.example.com/api/v3/") == "https://ghe.example.com"


def test_hooks_to_picks_only_same_url(gh: GitHubStub, client: GitHubClient) -> None:
    ours = gh.add_hook(REPO, URL)
    gh.add_hook(REPO, "https://ci.example.org/hook")
    assert [h.id for h in hooks_to(client.list_hooks(REPO), URL.rstrip("/"))] == [ours]

"""EvalAIClient against the sandbox server over real HTTP on 127.0.0.1 (no mocks).

Needs the ``sandbox`` fixture from tests/conftest.py (``SandboxServer`` with ``.url``,
``.token``, ``.team_pk``, ``.requests()``, ``.add_fault(...)``).  The tests that need no server
(connection refused) run regardless.
"""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import API_SAMPLES

from evalai_mirror.api import EvalAIClient
from evalai_mirror.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    ThrottledError,
    UnreachableError,
)
from evalai_mirror.settings import Connection
from evalai_mirror.source import MappingSource, WorkTreeSource
from evalai_mirror.zipbuild import build_challenge_zip

REPOSITORY = "host-org/random-challenge"


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Any:
    """The conftest ``sandbox`` fixture; these tests skip, saying why, while it is missing."""
    try:
        return request.getfixturevalue("sandbox")
    except pytest.FixtureLookupError:
        pytest.skip("NEEDS SANDBOX: the `sandbox` fixture is not in tests/conftest.py yet")


def _client(sandbox: Any, **kw: Any) -> EvalAIClient:
    conn = Connection(host_url=sandbox.url, token=sandbox.token, team_pk=int(sandbox.team_pk))
    kw.setdefault("retries", 2)
    client = EvalAIClient(conn, **kw)
    client.backoff = 0.01  # keep the retry tests quick
    return client


def _zip(fixture_copy: Path) -> bytes:
    return build_challenge_zip(WorkTreeSource(fixture_copy))


def _requests(sandbox: Any, method: str, pattern: str) -> list[Any]:
    return [r for r in sandbox.requests() if r.method == method and re.search(pattern, r.path)]


@pytest.fixture
def created(server: Any, fixture_copy: Path) -> tuple[Any, int]:
    sandbox = server
    """The sandbox with the fixture challenge created through the client; (sandbox, pk)."""
    with _client(sandbox) as client:
        created, _ = client.create_or_update(_zip(fixture_copy), REPOSITORY, "challenge")
        assert created
        found = client.find_challenge(REPOSITORY)
    assert found is not None
    return sandbox, int(found["id"])


def test_create_update_find_and_read(server: Any, fixture_copy: Path) -> None:
    sandbox = server
    data = _zip(fixture_copy)
    with _client(sandbox) as client:
        assert client.find_challenge(REPOSITORY) is None
        assert "validated successfully" in client.validate_zip(data, REPOSITORY)
        created, message = client.create_or_update(data, REPOSITORY, "challenge")
        assert created and "created successfully" in message
        created, message = client.create_or_update(data, REPOSITORY, "challenge")
        assert not created and "updated successfully" in message
        found = client.find_challenge(REPOSITORY)
        assert found is not None and found["github_repository"] == REPOSITORY
        pk = int(found["id"])
        assert client.find_challenge("someone/else") is None
        challenge = client.get_challenge(pk)
        assert challenge["id"] == pk and challenge["title"]
        phases = client.list_phases(pk)
        assert len(phases) >= 1 and all("codename" in p for p in phases)
        phase = client.get_phase(pk, int(phases[0]["id"]))
        assert phase["codename"] == phases[0]["codename"]
        splits = client.phase_splits(pk)
        assert splits and {"challenge_phase", "dataset_split"} <= set(splits[0])
        assert [c["id"] for c in client.list_challenges()] == [pk]
        assert client.challenge_page_url(pk) == (
            f"{sandbox.url.rstrip('/')}/web/challenges/challenge-page/{pk}/overview"
        )
        stats = client.stats
        assert stats.bytes_sent > 3 * len(data)  # three uploads, multipart framing on top
    log = sandbox.requests()
    assert stats.requests == len(log)
    assert stats.bytes_received == sum(r.bytes_out for r in log)
    # exact paths and methods, trailing slashes only where EvalAI has them
    team = int(sandbox.team_pk)
    paths = {(r.method, r.path) for r in log}
    assert (
        "POST",
        f"/api/challenges/challenge/challenge_host_team/{team}/create_or_update_github_challenge/",
    ) in paths
    assert (
        "POST",
        f"/api/challenges/challenge/challenge_host_team/{team}/validate_challenge_config/",
    ) in paths
    assert ("GET", f"/api/challenges/challenge_host_team/{team}/challenge/{pk}") in paths
    assert ("GET", f"/api/challenges/challenge/{pk}/challenge_phase") in paths
    assert ("GET", f"/api/challenges/{pk}/challenge_phase_split") in paths


def test_patch_challenge_and_phase(created: tuple[Any, int]) -> None:
    sandbox, pk = created
    with _client(sandbox) as client:
        body = client.patch_challenge(pk, {"title": "Patched title"})
        assert body["title"] == "Patched title"
        assert client.get_challenge(pk)["title"] == "Patched title"
        phase_pk = int(client.list_phases(pk)[0]["id"])
        body = client.patch_phase(pk, phase_pk, {"max_submissions_per_day": 7})
        assert body["max_submissions_per_day"] == 7
        assert client.get_phase(pk, phase_pk)["max_submissions_per_day"] == 7


def test_a_challenge_read_ahead_is_answered_before_it_is_asked_for(
    created: tuple[Any, int],
) -> None:
    sandbox, pk = created
    sandbox.clear_requests()
    with _client(sandbox) as client:
        client.read_ahead(pk)
        client.read_ahead(pk)  # once is enough
        deadline = time.monotonic() + 10
        while not _requests(sandbox, "GET", rf"/challenge/{pk}$"):  # EvalAI answered it
            assert time.monotonic() < deadline, "the GET read ahead never reached EvalAI"
            time.sleep(0.01)
        sandbox.edit_challenge(pk, title="Edited After The Answer")
        assert client.get_challenge(pk)["title"] != "Edited After The Answer"  # the early answer
        assert client.get_challenge(pk)["title"] == "Edited After The Answer"  # then as usual
        assert client.stats.requests == 2
    assert len(_requests(sandbox, "GET", rf"/challenge/{pk}$")) == 2


def test_a_read_ahead_that_fails_is_retried_and_one_never_read_is_dropped(
    created: tuple[Any, int],
) -> None:
    sandbox, pk = created
    sandbox.add_fault("GET", rf"/challenge/{pk}$", "drop", count=1)
    with _client(sandbox) as client:
        client.read_ahead(pk)
        assert client.get_challenge(pk)["id"] == pk  # the dropped GET is sent again
    with _client(sandbox) as client:
        client.read_ahead(pk)  # never read: closing the client drops it, but it was sent
        assert client.stats.requests == 1
    with _client(sandbox) as client:
        assert client.get_challenge(pk)["id"] == pk
        assert client.stats.requests == 1


def test_field_errors_are_one_readable_line(created: tuple[Any, int]) -> None:
    sandbox, pk = created
    with _client(sandbox) as client:
        with pytest.raises(BadRequestError) as info:
            client.patch_challenge(pk, {"end_date": "next tuesday"})
        phase_pk = int(client.list_phases(pk)[0]["id"])
        with pytest.raises(BadRequestError) as phase_info:
            client.patch_phase(pk, phase_pk, {"max_submissions_per_day": "many"})
    text = str(info.value)
    assert "end_date: Datetime has wrong format" in text and "\n" not in text
    assert "{" not in text and "[" not in text.split("end_date:")[1].split(";")[0][:5]
    assert "max_submissions_per_day: A valid integer is required." in str(phase_info.value)
    assert len(_requests(sandbox, "PATCH", "")) == 2  # PATCH is never retried


def test_invalid_config_lines(server: Any, fixture_copy: Path) -> None:
    sandbox = server
    source = WorkTreeSource(fixture_copy)
    files = {p: source.read(p) or b"" for p in source.list_files()}
    config = files["challenge_config.yaml"].decode()
    files["challenge_config.yaml"] = re.sub(r"(?m)^title:.*\n", "", config).encode()
    data = build_challenge_zip(MappingSource(files))
    with _client(sandbox) as client, pytest.raises(BadRequestError) as info:
        client.validate_zip(data, REPOSITORY)
    assert "Please add the challenge title" in str(info.value)
    with _client(sandbox) as client, pytest.raises(BadRequestError) as info:
        client.create_or_update(b"not a zip at all", REPOSITORY, "challenge")
    assert "cannot be extracted" in str(info.value)


def test_bad_token_is_auth_error_without_the_token(server: Any, fixture_copy: Path) -> None:
    sandbox = server
    bad = "not-a-real-token-" + "x" * 30
    conn = Connection(host_url=sandbox.url, token=bad, team_pk=int(sandbox.team_pk))
    with EvalAIClient(conn) as client, pytest.raises(AuthError) as info:
        client.list_challenges()
    text = str(info.value)
    assert "invalid or expired" in text and "EVALAI_AUTH_TOKEN" in text
    assert "profile" in text and bad not in text
    assert len(sandbox.requests()) == 1  # a 401 is not retried


def test_unknown_team_says_check_team_pk(server: Any, fixture_copy: Path) -> None:
    sandbox = server
    conn = Connection(host_url=sandbox.url, token=sandbox.token, team_pk=999)
    with EvalAIClient(conn) as client, pytest.raises(NotFoundError) as info:
        client.validate_zip(_zip(fixture_copy), REPOSITORY)
    assert "999" in str(info.value) and "EVALAI_TEAM_PK" in str(info.value)


def test_get_retried_on_500_and_drop(created: tuple[Any, int]) -> None:
    sandbox, pk = created
    path = rf"/challenge/{pk}$"
    sandbox.add_fault("GET", path, "500", 1, 0.0)
    sandbox.add_fault("GET", path, "drop", 1, 0.0)
    with _client(sandbox) as client:
        before = len(_requests(sandbox, "GET", path))
        assert client.get_challenge(pk)["id"] == pk
    assert len(_requests(sandbox, "GET", path)) - before == 3


def test_get_gives_up_after_retries(created: tuple[Any, int]) -> None:
    sandbox, pk = created
    sandbox.add_fault("GET", "challenge_phase$", "html", 5, 0.0)
    with _client(sandbox, retries=2) as client, pytest.raises(UnreachableError) as info:
        client.list_phases(pk)
    assert len(_requests(sandbox, "GET", "challenge_phase$")) == 3
    text = str(info.value)
    assert "500" in text and "<" not in text  # no HTML in the message


def test_post_and_patch_not_retried(created: tuple[Any, int], fixture_copy: Path) -> None:
    sandbox, pk = created
    sandbox.add_fault("POST", "create_or_update", "500", 1, 0.0)
    sandbox.add_fault("PATCH", rf"/challenge/{pk}$", "drop", 1, 0.0)
    with _client(sandbox) as client:
        before = len(_requests(sandbox, "POST", "create_or_update"))
        with pytest.raises(UnreachableError):
            client.create_or_update(_zip(fixture_copy), REPOSITORY, "challenge")
        assert len(_requests(sandbox, "POST", "create_or_update")) - before == 1
        with pytest.raises(UnreachableError) as info:
            client.patch_challenge(pk, {"title": "lost?"})
    assert "may or may not have been applied" in str(info.value)
    assert len(_requests(sandbox, "PATCH", "")) == 1


def test_fetch_remote_asks_for_challenge_phases_and_splits_at_once(
    created: tuple[Any, int], tmp_path: Any
) -> None:
    from evalai_mirror.fetch import IdCache
    from evalai_mirror.sync import fetch_remote

    sandbox, pk = created
    cache = IdCache(tmp_path, sandbox.url)
    with _client(sandbox) as client:
        fetch_remote(client, pk, cache=cache)  # learns what the split list's pks stand for
    sandbox.clear_requests()
    sandbox.add_fault("GET", rf"/challenge/{pk}$", "delay", 1, 0.5)
    sandbox.add_fault("GET", "challenge_phase$", "delay", 1, 0.5)
    sandbox.add_fault("GET", "challenge_phase_split$", "delay", 1, 0.5)
    with _client(sandbox) as client:
        remote = fetch_remote(client, pk, cache=cache)
        assert client.stats.requests == 3
    assert remote.challenge["id"] == pk and set(remote.phase_pks) == {"dev", "test"}
    assert remote.snapshot["splits.dev.train_split.visibility"] == 1
    assert remote.snapshot["leaderboards.1.schema"]["default_order_by"] == "Total"
    requests = sorted(sandbox.requests(), key=lambda r: r.time)
    assert {r.path.rsplit("/", 1)[-1] for r in requests} == {
        str(pk), "challenge_phase", "challenge_phase_split"}
    first = requests[0]
    assert all(r.time < first.time + first.duration for r in requests[1:])  # one round trip


def test_fetch_remote_error_of_either_request_is_raised(created: tuple[Any, int]) -> None:
    from evalai_mirror.sync import fetch_remote

    sandbox, pk = created
    for path, name in (("challenge_phase$", "challenge_phase"), (rf"/challenge/{pk}$", str(pk))):
        sandbox.add_fault("GET", path, "500", 3, 0.0)
        with _client(sandbox) as client, pytest.raises(UnreachableError) as info:
            fetch_remote(client, pk)
        assert "failed on GET /api/challenges/" in str(info.value)
        assert f"/{name} (500" in str(info.value)


def test_read_timeout(created: tuple[Any, int]) -> None:
    sandbox, pk = created
    sandbox.add_fault("GET", rf"/challenge/{pk}$", "delay", 1, 1.5)
    with _client(sandbox, timeout=0.3) as client, pytest.raises(UnreachableError) as info:
        client.get_challenge(pk)
    assert "timed out" in str(info.value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_loopback_host_is_reached_directly_whatever_the_proxy_settings(
    created: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy cannot reach this machine's 127.0.0.1, and plain http through it would hand
    the token to another host: the sandbox (or a local EvalAI) is always asked directly."""
    sandbox, pk = created
    dead_proxy = f"http://127.0.0.1:{_free_port()}"
    for key in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.setenv(key, dead_proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with _client(sandbox, retries=0) as client:
        assert client.get_challenge(pk)["id"] == pk


def test_connection_refused_is_unreachable() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    conn = Connection(host_url=url, token="refused-token-0123456789", team_pk=1)
    client = EvalAIClient(conn, retries=1)
    client.backoff = 0.01
    with client, pytest.raises(UnreachableError) as info:
        client.list_challenges()
    assert url in str(info.value) and "could not be reached" in str(info.value)
    assert client.stats.requests == 2  # one retry of the GET
    assert "refused-token" not in str(info.value)


# --- recorded EvalAI answers replayed by a tiny real HTTP server --------------------------------



class Replay:
    """A real HTTP server on 127.0.0.1 that answers each (method, path) with a scripted
    (status, headers, body) and records what it was sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.routes: dict[tuple[str, str], list[tuple[int, dict[str, str], bytes]]] = {}
        self.seen: list[tuple[str, str, dict[str, str], bytes]] = []
        replay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                replay.seen.append((self.command, self.path, dict(self.headers), body))
                answers = replay.routes.get((self.command, self.path)) or [
                    (404, {"Content-Type": "application/json"}, b'{"detail": "Not found."}')
                ]
                status, headers, payload = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def route(self, method: str, path: str, status: int, body: bytes | str, **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        headers.setdefault("Content-Type", "application/json")
        self.routes.setdefault((method, path), []).append((status, headers, data))

    def sample(self, method: str, path: str, status: int, name: str, **headers: str) -> None:
        self.route(method, path, status, (API_SAMPLES / name).read_bytes(), **headers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def replay() -> Any:
    server = Replay()
    yield server
    server.close()


TEAM_LIST = "/api/challenges/challenge_host_team/1/challenge"
TOKEN = "replay-token-0123456789abcdef"


def _replay_client(replay: Replay, team: int = 1) -> EvalAIClient:
    client = EvalAIClient(Connection(replay.url, TOKEN, team), retries=2)
    client.backoff = 0.01
    return client


def test_a_redirect_names_the_host_url_to_use(replay: Replay) -> None:
    # http://eval.ai answers 301 to https://eval.ai: a request is not sent on with the token
    replay.route("GET", TEAM_LIST, 301, b"", Location="https://evalai.example.org" + TEAM_LIST)
    with _replay_client(replay) as client, pytest.raises(ApiError) as info:
        client.list_challenges()
    message = str(info.value)
    assert f"EvalAI at {replay.url} redirects GET {TEAM_LIST}" in message
    assert "set the host URL to https://evalai.example.org: EVALAI_HOST_URL" in message
    assert len(replay.seen) == 1 and TOKEN not in message


def test_an_upload_that_is_redirected_is_not_sent_on(replay: Replay) -> None:
    # the zip goes through requests, which would follow the redirect with the token
    path = "/api/challenges/challenge/challenge_host_team/1/validate_challenge_config/"
    replay.route("POST", path, 301, b"", Location=replay.url + "/elsewhere/")
    with _replay_client(replay) as client, pytest.raises(ApiError) as info:
        client.validate_zip(b"PK\x05\x06" + bytes(18), "host-org/random-challenge")
    assert f"redirects POST {path} to {replay.url}" in str(info.value)
    assert [(method, seen) for method, seen, _, _ in replay.seen] == [("POST", path)]


def test_headers_sent(replay: Replay) -> None:
    replay.sample("GET", TEAM_LIST + "/1", 200, "challenge_detail_get.json")
    with _replay_client(replay) as client:
        assert (
            client.get_challenge(1)["github_repository"] == "evalai-accept/random-number-challenge"
        )
    _, _, headers, _ = replay.seen[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}"
    assert headers["User-Agent"].startswith("evalai-mirror/")


def test_pagination_follows_next_on_our_own_host(replay: Replay) -> None:
    import json

    page1 = {
        "count": 3,
        "next": "http://internal-host:8000" + TEAM_LIST + "?page=2",
        "previous": None,
        "results": [{"id": 1, "github_repository": "a/b"}],
    }
    page2 = {
        "count": 3,
        "next": "http://internal-host:8000" + TEAM_LIST + "?page=3",
        "previous": None,
        "results": [{"id": 2, "github_repository": "c/d"}],
    }
    page3 = {
        "count": 3,
        "next": None,
        "previous": None,
        "results": [{"id": 5, "github_repository": "a/b"}],
    }
    replay.route("GET", TEAM_LIST, 200, json.dumps(page1))
    replay.route("GET", TEAM_LIST + "?page=2", 200, json.dumps(page2))
    replay.route("GET", TEAM_LIST + "?page=3", 200, json.dumps(page3))
    with _replay_client(replay) as client:
        assert [c["id"] for c in client.list_challenges()] == [1, 2, 5]
        found = client.find_challenge("a/b")
        assert found is not None and found["id"] == 5  # the newest of two
        assert client.find_challenge("A/B") is None  # EvalAI matches exactly


def test_pagination_loop_is_an_error(replay: Replay) -> None:
    import json

    page = {"count": 9, "next": replay.url + TEAM_LIST, "previous": None, "results": []}
    replay.route("GET", TEAM_LIST, 200, json.dumps(page))
    with _replay_client(replay) as client, pytest.raises(UnreachableError, match="do not end"):
        client.list_challenges()


@pytest.mark.parametrize(
    ("sample", "fragment"),
    [
        ("invalid_token_bearer_garbage.json", "invalid or expired"),
        ("invalid_token_token_scheme.json", "invalid or expired"),
        ("no_auth_header.json", "no token reached EvalAI"),
    ],
)
def test_401_variants(replay: Replay, sample: str, fragment: str) -> None:
    replay.sample(
        "GET", TEAM_LIST + "/1", 401, sample, **{"WWW-Authenticate": 'Bearer realm="api"'}
    )
    with _replay_client(replay) as client, pytest.raises(AuthError) as info:
        client.get_challenge(1)
    text = str(info.value)
    assert fragment in text and "EVALAI_AUTH_TOKEN" in text and TOKEN not in text
    assert info.value.status == 401


def test_not_a_member(replay: Replay) -> None:
    path = "/api/challenges/challenge/challenge_host_team/2/validate_challenge_config/"
    replay.sample("POST", path, 401, "validate_not_member.json")
    with _replay_client(replay, team=2) as client, pytest.raises(AuthError) as info:
        client.validate_zip(b"PK", "a/b")
    assert "not a member of EvalAI host team 2" in str(info.value)
    _, _, headers, body = replay.seen[0]
    assert headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="zip_configuration"' in body and b'name="GITHUB_REPOSITORY"' in body
    assert b"a/b" in body


def test_throttled(replay: Replay) -> None:
    replay.sample("GET", TEAM_LIST + "/1", 429, "throttled_user_429.json", **{"Retry-After": "58"})
    with _replay_client(replay) as client, pytest.raises(ThrottledError) as info:
        client.get_challenge(1)
    assert info.value.retry_after == 58.0
    assert "58 s" in str(info.value)
    assert len(replay.seen) == 1


def test_forbidden_frozen(replay: Replay) -> None:
    body = '{"error": "Cannot change the dates of a frozen challenge"}'
    replay.route("PATCH", TEAM_LIST + "/1", 403, body)
    with _replay_client(replay) as client, pytest.raises(ForbiddenError) as info:
        client.patch_challenge(1, {"end_date": "2099-01-01T00:00:00Z"})
    assert "frozen" in str(info.value)


def test_config_error_lines(replay: Replay) -> None:
    path = "/api/challenges/challenge/challenge_host_team/1/create_or_update_github_challenge/"
    replay.sample("POST", path, 400, "invalid_config_validate_bad_missing_files.json")
    with _replay_client(replay) as client, pytest.raises(BadRequestError) as info:
        client.create_or_update(b"PK", "a/b", "challenge")
    text = str(info.value)
    assert "File at path description not found" in text
    assert "; ERROR: No evaluation script is present" in text and "\n" not in text
    _, _, _, body = replay.seen[0]
    assert b'name="BRANCH_NAME"' in body and b"challenge" in body


def test_html_with_200_is_unreachable(replay: Replay) -> None:
    replay.route(
        "GET",
        TEAM_LIST + "/1",
        200,
        "<!DOCTYPE html><html>login</html>",
        **{"Content-Type": "text/html"},
    )
    with _replay_client(replay) as client, pytest.raises(UnreachableError) as info:
        client.get_challenge(1)
    assert "HTML page" in str(info.value) and "<" not in str(info.value)


def test_create_vs_update_status(replay: Replay) -> None:
    path = "/api/challenges/challenge/challenge_host_team/1/create_or_update_github_challenge/"
    replay.sample("POST", path, 201, "create_or_update_github_challenge.create.json")
    replay.sample("POST", path, 200, "create_or_update_github_challenge.update.json")
    with _replay_client(replay) as client:
        assert client.create_or_update(b"PK", "a/b", "c")[0] is True
        created, message = client.create_or_update(b"PK", "a/b", "c")
    assert created is False and "updated successfully" in message


def test_throttled_by_sandbox(created: tuple[Any, int]) -> None:
    sandbox, pk = created
    sandbox.set_throttle(2)
    with _client(sandbox) as client:
        client.get_challenge(pk)
        client.get_challenge(pk)
        with pytest.raises(ThrottledError) as info:
            client.get_challenge(pk)
    assert info.value.retry_after is not None and info.value.retry_after > 0
    assert "try again in" in str(info.value)

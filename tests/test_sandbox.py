"""The sandbox answers as the recorded EvalAI server does: one contract test per sample in
tests/data/api (same status, same keys with the same JSON types), then round trips."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import API_SAMPLES, FIXTURE, build_challenge_zip, shape
from contract.test_recorded import recorded_names

ZIP_VALIDATE = "/api/challenges/challenge/challenge_host_team/{team}/validate_challenge_config/"
ZIP_CREATE = "/api/challenges/challenge/challenge_host_team/{team}/create_or_update_github_challenge/"
DETAIL = "/api/challenges/challenge_host_team/{team}/challenge/{pk}"
PHASES = "/api/challenges/challenge/{pk}/challenge_phase"
SPLITS = "/api/challenges/{pk}/challenge_phase_split"
REPO = "host-org/random-challenge"
CONFIG = (FIXTURE / "challenge_config.yaml").read_text()


def sample(name: str) -> tuple[int, Any, dict[str, str]]:
    headers_text = (API_SAMPLES / f"{name}.headers").read_text()
    status = int(headers_text.split()[1])
    headers = dict(
        line.split(": ", 1) for line in headers_text.splitlines()[1:] if ": " in line
    )
    body_path = API_SAMPLES / f"{name}.json"
    body = json.loads(body_path.read_text()) if body_path.exists() else None
    return status, body, headers


def call(server: Any, method: str, path: str, token: str | None = "", **kw: Any) -> requests.Response:
    headers = kw.pop("headers", {})
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token or server.token}")
    return requests.request(method, server.url + path, headers=headers, timeout=30, **kw)


def post_zip(server: Any, data: bytes, *, create: bool = True, team: int = 1, repo: str = REPO) -> requests.Response:
    path = (ZIP_CREATE if create else ZIP_VALIDATE).format(team=team)
    return call(server, "POST", path, files={"zip_configuration": ("c.zip", data)}, data={"GITHUB_REPOSITORY": repo})


def fixture_zip(config: str | None = None, drop: tuple[str, ...] = ()) -> bytes:
    return build_challenge_zip(FIXTURE, config=config, drop=drop)


# -- one request per recorded sample ----------------------------------------------------------
Scenario = Callable[[Any, int], requests.Response]

PATCHED = {"title": "Random Number Generator Challenge (patched)"}

SCENARIOS: dict[str, Scenario] = {
    "validate_challenge_config": lambda s, pk: post_zip(s, fixture_zip(), create=False),
    "create_or_update_github_challenge.create": lambda s, pk: post_zip(s, fixture_zip(), repo="other/repo"),
    "create_or_update_github_challenge.update": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace("title: Random Number Generator Challenge", "title: Edited"))
    ),
    "challenge_detail_get": lambda s, pk: call(s, "GET", DETAIL.format(team=1, pk=pk)),
    "challenge_detail_wrong_team": lambda s, pk: call(s, "GET", DETAIL.format(team=2, pk=pk)),
    "challenge_detail_patch_title": lambda s, pk: call(s, "PATCH", DETAIL.format(team=1, pk=pk), json=PATCHED),
    "challenge_detail_patch_description": lambda s, pk: call(
        s, "PATCH", DETAIL.format(team=1, pk=pk), json={"description": "<p>Patched description</p>\n"}
    ),
    "challenge_detail_patch_dates": lambda s, pk: call(
        s, "PATCH", DETAIL.format(team=1, pk=pk), json={"start_date": "2019-01-02T00:00:00+00:00"}
    ),
    "challenge_detail_patch_readonly_and_unknown": lambda s, pk: call(
        s, "PATCH", DETAIL.format(team=1, pk=pk), json={"id": 99, "slug": "x", "no_such_field": 1}
    ),
    "challenge_detail_patch_bad_date": lambda s, pk: call(
        s, "PATCH", DETAIL.format(team=1, pk=pk), json={"end_date": "31/05/2099"}
    ),
    "challenge_phase_list_get": lambda s, pk: call(s, "GET", PHASES.format(pk=pk)),
    "challenge_phase_detail_get": lambda s, pk: call(s, "GET", PHASES.format(pk=pk) + "/1"),
    "challenge_phase_detail_patch": lambda s, pk: call(
        s, "PATCH", PHASES.format(pk=pk) + "/1", json={"name": "Dev Phase (patched)", "max_submissions_per_day": 7}
    ),
    "challenge_phase_detail_patch_dates": lambda s, pk: call(
        s, "PATCH", PHASES.format(pk=pk) + "/1", json={"start_date": "2019-01-20 00:00:00"}
    ),
    "challenge_phase_detail_patch_bad": lambda s, pk: call(
        s, "PATCH", PHASES.format(pk=pk) + "/1", json={"max_submissions_per_day": "many"}
    ),
    "challenge_phase_split_get": lambda s, pk: call(s, "GET", SPLITS.format(pk=pk)),
    "invalid_token_bearer_garbage": lambda s, pk: call(s, "GET", DETAIL.format(team=1, pk=pk), token="garbage"),
    "invalid_token_bearer_bad_signature": lambda s, pk: call(
        s, "GET", DETAIL.format(team=1, pk=pk), token=s.token[:-4] + "AAAA"
    ),
    "no_auth_header": lambda s, pk: call(s, "GET", DETAIL.format(team=1, pk=pk), token=None),
    "invalid_token_token_scheme": lambda s, pk: call(
        s, "GET", DETAIL.format(team=1, pk=pk), token=None, headers={"Authorization": "Token abc"}
    ),
    "invalid_token_validate_config": lambda s, pk: call(
        s, "POST", ZIP_VALIDATE.format(team=1), token="garbage", files={"zip_configuration": ("c.zip", b"x")}
    ),
    "invalid_config_validate_bad_no_title": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace("title: Random Number Generator Challenge\n", "")), create=False
    ),
    "invalid_config_validate_bad_dates": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace("end_date: 2099-05-31 23:59:59", "end_date: 2018-05-31 23:59:59")), create=False
    ),
    "invalid_config_validate_bad_yaml_syntax": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace('"Total"],', '"Total"]: x,')), create=False
    ),
    "invalid_config_validate_bad_no_yaml": lambda s, pk: post_zip(
        s, fixture_zip(drop=("challenge_config.yaml",)), create=False
    ),
    "invalid_config_validate_bad_missing_files": lambda s, pk: post_zip(
        s,
        fixture_zip(
            CONFIG.replace("description: templates/description.html", "description: templates/gone.html"),
            drop=("evaluation_script.zip", "annotations/test_annotations_devsplit.json"),
        ),
        create=False,
    ),
    "invalid_config_validate_not_a_zip": lambda s, pk: post_zip(s, b"not a zip", create=False),
    "invalid_config_create_bad_no_title": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace("title: Random Number Generator Challenge\n", ""))
    ),
    "invalid_config_create_bad_dates": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace("end_date: 2099-05-31 23:59:59", "end_date: 2018-05-31 23:59:59")),
        repo="other/repo",
    ),
    "invalid_config_update_bad_dates": lambda s, pk: post_zip(
        s, fixture_zip(CONFIG.replace("end_date: 2099-05-31 23:59:59", "end_date: 2018-05-31 23:59:59"))
    ),
    "invalid_config_create_not_a_zip": lambda s, pk: post_zip(s, b"PK\x03\x04 broken"),
    "validate_wrong_team": lambda s, pk: post_zip(s, fixture_zip(), create=False, team=999),
    "create_wrong_team": lambda s, pk: post_zip(s, fixture_zip(), team=999),
    "validate_not_member": lambda s, pk: post_zip(s, fixture_zip(), create=False, team=2),
}

# Bodies that do not depend on ids, dates or uploads must match the recording exactly.
EXACT = {
    "validate_challenge_config", "challenge_detail_patch_bad_date", "challenge_phase_detail_patch_bad",
    "invalid_token_bearer_garbage", "invalid_token_bearer_bad_signature", "no_auth_header",
    "invalid_token_token_scheme", "invalid_token_validate_config", "invalid_config_validate_bad_no_title",
    "invalid_config_validate_bad_dates", "invalid_config_validate_bad_no_yaml",
    "invalid_config_validate_bad_missing_files", "invalid_config_validate_not_a_zip",
    "invalid_config_create_bad_no_title", "invalid_config_create_bad_dates", "invalid_config_update_bad_dates",
    "invalid_config_create_not_a_zip", "validate_wrong_team", "create_wrong_team", "validate_not_member",
    "create_or_update_github_challenge.create",
}  # fmt: skip


def test_every_recorded_sample_has_a_scenario() -> None:
    recorded = {p.name[: -len(".headers")] for p in API_SAMPLES.glob("*.headers")}
    replayed = set(recorded_names())  # tests/contract/test_recorded.py replays these
    missing = recorded - set(SCENARIOS) - replayed - {"throttled_user_429", "invalid_config_validate_missing_zip"}
    assert not missing


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_contract_matches_recorded_sample(sandbox_challenge: tuple[Any, int], name: str) -> None:
    server, pk = sandbox_challenge
    status, body, headers = sample(name)
    response = SCENARIOS[name](server, pk)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == headers["Content-Type"]
    assert shape(response.json()) == shape(body)
    if name in EXACT:
        assert response.json() == body
    if status == 401 and "WWW-Authenticate" in headers:
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    if name == "challenge_phase_detail_get":
        assert response.json()["config_id"] == 1 and response.json()["codename"] == "dev"


def test_missing_zip_configuration_is_the_servers_text_500(sandbox: Any) -> None:
    response = call(sandbox, "POST", ZIP_VALIDATE.format(team=1), data={"GITHUB_REPOSITORY": REPO})
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "This QueryDict instance is immutable" in response.text


def test_throttled_answer_matches_sample(sandbox: Any) -> None:
    status, body, _ = sample("throttled_user_429")
    sandbox.set_throttle(2)
    codes = [call(sandbox, "GET", "/api/challenges/challenge_host_team/1/challenge").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    response = call(sandbox, "GET", "/api/challenges/challenge_host_team/1/challenge")
    assert response.status_code == status and shape(response.json()) == shape(body)
    wait = int(response.headers["Retry-After"])
    assert 58 <= wait <= 60
    detail = response.json()["detail"]
    assert detail in {f"Request was throttled. Expected available in {n} seconds." for n in (wait, wait + 1)}
    # the control routes are neither throttled nor logged
    assert requests.get(sandbox.url + "/_sandbox/requests", timeout=10).status_code == 200
    assert all(not r.path.startswith("/_sandbox/") for r in sandbox.requests())


# -- round trips --------------------------------------------------------------------------------
def test_create_list_read_patch_and_read_back(sandbox: Any) -> None:
    assert post_zip(sandbox, fixture_zip()).status_code == 201
    listing = call(sandbox, "GET", "/api/challenges/challenge_host_team/1/challenge").json()
    assert listing["count"] == 1 and listing["next"] is None
    challenge = listing["results"][0]
    pk = challenge["id"]
    assert challenge["github_repository"] == REPO
    assert challenge["description"] == (FIXTURE / "templates/description.html").read_text().strip()
    assert challenge["start_date"] == "2019-01-01T00:00:00Z"
    assert challenge["image"].startswith(sandbox.url + "/media/logos/")
    assert requests.get(challenge["image"], timeout=10).content == (FIXTURE / "logo.jpg").read_bytes()

    patched = call(sandbox, "PATCH", DETAIL.format(team=1, pk=pk), json={"title": "  New title \n"}).json()
    assert patched["title"] == "New title" and patched["image"].startswith("/media/logos/")
    assert patched["slug"] == f"new-title-{pk}"
    phase = call(sandbox, "PUT", PHASES.format(pk=pk) + "/2", json={"end_date": "2099-06-01T10:00:00.5Z"}).json()
    assert phase["end_date"] == "2099-06-01T10:00:00.500000Z"

    again = call(sandbox, "GET", DETAIL.format(team=1, pk=pk)).json()
    assert again["title"] == "New title"
    phases = call(sandbox, "GET", PHASES.format(pk=pk)).json()["results"]
    assert [p["codename"] for p in phases] == ["dev", "test"]
    assert phases[1]["end_date"] == "2099-06-01T10:00:00.500000Z"
    splits = call(sandbox, "GET", SPLITS.format(pk=pk)).json()
    assert [(s["challenge_phase"], s["dataset_split"], s["visibility"]) for s in splits] == [
        (1, 1, 1), (2, 1, 3), (2, 2, 1),
    ]  # fmt: skip


def test_update_matches_by_repository_alone_and_keeps_pks(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    edited = CONFIG.replace("name: Dev Phase", "name: Development")
    response = post_zip(server, fixture_zip(edited))
    assert response.status_code == 200
    assert response.json() == {
        "Success": "The challenge Random Number Generator Challenge has been updated successfully"
    }
    assert len(call(server, "GET", "/api/challenges/challenge_host_team/1/challenge").json()["results"]) == 1
    phases = call(server, "GET", PHASES.format(pk=pk)).json()["results"]
    assert [(p["id"], p["name"]) for p in phases] == [(1, "Development"), (2, "Test Phase")]


def test_update_that_deletes_a_phase_is_refused(sandbox_challenge: tuple[Any, int]) -> None:
    server, _pk = sandbox_challenge
    head = CONFIG.split("  - id: 2\n    name: Test Phase")[0]
    tail = CONFIG.split("is_partial_submission_evaluation_enabled: False\n")[-1]
    config = head + tail.split("  - challenge_phase_id: 2")[0]
    response = post_zip(server, fixture_zip(config))
    assert response.status_code == 400
    assert "Deletion of existing challenge phase" in response.json()["error"]


def test_unknown_challenge_team_and_phase_are_406(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    assert call(server, "GET", DETAIL.format(team=1, pk=42)).json() == {"error": "Challenge does not exist"}
    response = call(server, "PATCH", DETAIL.format(team=7, pk=pk), json={"title": "x"})
    assert response.status_code == 406 and response.json() == {"error": "ChallengeHostTeam does not exist"}
    response = call(server, "GET", PHASES.format(pk=pk) + "/9")
    assert response.status_code == 406
    assert response.json() == {"error": f"Challenge phase 9 does not exist for challenge {pk}"}


def test_frozen_challenge_refuses_date_patches_only(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    server.set_frozen(pk, True)
    response = call(server, "PATCH", DETAIL.format(team=1, pk=pk), json={"end_date": "2099-01-01T00:00:00Z"})
    assert response.status_code == 403
    assert server.get_challenge(pk)["end_date"] == "2099-05-31T23:59:59Z"
    assert call(server, "PATCH", DETAIL.format(team=1, pk=pk), json={"title": "ok"}).status_code == 200
    assert server.get_challenge(pk)["is_frozen"] is True


def test_trailing_slashes_are_exact(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    assert call(server, "GET", DETAIL.format(team=1, pk=pk) + "/").status_code == 404
    response = call(server, "POST", ZIP_VALIDATE.format(team=1).rstrip("/"), allow_redirects=False)
    assert response.status_code == 301


def test_pagination_next_is_an_absolute_url(tmp_path: Path) -> None:
    from evalai_mirror.sandbox import SandboxServer

    with SandboxServer(tmp_path / "data", throttle_per_minute=0, page_size=1) as server:
        assert post_zip(server, fixture_zip()).status_code == 201
        pk = server.challenge_pk(REPO)
        first = call(server, "GET", PHASES.format(pk=pk)).json()
        assert first["count"] == 2 and first["previous"] is None
        assert first["next"] == f"{server.url}{PHASES.format(pk=pk)}?page=2"
        second = requests.get(first["next"], headers={"Authorization": f"Bearer {server.token}"}, timeout=10).json()
        assert second["next"] is None and second["results"][0]["codename"] == "test"
        assert second["previous"] == f"{server.url}{PHASES.format(pk=pk)}"


def test_restart_keeps_challenges_and_token(tmp_path: Path) -> None:
    from evalai_mirror.sandbox import SandboxServer

    with SandboxServer(tmp_path / "data", throttle_per_minute=0) as first:
        assert post_zip(first, fixture_zip()).status_code == 201
        pk = first.challenge_pk(REPO)
        assert pk is not None
        first.edit_phase(pk, "test", max_submissions=9)
        token = first.token
    with SandboxServer(tmp_path / "data", throttle_per_minute=0) as second:
        assert second.token == token
        phases = call(second, "GET", PHASES.format(pk=pk)).json()["results"]
        assert phases[1]["max_submissions"] == 9


# -- faults, the request log and UI edits -------------------------------------------------------
def test_faults_in_process(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    path = DETAIL.format(team=1, pk=pk)
    server.add_fault("GET", r"/challenge/\d+$", "500", count=2)
    server.add_fault(None, r"/challenge/\d+$", "html")
    server.add_fault("GET", r"/challenge/\d+$", "drop")
    server.add_fault("GET", r"/challenge/\d+$", "delay", delay=0.3)
    first, second = call(server, "GET", path), call(server, "GET", path)
    assert (first.status_code, second.status_code) == (500, 500) and "error" in first.json()
    html = call(server, "GET", path)
    assert html.status_code == 500 and html.headers["Content-Type"].startswith("text/html")
    with pytest.raises(requests.ConnectionError):
        call(server, "GET", path)
    delayed = call(server, "GET", path)
    assert delayed.status_code == 200
    assert call(server, "GET", path).status_code == 200
    log = server.requests()
    assert [r.status for r in log] == [500, 500, 500, 0, 200, 200]
    assert log[4].duration >= 0.3 and log[0].bytes_out > 0 and log[0].bytes_in == 0


def test_faults_and_log_over_http(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    made = requests.post(
        server.url + "/_sandbox/faults",
        json={"method": "PATCH", "path_regex": "challenge_phase", "kind": "500"},
        timeout=10,
    )
    assert made.status_code == 201
    assert call(server, "PATCH", PHASES.format(pk=pk) + "/1", json={"name": "x"}).status_code == 500
    assert call(server, "PATCH", PHASES.format(pk=pk) + "/1", json={"name": "x"}).status_code == 200
    log = requests.get(server.url + "/_sandbox/requests", timeout=10).json()["requests"]
    assert [(r["method"], r["status"]) for r in log] == [("PATCH", 500), ("PATCH", 200)]
    assert log[1]["bytes_in"] == len(b'{"name": "x"}')
    assert requests.delete(server.url + "/_sandbox/requests", timeout=10).status_code == 204
    assert server.requests() == []


def test_ui_edits_are_seen_by_the_api(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    server.edit_challenge(pk, description="  <p>Edited in the UI</p>  ")
    server.edit_phase(pk, "dev", max_submissions_per_day=11)
    assert call(server, "GET", DETAIL.format(team=1, pk=pk)).json()["description"] == "<p>Edited in the UI</p>"
    assert call(server, "GET", PHASES.format(pk=pk) + "/1").json()["max_submissions_per_day"] == 11
    edited = requests.post(
        server.url + "/_sandbox/edit", json={"phase": "test", "fields": {"is_public": "false"}}, timeout=10
    )
    assert edited.status_code == 200 and edited.json()["is_public"] is False
    bad = requests.post(server.url + "/_sandbox/edit", json={"fields": {"max_team_members": "x"}}, timeout=10)
    assert bad.status_code == 400 and bad.json() == {"max_team_members": ["A valid integer is required."]}


def test_control_routes_info_freeze_and_challenge(sandbox_challenge: tuple[Any, int]) -> None:
    server, pk = sandbox_challenge
    control = server.url + "/_sandbox/"
    info = requests.get(control + "info", timeout=10).json()
    assert info == {"url": server.url, "team_pk": server.team_pk}

    frozen = requests.post(control + "freeze", json={"challenge": pk}, timeout=10)
    assert frozen.status_code == 200 and frozen.json()["is_frozen"] is True
    refused = call(server, "PATCH", DETAIL.format(team=1, pk=pk), json={"start_date": "2020-01-01T00:00:00Z"})
    assert refused.status_code == 403
    thawed = requests.post(control + "freeze", json={"challenge": pk, "frozen": False}, timeout=10)
    assert thawed.json()["is_frozen"] is False
    assert call(
        server, "PATCH", DETAIL.format(team=1, pk=pk), json={"start_date": "2020-01-01T00:00:00Z"}
    ).status_code == 200

    shown = requests.get(control + f"challenge/{pk}", timeout=10).json()
    assert shown == call(server, "GET", DETAIL.format(team=1, pk=pk)).json()
    assert shown["start_date"] == "2020-01-01T00:00:00Z"

    assert requests.post(control + "freeze", json={}, timeout=10).status_code == 400
    missing = requests.get(control + "nothing", timeout=10)
    assert missing.status_code == 404 and missing.json() == {"detail": "Not found."}
    # Control calls are not API traffic: the request log holds only the two PATCHes and a GET.
    assert [r.method for r in server.requests()] == ["PATCH", "PATCH", "GET"]


def test_cli_sandbox_edit(sandbox_env: Any, run_cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    server = sandbox_env
    assert post_zip(server, fixture_zip()).status_code == 201
    pk = server.challenge_pk(REPO)
    assert run_cli(["sandbox", "edit", "title=From the CLI", "published=false"]) == 0
    assert "title = \"From the CLI\"" in capsys.readouterr().out
    assert server.get_challenge(pk)["published"] is False
    assert run_cli(["sandbox", "edit", "--phase", "dev", "max_submissions=x"]) == 1
    assert "A valid integer is required." in capsys.readouterr().err
    assert run_cli(["sandbox", "edit", "notanassignment"]) == 1


def test_cli_sandbox_edit_ignores_proxy_settings(
    sandbox_env: Any, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox_env
    assert post_zip(server, fixture_zip()).status_code == 201
    with socket.socket() as sock:  # a port nothing listens on: a dead proxy
        sock.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for key in ("http_proxy", "HTTP_PROXY", "all_proxy"):
        monkeypatch.setenv(key, dead_proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert run_cli(["sandbox", "edit", "title=Past the proxy"]) == 0
    assert server.get_challenge(server.challenge_pk(REPO))["title"] == "Past the proxy"

"""The sandbox answers the recorder's requests as the real EvalAI backend did.

``record.py`` sent its requests to a real backend and saved the answers (``RECORDED.txt``); here
the same requests go to a fresh sandbox, and each answer must have the recorded status,
content type and body, once pks, times, uploads and other per-server values are normalised.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import API_SAMPLES, FIXTURE

from contract.record import Recorder, record

RECORDED = API_SAMPLES / "RECORDED.txt"

# Values that differ from one server (or one run) to the next.
VOLATILE = {
    "created_at", "queue", "slug", "github_repository", "image", "test_annotation", "Date",
    "evaluation_script", "start_date", "end_date",
}  # fmt: skip
PKS = {"id", "challenge", "challenge_phase", "dataset_split", "leaderboard", "creator"}


def recorded_names() -> list[str]:
    names = []
    for row in RECORDED.read_text().splitlines():
        if row.startswith("#") or " -> " not in row:
            continue
        names.append(row.rsplit(" -> ", 1)[1].rsplit(".", 1)[0])
    return names


def recorded(name: str) -> tuple[int, str, Any]:
    head = (API_SAMPLES / f"{name}.headers").read_text().splitlines()
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    path = API_SAMPLES / f"{name}.json"
    body: Any = json.loads(path.read_text()) if path.exists() else (API_SAMPLES / f"{name}.txt").read_text()
    return int(head[0].split()[1]), headers.get("Content-Type", ""), body


def normalise(value: Any, key: str = "") -> Any:
    if key in VOLATILE and value is not None:
        return "<varies>"
    if key in PKS and isinstance(value, int) and not isinstance(value, bool):
        return "<pk>"
    if key == "list_tags" and isinstance(value, list):
        return sorted(value)  # EvalAI adds a config's tags in a Python set's order
    if isinstance(value, dict):
        if key == "creator":  # the host team: its name is each server's own
            return {k: "<pk>" if k == "id" else normalise(v, k) for k, v in value.items() if k != "team_name"}
        return {k: normalise(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(item, key) for item in value]
    if isinstance(value, str):
        value = re.sub(r"(?i)(challenge |challenge_phase_split |challenge/)\d+", r"\1<pk>", value)
        return re.sub(r"https?://127\.0\.0\.1:\d+", "<host>", value)
    return value


class Replayer(Recorder):
    """Sends the recorder's requests and keeps the answers instead of writing files."""

    answers: dict[str, requests.Response]

    def save(self, name: str, method: str, path: str, note: str, response: requests.Response) -> None:
        self.answers[name] = response


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, requests.Response]:
    from evalai_mirror.sandbox import SandboxServer

    tmp = tmp_path_factory.mktemp("replay")
    server = SandboxServer(tmp / "sandbox", throttle_per_minute=0).start()
    rec = Replayer(server.url, server.token, server.team_pk, Path(tmp))
    rec.answers = {}
    try:
        record(rec, FIXTURE)
    finally:
        server.stop()
    return rec.answers


def test_the_recorder_covers_every_recording() -> None:
    names = recorded_names()
    assert len(names) == len(set(names)) and len(names) >= 50
    for name in names:
        assert (API_SAMPLES / f"{name}.headers").exists(), name


@pytest.mark.parametrize("name", recorded_names())
def test_sandbox_answers_as_recorded(replayed: dict[str, requests.Response], name: str) -> None:
    status, content_type, body = recorded(name)
    response = replayed[name]
    try:
        got: Any = response.json()
    except ValueError:
        got = response.text
    assert (response.status_code, response.headers.get("Content-Type", "")) == (status, content_type), got
    if isinstance(body, str):
        assert isinstance(got, str)
        # an empty body, or a crash page whose first line must match (pks aside)
        first = [re.sub(r"/\d+/", "/<pk>/", text.splitlines()[0]) if text else "" for text in (got, body)]
        assert first[0] == first[1]
    else:
        if name == "challenge_list":  # a long-lived backend has other challenges: the newest is ours
            got, body = got["results"][0], body["results"][0]
        assert normalise(got) == normalise(body)

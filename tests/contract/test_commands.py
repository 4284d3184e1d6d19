"""evalai-mirror's commands end to end, on the sandbox and on a real EvalAI backend.

Each scenario drives the CLI in a real git repository (a fresh challenge: a unique repository
name) and returns a trace: each command's exit code and output (numbers, pks and URLs
normalised), EvalAI's side afterwards (the synced fields) and the keys and JSON types of what
EvalAI answers.  ``[sandbox]`` runs it on the bundled sandbox; ``[real]`` runs it on the sandbox
and on the backend named by ``EVALAI_CONTRACT_HOST_URL``, ``EVALAI_CONTRACT_AUTH_TOKEN`` and
``EVALAI_CONTRACT_TEAM_PK`` and fails on any difference (skipped when they are unset).

Freezing a challenge is an admin action: on a real backend set ``EVALAI_CONTRACT_FREEZE_CMD`` to
a shell command with ``{pk}`` and ``{frozen}`` (``true``/``false``) in it.  Throttling is
compared only when ``EVALAI_CONTRACT_THROTTLED=1`` says the real backend has it on.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import copy_fixture, git, shape

# Read at import: the autouse isolated_env fixture clears EVALAI_* for each test.
_REAL = {k: os.environ.get(f"EVALAI_CONTRACT_{k}", "") for k in ("HOST_URL", "AUTH_TOKEN", "TEAM_PK")}
_FREEZE_CMD = os.environ.get("EVALAI_CONTRACT_FREEZE_CMD", "")
_THROTTLED = os.environ.get("EVALAI_CONTRACT_THROTTLED", "") == "1"
REAL_REASON = "no real EvalAI backend: set EVALAI_CONTRACT_HOST_URL, EVALAI_CONTRACT_AUTH_TOKEN and EVALAI_CONTRACT_TEAM_PK"


@dataclass
class Backend:
    name: str
    url: str
    token: str
    team_pk: int
    sandbox: Any = None

    def client(self, *, token: str | None = None, team_pk: int | None = None) -> Any:
        from evalai_mirror.api import EvalAIClient
        from evalai_mirror.settings import Connection

        return EvalAIClient(Connection(self.url, token or self.token, team_pk or self.team_pk), retries=0)

    def freeze(self, pk: int, frozen: bool) -> None:
        if self.sandbox is not None:
            self.sandbox.set_frozen(pk, frozen)
            return
        if not _FREEZE_CMD:
            pytest.skip("set EVALAI_CONTRACT_FREEZE_CMD to freeze a challenge on the real backend")
        command = _FREEZE_CMD.format(pk=int(pk), frozen="true" if frozen else "false")
        subprocess.run(shlex.split(command), check=True, capture_output=True, timeout=120)


@pytest.fixture
def sandbox_backend(tmp_path: Path) -> Iterator[Backend]:
    from evalai_mirror.sandbox import SandboxServer

    server = SandboxServer(tmp_path / "sandbox-data", throttle_per_minute=0).start()
    try:
        yield Backend("sandbox", server.url, server.token, server.team_pk, server)
    finally:
        server.stop()


def real_backend() -> Backend:
    if not all(_REAL.values()):
        pytest.skip(REAL_REASON)
    return Backend("real", _REAL["HOST_URL"].rstrip("/"), _REAL["AUTH_TOKEN"], int(_REAL["TEAM_PK"]))


class Runner:
    """Runs the CLI against one backend, in repositories of its own under ``root``."""

    def __init__(self, backend: Backend, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        self.backend, self.root, self.mp, self.capsys = backend, root, monkeypatch, capsys
        self.trace: list[Any] = []

    def repo(self) -> Path:
        """The test challenge as a git repository whose origin names a fresh repository."""
        owner, name = f"contract-{uuid.uuid4().hex[:10]}", "challenge"
        repo = copy_fixture(self.root / owner / "work")
        bare = self.root / owner / "remotes" / owner / f"{name}.git"
        bare.parent.mkdir(parents=True)
        git(self.root, "init", "--bare", "-q", str(bare))
        git(repo, "init", "-q", "-b", "challenge")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "Initial challenge")
        git(repo, "remote", "add", "origin", str(bare))
        return repo

    def cli(self, step: str, argv: list[str], repo: Path, *, token: str | None = None, team: int | None = None) -> int:
        from evalai_mirror.cli import main

        self.mp.setenv("EVALAI_HOST_URL", self.backend.url)
        self.mp.setenv("EVALAI_AUTH_TOKEN", token or self.backend.token)
        self.mp.setenv("EVALAI_TEAM_PK", str(team or self.backend.team_pk))
        self.mp.chdir(repo)
        self.capsys.readouterr()
        code = main(argv)
        out = self.capsys.readouterr()
        self.trace.append((step, code, scrub(out.out + out.err, self.backend)))
        return code

    def remote(self, step: str, pk: int) -> dict[str, Any]:
        """EvalAI's side: the synced fields and the shapes of the answers."""
        from evalai_mirror.challenge import from_remote

        with self.backend.client() as client:
            challenge, phases = client.get_challenge(pk), client.list_phases(pk)
            splits = client.phase_splits(pk)
        snapshot = from_remote(challenge, phases)
        self.trace.append((step, snapshot, shape(challenge), shape(phases), shape(splits)))
        return snapshot

    def pk(self, repo: Path) -> int:
        from evalai_mirror.state import StateStore

        state = StateStore(repo / ".git").load("challenge")
        assert state is not None and state.challenge_pk is not None
        return int(state.challenge_pk)


def scrub(text: str, backend: Backend) -> list[str]:
    text = text.replace(backend.url, "<host>")
    text = re.sub(r"contract-[0-9a-f]{10}", "<repo>", text)
    text = re.sub(r"\b[0-9a-f]{7,40}\b", "<sha>", text)
    text = re.sub(r"\d+(\.\d+)?", "N", text)
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def edit(repo: Path, old: str, new: str, path: str = "challenge_config.yaml") -> None:
    target = repo / path
    text = target.read_text()
    assert old in text, (old, path)
    target.write_text(text.replace(old, new, 1))


def commit(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)


# -- scenarios: each returns nothing; the runner's trace is what is compared ------------------
def create_and_status(r: Runner) -> None:
    repo = r.repo()
    assert r.cli("push", ["push"], repo) == 0
    pk = r.pk(repo)
    r.remote("after create", pk)
    assert r.cli("status", ["status"], repo) == 0
    r.cli("status --json", ["status", "--json"], repo)


def patch_each_kind(r: Runner) -> None:
    repo = r.repo()
    assert r.cli("push", ["push"], repo) == 0
    pk = r.pk(repo)
    edit(repo, "title: Random Number Generator Challenge", "title: Renamed by contract")
    (repo / "templates" / "description.html").write_text("<p>New description</p>\n")
    edit(repo, "published: True", "published: False")
    edit(repo, "max_submissions_per_day: 5", "max_submissions_per_day: 7")
    edit(repo, "end_date: 2099-05-31", "end_date: 2098-05-31")
    commit(repo, "edit each kind of field")
    assert r.cli("push edits", ["push"], repo) == 0
    r.remote("after patches", pk)
    assert r.cli("status", ["status"], repo) == 0


def pull_remote_edit(r: Runner) -> None:
    repo = r.repo()
    assert r.cli("push", ["push"], repo) == 0
    pk = r.pk(repo)
    with r.backend.client() as client:
        client.patch_challenge(pk, {"title": "Renamed on EvalAI", "short_description": "  edited  "})
        phase = client.list_phases(pk)[0]
        client.patch_phase(pk, int(phase["id"]), {"name": "Phase renamed on EvalAI", "is_public": True})
    r.cli("status (drift)", ["status"], repo)
    assert r.cli("pull", ["pull", "--commit"], repo) == 0
    r.trace.append(("config after pull", (repo / "challenge_config.yaml").read_text()))
    assert r.cli("status", ["status"], repo) == 0
    r.remote("after pull", pk)


def pull_split_detail_edit(r: Runner) -> None:
    """A phase split's decimal precision and order, which EvalAI returns only from the split's
    own GET: status shows the edit, pull brings it home, the next push sends nothing back."""
    repo = r.repo()
    assert r.cli("push", ["push"], repo) == 0
    pk = r.pk(repo)
    with r.backend.client() as client:
        split = min(client.phase_splits(pk), key=lambda s: int(s["id"]))
        client.patch_phase_split(int(split["id"]), {"leaderboard_decimal_precision": 4,
                                                    "is_leaderboard_order_descending": False})
    assert r.cli("status (drift)", ["status"], repo) == 2
    assert r.cli("pull", ["pull", "--commit"], repo) == 0
    r.trace.append(("config after pull", (repo / "challenge_config.yaml").read_text()))
    assert r.cli("status", ["status"], repo) == 0
    assert r.cli("push (nothing to send)", ["push"], repo) == 0


def validate_remote(r: Runner) -> None:
    repo = r.repo()
    r.cli("validate --remote", ["validate", "--remote"], repo)
    edit(repo, "title: Random Number Generator Challenge", 'title: ""')
    r.cli("validate --remote (no title)", ["validate", "--remote"], repo)
    r.cli("validate offline (no title)", ["validate"], repo)


def wrong_token_and_team(r: Runner) -> None:
    repo = r.repo()
    assert r.cli("push", ["push"], repo) == 0
    r.cli("status, bad token", ["status"], repo, token="not.a.token")
    r.cli("status, no such team", ["status"], repo, team=99999999)
    r.cli("push, no such team", ["push"], r.repo(), team=99999999)


def frozen_dates(r: Runner) -> None:
    repo = r.repo()
    assert r.cli("push", ["push"], repo) == 0
    pk = r.pk(repo)
    r.backend.freeze(pk, True)
    try:
        edit(repo, "end_date: 2099-05-31", "end_date: 2098-05-31")
        commit(repo, "move the end date")
        r.cli("push dates (frozen)", ["push"], repo)
        edit(repo, "title: Random Number Generator Challenge", "title: Frozen but renamed")
        commit(repo, "rename")
        r.cli("push title (frozen)", ["push", "--force"], repo)
        r.remote("after frozen pushes", pk)
    finally:
        r.backend.freeze(pk, False)


SCENARIOS: dict[str, Callable[[Runner], None]] = {
    "create_and_status": create_and_status,
    "patch_each_kind": patch_each_kind,
    "pull_remote_edit": pull_remote_edit,
    "pull_split_detail_edit": pull_split_detail_edit,
    "validate_remote": validate_remote,
    "wrong_token_and_team": wrong_token_and_team,
    "frozen_dates": frozen_dates,
}


def run(scenario: str, backend: Backend, root: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> list[Any]:
    runner = Runner(backend, root, monkeypatch, capsys)
    SCENARIOS[scenario](runner)
    return runner.trace


@pytest.mark.slow
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("target", ["sandbox", "real"])
def test_scenario(
    target: str,
    scenario: str,
    sandbox_backend: Backend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if target == "sandbox":
        assert run(scenario, sandbox_backend, tmp_path / "sandbox", monkeypatch, capsys)
        return
    real = real_backend()
    expected = run(scenario, sandbox_backend, tmp_path / "sandbox", monkeypatch, capsys)
    got = run(scenario, real, tmp_path / "real", monkeypatch, capsys)
    assert len(got) == len(expected)
    for want, have in zip(expected, got, strict=True):
        assert have == want, f"the real backend differs from the sandbox at step {want[0]!r}"


def throttling(backend: Backend, settle: Callable[[], None]) -> list[Any]:
    """What a throttled user meets: how many requests pass in a minute, the 429 (body,
    Retry-After, Allow), which endpoints share the user's bucket, what requests without a token
    get meanwhile, and the client's error.  ``settle()`` empties the bucket."""
    import requests

    from contract.record import fixture_zip
    from evalai_mirror.errors import ThrottledError

    repository = f"contract-throttle/{uuid.uuid4().hex[:10]}"
    with backend.client() as client:
        client.create_or_update(fixture_zip(), repository, "challenge")
        pk = max(int(c["id"]) for c in client.list_challenges() if c.get("github_repository") == repository)
    session = requests.Session()
    session.trust_env = False  # loopback: no proxy, no ~/.netrc
    token = {"Authorization": f"Bearer {backend.token}"}
    listing = f"/api/challenges/challenge_host_team/{backend.team_pk}/challenge"

    def get(path: str, headers: dict[str, str] | None) -> requests.Response:
        return session.get(backend.url + path, headers=headers or {}, timeout=60)

    def answer(response: requests.Response) -> tuple[Any, ...]:
        if response.status_code != 429:
            return (response.status_code,)
        detail = str(response.json().get("detail", ""))
        seconds = re.findall(r"\d+", detail)
        assert seconds and 0 < int(seconds[0]) <= 60, detail
        assert response.headers.get("Retry-After") == seconds[0], "Retry-After and the detail differ"
        allow = sorted(m.strip() for m in response.headers.get("Allow", "").split(",") if m.strip())
        return (429, sorted(response.json()), re.sub(r"\d+", "N", detail), allow)

    settle()
    passed = 0
    while (response := get(listing, token)).status_code != 429:
        assert response.status_code == 200 and passed < 200, response.status_code
        passed += 1
    trace: list[Any] = [("requests that pass in a minute", passed), ("the next one", answer(response))]
    for step, path, headers in (
        ("another endpoint, same user", "/api/challenges/challenge/get_domain_choices/", token),
        ("phase split list with the token", f"/api/challenges/{pk}/challenge_phase_split", token),
        ("phase split list without a token", f"/api/challenges/{pk}/challenge_phase_split", None),
        ("prizes without a token", f"/api/challenges/challenge/{pk}/prizes/", None),
        ("a wrong token", listing, {"Authorization": "Bearer not.a.token"}),
    ):
        trace.append((step, answer(get(path, headers))))
    with backend.client() as client, pytest.raises(ThrottledError) as caught:
        client.list_challenges()
    said = re.findall(r"available in (\d+) second", str(caught.value))
    assert said and caught.value.retry_after == float(said[0]), str(caught.value)
    trace.append(("the client", type(caught.value).__name__, re.sub(r"\d+", "N", str(caught.value))))
    return trace


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sandbox", "real"])
def test_throttling(target: str, sandbox_backend: Backend) -> None:
    """EvalAI's throttling (60 requests a minute per user): the sandbox's trace, and on a real
    backend that has throttling on (EVALAI_CONTRACT_THROTTLED=1), the same trace."""
    if target == "real":
        real = real_backend()
        if not _THROTTLED:
            pytest.skip("the real backend's throttling is off (EVALAI_CONTRACT_THROTTLED=1 when it is on)")
    sandbox_backend.sandbox.set_throttle(0)  # the setup requests do not count
    expected = throttling(sandbox_backend, lambda: sandbox_backend.sandbox.set_throttle(60))
    assert expected[0] == ("requests that pass in a minute", 60)
    if target == "sandbox":
        return
    got = throttling(real, lambda: time.sleep(61))  # a real backend keeps the last minute's requests
    for want, have in zip(expected, got, strict=True):
        assert have == want, f"the real backend differs from the sandbox at step {want[0]!r}"

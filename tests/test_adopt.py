"""`evalai-mirror adopt` end to end: a repository in the EvalAI-Starters layout, with Starters'
upload workflow and a real token committed in github/host_config.json, whose challenge EvalAI
(the sandbox, over real HTTP) already holds and someone edited on EvalAI's pages since."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import RunCli, changes, commit_all, git, set_dev_limit, state_of

from evalai_mirror import fsutil, scaffold, ui

# EvalAI-Starters' .github/workflows/process_challenge.yml, as Starters ships it.
STARTERS_WORKFLOW = """\
name: evalai-challenge
on:
  push:
    branches: [challenge]
  pull_request:
    types: [opened, synchronize, reopened, edited]
    branches: [challenge]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v2
      - name: Set up Python 3.9.21
        uses: actions/setup-python@v2
        with:
          python-version: 3.9.21
      - name: Install dependencies
        run: |
          python -m pip install --upgrade pip
          if [ -f github/requirements.txt ]; then pip install -r github/requirements.txt; fi
      - name: Validate challenge
        run: |
          python3 github/challenge_processing_script.py
        env:
          IS_VALIDATION: 'True'
          GITHUB_CONTEXT: ${{ toJson(github) }}
          GITHUB_AUTH_TOKEN: ${{ secrets.AUTH_TOKEN }}
      - name: Create or update challenge
        run: |
          python3 github/challenge_processing_script.py
        if: ${{success()}}
        env:
          IS_VALIDATION: 'False'
          GITHUB_CONTEXT: ${{ toJson(github) }}
          GITHUB_AUTH_TOKEN: ${{ secrets.AUTH_TOKEN }}
"""
STARTERS_PATH = ".github/workflows/process_challenge.yml"
EVALAI_TITLE = "Random Numbers (renamed on EvalAI)"


@pytest.fixture
def starters_repo(
    challenge_repo: Path, sandbox_challenge: tuple[Any, int], monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Any, int]:
    """``challenge_repo`` as a Starters user has it: the upload workflow and host_config.json
    with the real token, team and host (committed, as Starters tells users to); EvalAI holds
    the challenge, whose title was then edited on EvalAI, while the repository raised a phase
    limit that never reached EvalAI.  No EVALAI_* variable is set: the credentials are the
    committed file's, as in a Starters repository."""
    sandbox, pk = sandbox_challenge
    repo = challenge_repo
    (repo / ".github" / "workflows").mkdir(parents=True)
    (repo / STARTERS_PATH).write_text(STARTERS_WORKFLOW, encoding="utf-8")
    (repo / "github" / "host_config.json").write_text(
        json.dumps({"token": sandbox.token, "team_pk": str(sandbox.team_pk),
                    "evalai_host_url": sandbox.url}, indent=2),
        encoding="utf-8",
    )
    set_dev_limit(repo, 9)
    commit_all(repo, "Starters setup")
    git(repo, "push", "-q", "origin", "challenge")
    sandbox.edit_challenge(pk, title=EVALAI_TITLE)
    sandbox.clear_requests()
    monkeypatch.chdir(repo)
    return repo, sandbox, pk


def snapshot(repo: Path) -> dict[str, str]:
    """Every file of the working copy and the git directory's evalai-mirror state (not its
    cache of EvalAI's ids), hashed, and every ref."""
    out = {}
    for path in sorted(repo.rglob("*")):
        rel = path.relative_to(repo).as_posix()
        ours = not rel.startswith(".git/") or rel.startswith(".git/evalai-mirror/")
        if ours and path.is_file() and not rel.endswith((".lock", "ids.json")):
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    for line in git(repo, "for-each-ref", "--format=%(refname) %(objectname)").splitlines():
        name, sha = line.split()
        out[name] = sha
    return out


ADOPT = ["adopt", "--keep-evalai", "title", "--keep", "repo", "--replace-workflow", "--yes"]


def test_adopt_finds_all_three_and_records_the_base_the_host_chose(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = starters_repo
    assert run_cli(ADOPT) == 0
    out, err = capsys.readouterr()
    assert sandbox.token not in out + err
    # the workflow: Starters' is gone, evalai-mirror's three are there
    assert f"workflow: {STARTERS_PATH} runs EvalAI-Starters' challenge_processing_script.py" in out
    assert not (repo / STARTERS_PATH).exists()
    for path, text in scaffold.render_workflows("challenge").items():
        assert (repo / path).read_text(encoding="utf-8") == text
    # the token: what to do, once, the token itself never
    assert out.count("github/host_config.json holds a real EvalAI token") == 1
    assert "rotate the token" in out and "EVALAI_AUTH_TOKEN" in out
    assert "TOKEN LEAK" not in err
    # the comparison: the two differing fields listed with both values
    assert f"EvalAI challenge {pk} is the one EvalAI holds for host-org/random-challenge" in out
    assert "2 differ:" in out
    assert f"  here 'Random Number Generator Challenge'; EvalAI '{EVALAI_TITLE}'" in out
    assert "phases.dev.max_submissions_per_day  here 9; EvalAI 5" in out
    # the base: EvalAI's title written here, the repository's limit kept for the next push
    config = yaml.safe_load((repo / "challenge_config.yaml").read_text(encoding="utf-8"))
    assert config["title"] == EVALAI_TITLE
    state = state_of(repo)
    assert state.challenge_pk == pk and state.base["title"] == EVALAI_TITLE
    assert not state.structure  # EvalAI never returns the script: the first push uploads it
    assert changes(sandbox) == []  # nothing was sent to EvalAI
    assert run_cli(["log", "--json", "--direction", "adopt"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["direction"] == "adopt" and entry["challenge_pk"] == pk


def test_a_save_while_adopt_writes_is_kept_and_no_base_is_recorded(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo, _sandbox, _pk = starters_repo
    # the host saves the config while adopt is about to write EvalAI's title into it
    monkeypatch.setattr(fsutil, "before_replace", lambda target: set_dev_limit(repo, 7))
    assert run_cli(ADOPT) == 1
    err = capsys.readouterr().err
    assert "challenge_config.yaml was saved while adopt compared it" in err
    text = (repo / "challenge_config.yaml").read_text(encoding="utf-8")
    assert "max_submissions_per_day: 7" in text and EVALAI_TITLE not in text  # the save stays
    assert state_of(repo) is None  # nothing recorded


def test_running_adopt_again_changes_nothing(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, _pk = starters_repo
    assert run_cli(ADOPT) == 0
    capsys.readouterr()
    before = snapshot(repo)
    assert run_cli(ADOPT) == 0
    out = capsys.readouterr().out
    assert snapshot(repo) == before
    assert "no EvalAI-Starters upload workflow (nothing to replace)" in out
    assert "already syncs with EvalAI challenge" in out and "nothing to record" in out
    assert changes(sandbox) == []


def test_after_adopting_a_push_keeps_evalai_s_edit_and_sends_the_repository_s(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = starters_repo
    assert run_cli(ADOPT) == 0
    commit_all(repo, "Adopt: EvalAI's title, evalai-mirror's workflows")
    assert run_cli(["push"]) == 0, capsys.readouterr()
    assert sandbox.get_challenge(pk)["title"] == EVALAI_TITLE
    phases = {p["codename"]: p for p in sandbox.get_phases(pk)}
    assert phases["dev"]["max_submissions_per_day"] == 9
    assert run_cli(["status"]) == 0


def test_without_choices_and_no_terminal_nothing_is_recorded(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _sandbox, _pk = starters_repo
    before = snapshot(repo)
    assert run_cli(["adopt"]) == 1
    out = capsys.readouterr().out
    assert "pass --replace-workflow" in out
    assert "no side chosen for" in out and "title" in out
    assert snapshot(repo) == before and state_of(repo) is None


def test_dry_run_shows_and_changes_nothing(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, _sandbox, _pk = starters_repo
    before = snapshot(repo)
    assert run_cli(["adopt", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove .github/workflows/process_challenge.yml" in out and "2 differ" in out
    assert snapshot(repo) == before


def test_the_host_answers_field_by_field(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At a terminal: keep the Starters workflow; for the phase limit (listed first) a wrong
    answer, then the repository's; EvalAI's for the title; confirm."""
    repo, _sandbox, _pk = starters_repo
    monkeypatch.setattr(ui, "interactive", lambda: True)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\nx\nr\ne\ny\n"))
    assert run_cli(["adopt"]) == 0
    out, err = capsys.readouterr()
    assert (repo / STARTERS_PATH).exists() and "was kept" in err
    assert "answer r (keep the repository's)" in out  # after the "x"
    config = yaml.safe_load((repo / "challenge_config.yaml").read_text(encoding="utf-8"))
    assert config["title"] == EVALAI_TITLE
    assert config["challenge_phases"][0]["max_submissions_per_day"] == 9
    state = state_of(repo)
    assert state.base["title"] == EVALAI_TITLE
    assert state.base["phases.dev.max_submissions_per_day"] == 5  # EvalAI's: push sends 9


def test_a_repository_evalai_does_not_hold_yet_has_nothing_to_compare(
    challenge_repo: Path, sandbox_env: Any, run_cli: RunCli, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(challenge_repo)
    assert run_cli(["adopt", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "EvalAI holds no challenge for host-org/random-challenge yet" in out
    assert state_of(challenge_repo) is None


def test_the_adopted_base_travels_to_a_runner_clone(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """adopt shares the base it records (refs/evalai-mirror/challenge on origin): once the
    adoption is committed and pushed (hooks skipped), the push workflow in a fresh runner clone
    sends the repository's phase limit and keeps EvalAI's title, with no --force; a runner
    that pushes a commit from before the adoption is refused instead of undoing the title."""
    from test_workflows import PUSH, Runner, origin_of, secrets_of

    repo, sandbox, pk = starters_repo
    assert run_cli(ADOPT) == 0
    origin = origin_of(repo)
    assert git(origin, "rev-parse", "-q", "--verify", "refs/evalai-mirror/challenge").strip()
    # before the adoption is committed, a runner pushing origin's tip (the old title) is
    # refused: it would undo EvalAI's title, which the host chose to keep
    workflow = scaffold.render_workflows("challenge")[PUSH]  # not in that commit yet
    early = Runner(tmp_path / "early", origin, "challenge", secrets_of(sandbox))
    old = early.run(PUSH, workflow)[-1]
    assert old.returncode == 1 and "title" in old.stderr
    assert sandbox.get_challenge(pk)["title"] == EVALAI_TITLE
    commit_all(repo, "Adopt: EvalAI's title, evalai-mirror's workflows")
    git(repo, "push", "-q", "--no-verify", "origin", "challenge")
    capsys.readouterr()

    last = Runner(tmp_path / "ci", origin, "challenge", secrets_of(sandbox)).run(PUSH)[-1]
    assert last.returncode == 0, last.stdout + last.stderr
    assert sandbox.get_challenge(pk)["title"] == EVALAI_TITLE
    phases = {p["codename"]: p for p in sandbox.get_phases(pk)}
    assert phases["dev"]["max_submissions_per_day"] == 9
    assert sandbox.token not in last.stdout + last.stderr


def test_doctor_fails_while_the_starters_workflow_is_there(
    starters_repo: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    def check() -> dict[str, Any]:
        run_cli(["doctor", "--json"])
        found = json.loads(capsys.readouterr().out)["checks"]
        [one] = [c for c in found if c["name"] == "no Starters upload workflow"]
        return dict(one)

    before = check()
    assert before["status"] == "fail" and STARTERS_PATH in before["message"]
    assert "evalai-mirror adopt --replace-workflow" in before["fix"]
    assert run_cli(ADOPT) == 0
    capsys.readouterr()
    assert check()["status"] == "pass"

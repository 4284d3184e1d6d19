"""Integrity under faults (issue 14): a push cut short by EvalAI, answers lost after EvalAI
applied a PATCH.  Real git, the hooks, the sandbox over real HTTP with scripted faults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import REPOSITORY, commit_all, git, set_dev_limit, set_title, state_of

VENV_BIN = str(Path(sys.executable).parent)
PHASE_PATCH = r"/challenge_phase/\d+$"


def run(repo: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(argv, cwd=repo, env=env, capture_output=True, text=True,
                          check=False, timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(repo, sys.executable, "-m", "evalai_mirror", *args)


def dev_limit(server: Any, pk: int) -> int:
    dev = next(p for p in server.get_phases(pk) if p["codename"] == "dev")
    return int(dev["max_submissions_per_day"])


@pytest.mark.slow
def test_a_push_cut_short_by_a_500_converges_with_plain_git_push(
    challenge_repo: Path, sandbox_env: Any
) -> None:
    repo, server = challenge_repo, sandbox_env
    assert cli(repo, "install-hooks", "--hook", "pre-push").returncode == 0
    assert cli(repo, "push").returncode == 0
    pk = int(server.challenge_pk(REPOSITORY))

    set_title(repo, "First Title")
    set_dev_limit(repo, 7)
    commit_all(repo, "title and a phase limit")
    server.add_fault("PATCH", PHASE_PATCH, "500")
    first = run(repo, "git", "push", "-q", "origin", "challenge")
    assert first.returncode == 0, first.stderr  # a 500 warns; git goes on
    assert "only partly sent to EvalAI" in first.stderr
    assert "reached EvalAI: title" in first.stderr
    assert "not sent: phases.dev.max_submissions_per_day" in first.stderr
    assert server.get_challenge(pk)["title"] == "First Title"
    assert dev_limit(server, pk) != 7

    set_title(repo, "Second Title")
    commit_all(repo, "another title")
    second = run(repo, "git", "push", "-q", "origin", "challenge")
    assert second.returncode == 0, second.stderr
    assert "error" not in second.stderr.lower()
    assert server.get_challenge(pk)["title"] == "Second Title"
    assert dev_limit(server, pk) == 7
    state = state_of(repo)
    assert state.in_flight == {} and state.pending is None
    assert cli(repo, "status").returncode == 0  # no drift left


@pytest.mark.parametrize("kind", ["lost", "cut", "late"])
def test_a_patch_applied_whose_answer_was_lost_is_not_read_as_an_evalai_edit(
    kind: str, pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    from evalai_mirror import sync, syncpush
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.errors import UnreachableError

    repo, pk = pushed_repo
    server = sandbox_env

    def push() -> syncpush.PushReport:
        ctx = sync.open_context(None)
        ctx._client = EvalAIClient(ctx.settings.connection(), timeout=0.5)
        try:
            return syncpush.push(ctx)
        finally:
            ctx.close()

    set_title(repo, "Applied Title")
    set_dev_limit(repo, 9)
    commit_all(repo, "title and a phase limit")
    server.add_fault("PATCH", PHASE_PATCH, kind, delay=1.5)
    with pytest.raises(UnreachableError) as caught:
        push()
    assert "reached EvalAI: title" in str(caught.value)
    assert "answer lost (may have reached EvalAI): phases.dev.max_submissions_per_day" in str(
        caught.value
    )
    if kind == "late":
        import time

        time.sleep(1.5)  # the sandbox answers (too late) once it has applied the PATCH
    assert dev_limit(server, pk) == 9  # EvalAI applied it; only the answer was lost
    assert state_of(repo).in_flight == {"phases.dev.max_submissions_per_day": 9}

    set_title(repo, "Next Title")
    commit_all(repo, "another title")
    report = push()  # no --force: the limit on EvalAI is our own write
    assert report.fields == ["title"]
    assert server.get_challenge(pk)["title"] == "Next Title"
    assert state_of(repo).in_flight == {}
    git(repo, "status")

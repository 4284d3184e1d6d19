"""EvalAI's answers are checked once, at the API boundary (issue 14): a well-formed JSON answer of
the wrong shape is one line, never a KeyError or a crash; ``watch`` says it once and polls on.
The wrong shapes come from the sandbox's "shape" fault, over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import API_SAMPLES, commit_all, set_dev_limit, set_title

from evalai_mirror import answers
from evalai_mirror.errors import ShapeError

CHALLENGE_GET = r"/challenge_host_team/\d+/challenge/\d+$"
PHASES_GET = r"/challenge/\d+/challenge_phase$"


def cli(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "evalai_mirror", *args], cwd=repo,
                          env=dict(os.environ), capture_output=True, text=True, check=False,
                          timeout=120)
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "crashed" not in proc.stderr and "KeyError" not in proc.stderr
    return proc


RECORDED = {
    answers.challenge: ["challenge_detail_get", "challenge_detail_full",
                        "challenge_detail_patch_title", "challenge_detail_after_update"],
    answers.phase: ["challenge_phase_detail_get", "phase_detail", "phase_patch",
                    "challenge_phase_detail_patch"],
    answers.phases: ["challenge_phase_list_get", "phase_list"],
    answers.phase_splits: ["challenge_phase_split_get", "phase_split_list"],
    answers.phase_split: ["phase_split_detail", "phase_split_patch"],
    answers.leaderboard: ["leaderboard_detail", "leaderboard_patch"],
    answers.dataset_split: ["dataset_split_detail", "dataset_split_patch"],
    answers.challenges: ["challenge_list"],
}


def test_every_recorded_answer_of_a_real_evalai_has_the_expected_shape() -> None:
    for check, names in RECORDED.items():
        for name in names:
            body = json.loads((API_SAMPLES / f"{name}.json").read_text())
            if isinstance(body, dict) and isinstance(body.get("results"), list):
                body = body["results"]
            assert check(body, name) is body  # type: ignore[operator]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"id": 1, "title": ["a", "b"]}, "title as a list, not text"),
        ({"id": 1, "published": "yes"}, "published as text, not true or false"),
        ({"id": 1, "max_team_members": True}, "max_team_members as true or false"),
        ({"id": "1", "title": "x"}, "id as text, not a whole number"),
        ({"id": 1, "list_tags": ["a", 2]}, "list_tags as a list"),
    ],
)
def test_a_challenge_of_the_wrong_shape_is_one_line(answer: dict[str, Any], words: str) -> None:
    with pytest.raises(ShapeError) as caught:
        answers.challenge(answer, "GET /x")
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)


def test_phases_without_or_with_a_repeated_codename_are_refused() -> None:
    with pytest.raises(ShapeError, match="phase 7 without a codename"):
        answers.phases([{"id": 7, "name": "Dev"}], "GET /p")
    with pytest.raises(ShapeError, match="two phases with the codename dev"):
        answers.phases([{"id": 7, "codename": "dev"}, {"id": 8, "codename": "dev"}], "GET /p")
    assert answers.phases([{"id": 7, "codename": "dev", "name": None}], "GET /p")


@pytest.mark.slow
def test_watch_says_a_wrong_shape_once_and_polls_on(
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    from evalai_mirror import sync
    from evalai_mirror.watcher import Watcher, WatchOptions

    repo, pk = pushed_repo
    server = sandbox_env
    said: list[tuple[str, str]] = []
    ctx = sync.open_context(None)
    watcher = Watcher(ctx, WatchOptions(interval=0.01, max_backoff=0.01, watch_files=False),
                      emit=lambda level, message: said.append((level, message)))
    try:
        server.add_fault("GET", CHALLENGE_GET, "shape", count=3, change={"title": ["a", "b"]})
        results = [watcher.poll_once() for _ in range(3)]
        assert [r.ok for r in results] == [False, False, False]
        warnings = [m for level, m in said if level == "warn"]
        assert len(warnings) == 1 and "title as a list, not text" in warnings[0]
        server.edit_challenge(pk, title="Retitled on EvalAI")
        assert watcher.poll_once().ok  # the loop went on, and mirrors again
        assert "title: Retitled on EvalAI" in (repo / "challenge_config.yaml").read_text()
    finally:
        ctx.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("change", "drop", "words"),
    [({}, ("codename",), "without a codename"), ({"codename": "dev"}, (), "two phases")],
    ids=["lacking", "repeated"],
)
def test_push_force_with_phases_lacking_or_repeating_a_codename_is_a_clear_error(
    change: dict[str, Any], drop: tuple[str, ...], words: str,
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    repo, pk = pushed_repo
    server = sandbox_env
    set_title(repo, "Another Title")
    set_dev_limit(repo, 7)
    commit_all(repo, "another title and a phase limit")
    for command in (["push", "--force"], ["status"], ["watch", "--once"], ["pull"]):
        server.add_fault("GET", PHASES_GET, "shape", count=5, change=change, drop=drop)
        proc = cli(repo, *command)
        server.clear_faults()
        assert proc.returncode == 1, (command, proc.stdout, proc.stderr)
        assert words in proc.stdout + proc.stderr, (command, proc.stdout, proc.stderr)
    assert server.get_challenge(pk)["title"] != "Another Title"  # nothing was sent

"""StateStore: state.json and log.jsonl inside a real repository's git directory."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from evalai_mirror import fsutil
from evalai_mirror.errors import StateError
from evalai_mirror.git import GitRepo
from evalai_mirror.state import BranchState, LogEntry, StateStore, now_iso, same_json


@pytest.fixture
def store(challenge_repo: Path) -> StateStore:
    return StateStore(GitRepo.open(challenge_repo).git_dir)


def _entry(direction: str, fields: list[str], commit: str | None = None) -> LogEntry:
    return LogEntry(
        time=now_iso(),
        direction=direction,
        branch="challenge",
        challenge_pk=7,
        fields=fields,
        commit=commit,
        command=f"evalai-mirror {direction}",
    )


def test_round_trip_lives_in_the_git_dir(store: StateStore, challenge_repo: Path) -> None:
    assert store.load("challenge") is None
    assert store.branches() == {}
    state = BranchState(
        challenge_pk=7,
        repository="host-org/random-challenge",
        base={"title": "Random", "published": False, "phases.dev.max_submissions": 5},
        structure={"leaderboards": "abc"},
        last_push="2024-01-01T00:00:00Z",
        last_push_commit="a" * 40,
        pending="b" * 40,
    )
    store.save("challenge", state)
    assert store.state_path == challenge_repo / ".git" / "evalai-mirror" / "state.json"
    assert StateStore(store.dir.parent).load("challenge") == state
    store.save("other", BranchState(challenge_pk=9))
    assert set(store.branches()) == {"challenge", "other"}
    assert store.branch_for_challenge(9) == "other"
    assert store.branch_for_challenge(7) == "challenge"
    assert store.branch_for_challenge(1) is None
    assert store.forget("other") is True
    assert store.forget("other") is False
    assert set(store.branches()) == {"challenge"}
    # nothing of it is visible to git
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=challenge_repo, capture_output=True, text=True
    )
    assert status.stdout == ""


def test_worktrees_share_the_state(challenge_repo: Path, tmp_path: Path) -> None:
    subprocess.run(
        ["git", "worktree", "add", "-q", "-b", "other", str(tmp_path / "wt")],
        cwd=challenge_repo,
        check=True,
    )
    StateStore(GitRepo.open(challenge_repo).git_dir).save("challenge", BranchState(challenge_pk=3))
    other = StateStore(GitRepo.open(tmp_path / "wt").git_dir)
    assert other.branch_for_challenge(3) == "challenge"


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        '{"version": 1, "branches": {"challenge": {"challenge_pk": "seven"}}}',
        '{"version": 1, "branches": {"challenge": {"structure": {"phases": 3}}}}',
        '{"version": 1, "branches": {"challenge": []}}',
    ],
)
def test_corrupt_state_says_how_to_recover(store: StateStore, content: str) -> None:
    store.dir.mkdir(parents=True)
    store.state_path.write_text(content)
    with pytest.raises(StateError) as info:
        store.load("challenge")
    message = str(info.value)
    assert str(store.state_path) in message
    assert "move it aside" in message and "mv " in message
    # a save does not overwrite what it cannot read
    with pytest.raises(StateError):
        store.save("challenge", BranchState())
    assert store.state_path.read_text() == content


def test_newer_format_asks_for_an_upgrade(store: StateStore) -> None:
    store.dir.mkdir(parents=True)
    store.state_path.write_text('{"version": 99, "branches": {}}')
    with pytest.raises(StateError, match="newer evalai-mirror"):
        store.branches()


def test_lock_times_out_with_a_clear_message(store: StateStore) -> None:
    store.dir.mkdir(parents=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from evalai_mirror.state import StateStore\n"
            "with StateStore(Path(sys.argv[1])).lock():\n"
            "    print('held', flush=True); time.sleep(30)",
            str(store.dir.parent),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StateError, match=r"another evalai-mirror is running \(watch\?\)") as info:
            with store.lock(timeout=0.2):
                pass
        # the lock dies with its process; deleting the file would let two run at once
        assert "delete" not in str(info.value) and "stop it" in str(info.value)
        impatient = StateStore(store.dir.parent, lock_timeout=0.2)
        with pytest.raises(StateError):
            impatient.save("challenge", BranchState())  # save() takes the lock too
        with pytest.raises(StateError):
            impatient.append_log(_entry("push", ["title"]))
    finally:
        holder.kill()
        holder.wait()
    with store.lock(timeout=5):
        store.save("challenge", BranchState(challenge_pk=1))  # re-entrant in one process
    assert store.branch_for_challenge(1) == "challenge"


def test_log_is_newest_first(store: StateStore) -> None:
    assert store.read_log() == []
    first = _entry("push", ["title"], "a" * 40)
    second = _entry("pull", ["phases.dev.end_date"])
    third = _entry("resolve", ["description"])
    for entry in (first, second, third):
        store.append_log(entry)
    assert store.read_log() == [third, second, first]
    lines = store.log_path.read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["direction"] == "push"


def test_corrupt_log_lines_are_skipped_with_a_warning(
    store: StateStore, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _entry("push", ["title"])
    store.append_log(good)
    with open(store.log_path, "ab") as handle:
        handle.write(b'{"time": "half a li\n')
        handle.write(b'{"time": 1, "direction": "push", "branch": "b"}\n')
        handle.write(b"\xff\xfe\n")
        handle.write(
            b'{"time": "t", "direction": "push", "branch": "b", "fields": "title", "command": "c"}\n'
        )
    later = _entry("pull", ["end_date"])
    store.append_log(later)
    assert store.read_log() == [later, good]
    err = capsys.readouterr().err
    assert f"{store.log_path}:2:" in err and f"{store.log_path}:3:" in err
    assert f"{store.log_path}:4:" in err and f"{store.log_path}:5:" in err
    assert err.count("skipped an unreadable log line") == 4


def test_same_json_is_equality_of_the_serialized_values() -> None:
    assert same_json({"a": [1, "x", None], "b": True}, {"b": True, "a": [1, "x", None]})
    assert not same_json(1, 1.0) and not same_json(True, 1) and not same_json(0, False)
    assert not same_json({"a": [1, 2]}, {"a": [1, 2.0]})  # deep inside, still not the same
    assert not same_json([1, 2], [1, 2, 3]) and not same_json({"a": 1}, {"a": 1, "b": 2})
    assert same_json(date(2026, 12, 4), "2026-12-04")  # serialized as its str
    assert same_json({"end": [date(2026, 12, 4)]}, {"end": ["2026-12-04"]})
    assert same_json({1: "x"}, {"1": "x"})  # JSON keys are text
    assert same_json(float("nan"), float("nan"))  # both serialize as NaN


def test_an_atomic_write_leaves_no_temporary_file_and_keeps_the_mode(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    target = folder / "state.json"
    fsutil.atomic_write_text(target, "one\n")
    assert target.read_text() == "one\n" and target.stat().st_mode & 0o777 == 0o644
    target.chmod(0o600)
    fsutil.atomic_write_text(target, "two\n")
    assert target.read_text() == "two\n" and target.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in folder.iterdir()) == ["state.json"]
    # a write killed half-way leaves a temporary file that the next one under the lock removes
    (folder / ".state.json.0a1b2c3d.tmp").write_text("half")
    assert fsutil.remove_stale_temps(target) == [folder / ".state.json.0a1b2c3d.tmp"]

"""A save made while pull writes the same file survives (issue 14): the writer replaces a file
only while it still holds what the merge read, and merges again when it does not.  The test
holds the writer between its temporary file and the rename (``fsutil.before_replace``) and
saves the file as an editor would, so the window is certain, not a matter of timing."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import editor_save, git, set_dev_limit, state_of, sync_once

from evalai_mirror import fsutil

TEMPLATE = Path(fsutil.__file__).parent / "templates" / "challenge"


def hold_the_writer(monkeypatch: pytest.MonkeyPatch, save: Any) -> threading.Thread:
    """Hold the first write of challenge_config.yaml at its rename while ``save()`` runs in
    another thread (an editor); the editor's thread."""
    reached, released = threading.Event(), threading.Event()

    def hold(target: Path) -> None:
        if target.name == "challenge_config.yaml" and not reached.is_set():
            reached.set()
            assert released.wait(10)

    def editor() -> None:
        assert reached.wait(10)
        save()
        released.set()

    monkeypatch.setattr(fsutil, "before_replace", hold)
    thread = threading.Thread(target=editor)
    thread.start()
    return thread


def test_a_save_of_another_field_while_pull_writes_survives(
    pushed_repo: tuple[Path, int], sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, pk = pushed_repo
    sandbox_env.edit_challenge(pk, title="Retitled on EvalAI")
    editor = hold_the_writer(monkeypatch, lambda: set_dev_limit(repo, 7))
    report = sync_once("pull")
    editor.join()

    text = (repo / "challenge_config.yaml").read_text()
    assert "title: Retitled on EvalAI" in text  # EvalAI's edit, merged again
    assert "max_submissions_per_day: 7" in text  # the save, kept
    assert report.written == {"title": "Retitled on EvalAI"}
    assert report.files == ["challenge_config.yaml"]
    from evalai_mirror import sync

    ctx = sync.open_context(None)
    try:
        rows = {r.key: r.state.value for r in sync.status(ctx).rows}
    finally:
        ctx.close()
    assert rows["title"] == "in sync"
    assert rows["phases.dev.max_submissions_per_day"] == "changed here"  # push sends it
    assert state_of(repo).base["title"] == "Retitled on EvalAI"


def test_a_save_of_the_same_field_while_pull_writes_is_a_conflict_not_a_loss(
    pushed_repo: tuple[Path, int], sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, pk = pushed_repo
    sandbox_env.edit_challenge(pk, title="Retitled on EvalAI")
    config = repo / "challenge_config.yaml"

    def save_title() -> None:
        lines = config.read_text().splitlines(keepends=True)
        editor_save(config, "".join(
            "title: Retitled here\n" if line.startswith("title:") else line for line in lines
        ))

    editor = hold_the_writer(monkeypatch, save_title)
    report = sync_once("pull")
    editor.join()
    assert "title: Retitled here" in config.read_text()
    assert [c.key for c in report.conflicts] == ["title"]
    assert report.written == {}


def test_a_file_saved_at_every_write_is_left_as_saved(
    pushed_repo: tuple[Path, int], sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalai_mirror.errors import SyncError

    repo, pk = pushed_repo
    sandbox_env.edit_challenge(pk, title="Retitled on EvalAI")
    limits = iter(range(100, 200))
    monkeypatch.setattr(fsutil, "before_replace", lambda target: set_dev_limit(repo, next(limits)))
    with pytest.raises(SyncError, match="kept changing while pull wrote it"):
        sync_once("pull")
    text = (repo / "challenge_config.yaml").read_text()
    assert "title: Retitled on EvalAI" not in text
    assert f"max_submissions_per_day: {next(limits) - 1}" in text  # the last save, whole
    assert state_of(repo).base["title"] != "Retitled on EvalAI"  # so the next pull writes it


def test_temporary_files_a_killed_pull_left_are_removed_and_ignored(
    pushed_repo: tuple[Path, int], sandbox_env: Any, tmp_path: Path
) -> None:
    repo, _ = pushed_repo
    stale = [repo / ".challenge_config.yaml.k2x_9q1z.tmp",
             repo / "templates" / ".description.html.abcdefgh.tmp",
             repo / ".git" / "evalai-mirror" / ".state.json.zz00zz00.tmp"]
    for path in stale:
        path.write_text("half a file")
    mine = repo / ".challenge_config.yaml.notes.tmp"  # not one of evalai-mirror's names
    mine.write_text("keep")
    sync_once("pull")
    assert [p for p in stale if p.exists()] == []
    assert mine.exists()

    # the template's .gitignore ignores the pattern
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(TEMPLATE / ".gitignore", fresh / ".gitignore")
    git(fresh, "init", "-q")
    assert git(fresh, "check-ignore", ".challenge_config.yaml.k2x_9q1z.tmp").strip()

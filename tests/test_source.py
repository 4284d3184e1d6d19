"""File sources: the working copy, a commit and a zip's contents read alike."""

from __future__ import annotations

from pathlib import Path

from conftest import git

from evalai_mirror.git import GitRepo
from evalai_mirror.source import MappingSource, WorkTreeSource, normalise


def test_every_source_gives_git_s_own_blob_id(challenge_repo: Path) -> None:
    path = "annotations/test_annotations_devsplit.json"
    expected = git(challenge_repo, "hash-object", path).strip()
    commit = GitRepo.open(challenge_repo).commit_source("HEAD")
    worktree = WorkTreeSource(challenge_repo)
    memory = MappingSource({path: (challenge_repo / path).read_bytes()})
    assert commit.file_id(path) == worktree.file_id(path) == memory.file_id(path) == expected
    assert commit.file_id("nope.json") is worktree.file_id("nope.json") is None


def test_a_commit_source_ignores_the_working_copy(challenge_repo: Path) -> None:
    (challenge_repo / "annotations" / "test_annotations_devsplit.json").write_text("{}")
    (challenge_repo / "untracked.txt").write_text("x")
    commit = GitRepo.open(challenge_repo).commit_source("HEAD")
    worktree = WorkTreeSource(challenge_repo)
    path = "annotations/test_annotations_devsplit.json"
    assert commit.file_id(path) != worktree.file_id(path)
    assert not commit.is_file("untracked.txt") and worktree.is_file("untracked.txt")


def test_paths_that_leave_the_root_are_refused(tmp_path: Path) -> None:
    (tmp_path / "inside.txt").write_text("ok")
    assert normalise("a/./b/../c.html") == "a/c.html"
    for bad in ("../x", "/etc/passwd", "a/../../x", "\\\\server\\share", ""):
        assert normalise(bad) is None, bad
    source = WorkTreeSource(tmp_path / "inside")
    assert source.read("../inside.txt") is None
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link.txt").symlink_to(tmp_path / "inside.txt")
    assert WorkTreeSource(tmp_path / "root").read("link.txt") is None  # a link out of the tree

"""GitRepo against real repositories made in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git

from evalai_mirror.errors import GitError
from evalai_mirror.git import GitRepo, repository_from_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/host-org/random-challenge.git", "host-org/random-challenge"),
        ("https://github.com/host-org/random-challenge", "host-org/random-challenge"),
        ("https://user@github.com/host-org/random-challenge.git/", "host-org/random-challenge"),
        ("https://user:pw@github.example:8443/o/n.git", "o/n"),
        ("ssh://git@github.com/o/n.git", "o/n"),
        ("ssh://git@github.com:2222/o/n", "o/n"),
        ("git@github.com:o/n.git", "o/n"),
        ("github.com:o/n", "o/n"),
        ("/tmp/x/remotes/host-org/random-challenge.git", "host-org/random-challenge"),
        ("../remotes/host-org/random-challenge.git", "host-org/random-challenge"),
        ("file:///tmp/remotes/host-org/random-challenge.git", "host-org/random-challenge"),
        ("https://github.com/lonely", None),
        ("", None),
    ],
)
def test_repository_from_url(url: str, expected: str | None) -> None:
    assert repository_from_url(url) == expected


def test_open_finds_root_from_subfolder(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo / "templates")
    assert repo.root == challenge_repo.resolve()
    assert repo.git_dir == (challenge_repo / ".git").resolve()
    assert repo.current_branch() == "challenge"
    assert repo.origin_repository() == "host-org/random-challenge"
    assert repo.origin_repository("upstream") is None


def test_open_outside_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="not inside a git repository") as info:
        GitRepo.open(tmp_path / "plain")
    assert "git init" in str(info.value)
    with pytest.raises(GitError, match="does not exist"):
        GitRepo.open(tmp_path / "nowhere")


def test_worktree_shares_the_common_git_dir(challenge_repo: Path, tmp_path: Path) -> None:
    git(challenge_repo, "worktree", "add", "-q", "-b", "other", str(tmp_path / "wt"))
    repo = GitRepo.open(tmp_path / "wt")
    assert repo.root == (tmp_path / "wt").resolve()
    assert repo.git_dir == (challenge_repo / ".git").resolve()
    assert repo.current_branch() == "other"


def test_empty_repository_and_detached_head(tmp_path: Path, challenge_repo: Path) -> None:
    git(tmp_path, "init", "-q", "empty")
    empty = GitRepo.open(tmp_path / "empty")
    assert empty.head_sha() is None
    assert empty.current_branch() == "main"
    with pytest.raises(GitError, match="HEAD has no commit yet"):
        empty.resolve("HEAD")

    repo = GitRepo.open(challenge_repo)
    sha = repo.head_sha()
    assert sha == git(challenge_repo, "rev-parse", "HEAD").strip()
    git(challenge_repo, "pack-refs", "--all")  # the branch now lives in packed-refs only
    assert repo.resolve("HEAD") == sha
    git(challenge_repo, "switch", "-q", "-c", "challenge-2")
    assert repo.current_branch() == "challenge-2"  # read afresh each time (watch relies on it)
    git(challenge_repo, "checkout", "-q", "--detach")
    assert repo.current_branch() is None
    assert repo.head_sha() == sha
    assert repo.resolve("HEAD") == sha


def test_resolve_ancestry_and_commits_between(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    first = repo.resolve("HEAD")
    (challenge_repo / "templates" / "description.html").write_text("<p>two</p>\n")
    git(challenge_repo, "commit", "-qam", "two")
    second = repo.resolve("HEAD")
    (challenge_repo / "templates" / "description.html").write_text("<p>three</p>\n")
    git(challenge_repo, "commit", "-qam", "three")
    third = repo.resolve("challenge")
    assert repo.resolve(first[:8]) == first
    assert repo.is_ancestor(first, third)
    assert repo.is_ancestor(third, third)
    assert not repo.is_ancestor(third, first)
    assert repo.commits_between(first, third) == [second, third]
    assert repo.commits_between(None, third) == [first, second, third]
    assert repo.commits_between(third, third) == []
    with pytest.raises(GitError, match="unknown revision 'nope'"):
        repo.resolve("nope")
    with pytest.raises(GitError, match="not a revision"):
        repo.resolve("--all")


def test_commit_source_reads_the_commit_not_the_work_tree(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    committed = (challenge_repo / "challenge_config.yaml").read_bytes()
    (challenge_repo / "challenge_config.yaml").write_bytes(b"title: changed\n")
    (challenge_repo / "untracked.txt").write_text("x")
    source = repo.commit_source()
    assert source.label.startswith("commit ")
    assert source.read("challenge_config.yaml") == committed
    assert source.read("untracked.txt") is None
    assert source.read("../etc/passwd") is None
    assert source.is_file("logo.jpg")
    assert not source.is_file("templates")
    tracked = git(challenge_repo, "ls-files").split()
    assert source.list_files() == sorted(tracked)
    assert source.list_files("evaluation_script") == [
        "evaluation_script/__init__.py",
        "evaluation_script/main.py",
    ]


def test_commit_source_follows_links_inside_the_tree(challenge_repo: Path) -> None:
    (challenge_repo / "link.html").symlink_to("templates/description.html")
    (challenge_repo / "escape").symlink_to("../../outside")
    git(challenge_repo, "add", "link.html", "escape")
    git(challenge_repo, "commit", "-qm", "links")
    source = GitRepo.open(challenge_repo).commit_source("HEAD")
    assert source.read("link.html") == (challenge_repo / "templates/description.html").read_bytes()
    assert source.read("escape") is None
    assert "escape" not in source.list_files()


def test_tracked_and_dirty_paths(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    assert repo.is_tracked("challenge_config.yaml")
    assert repo.is_tracked("templates")
    assert not repo.is_tracked("new.html")
    (challenge_repo / "new.html").write_text("n")
    (challenge_repo / "templates" / "description.html").write_text("changed")
    (challenge_repo / "logo.jpg").unlink()
    (challenge_repo / "annotations" / "test_annotations_devsplit.json").write_text("{}")
    git(challenge_repo, "add", "annotations")
    asked = ["new.html", "templates", "logo.jpg", "annotations", "challenge_config.yaml", "*"]
    assert repo.dirty_paths(asked) == {"new.html", "templates", "logo.jpg", "annotations"}
    assert repo.dirty_paths([]) == set()


def test_commit_paths_commits_exactly_those_paths(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    before = repo.head_sha()
    (challenge_repo / "templates" / "description.html").write_text("<p>mine</p>\n")
    (challenge_repo / "new.html").write_text("<p>new</p>\n")
    (challenge_repo / "logo.jpg").unlink()
    (challenge_repo / "challenge_config.yaml").write_text("title: staged by the user\n")
    git(challenge_repo, "add", "challenge_config.yaml")
    sha = repo.commit_paths(["templates/description.html", "new.html", "logo.jpg"], "sync")
    assert sha == repo.head_sha() != before
    changed = git(challenge_repo, "show", "--name-status", "--format=", sha).split("\n")
    assert sorted(filter(None, changed)) == [
        "A\tnew.html",
        "D\tlogo.jpg",
        "M\ttemplates/description.html",
    ]
    assert git(challenge_repo, "log", "-1", "--format=%s").strip() == "sync"
    # what the user had staged is still staged, and was not committed
    assert git(challenge_repo, "diff", "--cached", "--name-only").split() == [
        "challenge_config.yaml"
    ]
    assert repo.dirty_paths(["templates", "new.html", "logo.jpg"]) == set()


def test_commit_paths_errors_are_git_errors(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    with pytest.raises(GitError, match="nothing to commit"):
        repo.commit_paths([], "m")
    with pytest.raises(GitError, match="git commit failed") as info:
        repo.commit_paths(["never-existed.txt"], "m")
    assert "Traceback" not in str(info.value)


def test_push_to_bare_remote_and_rejection(challenge_repo: Path, tmp_path: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    bare = tmp_path / "remotes" / "host-org" / "random-challenge.git"
    (challenge_repo / "new.html").write_text("n")
    sha = repo.commit_paths(["new.html"], "add new")
    repo.push("origin", "challenge")
    assert git(bare, "rev-parse", "challenge").strip() == sha

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", "-b", "challenge", str(bare), str(other))
    (other / "x.txt").write_text("x")
    git(other, "add", "x.txt")
    git(other, "commit", "-qm", "x")
    git(other, "push", "-q", "origin", "challenge")
    (challenge_repo / "y.txt").write_text("y")
    repo.commit_paths(["y.txt"], "y")
    with pytest.raises(GitError, match="git push to origin failed") as info:
        repo.push("origin", "challenge")
    assert "git pull origin challenge" in str(info.value)
    with pytest.raises(GitError, match="git remote get-url nowhere"):
        repo.push("nowhere", "challenge")


def test_push_ref_tells_an_overtaken_ref_from_a_remote_that_says_no(
    challenge_repo: Path, tmp_path: Path
) -> None:
    repo = GitRepo.open(challenge_repo)
    bare = tmp_path / "remotes" / "host-org" / "random-challenge.git"
    ref = "refs/evalai-mirror/challenge"
    first = repo.commit_files({"state.json": b"{}\n"}, [], "first")
    assert repo.push_ref("origin", first, ref) is True
    second = repo.commit_files({"state.json": b"{}\n"}, [first], "second")
    other = repo.commit_files({"state.json": b"[]\n"}, [], "another clone's")
    assert repo.push_ref("origin", second, ref) is True
    assert repo.push_ref("origin", other, ref) is False  # not a fast-forward: merge, retry
    hook = bare / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'shared refs are not welcome here' >&2\nexit 1\n")
    hook.chmod(0o755)
    third = repo.commit_files({"state.json": b"{}\n"}, [second], "third")
    with pytest.raises(GitError, match="pre-receive hook declined"):
        repo.push_ref("origin", third, ref)  # a refusal, not a race: retrying cannot help
    assert git(bare, "rev-parse", ref).strip() == second


def test_a_commit_source_reads_a_file_as_another_commit_holds_it(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    first = repo.resolve("HEAD")
    config = challenge_repo / "challenge_config.yaml"
    old = config.read_bytes()
    config.write_bytes(old + b"# later\n")
    source = repo.commit_source(repo.commit_paths(["challenge_config.yaml"], "later"))
    assert source.read("challenge_config.yaml") == old + b"# later\n"
    assert source.read_in(first, "challenge_config.yaml") == old
    assert source.read_in(first, "./challenge_config.yaml") == old
    assert source.read_in(first, "templates") is None  # a folder is no file
    assert source.read_in(first, "no-such-file.yaml") is None
    assert source.read_in("0" * 40, "challenge_config.yaml") is None  # a commit not here
    assert source.read_in("HEAD", "challenge_config.yaml") is None  # commits by id only
    assert source.read("challenge_config.yaml") == old + b"# later\n"  # still reading


def test_hooks_dir_and_config(challenge_repo: Path) -> None:
    repo = GitRepo.open(challenge_repo)
    assert repo.hooks_dir() == (challenge_repo / ".git" / "hooks").resolve()
    git(challenge_repo, "config", "core.hooksPath", ".githooks")
    assert repo.hooks_dir() == (challenge_repo / ".githooks").resolve()
    assert repo.config_get("core.hooksPath") == ".githooks"
    assert repo.config_get("evalai.nothing") is None
    git(challenge_repo, "config", "--add", "evalai.multi", "one")
    git(challenge_repo, "config", "--add", "evalai.multi", "two")
    assert repo.config_get("evalai.multi") == "two"


def test_open_finds_the_repository_as_git_does(challenge_repo: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "linked"
    git(challenge_repo, "worktree", "add", "-q", "-b", "side", str(other))
    for folder in (challenge_repo / "templates", other, challenge_repo / "annotations"):
        found = GitRepo.open(folder)
        top, here, common = git(folder, "rev-parse", "--show-toplevel", "--absolute-git-dir",
                                "--git-common-dir").splitlines()
        assert found.root == Path(top).resolve()
        assert found.worktree_git_dir == Path(here).resolve()
        assert found.git_dir == (folder / common).resolve()
    assert GitRepo.open(other).current_branch() == "side"
    from evalai_mirror.git import _discover

    assert _discover(challenge_repo.resolve()) is not None
    monkeypatch.setenv("GIT_DIR", str(challenge_repo / ".git"))  # git itself is asked then
    assert _discover(challenge_repo.resolve()) is None

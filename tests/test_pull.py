"""`evalai-mirror pull` against the sandbox over real HTTP, in real git repositories."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import RunCli, first_push, git, sync_once

DESCRIPTION = (
    "<h2>Overview</h2>\n"
    "<p>Random number generation challenge.</p>\n"
    "<h2>Data</h2>\n"
    "<p>The data is random.</p>\n"
    "<h2>Prizes</h2>\n"
    "<p>There are no prizes.</p>\n"
)
CONFIG = "challenge_config.yaml"


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit a file of the working copy as the host would."""
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.fixture
def synced(
    challenge_repo: Path, sandbox_env: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Any, int]:
    """The challenge repository (with a longer description) created on the sandbox and in
    sync: (repo, sandbox, challenge pk)."""
    (challenge_repo / "templates" / "description.html").write_text(DESCRIPTION)
    git(challenge_repo, "commit", "-q", "-am", "Longer description")
    pk = first_push(challenge_repo, monkeypatch)
    sandbox_env.clear_requests()
    return challenge_repo, sandbox_env, pk


def changed_lines(repo: Path) -> list[str]:
    diff = git(repo, "diff", "-U0")
    return [
        line
        for line in diff.splitlines()
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_title_edit_on_evalai_changes_exactly_that_line(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    before = (repo / CONFIG).read_text()
    sandbox.edit_challenge(pk, title="Random Numbers, Revised")

    assert run_cli(["pull"], cwd=repo) == 0

    assert git(repo, "diff", "--name-only").split() == [CONFIG]
    assert changed_lines(repo) == [
        "-title: Random Number Generator Challenge",
        "+title: Random Numbers, Revised",
    ]
    after = (repo / CONFIG).read_text()
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert comments and all(line in after.splitlines() for line in comments)
    out = capsys.readouterr().out
    assert "EvalAI -> here: title = 'Random Numbers, Revised'" in out
    # GET challenge, phases, phase splits, each split's detail, prizes and sponsors (one
    # round trip), nothing that changes EvalAI
    assert sorted(r.method for r in sandbox.requests()) == ["GET"] * (3 + 3 + 2)
    # a second pull has nothing left to do
    assert run_cli(["pull"], cwd=repo) == 0
    assert "up to date" in capsys.readouterr().out


def test_dates_and_phase_fields_keep_the_file_style(
    synced: tuple[Path, Any, int], run_cli: RunCli
) -> None:
    repo, sandbox, pk = synced
    sandbox.edit_challenge(pk, end_date="2099-06-30T12:00:00Z")
    sandbox.edit_phase(pk, "test", max_submissions_per_day=7)

    assert run_cli(["pull"], cwd=repo) == 0

    assert changed_lines(repo) == [
        "-end_date: 2099-05-31 23:59:59",
        "+end_date: 2099-06-30 12:00:00",
        "-    max_submissions_per_day: 5",
        "+    max_submissions_per_day: 7",
    ]
    # the dev phase's identical line is untouched: the edit went to the test phase
    text = (repo / CONFIG).read_text()
    assert text.count("max_submissions_per_day: 5") == 1


def test_html_field_goes_into_the_named_file_with_its_final_newline(
    synced: tuple[Path, Any, int], run_cli: RunCli
) -> None:
    repo, sandbox, pk = synced
    sandbox.edit_phase(pk, "dev", description="<p>Dev phase, now with more detail.</p>")

    assert run_cli(["pull"], cwd=repo) == 0

    path = repo / "templates" / "challenge_phase_1_description.html"
    assert path.read_bytes() == b"<p>Dev phase, now with more detail.</p>\n"
    assert git(repo, "diff", "--name-only").split() == [
        "templates/challenge_phase_1_description.html"
    ]


def test_non_overlapping_html_edits_on_both_sides_merge(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    path = repo / "templates" / "description.html"
    path.write_text(DESCRIPTION.replace("There are no prizes.", "The winner gets a mug."))
    sandbox.edit_challenge(
        pk, description=DESCRIPTION.replace("<h2>Overview</h2>", "<h2>About</h2>").strip()
    )

    assert run_cli(["pull"], cwd=repo) == 0

    text = path.read_text()
    assert "<h2>About</h2>" in text and "The winner gets a mug." in text
    assert "<h2>Overview</h2>" not in text and "no prizes" not in text
    assert text.endswith("</p>\n")
    assert "merged both sides' edits of description" in capsys.readouterr().out


def test_same_field_edited_on_both_sides_is_a_conflict_until_settled(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    config = repo / CONFIG
    replace_in(config, "title: Random Number Generator Challenge", "title: Local Title")
    sandbox.edit_challenge(pk, title="EvalAI Title")
    sandbox.edit_challenge(pk, short_description="Changed on EvalAI only")

    assert run_cli(["pull"], cwd=repo) == 1

    err = capsys.readouterr().err
    assert "conflict: title" in err
    assert "'Local Title'" in err and "'EvalAI Title'" in err
    text = config.read_text()
    assert "title: Local Title\n" in text  # the local edit is untouched
    assert "short_description: Changed on EvalAI only\n" in text  # the rest still merged

    assert run_cli(["pull", "--prefer", "remote"], cwd=repo) == 0
    assert "title: EvalAI Title\n" in config.read_text()
    assert run_cli(["pull"], cwd=repo) == 0


def test_prefer_local_keeps_the_edit_and_the_next_push_sends_it(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    config = repo / CONFIG
    replace_in(config, "title: Random Number Generator Challenge", "title: Mine")
    sandbox.edit_challenge(pk, title="Theirs")
    assert run_cli(["pull"], cwd=repo) == 1
    before = config.read_bytes()

    assert run_cli(["pull", "--prefer", "local"], cwd=repo) == 0

    assert config.read_bytes() == before
    assert "kept (the next push sends it): title" in capsys.readouterr().out
    # EvalAI's value is now "seen": the working copy's value is a plain local change
    assert sync_once("push", from_worktree=True).fields == ["title"]
    assert sandbox.get_challenge(pk)["title"] == "Mine"


def test_commit_commits_only_the_mirrored_files_naming_the_fields(
    synced: tuple[Path, Any, int], run_cli: RunCli
) -> None:
    repo, sandbox, pk = synced
    (repo / "notes.txt").write_text("not part of the mirror\n")
    sandbox.edit_challenge(pk, title="T2", short_description="S2")
    head = git(repo, "rev-parse", "HEAD").strip()

    assert run_cli(["pull", "--commit", "--git-push"], cwd=repo) == 0

    assert git(repo, "log", "-1", "--format=%s").strip() == (
        "evalai_bot: Update short_description, title"
    )
    assert git(repo, "rev-parse", "origin/challenge") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", "HEAD~1").strip() == head
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [CONFIG]
    assert git(repo, "status", "--porcelain").strip() == "?? notes.txt"


def test_commit_refused_when_a_mirrored_file_has_other_edits(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    config = repo / CONFIG
    replace_in(config, "published: True", "published: False")
    before = config.read_bytes()
    head = git(repo, "rev-parse", "HEAD").strip()
    sandbox.edit_challenge(pk, title="From EvalAI")

    assert run_cli(["pull", "--commit"], cwd=repo) == 1

    err = capsys.readouterr().err
    assert f"{CONFIG} has uncommitted edits" in err and "nothing was written" in err
    assert config.read_bytes() == before
    assert git(repo, "rev-parse", "HEAD").strip() == head
    # without --commit the same pull goes through
    assert run_cli(["pull"], cwd=repo) == 0
    assert "title: From EvalAI\n" in config.read_text()


def test_dry_run_shows_the_diff_and_writes_nothing(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    from evalai_mirror.state import StateStore

    repo, sandbox, pk = synced
    store = StateStore(repo / ".git")
    base_before = store.load("challenge")
    sandbox.edit_challenge(pk, title="Dry Title")

    assert run_cli(["pull", "--dry-run"], cwd=repo) == 0

    out = capsys.readouterr().out
    assert "-title: Random Number Generator Challenge" in out
    assert "+title: Dry Title" in out
    assert "nothing was written" in out
    assert git(repo, "status", "--porcelain") == ""
    assert store.load("challenge") == base_before
    assert run_cli(["pull"], cwd=repo) == 0
    assert "title: Dry Title\n" in (repo / CONFIG).read_text()


def test_broken_yaml_is_refused_with_file_and_line(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    config = repo / CONFIG
    lines = config.read_text().splitlines(keepends=True)
    lines[2] = "short_description: [unclosed\n"
    config.write_text("".join(lines))
    before = config.read_bytes()
    sandbox.edit_challenge(pk, title="Never Written")

    assert run_cli(["pull"], cwd=repo) == 1

    err = capsys.readouterr().err
    assert f"{CONFIG}:" in err and "not valid YAML" in err
    line = int(err.split(f"{CONFIG}:")[1].split(":")[0])
    assert 3 <= line <= 5
    assert "Traceback" not in err
    assert config.read_bytes() == before


def test_path_outside_the_repository_is_refused(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    config = repo / CONFIG
    replace_in(config, "description: templates/description.html", "description: ../../outside.html")
    sandbox.edit_challenge(pk, description="<p>Where would this go?</p>")

    assert run_cli(["pull"], cwd=repo) == 1

    err = capsys.readouterr().err
    assert f"{CONFIG}:4:" in err and "points outside the repository" in err
    assert not (repo.parent.parent / "outside.html").exists()


def test_fresh_clone_without_base_does_not_guess(
    synced: tuple[Path, Any, int], run_cli: RunCli, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    git(repo, "push", "-q", "origin", "challenge")
    bare = git(repo, "remote", "get-url", "origin").strip()
    # a repository whose base was never shared (refs/evalai-mirror/challenge is not there)
    git(bare, "update-ref", "-d", "refs/evalai-mirror/challenge")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-b", "challenge", bare, str(clone))
    sandbox.edit_challenge(pk, title="Edited Since")

    assert run_cli(["pull"], cwd=clone) == 1

    err = capsys.readouterr().err
    assert "conflict: title" in err and "no sync history" in err
    assert "short_description" not in err  # equal values are simply in sync
    assert git(clone, "status", "--porcelain") == ""

    assert run_cli(["pull", "--prefer", "remote"], cwd=clone) == 0
    assert "title: Edited Since\n" in (clone / CONFIG).read_text()


def test_git_push_needs_commit(synced: tuple[Path, Any, int], run_cli: RunCli,
                               capsys: pytest.CaptureFixture[str]) -> None:
    repo, _, _ = synced
    assert run_cli(["pull", "--git-push"], cwd=repo) == 1
    assert "add --commit" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("evalai_mirror.commands.push") is None,
    reason="the push command (run by the hooks) is not there yet",
)
def test_pull_commit_then_git_push_with_hooks_sends_nothing_back(
    synced: tuple[Path, Any, int]
) -> None:
    repo, sandbox, pk = synced
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "evalai_mirror", *args],
            cwd=repo, env=env, capture_output=True, text=True, timeout=120,
        )

    installed = cli("install-hooks", "--post-commit")
    assert installed.returncode == 0, installed.stderr
    sandbox.edit_challenge(pk, title="Edited In The UI")
    sandbox.clear_requests()

    pulled = cli("pull", "--commit")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    pushed = subprocess.run(
        ["git", "push", "-q", "origin", "challenge"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120,
    )
    assert pushed.returncode == 0, pushed.stderr

    changing = [r for r in sandbox.requests() if r.method not in ("GET", "HEAD", "OPTIONS")]
    assert changing == []
    assert git(repo, "log", "-1", "--format=%s").strip() == "evalai_bot: Update title"
    remote_head = git(repo, "rev-parse", "origin/challenge").strip()
    assert remote_head == git(repo, "rev-parse", "HEAD").strip()
    assert sandbox.get_challenge(pk)["title"] == "Edited In The UI"


def test_a_failed_git_push_still_says_what_was_pulled_and_committed(
    synced: tuple[Path, Any, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = synced
    git(repo, "remote", "set-url", "origin", str(repo.parent / "no-such-remote.git"))
    sandbox.edit_challenge(pk, title="T3")

    assert run_cli(["pull", "--commit", "--git-push"], cwd=repo) == 1

    err = capsys.readouterr().err
    sha = git(repo, "rev-parse", "--short=7", "HEAD").strip()
    assert f"pulled and committed {sha} (evalai_bot: Update title), but git push" in err
    assert "`git push origin challenge` sends that commit" in err
    assert git(repo, "log", "-1", "--format=%s").strip() == "evalai_bot: Update title"


def test_an_edit_saved_while_pull_waits_for_evalai_is_a_conflict_not_overwritten(
    synced: tuple[Path, Any, int],
) -> None:
    import threading
    import time

    repo, sandbox, pk = synced
    sandbox.edit_challenge(pk, title="From EvalAI")
    sandbox.add_fault("GET", r"challenge_host_team/\d+/challenge/\d+$", "delay", delay=1.5)
    outcome: dict[str, Any] = {}

    def pulling() -> None:
        outcome["report"] = sync_once("pull")

    thread = threading.Thread(target=pulling)
    thread.start()
    time.sleep(0.5)  # the pull is waiting for EvalAI's answer now
    config = repo / CONFIG
    config.write_text(config.read_text().replace("title: Random", "title: Saved Meanwhile Random", 1))
    thread.join(timeout=30)

    assert [c.key for c in outcome["report"].conflicts] == ["title"]
    assert "title: Saved Meanwhile Random" in config.read_text()

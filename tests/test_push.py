"""`evalai-mirror push`: real git, the sandbox over real HTTP, the CLI run in-process."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import REPOSITORY, ZERO, RunCli, changes, commit_all, git, set_title, state_of

from evalai_mirror.commands.push import Target, hook_targets, parse_pre_push, pre_commit_targets

# -- helpers ---------------------------------------------------------------------------------------


def add_phase(repo: Path) -> None:
    """A third phase (and its split), valid for EvalAI."""
    config = repo / "challenge_config.yaml"
    text = config.read_text()
    phase = (
        "  - id: 3\n    name: Final Phase\n"
        "    description: templates/challenge_phase_2_description.html\n"
        "    leaderboard_public: True\n    is_public: True\n    is_submission_public: True\n"
        "    start_date: 2019-01-01 00:00:00\n    end_date: 2099-05-24 23:59:59\n"
        "    test_annotation_file: annotations/test_annotations_testsplit.json\n"
        "    codename: final\n    max_submissions_per_day: 5\n"
        "    max_submissions_per_month: 50\n    max_submissions: 50\n"
        "    is_restricted_to_select_one_submission: False\n"
        "    is_partial_submission_evaluation_enabled: False\n\n"
    )
    text = text.replace("dataset_splits:", phase + "dataset_splits:", 1)
    text += (
        "  - challenge_phase_id: 3\n    leaderboard_id: 1\n    dataset_split_id: 2\n"
        "    visibility: 1\n    leaderboard_decimal_precision: 2\n"
        "    is_leaderboard_order_descending: True\n"
    )
    config.write_text(text)


class Cli:
    """run_cli plus captured output; every run's output is checked for the token."""

    def __init__(self, run_cli: RunCli, capsys: pytest.CaptureFixture[str], repo: Path,
                 token: str) -> None:
        self.run_cli, self.capsys, self.repo, self.token = run_cli, capsys, repo, token

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = self.run_cli(list(args), cwd=self.repo)
        out, err = self.capsys.readouterr()
        assert self.token not in out + err
        assert "Traceback" not in out + err
        return code, out, err


@pytest.fixture
def cli(run_cli: RunCli, capsys: pytest.CaptureFixture[str], challenge_repo: Path,
        sandbox_env: Any) -> Cli:
    return Cli(run_cli, capsys, challenge_repo, sandbox_env.token)


@pytest.fixture
def created(cli: Cli, sandbox_env: Any) -> int:
    """The challenge created by a first push; the request log cleared."""
    code, out, _ = cli("push")
    assert code == 0, out
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert pk is not None
    sandbox_env.clear_requests()
    return int(pk)


# -- first push, then field by field --------------------------------------------------------------


def test_first_push_creates_the_challenge_and_says_where(
    cli: Cli, sandbox_env: Any, challenge_repo: Path
) -> None:
    code, out, _ = cli("push")
    assert code == 0, out
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert pk is not None
    assert f"/web/challenges/challenge-page/{pk}/overview" in out
    assert "by zip: EvalAI has no challenge for host-org/random-challenge yet" in out
    assert "sent: POST create_or_update_github_challenge" in out
    assert re.search(r"\d+ requests, \d+ bytes sent, \d+ bytes received", out)
    assert [m for m, _ in changes(sandbox_env)] == ["POST"]
    state = state_of(challenge_repo)
    assert state.challenge_pk == pk
    assert state.last_push_commit == git(challenge_repo, "rev-parse", "HEAD").strip()


def test_a_title_edit_is_one_patch_and_a_second_push_sends_nothing(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    set_title(challenge_repo, "A Better Title")
    commit_all(challenge_repo, "retitle")
    code, out, _ = cli("push")
    assert code == 0, out
    assert changes(sandbox_env) == [
        ("PATCH", f"/api/challenges/challenge_host_team/{sandbox_env.team_pk}/challenge/{created}")
    ]
    assert sandbox_env.get_challenge(created)["title"] == "A Better Title"
    assert "by PATCH" in out and f"PATCH challenge {created}: title" in out
    assert "2 requests" in out  # the challenge's GET (what it would set) and the PATCH

    sandbox_env.clear_requests()
    code, out, _ = cli("push")
    assert code == 0
    assert "nothing to send" in out
    assert changes(sandbox_env) == []


def test_a_phase_field_is_one_patch_of_that_phase(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    config = challenge_repo / "challenge_config.yaml"
    config.write_text(config.read_text().replace("name: Dev Phase", "name: Development", 1))
    commit_all(challenge_repo, "rename dev")
    code, out, _ = cli("push")
    assert code == 0, out
    [(method, path)] = changes(sandbox_env)
    assert method == "PATCH" and "/challenge_phase/" in path
    names = {p["codename"]: p["name"] for p in sandbox_env.get_phases(created)}
    assert names["dev"] == "Development"
    assert "PATCH phase dev" in out


def test_dry_run_prints_and_sends_nothing(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    set_title(challenge_repo, "Not Yet")
    commit_all(challenge_repo, "retitle")
    code, out, _ = cli("push", "--dry-run")
    assert code == 0
    assert "would send: PATCH challenge" in out and "title" in out
    assert changes(sandbox_env) == []
    assert sandbox_env.get_challenge(created)["title"] != "Not Yet"
    code, out, _ = cli("push")  # the base did not move: the real push still sends it
    assert sandbox_env.get_challenge(created)["title"] == "Not Yet"


def test_dry_run_first_push_creates_nothing(cli: Cli, sandbox_env: Any) -> None:
    code, out, _ = cli("push", "--dry-run")
    assert code == 0
    assert "would send: POST create_or_update_github_challenge" in out
    assert sandbox_env.challenge_pk(REPOSITORY) is None


def test_adding_a_phase_goes_by_zip_and_says_why(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    add_phase(challenge_repo)
    commit_all(challenge_repo, "a final phase")
    code, out, _ = cli("push")
    assert code == 0, out
    assert [m for m, _ in changes(sandbox_env)] == ["POST"]
    assert "by zip: PATCH cannot express a change to: " in out
    assert "phases" in out.split("PATCH cannot express a change to: ")[1].splitlines()[0]
    assert {p["codename"] for p in sandbox_env.get_phases(created)} == {"dev", "test", "final"}
    sandbox_env.clear_requests()
    code, out, _ = cli("push")
    assert "nothing to send" in out and changes(sandbox_env) == []


def test_a_changed_evaluation_script_goes_by_zip_with_the_title_edit(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    script = challenge_repo / "evaluation_script" / "main.py"
    script.write_text(script.read_text() + "\n# scoring tweak\n")
    set_title(challenge_repo, "Rescored")
    commit_all(challenge_repo, "new scoring")
    code, out, _ = cli("push")
    assert code == 0, out
    assert [m for m, _ in changes(sandbox_env)] == ["POST"]
    assert "PATCH cannot express a change to: evaluation_script" in out
    assert "fields: title" in out
    assert sandbox_env.get_challenge(created)["title"] == "Rescored"


# -- only the commit reaches EvalAI ---------------------------------------------------------------


def test_uncommitted_and_untracked_files_and_the_token_file_are_not_sent(
    cli: Cli, sandbox_env: Any, challenge_repo: Path
) -> None:
    host_config = challenge_repo / "github" / "host_config.json"
    host_config.write_text(json.dumps({"token": sandbox_env.token, "team_pk": "1"}))
    commit_all(challenge_repo, "a host who committed the token file")
    set_title(challenge_repo, "Uncommitted Title")
    (challenge_repo / "templates" / "untracked.html").write_text("<p>draft</p>")
    (challenge_repo / "notes.txt").write_text("draft notes")

    code, out, _ = cli("push")
    assert code == 0, out
    pk = sandbox_env.challenge_pk(REPOSITORY)
    assert sandbox_env.get_challenge(pk)["title"] == "Random Number Generator Challenge"
    data = sandbox_env.service.config_zip(pk)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert not any(n.startswith("github/") for n in names)
    assert "notes.txt" not in names and "templates/untracked.html" not in names
    assert b"Uncommitted Title" not in archive.read("challenge_config.yaml")
    for name in names:
        assert sandbox_env.token.encode() not in archive.read(name)

    # and a later push of HEAD still does not send the uncommitted title
    sandbox_env.clear_requests()
    code, out, _ = cli("push")
    assert "nothing to send" in out and changes(sandbox_env) == []


def test_worktree_push_sends_the_working_copy_and_says_so(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    set_title(challenge_repo, "Saved Not Committed")
    code, out, _ = cli("push", "--worktree")
    assert code == 0, out
    assert "the working copy" in out
    assert sandbox_env.get_challenge(created)["title"] == "Saved Not Committed"


def test_an_older_revision_can_be_pushed(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    set_title(challenge_repo, "Second")
    commit_all(challenge_repo, "second")
    set_title(challenge_repo, "Third")
    commit_all(challenge_repo, "third")
    code, out, _ = cli("push", "HEAD~1")
    assert code == 0, out
    assert sandbox_env.get_challenge(created)["title"] == "Second"


# -- refusals --------------------------------------------------------------------------------------


def test_an_evalai_side_edit_not_pulled_makes_the_push_refuse(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    sandbox_env.edit_challenge(created, short_description="Edited in the EvalAI UI")
    sandbox_env.clear_requests()
    set_title(challenge_repo, "Local Title")
    commit_all(challenge_repo, "retitle")
    # the title's PATCH sets the title alone: EvalAI's short_description stays
    code, out, err = cli("push")
    assert code == 0, out + err
    after = sandbox_env.get_challenge(created)
    assert after["title"] == "Local Title"
    assert after["short_description"] == "Edited in the EvalAI UI"
    # a commit that needs the zip (which sets every field) is refused, naming the field
    annotation = challenge_repo / "annotations" / "test_annotations_devsplit.json"
    annotation.write_text(annotation.read_text() + "\n")
    set_title(challenge_repo, "Local Title 2")
    commit_all(challenge_repo, "new annotations")
    sandbox_env.clear_requests()
    before = sandbox_env.get_challenge(created)

    code, _, err = cli("push")
    assert code == 1
    assert "short_description" in err and "zip" in err and "evalai-mirror pull" in err
    assert changes(sandbox_env) == []
    assert sandbox_env.get_challenge(created) == before

    code, out, err = cli("push", "--force")
    assert code == 0, out + err
    assert "overwrote EvalAI-side edits of short_description" in err
    after = sandbox_env.get_challenge(created)
    assert after["title"] == "Local Title 2"
    assert after["short_description"] == "Guess a hidden sequence of random numbers; each submission is scored"


def test_a_second_branch_cannot_write_the_same_challenge(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    git(challenge_repo, "switch", "-q", "-c", "challenge-2024")
    set_title(challenge_repo, "From The Other Branch")
    commit_all(challenge_repo, "other")
    code, _, err = cli("push")
    assert code == 1
    assert f"challenge {created} is already synced from branch 'challenge'" in err
    assert changes(sandbox_env) == []
    assert sandbox_env.get_challenge(created)["title"] == "Random Number Generator Challenge"
    assert state_of(challenge_repo, "challenge-2024") is None


def test_a_non_challenge_branch_does_not_sync(
    cli: Cli, sandbox_env: Any, challenge_repo: Path
) -> None:
    git(challenge_repo, "switch", "-q", "-c", "feature")
    code, _, err = cli("push")
    assert code == 1
    assert "branch 'feature' does not sync to EvalAI" in err
    assert sandbox_env.requests() == []


def test_an_invalid_config_is_a_readable_error_and_sends_nothing(
    cli: Cli, sandbox_env: Any, challenge_repo: Path
) -> None:
    config = challenge_repo / "challenge_config.yaml"
    config.write_text(config.read_text().replace("codename: dev", "codename: test", 1))
    commit_all(challenge_repo, "duplicate codename")
    code, _out, err = cli("push")
    assert code == 1
    assert re.search(r"is not a valid challenge: challenge_config\.yaml:\d+: ", err)
    assert sandbox_env.requests() == []


def test_a_push_asks_for_the_challenge_while_it_checks_a_challenge_level_edit(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    """Only challenge-level keys changed since the last push: the challenge's GET is sent
    before the commit is checked.  An invalid commit then changes nothing: that GET is all
    it sent.  An edit elsewhere in the config reads nothing ahead."""
    config = challenge_repo / "challenge_config.yaml"
    config.write_text(config.read_text() + "max_team_members: many\n")
    commit_all(challenge_repo, "not a number")
    code, _out, err = cli("push")
    assert code == 1 and "is not a valid challenge" in err
    path = f"/api/challenges/challenge_host_team/{sandbox_env.team_pk}/challenge/{created}"
    assert [(r.method, r.path) for r in sandbox_env.requests()] == [("GET", path)]

    git(challenge_repo, "reset", "-q", "--hard", "HEAD~1")
    config.write_text(config.read_text().replace("codename: dev", "codename: test", 1))
    commit_all(challenge_repo, "duplicate codename")
    sandbox_env.clear_requests()
    code, _out, err = cli("push")
    assert code == 1 and "is not a valid challenge" in err
    assert sandbox_env.requests() == []


def test_a_push_asks_for_the_challenge_while_it_checks_an_edit_of_its_description(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    """The config unchanged, a file a challenge-level key names (the description) changed:
    the challenge's GET goes ahead too.  A phase's description does not send it."""
    templates = challenge_repo / "templates"
    path = f"/api/challenges/challenge_host_team/{sandbox_env.team_pk}/challenge/{created}"
    for edited, ahead in (("description.html", [("GET", path)]),
                          ("challenge_phase_2_description.html", [])):
        with (templates / edited).open("a") as handle:
            handle.write("<p>One more line.</p>\n")
        (templates / "challenge_phase_1_description.html").unlink()  # invalid: nothing is sent
        commit_all(challenge_repo, f"edit {edited}")
        sandbox_env.clear_requests()
        code, _out, err = cli("push")
        assert code == 1 and "is not a valid challenge" in err
        assert [(r.method, r.path) for r in sandbox_env.requests()] == ahead, edited
        git(challenge_repo, "reset", "-q", "--hard", "HEAD~1")


def test_evalai_errors_are_readable_text(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    sandbox_env.set_frozen(created, True)
    config = challenge_repo / "challenge_config.yaml"
    config.write_text(config.read_text().replace("end_date: 2099-05-31", "end_date: 2099-06-30", 1))
    commit_all(challenge_repo, "a later end")
    code, _out, err = cli("push")
    assert code == 1
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "frozen" in err
    assert "{" not in err  # no raw JSON
    assert sandbox_env.get_challenge(created)["end_date"].startswith("2099-05-31")


def test_an_evalai_500_is_readable_and_leaves_the_push_pending(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int
) -> None:
    set_title(challenge_repo, "After The Outage")
    sha = commit_all(challenge_repo, "retitle")
    sandbox_env.add_fault("PATCH", r".*", "html", count=1)
    code, _out, err = cli("push")
    assert code == 1
    assert "error: " in err and "<html" not in err.lower()
    assert state_of(challenge_repo).pending == sha


# -- identity, pending ----------------------------------------------------------------------------


def test_identity_comes_from_an_ssh_origin(cli: Cli, challenge_repo: Path, sandbox_env: Any) -> None:
    git(challenge_repo, "remote", "set-url", "origin", "git@github.com:other-org/other-repo.git")
    code, out, _ = cli("push", "--dry-run")
    assert code == 0
    assert "other-org/other-repo" in out


def test_unreachable_evalai_fails_a_manual_push_and_the_next_push_sends_it(
    cli: Cli, sandbox_env: Any, challenge_repo: Path, created: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    set_title(challenge_repo, "Sent Later")
    sha = commit_all(challenge_repo, "retitle")
    sandbox_env.add_fault(None, r".*", "drop", count=100)
    code, _, err = cli("push")
    assert code == 1
    assert "pending" in err
    assert state_of(challenge_repo).pending == sha
    sandbox_env.clear_faults()
    code, out, _ = cli("push")
    assert code == 0, out
    assert "missed an earlier push" in out
    assert sandbox_env.get_challenge(created)["title"] == "Sent Later"
    assert state_of(challenge_repo).pending is None


# -- hook plumbing (pure) --------------------------------------------------------------------------


def test_pre_push_lines() -> None:
    sha = "a" * 40
    text = (
        f"refs/heads/challenge {sha} refs/heads/challenge {ZERO}\n"
        f"refs/heads/old {ZERO} refs/heads/old {sha}\n"  # a deletion
        f"refs/tags/v1 {sha} refs/tags/v1 {ZERO}\n"
        f"HEAD {sha} refs/heads/challenge-x {ZERO}\n"
        "garbage\n"
    )
    assert parse_pre_push(text) == [Target("challenge", sha), Target("challenge-x", sha)]


def test_pre_commit_framework_variables() -> None:
    sha = "b" * 40
    env = {"PRE_COMMIT": "1", "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/challenge",
           "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/challenge", "PRE_COMMIT_FROM_REF": "c" * 40,
           "PRE_COMMIT_TO_REF": sha, "PRE_COMMIT_REMOTE_NAME": "origin"}
    assert pre_commit_targets(env) == [Target("challenge", sha)]
    first = {k: v for k, v in env.items() if "_REF" not in k}  # a first push: no from/to
    assert pre_commit_targets(first) == [Target("challenge", "refs/heads/challenge")]
    assert pre_commit_targets({"PRE_COMMIT": "1"}) is None
    assert hook_targets("pre-push", "challenge", {"PRE_COMMIT": "1"}) == [
        Target("challenge", "HEAD")
    ]
    assert hook_targets("post-commit", None, {}) == []
    assert hook_targets("post-commit", "main", env) == [Target("main", "HEAD")]


def test_a_pulled_value_not_committed_yet_is_not_undone_by_pushing_an_older_commit(
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    """The host pulls EvalAI's title but pushes before committing: the commit still has the
    old title, which is not an edit made here (the base records that a pull moved it and no
    commit carries it yet), so it is not sent back over EvalAI's edit."""
    from conftest import sync_once

    repo, pk = pushed_repo
    page = repo / "templates" / "description.html"
    page.write_text(page.read_text() + "<p>One more paragraph.</p>\n")
    git(repo, "commit", "-q", "--no-verify", "-am", "describe more")
    sandbox_env.edit_challenge(pk, title="Edited On EvalAI")
    assert sync_once("push").fields == ["description"]  # its PATCH leaves the title alone
    assert sandbox_env.get_challenge(pk)["title"] == "Edited On EvalAI"
    assert sync_once("pull").written == {"title": "Edited On EvalAI"}
    sandbox_env.clear_requests()

    assert sync_once("push").fields == []
    assert changes(sandbox_env) == []
    assert sandbox_env.get_challenge(pk)["title"] == "Edited On EvalAI"
    commit_all(repo, "take EvalAI's title")
    report = sync_once("push")
    assert report.fields == []
    assert sandbox_env.get_challenge(pk)["title"] == "Edited On EvalAI"


def test_pulled_merged_text_not_committed_yet_is_not_undone_by_pushing_an_older_commit(
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    """As above, for an HTML field both sides edited in different lines: the pull merges
    them into the working copy; the older commit lacks EvalAI's lines and must not be sent."""
    from conftest import sync_once

    from evalai_mirror.errors import RefusedError

    repo, pk = pushed_repo
    page = repo / "templates" / "description.html"
    original = page.read_text()
    page.write_text("<p>Local first line.</p>\n" + original)
    git(repo, "commit", "-q", "--no-verify", "-am", "a line on top")
    remote_text = original.strip() + "\n<p>Added on EvalAI.</p>"
    sandbox_env.edit_challenge(pk, description=remote_text)
    with pytest.raises(RefusedError):
        sync_once("push")
    report = sync_once("pull")
    assert report.merged == ["description"]
    assert "Added on EvalAI" in page.read_text() and "Local first line" in page.read_text()
    sandbox_env.clear_requests()

    with pytest.raises(RefusedError, match="description"):
        sync_once("push")

    assert changes(sandbox_env) == []
    assert sandbox_env.get_challenge(pk)["description"] == remote_text
    commit_all(repo, "take the merged description")
    assert sync_once("push").fields == ["description"]
    merged = sandbox_env.get_challenge(pk)["description"]
    assert "Added on EvalAI" in merged and "Local first line" in merged

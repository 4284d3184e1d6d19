"""The shared base (refs/evalai-mirror/<branch>): real git, a bare repository standing in for
GitHub, clones standing in for collaborators and a CI runner, the sandbox over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    RunCli,
    changes,
    commit_all,
    git,
    hold_shared_refs,
    set_title,
    state_of,
)

from evalai_mirror import shared, sync
from evalai_mirror.state import BranchState

REF = "refs/evalai-mirror/challenge"
DESCRIPTION = "templates/description.html"
VENV_BIN = str(Path(sys.executable).parent)


def bare_of(repo: Path) -> Path:
    return Path(git(repo, "remote", "get-url", "origin").strip())


def clone(bare: Path | str, dest: Path, *args: str) -> Path:
    git(dest.parent, "clone", "-q", "-b", "challenge", *args, str(bare), str(dest))
    return dest


def shared_state(bare: Path) -> dict[str, Any]:
    """state.json at the tip of the bare remote's shared ref."""
    data: dict[str, Any] = json.loads(git(bare, "show", f"{REF}:state.json"))
    return data


def shared_log(bare: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in git(bare, "show", f"{REF}:log.jsonl").splitlines()]


def challenge_path(sandbox: Any, pk: int) -> str:
    return f"/api/challenges/challenge_host_team/{sandbox.team_pk}/challenge/{pk}"


def context(repo: Path) -> sync.Context:
    return sync.open_context(None, path=repo)


# -- a fresh clone is a full citizen -------------------------------------------------------------


def test_the_first_push_shares_the_base_on_the_remote(pushed_repo: tuple[Path, int]) -> None:
    repo, pk = pushed_repo
    bare = bare_of(repo)
    data = shared_state(bare)
    assert data["challenge_pk"] == pk and data["base"]["title"]
    assert "pending" not in data and "in_flight" not in data  # one clone's own things stay home
    assert [e["direction"] for e in shared_log(bare)] == ["push"]
    tip = git(bare, "rev-parse", REF).strip()
    assert git(repo, "rev-parse", REF).strip() == tip
    assert state_of(repo).shared == tip


def test_a_fresh_clone_pushes_one_field_and_pulls_evalais_edit(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, pk = pushed_repo
    bare = bare_of(host)
    b = clone(bare, tmp_path / "b")
    sandbox_env.edit_challenge(pk, description="<p>Edited on EvalAI.</p>")
    set_title(b, "Retitled In A Fresh Clone")
    commit_all(b, "retitle")
    sandbox_env.clear_requests()
    capsys.readouterr()

    assert run_cli(["push"], cwd=b) == 0  # no --force
    out = capsys.readouterr().out
    assert changes(sandbox_env) == [("PATCH", challenge_path(sandbox_env, pk))]
    assert "fields: title" in out
    held = sandbox_env.get_challenge(pk)
    assert held["title"] == "Retitled In A Fresh Clone"
    assert held["description"] == "<p>Edited on EvalAI.</p>"  # EvalAI's edit stays

    assert run_cli(["pull"], cwd=b) == 0  # no --prefer
    assert (b / DESCRIPTION).read_text().strip() == "<p>Edited on EvalAI.</p>"
    assert "conflict" not in capsys.readouterr().err

    # the host's clone gets B's title by a plain pull too: the base B moved reached it
    assert run_cli(["pull"], cwd=host) == 0
    assert "title: Retitled In A Fresh Clone\n" in (host / "challenge_config.yaml").read_text()
    assert "conflict" not in capsys.readouterr().err
    # and the audit log travelled: B's push is in the host's log
    assert run_cli(["log", "--json"], cwd=host) == 0
    entries = json.loads(capsys.readouterr().out)
    assert next(e["fields"] for e in entries if e["direction"] == "push") == ["title"]


def test_a_commit_pushed_without_hooks_is_sent_from_a_runner_clone(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, pk = pushed_repo
    bare = bare_of(host)
    (host / ".git" / "hooks").mkdir(exist_ok=True)
    assert run_cli(["install-hooks"], cwd=host) == 0
    dev = clone(bare, tmp_path / "dev")
    set_title(dev, "Merged On GitHub")
    sha = commit_all(dev, "retitle")
    git(dev, "push", "-q", "--no-verify", "origin", "challenge")  # no hook saw it
    assert sandbox_env.get_challenge(pk)["title"] != "Merged On GitHub"
    sandbox_env.clear_requests()

    # a CI runner: a shallow fresh clone (as actions/checkout makes), nothing configured
    runner = clone(f"file://{bare}", tmp_path / "runner", "--depth=1")
    capsys.readouterr()
    assert run_cli(["push"], cwd=runner) == 0
    assert changes(sandbox_env) == [("PATCH", challenge_path(sandbox_env, pk))]
    assert sandbox_env.get_challenge(pk)["title"] == "Merged On GitHub"
    data = shared_state(bare)
    assert data["last_push_commit"] == sha and data["base"]["title"] == "Merged On GitHub"

    # the host's next git push (hooks installed) has nothing to send: the base came along
    git(host, "pull", "-q", "--no-rebase", "origin", "challenge")
    sandbox_env.clear_requests()
    assert run_cli(["push"], cwd=host) == 0
    assert changes(sandbox_env) == []


def _git_push(repo: Path, *, ci: bool = False) -> subprocess.CompletedProcess[str]:
    """``git push origin challenge`` as a person types it (the hooks find evalai-mirror on
    PATH), on a CI runner when ``ci``."""
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""))
    env.pop("CI", None)
    if ci:
        env["CI"] = "true"
    proc = subprocess.run(
        ["git", "push", "-q", "origin", "challenge"], cwd=repo, env=env,
        capture_output=True, text=True, timeout=120, check=False,
    )  # a push from inside pre-push that ran the hook again would never end
    assert proc.returncode == 0, proc.stderr
    return proc


def _until(done: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for ``done()`` (a hook shares in the background)."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.02)


def _hooked_commit(host: Path, run_cli: RunCli, title: str) -> tuple[Path, str]:
    """The pre-push hook installed and a commit of ``title`` made; (origin, its shared ref's
    commit before the push)."""
    bare = bare_of(host)
    before = git(bare, "rev-parse", REF).strip()
    assert run_cli(["install-hooks", "--hook", "pre-push"], cwd=host) == 0
    set_title(host, title)
    commit_all(host, f"title {title}")
    return bare, before


def test_the_pre_push_hook_shares_the_base_with_the_branch_push(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli
) -> None:
    host, pk = pushed_repo
    bare, before = _hooked_commit(host, run_cli, "Sent By The Hook")
    _git_push(host)
    assert sandbox_env.get_challenge(pk)["title"] == "Sent By The Hook"
    log = host / ".git" / "evalai-mirror" / "share.log"
    _until(lambda: git(bare, "rev-parse", REF).strip() != before and not log.exists(),
           "the background share")  # it ends by removing its (empty) log
    after = git(bare, "rev-parse", REF).strip()
    assert git(bare, "rev-parse", f"{REF}^").strip() == before
    assert shared_state(bare)["base"]["title"] == "Sent By The Hook"
    message = git(bare, "log", "-1", "--format=%s", REF)
    assert "(push --hook pre-push)" in message, message
    assert git(host, "rev-parse", REF).strip() == after  # this clone's copy follows


def test_git_push_does_not_wait_for_the_share_the_hook_leaves_running(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli
) -> None:
    host, pk = pushed_repo
    bare, before = _hooked_commit(host, run_cli, "Shared While Git Went On")
    release = hold_shared_refs(bare)
    _git_push(host)  # would never return if it waited: the remote holds the shared ref
    assert sandbox_env.get_challenge(pk)["title"] == "Shared While Git Went On"
    assert git(bare, "rev-parse", REF).strip() == before
    release()
    _until(lambda: shared_state(bare)["base"]["title"] == "Shared While Git Went On",
           "the share, once the remote let it in")


def test_on_a_ci_runner_the_hook_shares_before_git_goes_on(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli
) -> None:
    host, _pk = pushed_repo
    bare, before = _hooked_commit(host, run_cli, "Sent From CI")
    _git_push(host, ci=True)
    # no waiting: a runner may stop what a step leaves running
    assert git(bare, "rev-parse", REF).strip() != before
    assert shared_state(bare)["base"]["title"] == "Sent From CI"


def test_a_typed_push_shares_in_the_background_unless_told_to_wait(
    pushed_repo: tuple[Path, int], sandbox_env: Any
) -> None:
    host, pk = pushed_repo
    bare = bare_of(host)

    def push(title: str, **extra: str) -> str:
        before = git(bare, "rev-parse", REF).strip()
        set_title(host, title)
        commit_all(host, f"title {title}")
        env = {k: v for k, v in os.environ.items() if k != "CI"}
        proc = subprocess.run(
            [sys.executable, "-m", "evalai_mirror", "push"], cwd=host,
            env={**env, **extra}, capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert sandbox_env.get_challenge(pk)["title"] == title
        return before

    before = push("Typed And Shared Later")
    _until(lambda: shared_state(bare)["base"]["title"] == "Typed And Shared Later",
           "the background share of a typed push")
    assert git(bare, "rev-parse", f"{REF}^").strip() == before

    push("Typed And Shared Now", EVALAI_MIRROR_FOREGROUND="1")
    assert shared_state(bare)["base"]["title"] == "Typed And Shared Now"  # no waiting


def test_a_background_share_that_failed_is_done_in_the_foreground_next_time(
    pushed_repo: tuple[Path, int], sandbox_env: Any, run_cli: RunCli
) -> None:
    host, _pk = pushed_repo
    bare, before = _hooked_commit(host, run_cli, "Shared Later")
    refuse = bare / "hooks" / "pre-receive"  # the remote turns the shared ref away, once
    refuse.write_text(
        "#!/bin/sh\n"
        "while read -r old new ref; do\n"
        '  case "$ref" in refs/evalai-mirror/*) echo "not today" >&2; exit 1;; esac\n'
        "done\n"
    )
    refuse.chmod(0o755)
    quiet = _git_push(host)
    assert "shared sync state" not in quiet.stderr  # the trouble happened in the background
    log = host / ".git" / "evalai-mirror" / "share.log"
    _until(lambda: log.exists() and "shared sync state was not pushed" in log.read_text(),
           "the background share's warning")
    assert git(bare, "rev-parse", REF).strip() == before

    refuse.unlink()
    set_title(host, "Shared Now")
    commit_all(host, "retitle again")
    _git_push(host)
    # in the foreground this time: done when git push returns, and the log is gone
    assert shared_state(bare)["base"]["title"] == "Shared Now"
    assert not log.exists()


def push_with_origin_gone(host: Path, title: str, run_cli: RunCli,
                          capsys: pytest.CaptureFixture[str]) -> Path:
    """Point origin at a repository that is not there, commit ``title`` and push it: EvalAI
    gets it, the base it moved stays in this clone.  Origin's real bare repository; what the
    push printed is left in ``capsys``."""
    bare = bare_of(host)
    git(host, "remote", "set-url", "origin", str(host.parent / "gone.git"))
    set_title(host, title)
    commit_all(host, "retitle")
    capsys.readouterr()
    assert run_cli(["push"], cwd=host) == 0  # the base could not be shared: kept here
    return bare


def test_an_unreachable_remote_is_a_warning_and_the_next_push_shares(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, pk = pushed_repo
    bare = push_with_origin_gone(host, "Sent While GitHub Was Away", run_cli, capsys)
    err = capsys.readouterr().err
    assert "could not fetch the shared sync state" in err
    assert "was not pushed to origin" in err
    assert sandbox_env.get_challenge(pk)["title"] == "Sent While GitHub Was Away"
    assert shared_state(bare)["base"]["title"] != "Sent While GitHub Was Away"

    git(host, "remote", "set-url", "origin", str(bare))
    sandbox_env.edit_challenge(pk, short_description="Edited on EvalAI")
    assert run_cli(["pull"], cwd=host) == 0
    data = shared_state(bare)
    assert data["base"]["title"] == "Sent While GitHub Was Away"
    assert data["base"]["short_description"] == "Edited on EvalAI"


def test_share_by_hand_sends_what_an_offline_push_kept_and_then_has_nothing_new(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, _pk = pushed_repo
    bare = push_with_origin_gone(host, "Kept Until Shared", run_cli, capsys)
    assert run_cli(["share"], cwd=host) == 1  # still no remote to take it
    git(host, "remote", "set-url", "origin", str(bare))
    capsys.readouterr()
    assert run_cli(["share"], cwd=host) == 0
    tip = git(bare, "rev-parse", REF).strip()
    assert f"shared the sync base on origin as {REF} ({tip[:7]})" in capsys.readouterr().out
    assert shared_state(bare)["base"]["title"] == "Kept Until Shared"
    assert run_cli(["share"], cwd=host) == 0
    assert "nothing new to share" in capsys.readouterr().out
    assert git(bare, "rev-parse", REF).strip() == tip


# -- two writers ---------------------------------------------------------------------------------


def _move(ctx: sync.Context, key: str, value: Any) -> None:
    with ctx.store.lock():
        state = ctx.load_state()
        assert state is not None
        state.base[key] = value
        ctx.store.save(ctx.branch, state)


def test_two_clones_moving_the_base_at_once_end_with_one_merged_base(
    pushed_repo: tuple[Path, int], sandbox_env: Any, tmp_path: Path
) -> None:
    host, _pk = pushed_repo
    bare = bare_of(host)
    b = clone(bare, tmp_path / "b")
    a_ctx, b_ctx = context(host), context(b)
    start = git(bare, "rev-parse", REF).strip()
    # both read the same shared base, then each moves a field of its own
    _move(a_ctx, "title", "Title From A")
    _move(b_ctx, "short_description", "Short From B")
    a_ctx.publish_state("test")
    assert git(bare, "rev-parse", f"{REF}^").strip() == start
    b_ctx.publish_state("test")  # refused as not a fast-forward, merged, sent again

    data = shared_state(bare)
    assert data["base"]["title"] == "Title From A"
    assert data["base"]["short_description"] == "Short From B"
    assert git(bare, "rev-parse", f"{REF}^^").strip() == start  # never forced: history kept
    with a_ctx.store.lock():
        merged = shared.load(a_ctx.link, refresh=True)
    assert merged is not None and merged.base["short_description"] == "Short From B"

    # the same field moved by both: the later move wins, whoever publishes last
    _move(b_ctx, "title", "Later Title From B")
    _move(a_ctx, "title", "Even Later From A")
    a_ctx.publish_state("test")
    b_ctx.publish_state("test")
    assert shared_state(bare)["base"]["title"] == "Even Later From A"


def test_concurrent_writers_lose_no_move(pushed_repo: tuple[Path, int], tmp_path: Path) -> None:
    host, _pk = pushed_repo
    bare = bare_of(host)
    clones = [host, clone(bare, tmp_path / "b"), clone(bare, tmp_path / "c")]
    errors: list[BaseException] = []

    def writer(repo: Path, name: str) -> None:
        try:
            ctx = context(repo)
            for i in range(3):
                _move(ctx, f"test.{name}.{i}", i)
                ctx.publish_state("test")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(r, f"w{n}")) for n, r in enumerate(clones)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    base = shared_state(bare)["base"]
    assert {k for k in base if k.startswith("test.")} == {
        f"test.w{n}.{i}" for n in range(3) for i in range(3)
    }


def test_merge_keeps_one_sided_changes_and_takes_the_later_of_two() -> None:
    ancestor = BranchState(challenge_pk=1, base={"a": 1, "b": 1, "c": 1, "d": 1})
    ours = BranchState(challenge_pk=1, base={"a": 2, "b": 1, "c": 5, "d": 1, "new": 1},
                       moved={"base/a": "2026-01-01T00:00:02Z", "base/c": "2026-01-01T00:00:09Z",
                              "base/new": "2026-01-01T00:00:01Z"}, pending="abc")
    theirs = BranchState(challenge_pk=1, base={"a": 1, "b": 3, "c": 7},
                         moved={"base/b": "2026-01-01T00:00:03Z", "base/c": "2026-01-01T00:00:05Z",
                                "base/d": "2026-01-01T00:00:04Z"})
    merged = shared.merge(ancestor, ours, theirs)
    # a: ours alone; b: theirs alone; c: both, ours later; d: theirs removed it; new: ours
    assert merged.base == {"a": 2, "b": 3, "c": 5, "new": 1}
    assert merged.pending == "abc"  # one clone's own
    # without a common ancestor, every difference goes by time
    merged = shared.merge(None, ours, theirs)
    assert merged.base == {"a": 2, "b": 3, "c": 5, "new": 1}
    # a fresh clone takes the shared state as it is
    assert shared.merge(None, None, theirs).base == theirs.base


def test_a_token_in_the_remote_url_never_shows_in_the_warning(
    pushed_repo: tuple[Path, int], run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    host, _pk = pushed_repo
    git(host, "remote", "set-url", "origin", "http://x-access-token:s3cr3t@127.0.0.1:9/o/r.git")
    capsys.readouterr()
    assert run_cli(["status"], cwd=host) == 0
    err = capsys.readouterr().err
    assert "could not fetch the shared sync state" in err and "s3cr3t" not in err


def _state_of_title(run_cli: RunCli, repo: Path, capsys: pytest.CaptureFixture[str]) -> str:
    from conftest import status_json

    capsys.readouterr()
    _code, data = status_json(run_cli, repo, capsys)
    state = str(next(f for f in data["fields"] if f["key"] == "title")["state"])
    assert ("title" in data["behind"]) == (state == "changed on EvalAI")
    return state


def test_a_clone_behind_is_not_an_edit_but_a_change_back_after_catching_up_is(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    host, pk = pushed_repo
    bare = bare_of(host)
    old_title = sandbox_env.get_challenge(pk)["title"]
    behind, later = clone(bare, tmp_path / "behind"), tmp_path / "later"
    sandbox_env.edit_challenge(pk, title="Edited On EvalAI")
    # the scheduled pull of a CI runner: pull, commit, push the branch (no hooks there)
    runner = clone(bare, tmp_path / "runner")
    assert run_cli(["pull", "--commit", "--git-push"], cwd=runner) == 0
    capsys.readouterr()

    # a clone that has not fetched the runner's commit still holds the old title: not an edit
    assert _state_of_title(run_cli, behind, capsys) == "changed on EvalAI"
    sandbox_env.clear_requests()
    capsys.readouterr()
    assert run_cli(["push"], cwd=behind) == 0
    assert changes(sandbox_env) == []  # EvalAI's title is not undone
    assert "left alone: title" in capsys.readouterr().out

    # a clone that has the commit and sets the old title back has made an edit: push sends it
    clone(bare, later)
    set_title(later, old_title)
    commit_all(later, "back to the old title")
    assert _state_of_title(run_cli, later, capsys) == "changed here"
    assert run_cli(["push"], cwd=later) == 0
    assert sandbox_env.get_challenge(pk)["title"] == old_title


def test_a_runner_with_no_git_identity_still_shares_the_base(
    pushed_repo: tuple[Path, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, _pk = pushed_repo
    bare = bare_of(host)
    runner = clone(bare, tmp_path / "runner")
    empty = tmp_path / "empty.gitconfig"
    empty.write_text("[user]\n\tuseConfigOnly = true\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    ctx = context(runner)
    _move(ctx, "title", "Moved By A Runner")
    ctx.publish_state("test")
    assert shared_state(bare)["base"]["title"] == "Moved By A Runner"
    assert git(bare, "log", "-1", "--format=%an", REF).strip() == "evalai-mirror"


def test_the_push_hook_shares_the_base_with_the_remote_git_pushes_to(
    pushed_repo: tuple[Path, int],
    sandbox_env: Any,
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    host, pk = pushed_repo
    mirror = tmp_path / "mirror.git"
    git(tmp_path, "init", "-q", "--bare", str(mirror))
    git(host, "remote", "add", "upstream", str(mirror))
    set_title(host, "Pushed To Upstream")
    sha = commit_all(host, "retitle")
    # the pre-commit framework names the remote in PRE_COMMIT_REMOTE_NAME
    for key, value in {"PRE_COMMIT": "1", "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/challenge",
                       "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/challenge",
                       "PRE_COMMIT_TO_REF": sha, "PRE_COMMIT_REMOTE_NAME": "upstream"}.items():
        monkeypatch.setenv(key, value)
    assert run_cli(["push", "--hook", "pre-push"], cwd=host) == 0
    assert sandbox_env.get_challenge(pk)["title"] == "Pushed To Upstream"
    assert shared_state(mirror)["base"]["title"] == "Pushed To Upstream"
    assert shared_state(bare_of(host))["base"]["title"] != "Pushed To Upstream"

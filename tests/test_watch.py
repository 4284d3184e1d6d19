"""`evalai-mirror watch`: the Watcher against the sandbox over real HTTP, in real repositories,
driven by poll_once() or run in a thread with a short interval."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import git

CONFIG = "challenge_config.yaml"
CHALLENGE_GET = r"challenge_host_team/\d+/challenge/\d+$"
TITLE = "title: Random Number Generator Challenge"


class Log:
    """Collects the watcher's events."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def __call__(self, level: str, message: str) -> None:
        self.lines.append((level, message))

    def count(self, text: str) -> int:
        return sum(text in message for _, message in list(self.lines))

    def text(self) -> str:
        return "\n".join(f"{level}: {message}" for level, message in list(self.lines))


def wait_for(predicate: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


def title_in(repo: Path) -> str:
    data = yaml.safe_load((repo / CONFIG).read_text())
    return str(data["title"])


@pytest.fixture
def pushed(pushed_repo: tuple[Path, int], sandbox_env: Any) -> tuple[Path, Any, int]:
    repo, pk = pushed_repo
    sandbox_env.clear_requests()
    return repo, sandbox_env, pk


@pytest.fixture
def make_watcher(pushed: tuple[Path, Any, int]) -> Iterator[Callable[..., tuple[Any, Log]]]:
    from evalai_mirror import sync
    from evalai_mirror.watcher import Watcher, WatchOptions

    contexts: list[sync.Context] = []

    def make(**options: Any) -> tuple[Any, Log]:
        ctx = sync.open_context(None)
        contexts.append(ctx)
        log = Log()
        opts = {"interval": 0.05, "max_backoff": 0.2, "watch_files": False, **options}
        return Watcher(ctx, WatchOptions(**opts), emit=log), log

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def running() -> Iterator[Callable[[Any], None]]:
    """Run watchers in threads; stop and join them at the end of the test."""
    started: list[tuple[threading.Thread, threading.Event]] = []

    def start(watcher: Any) -> None:
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
        thread.start()
        started.append((thread, stop))

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the watcher did not stop"


def test_poll_once_mirrors_an_edit_with_three_requests(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    repo, sandbox, pk = pushed
    watcher, log = make_watcher()
    first = watcher.poll_once()
    assert first.ok and first.report is not None and not first.report.written
    sandbox.edit_challenge(pk, title="Edited On EvalAI")
    sandbox.clear_requests()

    result = watcher.poll_once()

    assert result.ok and result.report is not None
    assert result.report.written == {"title": "Edited On EvalAI"}
    assert title_in(repo) == "Edited On EvalAI"
    assert git(repo, "diff", "--name-only").split() == [CONFIG]
    assert log.count("pulled title from EvalAI into challenge_config.yaml") == 1
    assert [r.method for r in sandbox.requests()] == ["GET", "GET", "GET"]

    sandbox.clear_requests()
    idle = watcher.poll_once()
    assert idle.ok and idle.unchanged and idle.delay == 0.05
    assert len(sandbox.requests()) == 3


def test_watch_stays_within_30_requests_a_minute_and_reads_every_field_now_and_then(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    """At the default interval a poll is 3 GETs sent at once; about once a minute a poll reads
    every field (one GET more per phase split, prizes, sponsors) and waits longer after it, so
    an EvalAI-side edit of a split's precision is mirrored too and the rate stays under 30."""
    from evalai_mirror.commands.watch import EVALAI_LIMIT_PER_MINUTE
    from evalai_mirror.settings import DEFAULT_POLL_INTERVAL

    repo, sandbox, pk = pushed
    interval = DEFAULT_POLL_INTERVAL
    watcher, _log = make_watcher(interval=interval)
    per_poll: list[int] = []
    delays: list[float] = []
    for number in range(12):
        if number == 5:
            sandbox.edit_phase_split(pk, "dev", "train_split", leaderboard_decimal_precision=5)
        sandbox.clear_requests()
        result = watcher.poll_once()
        assert result.ok
        per_poll.append(len(sandbox.requests()))
        delays.append(result.delay)
    full = 3 + 3 + 2  # the poll GETs, the fixture's 3 phase split details, prizes, sponsors
    every = per_poll.index(full, 1)
    assert per_poll == [full] + [3] * (every - 1) + [full] + [3] * (11 - every), per_poll
    assert 5 < every and 40 <= every * interval <= 80  # about once a minute
    assert "leaderboard_decimal_precision: 5" in (repo / CONFIG).read_text()
    # the wait after a poll is the interval per 3 requests: never more than 30 a minute
    assert sum(per_poll) * 60 / sum(delays) <= EVALAI_LIMIT_PER_MINUTE / 2
    assert delays[0] == pytest.approx(interval * full / 3) and delays[1] == interval


@pytest.mark.slow
def test_watcher_keeps_running_through_faults_and_never_shows_a_broken_file(
    pushed: tuple[Path, Any, int],
    make_watcher: Callable[..., tuple[Any, Log]],
    running: Callable[[Any], None],
) -> None:
    repo, sandbox, pk = pushed
    watcher, log = make_watcher()
    seen: set[str] = set()
    broken: list[str] = []
    reads = [0]
    stop_reading = threading.Event()

    def reader() -> None:
        while not stop_reading.is_set():
            try:
                seen.add(title_in(repo))
                reads[0] += 1
            except Exception as exc:  # a half-written file would land here
                broken.append(repr(exc))

    reading = threading.Thread(target=reader, daemon=True)
    reading.start()
    running(watcher)
    try:
        sandbox.edit_challenge(pk, title="One")
        wait_for(lambda: title_in(repo) == "One")

        sandbox.add_fault("GET", CHALLENGE_GET, "500", count=3)  # a poll's 3 tries
        sandbox.edit_challenge(pk, title="Two")
        wait_for(lambda: title_in(repo) == "Two")

        sandbox.add_fault("GET", CHALLENGE_GET, "drop", count=3)
        sandbox.edit_challenge(pk, title="Three")
        wait_for(lambda: title_in(repo) == "Three")

        sandbox.add_fault("GET", "challenge_phase$", "html", count=3, status=200)
        sandbox.edit_challenge(pk, title="Four")
        wait_for(lambda: title_in(repo) == "Four")

        # 429 with Retry-After: a real throttle, with a short window for the test
        sandbox.throttle.duration = 1.0
        sandbox.set_throttle(3)  # a poll is 3 GETs: the 4th request is throttled
        sandbox.edit_challenge(pk, title="Five")
        wait_for(lambda: log.count("throttling") >= 1)
        wait_for(lambda: title_in(repo) == "Five")
        sandbox.set_throttle(0)
        sandbox.edit_challenge(pk, title="Six")
        wait_for(lambda: title_in(repo) == "Six")
        wait_for(lambda: "Six" in seen)  # the reader thread saw the last write too
    finally:
        stop_reading.set()
        reading.join(timeout=5)

    assert broken == []
    # The reader ran all along (the GIL may hide a short-lived title from it, never a torn file).
    assert reads[0] > 100
    assert seen <= {"Random Number Generator Challenge", "One", "Two", "Three", "Four", "Five", "Six"}
    # one "unreachable" per outage, and one "reachable again" after each
    outages = log.count("EvalAI is unreachable")
    assert outages == 3, log.text()
    assert log.count("EvalAI is reachable again") == 3
    assert 429 in {r.status for r in sandbox.requests()}
    assert not [p for p in repo.rglob("*.tmp") if ".git" not in p.parts]


def test_a_conflict_is_reported_once_per_distinct_conflict(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    repo, sandbox, pk = pushed
    config = repo / CONFIG
    config.write_text(config.read_text().replace(TITLE, "title: Here"))
    watcher, log = make_watcher()
    sandbox.edit_challenge(pk, title="There")

    result = watcher.poll_once()
    assert result.ok and result.conflicts
    assert watcher.poll_once().unchanged  # nothing new on either side: no merge at all
    # the host saves another edit: the merge runs again, the same conflict is not said again
    config.write_text(config.read_text().replace("published: True", "published: False"))
    assert watcher.handle_saves([CONFIG])
    result = watcher.poll_once()
    assert result.ok and result.conflicts and result.report is not None
    assert result.report.kept_local == ["published"]
    assert log.count("conflict: title") == 1
    assert "title: Here\n" in config.read_text()

    sandbox.edit_challenge(pk, title="Elsewhere")
    watcher.poll_once()
    watcher.poll_once()
    assert log.count("conflict: title") == 2
    assert log.count("'Elsewhere'") == 1


def test_saved_files_are_validated_at_once(
    pushed: tuple[Path, Any, int],
    make_watcher: Callable[..., tuple[Any, Log]],
    running: Callable[[Any], None],
) -> None:
    repo, sandbox, _ = pushed
    watcher, log = make_watcher(watch_files=True, interval=0.5, debounce=0.1)
    running(watcher)
    time.sleep(0.3)  # the observer is up
    config = repo / CONFIG
    good = config.read_text()
    config.write_text(good.replace("published: True", "published: maybe"))
    wait_for(lambda: log.count("saved challenge_config.yaml: challenge_config.yaml:") == 1)
    config.write_text(good)
    wait_for(lambda: log.count("saved challenge_config.yaml: valid") == 1)
    (repo / "notes.txt").write_text("not part of the challenge\n")
    time.sleep(0.5)
    assert log.count("notes.txt") == 0
    assert [r for r in sandbox.requests() if r.method != "GET"] == []


def test_push_on_save_sends_the_saved_edit(
    pushed: tuple[Path, Any, int],
    make_watcher: Callable[..., tuple[Any, Log]],
    running: Callable[[Any], None],
) -> None:
    repo, sandbox, pk = pushed
    watcher, log = make_watcher(watch_files=True, push_on_save=True, interval=0.5, debounce=0.1)
    running(watcher)
    time.sleep(0.3)
    config = repo / CONFIG
    config.write_text(config.read_text().replace(TITLE, "title: Saved Not Committed"))

    wait_for(lambda: sandbox.get_challenge(pk)["title"] == "Saved Not Committed")
    wait_for(lambda: log.count("pushed title from the working copy (not committed") == 1)
    assert git(repo, "status", "--porcelain").strip() == f"M {CONFIG}"
    patches = [r for r in sandbox.requests() if r.method == "PATCH"]
    assert len(patches) == 1


def test_a_pending_push_is_sent_once_evalai_is_back(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    from evalai_mirror import syncpush

    repo, sandbox, pk = pushed
    config = repo / CONFIG
    config.write_text(config.read_text().replace(TITLE, "title: Committed While Down"))
    git(repo, "commit", "-q", "-am", "New title")
    watcher, log = make_watcher()
    syncpush.mark_pending(watcher.ctx, git(repo, "rev-parse", "HEAD").strip())
    sandbox.add_fault(None, CHALLENGE_GET, "drop", count=3)

    down = watcher.poll_once()
    assert not down.ok and log.count("EvalAI is unreachable") == 1
    assert sandbox.get_challenge(pk)["title"] == "Random Number Generator Challenge"

    back = watcher.poll_once()
    assert back.ok, log.text()
    assert sandbox.get_challenge(pk)["title"] == "Committed While Down"
    assert log.count("sent the pending push") == 1
    state = watcher.ctx.store.load("challenge")
    assert state is not None and state.pending is None
    watcher.poll_once()
    assert [r.method for r in sandbox.requests()].count("PATCH") == 1


def test_watch_commit_commits_each_pull(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    repo, sandbox, pk = pushed
    watcher, log = make_watcher(commit=True)
    sandbox.edit_phase(pk, "dev", name="Development Phase")

    assert watcher.poll_once().ok

    assert git(repo, "log", "-1", "--format=%s").strip() == (
        "evalai_bot: Update phases.dev.name"
    )
    assert git(repo, "status", "--porcelain") == ""
    assert log.count("committed ") == 1


def test_a_broken_config_is_said_once_and_the_watcher_goes_on(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    repo, sandbox, pk = pushed
    config = repo / CONFIG
    good = config.read_text()
    config.write_text(good.replace("short_description:", "short_description: [oops"))
    watcher, log = make_watcher()
    sandbox.edit_challenge(pk, title="Waiting")
    for _ in range(3):
        assert not watcher.poll_once().ok
    assert log.count("not valid YAML") == 1
    config.write_text(good)
    assert watcher.poll_once().ok
    assert title_in(repo) == "Waiting"


def test_watch_once_from_the_command_line(
    pushed: tuple[Path, Any, int], run_cli: Callable[..., int], capsys: pytest.CaptureFixture[str]
) -> None:
    repo, sandbox, pk = pushed
    sandbox.edit_challenge(pk, short_description="Short, from EvalAI")
    assert run_cli(["watch", "--once"], cwd=repo) == 0
    assert "pulled short_description" in capsys.readouterr().out
    assert "short_description: Short, from EvalAI\n" in (repo / CONFIG).read_text()

    config = repo / CONFIG
    config.write_text(config.read_text().replace(TITLE, "title: Mine"))
    sandbox.edit_challenge(pk, title="Theirs")
    assert run_cli(["watch", "--once"], cwd=repo) == 1
    assert "conflict: title" in capsys.readouterr().err


@pytest.mark.slow
def test_ctrl_c_stops_watch_cleanly(pushed: tuple[Path, Any, int]) -> None:
    repo, sandbox, pk = pushed
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "evalai_mirror", "watch", "--interval", "0.5"],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert "watching" in first and "every 0.5 s" in first
        sandbox.edit_challenge(pk, title="Before Ctrl-C")
        wait_for(lambda: title_in(repo) == "Before Ctrl-C")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "stopped" in out and "Traceback" not in err
    assert not [p for p in repo.rglob("*.tmp")]


def test_watch_leaves_another_branchs_checkout_alone(
    pushed: tuple[Path, Any, int], make_watcher: Callable[..., tuple[Any, Log]]
) -> None:
    """watch syncs the branch it started on: after `git switch`, neither EvalAI's edits are
    written into (and committed on) the other branch, nor is that branch's HEAD sent to
    EvalAI as this branch's pending push."""
    from evalai_mirror import syncpush

    repo, sandbox, pk = pushed
    watcher, log = make_watcher(commit=True)
    syncpush.mark_pending(watcher.ctx, git(repo, "rev-parse", "HEAD").strip())
    git(repo, "switch", "-q", "-c", "scratch")
    config = repo / CONFIG
    config.write_text(config.read_text().replace(TITLE, "title: Scratch Branch Title"))
    git(repo, "commit", "-q", "--no-verify", "-am", "scratch title")
    sandbox.edit_phase(pk, "dev", name="Development Phase")

    paused = watcher.poll_once()

    assert "scratch" in log.text() and "challenge" in log.text()
    assert sandbox.get_challenge(pk)["title"] == "Random Number Generator Challenge"
    assert git(repo, "log", "-1", "--format=%s").strip() == "scratch title"
    assert "Development Phase" not in config.read_text()
    assert paused.report is None

    git(repo, "switch", "-q", "challenge")
    back = watcher.poll_once()
    assert back.ok and back.report is not None, log.text()
    assert back.report.written == {"phases.dev.name": "Development Phase"}
    assert git(repo, "log", "-1", "--format=%s").strip() == "evalai_bot: Update phases.dev.name"

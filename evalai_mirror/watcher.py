"""The watch loop: poll EvalAI and mirror its edits as ``pull`` does; watch the working copy.

A :class:`Watcher` owns no thread of its own: :meth:`Watcher.poll_once` is one poll (three
GETs sent at once: the challenge, its phases, its phase splits; the first poll and one every
:data:`FULL_READ_EVERY` seconds send every GET a status sends, for the values EvalAI returns
one request per phase split, prizes and sponsors; the wait after a poll is the interval per
three requests it sent) and :meth:`Watcher.run` loops until a
``threading.Event`` is set, so tests drive it from a thread and the command wires signals.
Problems never stop the loop: an unreachable EvalAI is said once (and once that it is back),
with an exponential, capped back-off; a 429 waits for its Retry-After; a conflict, a broken
config or a refused commit is said once until it changes.  Files are only ever written by
:func:`evalai_mirror.syncpull.pull` (atomically), so stopping at any moment leaves nothing
half-written.
"""

from __future__ import annotations

import hashlib
import math
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from evalai_mirror import sync, syncpull, syncpush, ui
from evalai_mirror.catalogue import POLL_READS, Read
from evalai_mirror.errors import (
    ApiError,
    MirrorError,
    ThrottledError,
    UnreachableError,
)
from evalai_mirror.fetch import ALL_READS
from evalai_mirror.records import record

FULL_READ_EVERY = 60.0  # seconds (about): a poll that reads every field, not just 3 GETs
DEFAULT_MAX_BACKOFF = 120.0
DEBOUNCE = 0.3  # seconds of quiet after a save before the file is checked
TICK = 0.5  # the longest the loop sleeps without looking at the stop event and saves
WATCHED_FOLDERS = ("templates/", "evaluation_script/", "annotations/")
_EDITOR_LITTER = (".swp", ".swx", ".tmp", "~", ".part")

Emit = Callable[[str, str], None]  # (level "info" | "warn", message)


def timestamped(level: str, message: str) -> None:
    """The default log: one line per event, local time first."""
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    if level == "warn":
        ui.err(f"{stamp} {ui.colour('warning:', 'yellow', sys.stderr)} {message}")
    else:
        ui.out(f"{stamp} {message}")


@record
class WatchOptions:
    interval: float
    prefer: sync.Prefer | None = None
    commit: bool = False
    git_push: bool = False
    push_on_save: bool = False
    watch_files: bool = True
    max_backoff: float = DEFAULT_MAX_BACKOFF
    debounce: float = DEBOUNCE


@record
class PollResult:
    """One poll: whether EvalAI answered, when to poll next, what the pull did."""

    ok: bool
    delay: float
    report: syncpull.PullReport | None = None
    unchanged: bool = False  # EvalAI had nothing new, so nothing was merged
    error: str | None = None

    @property
    def conflicts(self) -> bool:
        return self.report is not None and bool(self.report.conflicts)


def _digest(data: bytes | None) -> str:
    return hashlib.sha256(data or b"").hexdigest()


def _sig(value: Any) -> str:
    return hashlib.sha256(repr(value).encode("utf-8", "replace")).hexdigest()


class Watcher:
    """Polls one branch's challenge and watches its working copy."""

    def __init__(
        self,
        ctx: sync.Context,
        options: WatchOptions,
        *,
        emit: Emit = timestamped,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ctx = ctx
        self.options = options
        self.emit = emit
        self.clock = clock
        self.failures = 0  # polls in a row that failed
        self._down = False
        self._throttled = False
        self._said: set[str] = set()  # problems said and not over yet
        self._conflicts: dict[str, str] = {}  # key -> signature of the EvalAI value last said
        self._kept: frozenset[str] = frozenset()
        self._seen: dict[str, Any] | None = None  # EvalAI's values as last merged
        self._seen_reads: frozenset[Read] = frozenset()  # the GETs they came from
        self._polls_to_full = 0  # polls until the next one reads every field
        self._local_dirty = True
        self._refused_pending: str | None = None
        self._push_retry = False
        self._own_writes: dict[str, str] = {}  # path -> digest of what a pull wrote
        self._saves: set[str] = set()
        self._saved_at = 0.0
        self._lock = threading.Lock()

    # -- saying things ------------------------------------------------------------------

    def info(self, message: str) -> None:
        self.emit("info", message)

    def warn(self, message: str) -> None:
        self.emit("warn", message)

    def _once(self, message: str) -> None:
        if message not in self._said:
            self._said.add(message)
            self.warn(message)

    # -- polling ------------------------------------------------------------------------

    def _backoff(self) -> float:
        interval = self.options.interval
        return float(min(self.options.max_backoff, interval * 2 ** min(self.failures, 16)))

    def poll_once(self) -> PollResult:
        """One poll: send a pending push, read EvalAI, merge what changed into the working
        copy.  Never raises for EvalAI or repository trouble: it says so and backs off."""
        interval = self.options.interval
        before = self._sent()
        try:
            self._send_pending()
            remote = self._fetch()
            self._back()
            if self._push_retry:
                self._push_retry = False
                self._push_worktree()
            if not self._local_dirty and self._unchanged(remote):
                self._said.clear()
                return PollResult(ok=True, delay=self._paced(before), unchanged=True)
            self._local_dirty = False
            report = syncpull.pull(
                self.ctx,
                prefer=self.options.prefer,
                commit=self.options.commit,
                git_push=self.options.git_push,
                command="watch",
                fetched=remote,
            )
        except ThrottledError as exc:
            self.failures += 1
            wait = exc.retry_after if exc.retry_after is not None else self._backoff()
            if not self._throttled:
                self._throttled = True
                self.warn(f"EvalAI is throttling requests: waiting {wait:g} s before the next poll")
            return PollResult(ok=False, delay=max(wait, interval), error=str(exc))
        except UnreachableError as exc:
            self.failures += 1
            delay = self._backoff()
            if not self._down:
                self._down = True
                self.warn(
                    f"EvalAI is unreachable ({exc}); retrying with back-off, up to every "
                    f"{self.options.max_backoff:g} s"
                )
            return PollResult(ok=False, delay=delay, error=str(exc))
        except ApiError as exc:  # 401/403/404/400: a setting or the challenge is wrong
            self.failures += 1
            self._local_dirty = True
            self._once(str(exc))
            return PollResult(ok=False, delay=self._backoff(), error=str(exc))
        except MirrorError as exc:  # a broken config, a refused commit, a locked state...
            self._local_dirty = True
            self._once(str(exc))
            return PollResult(ok=False, delay=interval, error=str(exc))
        self._said.clear()
        self._seen = {
            **{k: v for k, v in (self._seen or {}).items() if not remote.covers(k)},
            **remote.snapshot,
        }
        self._seen_reads |= remote.reads
        self._report(report)
        return PollResult(ok=True, delay=self._paced(before), report=report)

    def _unchanged(self, remote: sync.Remote) -> bool:
        """Whether EvalAI's answers hold what the last merge saw (of what they return)."""
        if self._seen is None or not remote.reads <= self._seen_reads:
            return False
        return {k: v for k, v in self._seen.items() if remote.covers(k)} == remote.snapshot

    def _sent(self) -> int:
        return self.ctx.client.stats.requests

    def _paced(self, before: int) -> float:
        """The wait before the next poll: the interval per three requests this poll sent, so
        that a poll that read every field (or pushed) is paid for before the next one, and
        watch never sends more than 3 requests an interval, over any stretch of time."""
        spent = self._sent() - before
        return self.options.interval * max(1.0, spent / len(POLL_READS))

    def _fetch(self) -> sync.Remote:
        state = self.ctx.load_state()
        hint = "create it with `evalai-mirror push`; watch goes on polling"
        pk = sync.require_pk(self.ctx, state, hint=hint)
        if self._polls_to_full > 0:
            self._polls_to_full -= 1
            return sync.read_evalai(self.ctx, pk, POLL_READS)
        remote = sync.read_evalai(self.ctx, pk, ALL_READS)
        self._polls_to_full = math.ceil(FULL_READ_EVERY / self.options.interval) - 1
        return remote

    def _back(self) -> None:
        if self._down:
            self.info("EvalAI is reachable again")
        self._down = False
        self._throttled = False
        self.failures = 0

    def _report(self, report: syncpull.PullReport) -> None:
        if report.written:
            merged = f" (merged both sides: {', '.join(report.merged)})" if report.merged else ""
            self.info(
                f"pulled {', '.join(sorted(report.written))} from EvalAI into "
                f"{', '.join(report.files)}{merged}"
            )
            root = self.ctx.repo.root
            for path in report.files:
                try:
                    self._own_writes[path] = _digest((root / path).read_bytes())
                except OSError:
                    pass
        if report.commit:
            self.info(
                f"committed {report.commit[:7]}: {syncpull.commit_message(report.written)}"
                + (" and pushed it to origin" if report.pushed else "")
            )
        # said once per EvalAI value: a new save here of a field in conflict is not news
        current = {res.key: _sig(res.remote) for res in report.conflicts}
        for res in report.conflicts:
            if self._conflicts.get(res.key) != current[res.key]:
                from evalai_mirror.commands.pull import show_value

                self.warn(
                    f"conflict: {res.key} changed on both sides; here {show_value(res.local)}, "
                    f"EvalAI {show_value(res.remote)}; nothing written for it (settle with "
                    "`evalai-mirror resolve` or `pull --prefer local|remote`)"
                )
        self._conflicts = current
        kept = frozenset(report.kept_local)
        if kept and kept != self._kept:
            self.info(
                f"changed here only: {', '.join(sorted(kept))} (push sends "
                f"{'it' if len(kept) == 1 else 'them'})"
            )
        self._kept = kept
        if report.structural:
            self._once(
                "EvalAI and challenge_config.yaml have different sets of phases "
                f"({', '.join(sorted(report.structural)[:3])}...); only a push of the config "
                "(zip upload) changes that"
            )

    # -- pushes -------------------------------------------------------------------------

    def _send_pending(self) -> None:
        """Send the push a hook left pending while EvalAI was down (the branch's tip)."""
        state = self.ctx.store.load(self.ctx.branch)
        pending = state.pending if state is not None else None
        if not pending or pending == self._refused_pending:
            return
        try:
            report = syncpush.push(self.ctx, f"refs/heads/{self.ctx.branch}", command="watch")
        except (UnreachableError, ThrottledError):
            raise
        except MirrorError as exc:
            self._refused_pending = pending
            self.warn(f"the pending push ({pending[:12]}) was not sent: {exc}")
            return
        what = ", ".join(report.fields) or report.action
        self.info(f"sent the pending push ({pending[:12]}) to EvalAI: {what}")

    def _push_worktree(self) -> None:
        try:
            report = syncpush.push(self.ctx, from_worktree=True, command="watch")
        except (UnreachableError, ThrottledError) as exc:
            self._push_retry = True
            self.warn(f"could not push the saved files ({exc}); will push when EvalAI answers")
            return
        except MirrorError as exc:
            self.warn(f"did not push the saved files: {exc}")
            return
        if report.action == "nothing":
            self.info("push on save: EvalAI already has these values")
            return
        what = ", ".join(report.fields) if report.action == "patched" else "the challenge (zip)"
        self.info(
            f"pushed {what} from the working copy (not committed: --push-on-save sends saved "
            "files, not commits)"
        )

    # -- the working copy ---------------------------------------------------------------

    def is_challenge_file(self, rel: str) -> bool:
        """Whether a path (relative to the repository root) is part of the challenge."""
        name = rel.rsplit("/", 1)[-1]
        if rel.startswith(".git/") or not name or name.endswith(_EDITOR_LITTER):
            return False
        if name.startswith(".") or name.startswith("#") or name == "4913":
            return False
        return rel == self.ctx.config_path or rel.startswith(WATCHED_FOLDERS)

    def file_event(self, path: str) -> None:
        """Note that ``path`` (absolute) changed; called from the observer's thread."""
        root = self.ctx.repo.root
        try:
            rel = Path(path).resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            return
        if not self.is_challenge_file(rel):
            return
        with self._lock:
            self._saves.add(rel)
            self._saved_at = self.clock()

    def _take_saves(self) -> list[str]:
        with self._lock:
            if not self._saves or self.clock() - self._saved_at < self.options.debounce:
                return []
            saves, self._saves = sorted(self._saves), set()
        root = self.ctx.repo.root
        mine = []
        for rel in saves:
            try:
                digest = _digest((root / rel).read_bytes())
            except OSError:
                digest = None
            if digest is not None and self._own_writes.get(rel) == digest:
                continue  # the file as a pull wrote it: not the host's save
            self._own_writes.pop(rel, None)
            mine.append(rel)
        return mine

    def handle_saves(self, paths: Iterable[str]) -> bool:
        """Validate the working copy after the host saved ``paths``; with --push-on-save,
        push it.  True when it is valid."""
        from evalai_mirror.source import WorkTreeSource
        from evalai_mirror.validate import summary, validate_source

        names = ", ".join(paths)
        self._local_dirty = True
        problems = validate_source(WorkTreeSource(self.ctx.repo.root), self.ctx.config_path)
        if problems:
            see = "; see `evalai-mirror validate`" if len(problems) > 1 else ""
            self.warn(f"saved {names}: {summary(problems)}{see}")
            return False
        self.info(f"saved {names}: valid")
        if self.options.push_on_save:
            self._push_worktree()
        return True

    def _observer(self) -> Any:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type not in ("created", "modified", "moved", "deleted"):
                    return
                if event.is_directory:
                    return
                for path in (event.src_path, getattr(event, "dest_path", "")):
                    if path:
                        watcher.file_event(
                            path.decode() if isinstance(path, bytes) else str(path)
                        )

        observer = Observer()
        observer.schedule(Handler(), str(self.ctx.repo.root), recursive=True)
        observer.daemon = True
        observer.start()
        return observer

    # -- the loop -----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll and watch until ``stop`` is set.  Returns within about TICK seconds of it
        (or when the request under way ends)."""
        observer = self._observer() if self.options.watch_files else None
        try:
            next_poll = self.clock()
            while not stop.is_set():
                if self.clock() >= next_poll:
                    result = self.poll_once()
                    now = self.clock()
                    # polls keep to a fixed grid when all is well, so the rate stays exact
                    start = next_poll if result.ok else now
                    next_poll = start + result.delay
                    if next_poll <= now:
                        next_poll = now + result.delay
                saves = self._take_saves()
                if saves and not stop.is_set():
                    self.handle_saves(saves)
                wait = min(next_poll - self.clock(), TICK)
                with self._lock:
                    if self._saves:
                        wait = min(wait, self.options.debounce / 2)
                if wait > 0:
                    stop.wait(wait)
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)

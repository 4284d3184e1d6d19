"""``evalai-mirror watch``: poll EvalAI and mirror its edits as ``pull`` does, and check (or
push) the challenge files whenever they are saved.

The loop is :class:`evalai_mirror.watcher.Watcher`; this module reads the options, says what
it watches, and turns Ctrl-C / SIGTERM into a clean stop: the poll under way finishes (every
write is atomic), then the command exits 130 (Ctrl-C) or 0 (SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from evalai_mirror import ui
from evalai_mirror.errors import UsageError

if TYPE_CHECKING:
    from evalai_mirror.watcher import Watcher

EVALAI_LIMIT_PER_MINUTE = 60  # EvalAI's per-user throttle
REQUESTS_PER_POLL = 3  # the challenge, its phases and its phase splits (see watcher.py)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from evalai_mirror.settings import add_connection_arguments

    parser.add_argument(
        "--interval",
        type=float,
        metavar="SECONDS",
        help="seconds between polls (default: poll_interval in .evalai-mirror.yml, else "
        "6.5: 3 requests a poll keeps watch under half of EvalAI's 60 requests a minute)",
    )
    parser.add_argument(
        "--prefer",
        choices=("local", "remote"),
        help="settle conflicts as `pull --prefer` does (default: report them, write nothing)",
    )
    parser.add_argument(
        "--commit",
        action="store_true",
        help="commit each pull's mirrored files (`evalai_bot: Update <fields>`), as pull does",
    )
    parser.add_argument("--git-push", action="store_true", help="with --commit: push to origin")
    parser.add_argument(
        "--push-on-save",
        action="store_true",
        help="push saved challenge files to EvalAI when they validate, without a commit "
        "(relaxes push's commits-only rule)",
    )
    parser.add_argument(
        "--no-files",
        dest="watch_files",
        action="store_false",
        help="do not watch the working copy, only poll EvalAI",
    )
    parser.add_argument("--once", action="store_true", help="poll once, then exit")
    add_connection_arguments(parser)


def _interval(args: argparse.Namespace, configured: float) -> float:
    interval = configured if args.interval is None else float(args.interval)
    if not interval > 0:
        raise UsageError(f"--interval {args.interval} is not a positive number of seconds",
                         hint="e.g. --interval 6.5")
    rate = REQUESTS_PER_POLL * 60 / interval
    if rate > EVALAI_LIMIT_PER_MINUTE / 2:
        ui.warn(
            f"polling every {interval:g} s sends {rate:.0f} requests a minute, more than half "
            f"of EvalAI's limit of {EVALAI_LIMIT_PER_MINUTE}; EvalAI may throttle this token"
        )
    return interval


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import sync
    from evalai_mirror.watcher import Watcher, WatchOptions

    if args.git_push and not args.commit:
        raise UsageError(
            "--git-push pushes the commit that --commit makes", hint="add --commit, or drop --git-push"
        )
    ctx = sync.open_context(args)
    try:
        ctx.require_sync_branch()
        options = WatchOptions(
            interval=_interval(args, ctx.settings.repo.poll_interval),
            prefer=args.prefer,
            commit=args.commit,
            git_push=args.git_push,
            push_on_save=args.push_on_save,
            watch_files=args.watch_files and not args.once,
        )
        watcher = Watcher(ctx, options)
        if args.once:
            result = watcher.poll_once()
            if result.ok and result.report is not None and not result.report.written:
                ui.out("up to date with EvalAI")
            return 0 if result.ok and not result.conflicts else 1
        return _loop(watcher, ctx.settings.host_url.value or "EvalAI")
    finally:
        ctx.close()


def _loop(watcher: Watcher, host: str) -> int:
    stop = threading.Event()
    got: list[int] = []

    def on_signal(signum: int, frame: FrameType | None) -> None:
        got.append(signum)
        stop.set()
        # a second Ctrl-C interrupts at once
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    options = watcher.options
    files = f" and the files in {watcher.ctx.repo.root}" if options.watch_files else ""
    watcher.info(
        f"watching {host} every {options.interval:g} s (branch {watcher.ctx.branch}){files}; "
        "Ctrl-C stops"
    )
    try:
        watcher.run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    watcher.info("stopped")
    return 130 if got and got[0] == signal.SIGINT else 0

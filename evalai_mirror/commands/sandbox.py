"""`evalai-mirror sandbox`: run the local EvalAI-compatible server, or edit a field on it as the
EvalAI web UI would (`evalai-mirror sandbox edit`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from evalai_mirror import ui
from evalai_mirror.errors import UsageError
from evalai_mirror.fsutil import cache_dir

DEFAULT_PORT = 8000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port on 127.0.0.1 (default {DEFAULT_PORT}; 0: any free port)"
    )
    parser.add_argument(
        "--data", metavar="DIR", help="folder for the sandbox's state (default: under your cache folder)"
    )
    parser.add_argument(
        "--throttle", type=int, default=60, metavar="N", help="requests a minute per token (0: no limit)"
    )
    parser.add_argument(
        "--env",
        action="store_true",
        help='print only the export lines, then keep serving with stdout closed, so that '
        '`eval "$(evalai-mirror sandbox --env &)"` sets up this shell',
    )
    actions = parser.add_subparsers(dest="sandbox_action", metavar="ACTION")
    edit = actions.add_parser(
        "edit",
        help="change fields of a challenge, phase, phase split, dataset split or leaderboard on a "
        "running sandbox, as EvalAI's web UI would",
    )
    edit.add_argument("--url", help="the sandbox's address (default: $EVALAI_HOST_URL)")
    edit.add_argument("--challenge", type=int, metavar="PK", help="challenge pk (default: the only one)")
    edit.add_argument("--phase", metavar="CODENAME", help="edit this phase instead of the challenge")
    edit.add_argument(
        "--split", metavar="CODENAME",
        help="edit this dataset split (name, codename); with --phase, that phase's split "
        "(visibility, leaderboard_decimal_precision, show_execution_time...)",
    )
    edit.add_argument(
        "--leaderboard", type=int, metavar="ID", help="edit the leaderboard with this config id (schema)"
    )  # fmt: skip
    edit.add_argument(
        "assignments", nargs="+", metavar="FIELD=VALUE",
        help="VALUE is read as JSON when it parses (true, 5, null), else as text; @FILE reads a file",
    )  # fmt: skip


def parse_assignments(items: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{item!r} is not FIELD=VALUE", hint="for example: title='New title'")
        value: Any
        if raw.startswith("@"):
            try:
                value = Path(raw[1:]).read_text(encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot read {raw[1:]}: {exc.strerror}") from None
        else:
            try:
                value = json.loads(raw)
            except ValueError:
                value = raw
        fields[name.strip()] = value
    return fields


def _edit(args: argparse.Namespace) -> int:
    from evalai_mirror.sandbox import client

    url = args.url or os.environ.get("EVALAI_HOST_URL") or f"http://127.0.0.1:{DEFAULT_PORT}"
    fields = parse_assignments(args.assignments)
    result = client.edit(
        url, fields, challenge=args.challenge, phase=args.phase, split=args.split,
        leaderboard=args.leaderboard,
    )  # fmt: skip
    if args.leaderboard is not None:
        what = f"leaderboard {args.leaderboard}"
    elif args.split and args.phase:
        what = f"split {args.phase}/{args.split}"
    elif args.split:
        what = f"dataset split {args.split}"
    else:
        what = f"phase {args.phase}" if args.phase else f"challenge {result.get('id')}"
    for name in fields:
        key = "list_tags" if name == "tags" else name  # EvalAI's JSON key for the tags
        shown = json.dumps(result.get(key), ensure_ascii=False) if key in result else "(ignored)"
        ui.out(f"{what}: {name} = {shown}")
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "sandbox_action", None) == "edit":
        return _edit(args)
    from evalai_mirror.sandbox import SandboxServer

    data_dir = Path(args.data) if args.data else cache_dir() / "sandbox"
    if args.throttle < 0:
        raise UsageError("--throttle must be 0 (off) or a positive number of requests a minute")

    def log_line(record: Any) -> None:
        ui.err(f"{record.method} {record.path} -> {record.status or 'dropped'}")

    server = SandboxServer(
        data_dir,
        port=args.port,
        throttle_per_minute=args.throttle,
        on_request=None if args.env else log_line,
    )
    try:
        server.start()
    except OSError as exc:
        server.stop()
        raise UsageError(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}",
            hint="pick another --port, or --port 0 for any free one",
        ) from None
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        exports = [f"export {key}={value}" for key, value in server.env().items()]
        if args.env:
            for line in [*exports, f"export EVALAI_SANDBOX_PID={os.getpid()}"]:
                ui.out(line)
            ui.err(
                f"EvalAI sandbox at {server.url} (pid {os.getpid()}); the token is the sandbox's "
                "own throwaway token. Stop it with: kill $EVALAI_SANDBOX_PID"
            )
            _detach_stdout()
        else:
            ui.out(f"EvalAI sandbox running at {server.url} (state in {data_dir})")
            ui.out("The token below is this sandbox's own throwaway token, printed on purpose;")
            ui.out("it works on this sandbox only. For another shell, run:")
            for line in exports:
                ui.out(f"  {line}")
            ui.out("Press Ctrl-C to stop.")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    if not args.env:
        ui.err("sandbox stopped")
    return 0


def _detach_stdout() -> None:
    """Close our end of stdout so that a `$(...)` reading it finishes while we keep serving."""
    sys.stdout.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)

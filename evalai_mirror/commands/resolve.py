"""`evalai-mirror resolve FIELD... --take local|remote` (or `--all`): settle conflicts.

``--take remote`` writes EvalAI's value into the working copy (commit it afterwards);
``--take local`` records EvalAI's value as seen, so that the next push sends the local one.
A FIELD may also name a field that merely differs (not in conflict), to settle it the same way.
"""

from __future__ import annotations

import argparse
import json

from evalai_mirror import settings as settings_mod
from evalai_mirror import ui
from evalai_mirror.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "fields",
        nargs="*",
        metavar="FIELD",
        help="the fields to settle, e.g. title or phases.dev.end_date (see `evalai-mirror status`)",
    )
    parser.add_argument(
        "--take",
        choices=("local", "remote"),
        required=True,
        help="local: keep the repository's value (the next push sends it); remote: write "
        "EvalAI's value into the working copy",
    )
    parser.add_argument("--all", action="store_true", help="settle every conflict this way")
    parser.add_argument("--json", action="store_true", help="print what was taken as JSON")
    settings_mod.add_connection_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import sync, syncpull

    fields: list[str] = list(getattr(args, "fields", None) or [])
    take = args.take
    if fields and args.all:
        raise UsageError(
            "name fields or pass --all, not both", hint="--all settles every conflict"
        )
    if not fields and not args.all:
        raise UsageError(
            "name the fields to settle, or pass --all for every conflict",
            hint="see the conflicts with `evalai-mirror status`",
        )
    ctx = sync.open_context(args)
    try:
        ctx.require_sync_branch()
        report = syncpull.resolve(ctx, fields or None, take)
    finally:
        ctx.close()
    if getattr(args, "json", False):
        ui.out(json.dumps({"taken": report.taken, "files": report.files}, indent=2, sort_keys=True))
        return 0
    if not report.taken:
        ui.out("no conflicts to resolve")
        return 0
    for key in sorted(report.taken):
        if take == "remote":
            ui.out(f"{key}: took EvalAI's value")
        else:
            ui.out(f"{key}: kept the local value; the next push sends it to EvalAI")
    if report.files:
        ui.out("wrote " + ", ".join(report.files) + ": commit it (`git commit`) to keep it")
    if take == "local":
        ui.out("commit the local values if they are not committed yet, then `evalai-mirror push`")
    return 0

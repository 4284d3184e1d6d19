"""``evalai-mirror pull``: bring edits made on EvalAI into the working copy, three ways.

Each synced field is merged against the base (what both sides last agreed on): changed on
EvalAI only -> written here; changed here only -> kept (push sends it); changed on both sides
differently -> a conflict, nothing written for it, exit status 1.  ``--prefer`` settles
conflicts; ``--dry-run`` shows the diff; ``--commit`` commits exactly the mirrored files.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from evalai_mirror import ui
from evalai_mirror.errors import UsageError

if TYPE_CHECKING:
    from evalai_mirror.syncpull import PullReport

VALUE_WIDTH = 60


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from evalai_mirror.settings import add_connection_arguments

    parser.add_argument(
        "--prefer",
        choices=("local", "remote"),
        help="settle conflicts: `remote` writes EvalAI's value here, `local` keeps this one "
        "(the next push sends it); without it a conflict writes nothing and exits 1",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="show the diff the pull would make to the working copy, write nothing",
    )
    parser.add_argument(
        "--commit",
        action="store_true",
        help="commit exactly the mirrored files (`evalai_bot: Update <fields>`); refused when "
        "those files have other uncommitted edits",
    )
    parser.add_argument(
        "--git-push",
        action="store_true",
        help="with --commit: push that commit to origin",
    )
    add_connection_arguments(parser)


def show_value(value: Any) -> str:
    """A field's value on one line: quoted text cut at VALUE_WIDTH characters."""
    from evalai_mirror.merge import MISSING

    if value is MISSING:
        return "(absent)"
    if value is None:
        return "(empty)"
    if not isinstance(value, str):
        return str(value)
    lines = value.splitlines() or [""]
    text = lines[0]
    cut = len(text) > VALUE_WIDTH or len(lines) > 1
    if len(text) > VALUE_WIDTH:
        text = text[: VALUE_WIDTH - 3] + "..."
    shown = repr(text)
    if cut:
        shown += f" ({len(lines)} line{'s' if len(lines) != 1 else ''}, {len(value)} chars)"
    return shown


def _groups(keys: Iterable[str]) -> list[str]:
    from evalai_mirror.challenge import split_key

    found = set()
    for group, name in map(split_key, keys):
        if group is None:
            found.add(name)
        elif " " in group:
            found.add(group)
        else:
            found.add(f"phase {group}")
    return sorted(found)


def report_lines(report: PullReport) -> list[tuple[str, str]]:
    """What a pull did (or would do), as ``(level, line)`` pairs, level "info" or "warn"."""
    lines: list[tuple[str, str]] = []
    verb = "would write" if report.dry_run else "wrote"
    plain = [k for k in sorted(report.written) if k not in report.merged]
    for key in plain:
        lines.append(("info", f"EvalAI -> here: {key} = {show_value(report.written[key])}"))
    for key in sorted(report.merged):
        lines.append(("info", f"merged both sides' edits of {key} (they touch different lines)"))
    if report.files:
        lines.append(("info", f"{verb} {', '.join(report.files)}"))
    if report.kept_local:
        lines.append(
            (
                "info",
                "changed here only, kept (the next push sends it): "
                + ", ".join(sorted(report.kept_local)),
            )
        )
    if report.structural:
        missing = _groups(report.structural)
        lines.append(
            (
                "warn",
                f"{', '.join(missing)} exists on one side only; a pull cannot add or remove "
                "a phase, leaderboard or split (edit challenge_config.yaml and push: the zip "
                "upload changes the set of them)",
            )
        )
    by_file: dict[str, list[str]] = {}
    for key, why in sorted(report.held.items()):
        by_file.setdefault(why.split(" also holds ")[0], []).append(key)
    for path, keys in sorted(by_file.items()):
        lines.append(
            (
                "warn",
                f"{path} serves {', '.join(keys)}, and EvalAI now holds different text for "
                "them: not written (one decision for the file; every other value was)",
            )
        )
        lines.append(
            (
                "warn",
                f"  give each field its own file in challenge_config.yaml, or take one side with "
                f"`evalai-mirror resolve {keys[0]} --take remote|local`",
            )
        )
    for res in report.conflicts:
        lines.append(
            (
                "warn",
                f"conflict: {res.key} changed on both sides; here {show_value(res.local)}, "
                f"EvalAI {show_value(res.remote)}; nothing was written for it",
            )
        )
    if report.conflicts:
        why = (
            "no sync history on this clone, so differing fields are not guessed; "
            if report.no_base
            else ""
        )
        lines.append(
            (
                "warn",
                f"{why}settle with `evalai-mirror pull --prefer remote` (take EvalAI's) or "
                "`--prefer local` (keep these; push sends them), or per field with "
                "`evalai-mirror resolve`",
            )
        )
    if not (report.written or report.conflicts or report.structural or report.held):
        lines.append(("info", f"up to date with EvalAI challenge {report.pk}"))
    if report.commit:
        from evalai_mirror.syncpull import commit_message

        lines.append(("info", f"committed {report.commit[:7]}: {commit_message(report.written)}"))
    if report.pushed:
        lines.append(("info", "pushed the commit to origin"))
    return lines


def emit(lines: Iterable[tuple[str, str]]) -> None:
    for level, text in lines:
        if level == "warn":
            ui.warn(text)
        else:
            ui.out(text)


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import sync, syncpull

    if args.git_push and not args.commit:
        raise UsageError(
            "--git-push pushes the commit that --commit makes", hint="add --commit, or drop --git-push"
        )
    if args.dry_run and args.commit:
        raise UsageError("--dry-run writes nothing, so there is nothing to commit", hint="drop one")
    ctx = sync.open_context(args)
    try:
        ctx.require_sync_branch()
        report = syncpull.pull(
            ctx,
            prefer=args.prefer,
            dry_run=args.dry_run,
            commit=args.commit,
            git_push=args.git_push,
            command="pull",
        )
    finally:
        ctx.close()
    if report.dry_run and report.diff:
        for line in report.diff.rstrip("\n").split("\n"):
            ui.out(ui.diff_line(line))
    emit(report_lines(report))
    if report.dry_run:
        ui.out("dry run: nothing was written")
    if args.commit and not report.commit and not report.dry_run:
        ui.out("nothing to commit: no file changed")
    return 1 if report.conflicts else 0

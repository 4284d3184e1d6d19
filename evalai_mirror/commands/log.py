"""`evalai-mirror log`: every sync in either direction, newest first.

Reads the append-only audit log in the git directory (written by push, pull, watch, resolve
and adopt): when, which direction, which branch and challenge, which fields, which commit, which
command.  The branch's log travels with the shared base (refs/evalai-mirror/<branch>), so it
is fetched from origin first and other clones' and CI runners' syncs show too; nothing is
written anywhere but this clone's copy.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from evalai_mirror import ui
from evalai_mirror.errors import UsageError

if TYPE_CHECKING:
    from evalai_mirror.state import LogEntry

DIRECTION_COLOUR = {"push": "green", "pull": "blue", "resolve": "yellow", "adopt": "yellow"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the entries as a JSON list")
    parser.add_argument(
        "-n", "--max-count", type=int, metavar="N", help="show only the N newest entries"
    )
    parser.add_argument("--branch", metavar="NAME", help="only the syncs of this branch")
    parser.add_argument(
        "--direction",
        choices=tuple(DIRECTION_COLOUR),
        help="only syncs in this direction (adopt: the first base an adopt recorded)",
    )


def select(
    entries: list[LogEntry],
    *,
    branch: str | None = None,
    direction: str | None = None,
    count: int | None = None,
) -> list[LogEntry]:
    chosen = [
        e
        for e in entries
        if (branch is None or e.branch == branch) and (direction is None or e.direction == direction)
    ]
    return chosen if count is None else chosen[:count]


def entry_lines(entry: LogEntry) -> list[str]:
    """One entry as text: a headline, then its fields and detail indented."""
    when = entry.time.replace("T", " ")
    direction = ui.colour(f"{entry.direction:<7}", DIRECTION_COLOUR.get(entry.direction, "bold"))
    commit = entry.commit[:7] if entry.commit else "-"
    challenge = f"challenge {entry.challenge_pk}" if entry.challenge_pk else "no challenge"
    lines = [f"{when}  {direction}  {entry.branch}  {commit:<7}  {challenge}  ({entry.command})"]
    if entry.fields:
        lines.append("    fields: " + ", ".join(entry.fields))
    if entry.detail:
        lines.append("    " + entry.detail)
    return lines


def run(args: argparse.Namespace) -> int:
    from evalai_mirror.git import GitRepo
    from evalai_mirror.settings import find_repo_root
    from evalai_mirror.state import StateStore

    count = getattr(args, "max_count", None)
    if count is not None and count < 0:
        raise UsageError(f"-n {count} is negative", hint="pass a count of 0 or more")
    repo = GitRepo.open(find_repo_root(Path.cwd()) or Path.cwd())
    store = StateStore(repo.git_dir)
    shown = getattr(args, "branch", None) or repo.current_branch()
    if shown:  # other clones' and CI runners' syncs of it travel with the shared base
        from evalai_mirror import shared

        with store.lock():
            shared.load(shared.Link(repo, store, shown))
    entries = select(
        store.read_log(),
        branch=getattr(args, "branch", None),
        direction=getattr(args, "direction", None),
        count=count,
    )
    if getattr(args, "json", False):
        ui.out(json.dumps([e.to_json() for e in entries], indent=2, sort_keys=True))
        return 0
    if not entries:
        ui.out("no syncs recorded yet (push, pull, watch and resolve write this log)")
        return 0
    for entry in entries:
        for line in entry_lines(entry):
            ui.out(line)
    return 0

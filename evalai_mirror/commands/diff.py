"""`evalai-mirror diff [FIELD...]`: the differences between the working copy and EvalAI.

EvalAI's value is the old side, the working copy's the new one (what a push would send):
HTML fields as unified diffs (``--- evalai/<field>``, ``+++ local/<file>``), other fields as
``field: old -> new``.  A FIELD is a key (``title``, ``phases.dev.end_date``) or a prefix ending
at a dot (``phases.dev``).  Like ``git diff``, the exit status is 0 whatever the differences;
with ``--exit-code`` it is 1 when there are differences.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence

from evalai_mirror import settings as settings_mod
from evalai_mirror import ui
from evalai_mirror.errors import SyncError, UsageError
from evalai_mirror.merge import FieldResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "fields",
        nargs="*",
        metavar="FIELD",
        help="only these fields: a key such as title or phases.dev.end_date, or a prefix such "
        "as phases.dev (default: every field)",
    )
    parser.add_argument(
        "--exit-code",
        action="store_true",
        help="exit 1 when there are differences, 0 when there are none (as git diff)",
    )
    settings_mod.add_connection_arguments(parser)
    parser.epilog = "exit status: 0 (with --exit-code: 1 when something differs), 1 on error"


def matches(key: str, wanted: Sequence[str]) -> bool:
    return not wanted or any(key == w or key.startswith(w.rstrip(".") + ".") for w in wanted)


def _text(value: object) -> str:
    from evalai_mirror.commands.status import plain

    simple = plain(value)
    return json.dumps(value, ensure_ascii=False) if simple is None else simple


def text_diff(res: FieldResult, where: str) -> list[str]:
    """A unified diff of one HTML field, EvalAI's text as the old side."""
    old = res.remote if isinstance(res.remote, str) else ""
    new = res.local if isinstance(res.local, str) else ""
    return [
        line.rstrip("\n")
        for line in difflib.unified_diff(
            (old + "\n").splitlines(keepends=True) if old else [],
            (new + "\n").splitlines(keepends=True) if new else [],
            fromfile=f"evalai/{res.key}",
            tofile=f"local/{where}",
        )
    ]


def render(results: Sequence[FieldResult], locations: dict[str, str]) -> list[str]:
    """The lines `diff` prints for ``results`` (already filtered to those that differ)."""
    from evalai_mirror import challenge as model
    from evalai_mirror.commands.status import SHORT_STATE

    lines: list[str] = []
    for res in results:
        where = locations.get(res.key, res.key)
        state = SHORT_STATE[res.state]
        if model.is_text_key(res.key) and isinstance(res.local, str) and isinstance(
            res.remote, str
        ):
            lines.append(ui.colour(f"{res.key} ({state}, {where})", "bold"))
            lines.extend(ui.diff_line(line) for line in text_diff(res, where))
        else:
            lines.append(
                f"{res.key}: {_text(res.remote)} -> {_text(res.local)}  ({state}, {where})"
            )
    return lines


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import sync
    from evalai_mirror.commands.status import ordered

    wanted: list[str] = list(getattr(args, "fields", None) or [])
    ctx = sync.open_context(args)
    try:
        report = sync.status(ctx)
    finally:
        ctx.close()
    if report.remote_missing:
        raise SyncError(
            f"EvalAI has no challenge for {report.repository} yet, so everything differs",
            hint="create it with `evalai-mirror push`",
        )
    if report.comparison is None:
        raise SyncError(
            report.remote_error or "could not read EvalAI",
            hint="check the connection with `evalai-mirror doctor`, then try again",
        )
    cmp = report.comparison
    known = set(cmp.result.fields)
    unknown = [w for w in wanted if not any(matches(k, [w]) for k in known)]
    if unknown:
        raise UsageError(
            f"no field {unknown[0]!r}",
            hint="see the field names with `evalai-mirror status` (phase fields are "
            "phases.<codename>.<field>)",
        )
    locations = {
        key: f"{loc.path}:{loc.line}" if loc.line else loc.path
        for key, loc in cmp.local.locations.items()
    }
    differing = [
        res for res in ordered(cmp.differing(), cmp.local.phase_ids) if matches(res.key, wanted)
    ]
    for line in render(differing, locations):
        ui.out(line)
    structure = [s for s in report.structure_changes if not wanted]
    if structure:
        ui.out(
            "zip-only parts changed here (no field diff; a push uploads the whole challenge): "
            + ", ".join(structure)
        )
    if not differing and not structure and sys.stdout.isatty():
        ui.err("no differences between the working copy and EvalAI")
    return 1 if getattr(args, "exit_code", False) and (differing or structure) else 0

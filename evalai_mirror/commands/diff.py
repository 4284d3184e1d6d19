"""`evalai-mirror diff [FIELD...]`: the differences between the working copy and EvalAI.

EvalAI's value is the old side, the working copy's the new one (what a push would send):
HTML fields as unified diffs (``--- evalai/<field>``, ``+++ local/<file>``), other fields as
``field: old -> new``.  A FIELD is a key (``title``, ``phases.dev.end_date``) or a prefix ending
at a dot (``phases.dev``).  ``--json`` gives the same as data.  The exit status is status's:
0 no differences, 2 differences, 1 failure (EvalAI could not be read, unknown field).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from typing import Any

from evalai_mirror import settings as settings_mod
from evalai_mirror import ui
from evalai_mirror.commands.status import EXIT_DRIFT, EXIT_IN_SYNC
from evalai_mirror.errors import SyncError, UsageError
from evalai_mirror.merge import MISSING, FieldResult


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "fields",
        nargs="*",
        metavar="FIELD",
        help="only these fields: a key such as title or phases.dev.end_date, or a prefix such "
        "as phases.dev (default: every field)",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the differences as JSON (each field's key, state, both values, where it "
        "lives here and, for an HTML field, the unified diff)",
    )
    settings_mod.add_connection_arguments(parser)
    parser.epilog = "exit status (as status's): 0 no differences, 2 differences, 1 failure"


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


def as_json(
    results: Sequence[FieldResult], locations: dict[str, str], structure: Sequence[str]
) -> dict[str, Any]:
    """What ``diff --json`` prints for ``results`` (already filtered to those that differ)."""
    from evalai_mirror import challenge as model
    from evalai_mirror.commands.status import json_value

    fields = []
    for res in results:
        where = locations.get(res.key, res.key)
        entry: dict[str, Any] = {
            "key": res.key,
            "state": res.state.value,
            "where": where,
            "on_evalai": json_value(res.remote),
            "here": json_value(res.local),
            "absent_here": res.local is MISSING,
            "absent_on_evalai": res.remote is MISSING,
        }
        if model.is_text_key(res.key):
            entry["diff"] = text_diff(res, where)
        fields.append(entry)
    return {"fields": fields, "structure_changes": list(structure)}


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
        if getattr(args, "json", False):
            ui.out(json.dumps({"no_challenge_yet": True, "fields": [], "structure_changes": []}))
        ui.err(
            f"EvalAI has no challenge for {report.repository} yet, so everything differs: "
            "`evalai-mirror push` creates it"
        )
        return EXIT_DRIFT
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
    structure = [s for s in report.structure_changes if not wanted]
    code = EXIT_DRIFT if differing or structure else EXIT_IN_SYNC
    if getattr(args, "json", False):
        ui.out(json.dumps(as_json(differing, locations, structure), indent=2, sort_keys=True))
        return code
    for line in render(differing, locations):
        ui.out(line)
    if structure:
        ui.out(
            "zip-only parts changed here (no field diff; a push uploads the whole challenge): "
            + ", ".join(structure)
        )
    if not differing and not structure and sys.stdout.isatty():
        ui.err("no differences between the working copy and EvalAI")
    return code

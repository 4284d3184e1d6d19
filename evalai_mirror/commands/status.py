"""`evalai-mirror status`: field by field, what is in sync, changed here, changed on EvalAI or in
conflict, with the last sync in each direction.  Read-only: EvalAI and the working copy are
left alone; only this clone's copy of the shared base (refs/evalai-mirror/<branch>) is fetched.

Exit codes follow ``terraform plan -detailed-exitcode``: 0 everything in sync, 2 drift (something
to push, pull or resolve), 1 an error (EvalAI could not be read: then nothing is shown as deleted,
the field states are simply unknown).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from evalai_mirror import settings as settings_mod
from evalai_mirror import table, ui
from evalai_mirror.merge import MISSING, FieldResult, FieldState

if TYPE_CHECKING:
    from evalai_mirror import sync

EXIT_IN_SYNC = 0
EXIT_ERROR = 1
EXIT_DRIFT = 2

SHORT_STATE: dict[FieldState, str] = {
    FieldState.IN_SYNC: "in sync",
    FieldState.LOCAL: "changed here",
    FieldState.REMOTE: "changed on EvalAI",
    FieldState.BOTH_SAME: "both, same value",
    FieldState.MERGED: "merged",
    FieldState.CONFLICT: "conflict",
}
STATE_COLOUR: dict[FieldState, str] = {
    FieldState.IN_SYNC: "dim",
    FieldState.LOCAL: "green",
    FieldState.REMOTE: "blue",
    FieldState.BOTH_SAME: "green",
    FieldState.MERGED: "yellow",
    FieldState.CONFLICT: "red",
}
UNCOMMITTED_MARK = "*"
VALUE_WIDTH = 17  # the least a value column gets; a wider terminal gives it more
FIELD_WIDTH = 42
STATE_WIDTH = 18
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.add_argument(
        "--changed", action="store_true", help="list only the fields that are not in sync"
    )
    settings_mod.add_connection_arguments(parser)
    parser.epilog = "exit status: 0 in sync, 2 something to push, pull or resolve, 1 error"


# --------------------------------------------------------------------------- shared helpers


def ordered(results: Iterable[FieldResult], phase_order: Iterable[str] = ()) -> list[FieldResult]:
    """Challenge fields first (in the config's usual order), then each phase's fields."""
    from evalai_mirror import challenge as model

    order = list(dict.fromkeys(phase_order))

    def rank(res: FieldResult) -> tuple[int, int, int, str]:
        codename, name = model.split_key(res.key)
        if codename is None:
            pos = model.CHALLENGE_FIELDS.index(name) if name in model.CHALLENGE_FIELDS else 999
            return (0, 0, pos, res.key)
        if codename not in order:
            order.append(codename)
        pos = model.PHASE_FIELDS.index(name) if name in model.PHASE_FIELDS else 999
        return (1, order.index(codename), pos, res.key)

    return sorted(results, key=rank)


def plain(value: Any) -> str | None:
    """How every command shows an absent, empty, boolean or number value; None for text."""
    if value is MISSING:
        return "(absent)"
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if isinstance(value, str) else str(value)


def value_width(columns: int | None = None) -> int:
    """How wide each of the two value columns may be: an equal share of what the terminal
    (``COLUMNS``, else 80 when not a terminal) leaves after the field and state columns."""
    columns = columns or ui.columns()
    return max(VALUE_WIDTH, (columns - FIELD_WIDTH - STATE_WIDTH - 6) // 2)


def show(value: Any, *, is_text: bool = False, width: int = VALUE_WIDTH) -> str:
    """A value as one short line: text and HTML summarised, never printed whole."""
    simple = plain(value)
    if simple is not None:
        return simple
    if isinstance(value, str):
        lines = [line.strip() for line in value.splitlines() if line.strip()]
        if not lines:
            return '""'
        if DATE_RE.match(value):  # 2099-05-31T23:59:59Z -> 2099-05-31 23:59:59
            shown = value.replace("T", " ").rstrip("Z")
            return shown[:-3] + "Z" if shown.endswith(":00") else shown
        if len(lines) > 1:
            return f"{len(lines)} lines/{len(value)} chars"
        if is_text and len(value) > width:
            return f"{len(value)} chars"
        return lines[0]
    return str(value)


def json_value(value: Any) -> Any:
    return None if value is MISSING else value


def uncommitted_keys(report: sync.StatusReport) -> set[str]:
    """Keys whose working-copy value is not what HEAD commits (edited, not committed yet)."""
    head = report.committed
    if head is None:
        return set()
    return {
        res.key for res in report.rows
        if res.local is not MISSING and head.fields.get(res.key, MISSING) != res.local
    }


# --------------------------------------------------------------------------- the report


def report_json(report: sync.StatusReport, uncommitted: set[str], exit_code: int) -> dict[str, Any]:
    state = report.state
    phase_order = report.comparison.local.phase_ids if report.comparison else {}
    fields = [
        {
            "key": res.key,
            "state": res.state.value,
            "base": json_value(res.base),
            "local": json_value(res.local),
            "remote": json_value(res.remote),
            "absent_here": res.local is MISSING,
            "absent_on_evalai": res.remote is MISSING,
            "uncommitted": res.key in uncommitted,
        }
        for res in ordered(report.rows, phase_order)
    ]
    return {
        "branch": report.branch,
        "repository": report.repository,
        "branch_syncs": report.syncs,
        "challenge_pk": report.pk,
        "page_url": report.page_url or None,
        "last_push": state.last_push if state else None,
        "last_push_commit": state.last_push_commit if state else None,
        "last_pull": state.last_pull if state else None,
        "pending": state.pending if state else None,
        "error": report.remote_error if exit_code == EXIT_ERROR else None,
        "no_challenge_yet": report.remote_missing,
        "drift": exit_code == EXIT_DRIFT,
        "fields": fields,
        "structure_changes": report.structure_changes,
        "sent_one_way": [
            {"part": part, "what": what, "changed_here_since_last_push": changed}
            for part, what, changed in report.one_way
        ],
        "not_compared": report.not_compared,
        "behind": report.comparison.behind if report.comparison else [],
        "exit_code": exit_code,
    }


def exit_code_of(report: sync.StatusReport) -> int:
    if report.remote_missing:
        return EXIT_DRIFT
    if report.remote_error or report.comparison is None:
        return EXIT_ERROR
    pending = report.state.pending if report.state else None
    return EXIT_DRIFT if report.drift or pending else EXIT_IN_SYNC


def _header(report: sync.StatusReport) -> None:
    state = report.state
    target = f"EvalAI challenge {report.pk}" if report.pk else "EvalAI (no challenge yet)"
    ui.out(f"branch {report.branch} -> {target} for {report.repository}")
    if not report.syncs:
        ui.warn(
            f"branch {report.branch!r} is not a syncing branch: push and pull refuse it "
            "(see `branches:` in .evalai-mirror.yml)"
        )
    if report.page_url:
        ui.out(f"  page       {report.page_url}")
    push = state.last_push if state and state.last_push else "never"
    if state and state.last_push and state.last_push_commit:
        push += f" (commit {state.last_push_commit[:7]})"
    ui.out(f"  last push  {push}")
    ui.out(f"  last pull  {state.last_pull if state and state.last_pull else 'never'}")
    if state and state.pending:
        ui.out(
            f"  pending    {state.pending} did not reach EvalAI: `evalai-mirror push` sends it"
        )
    else:
        ui.out("  pending    none")


def _table(report: sync.StatusReport, uncommitted: set[str], changed_only: bool) -> None:
    from evalai_mirror import challenge as model

    assert report.comparison is not None
    rows: list[list[str]] = []
    states: list[FieldState | None] = []
    phase = None
    width = value_width()
    for res in ordered(report.rows, report.comparison.local.phase_ids):
        if changed_only and res.state is FieldState.IN_SYNC:
            continue
        codename, name = model.split_key(res.key)
        if codename is not None and codename != phase:
            phase = codename
            rows.append([f"phase {codename} (phases.{codename}.*)", "", "", ""])
            states.append(None)
        text = model.is_text_key(res.key)
        label = SHORT_STATE[res.state] + (UNCOMMITTED_MARK if res.key in uncommitted else "")
        here = show(res.local, is_text=text, width=width)
        there = (
            "(same)"
            if res.state is FieldState.IN_SYNC
            else show(res.remote, is_text=text, width=width)
        )
        rows.append([res.key if codename is None else f"  {name}", label, here, there])
        states.append(res.state)
    if not rows:
        return
    columns = [
        table.Column("FIELD", FIELD_WIDTH),
        table.Column("STATE", STATE_WIDTH),
        table.Column("HERE", width),
        table.Column("ON EVALAI", width),
    ]

    def paint(row: int, col: int, text: str) -> str:
        state = states[row] if row >= 0 else None
        if row < 0 or (state is None and col == 0):
            return ui.colour(text, "bold")
        if col == 1 and state is not None:
            return ui.colour(text, STATE_COLOUR[state])
        return text

    ui.out()
    for line in table.render(columns, rows, paint=paint):
        ui.out(line)


def _one_way(report: sync.StatusReport) -> None:
    if report.one_way:
        ui.out()
        ui.out(ui.colour("sent one way: EvalAI does not return these", "bold"))
        for _part, what, changed in report.one_way:
            said = {None: "not known (no push recorded from this clone)",
                    True: "changed here since the last push",
                    False: "unchanged since the last push"}[changed]
            ui.out(f"  {what}: {said}")
    if report.not_compared:
        groups = sorted({key.rsplit(".", 1)[-1] for key in report.not_compared})
        ui.out()
        ui.out(f"not compared by status ({len(report.not_compared)} values): EvalAI did not "
               "say which phase splits they belong to;")
        ui.out("  push compares them before any write that sets them:")
        line = " "
        for name in groups:
            if len(line) + len(name) + 2 > 78:
                ui.out(line.rstrip(","))
                line = " "
            line += f" {name},"
        ui.out(line.rstrip(","))


def _summary(report: sync.StatusReport, uncommitted: set[str]) -> None:
    counts = Counter(res.state for res in report.rows)
    _one_way(report)
    if report.structure_changes:
        ui.out()
        ui.out(
            "zip-only parts changed here (a push uploads the whole challenge): "
            + ", ".join(report.structure_changes)
        )
    ui.out()
    drifted = {s: n for s, n in counts.items() if s is not FieldState.IN_SYNC}
    if not drifted and not report.structure_changes:
        what = "every compared value is in sync" if report.not_compared else (
            "everything is in sync")
        ui.out(ui.colour(what, "green"))
        return
    parts = [f"{n} {SHORT_STATE[s]}" for s, n in sorted(drifted.items(), key=lambda i: i[0].value)]
    if parts:
        ui.out(f"{sum(drifted.values())} field(s) differ: " + ", ".join(parts))
    here = {r.key for r in report.rows if r.state in (FieldState.LOCAL, FieldState.BOTH_SAME)}
    if here - uncommitted or report.structure_changes:
        ui.out("  changed here: `evalai-mirror push` sends what is committed (or `git push` "
               "with the hooks)")
    if here & uncommitted:
        ui.out(f"  changed here{UNCOMMITTED_MARK}: commit, then `evalai-mirror push` (or "
               "`git push` with the hooks)")
    if uncommitted & {r.key for r in report.rows if r.state is not FieldState.IN_SYNC}:
        ui.out(f"  {UNCOMMITTED_MARK} edited in the working copy but not committed yet")
    if any(s in counts for s in (FieldState.REMOTE, FieldState.MERGED)):
        ui.out("  changed on EvalAI / merged: `evalai-mirror pull` writes them here")
    behind = report.comparison.behind if report.comparison else []
    if behind:
        ui.out(f"  {', '.join(behind)}: this copy still has the value from before another "
               "clone's push or pull (`git pull` brings its commit, when it was pushed)")
    if FieldState.CONFLICT in counts:
        ui.out("  conflict: see both sides with `evalai-mirror diff FIELD`, then settle it")
        ui.out("            with `evalai-mirror resolve FIELD --take local|remote`")


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import sync

    ctx = sync.open_context(args)
    try:
        report = sync.status(ctx)
        uncommitted = uncommitted_keys(report)
    finally:
        ctx.close()
    code = exit_code_of(report)
    if getattr(args, "json", False):
        ui.out(json.dumps(report_json(report, uncommitted, code), indent=2, sort_keys=True))
        return code
    _header(report)
    if report.remote_missing:
        ui.out()
        ui.out(
            f"EvalAI has no challenge for {report.repository} yet: "
            "`evalai-mirror push` creates it"
        )
        return code
    if report.comparison is None:
        ui.err(
            ui.colour("error: ", "red", sys.stderr)
            + f"{report.remote_error}; the state of each field is unknown (nothing is shown "
            "as deleted)"
        )
        return code
    _table(report, uncommitted, getattr(args, "changed", False))
    _summary(report, uncommitted)
    return code

"""``evalai-mirror adopt``: take over a repository that EvalAI-Starters' workflow has been
uploading, without losing an edit on either side.

Three steps, each of which finds nothing to do once done (re-running adopt changes nothing):

1. **The workflow.**  EvalAI-Starters' ``.github/workflows/*`` running
   ``challenge_processing_script.py`` uploads the whole challenge on every push, over any edit
   made on EvalAI.  adopt offers to replace it with evalai-mirror's push, pull-request and
   scheduled pull workflows (``--replace-workflow``; ``--keep-workflow`` leaves it).
2. **The token.**  A real token committed in ``github/host_config.json`` is on GitHub: adopt
   says what to do (it never prints the token and does not edit the file).
3. **The first base.**  The working copy is compared with the challenge EvalAI holds for the
   repository, every field; the fields that differ are listed and the host keeps, per field or
   for all, the repository's value (the next push sends it) or EvalAI's (written here); nothing
   is sent to EvalAI.  ``--keep``, ``--keep-repo FIELD``, ``--keep-evalai FIELD`` and
   ``--yes`` answer without questions (CI, scripts); ``--dry-run`` shows and changes nothing.

Exit status: 0 done (or nothing to do), 1 when something is left for the host (a field with no
side chosen, no confirmation) or on an error.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from evalai_mirror import ui
from evalai_mirror.errors import RefusedError, UsageError

if TYPE_CHECKING:
    from evalai_mirror.adoption import Side, Survey
    from evalai_mirror.sync import Context


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from evalai_mirror.settings import add_connection_arguments

    parser.add_argument(
        "--keep",
        choices=("repo", "evalai"),
        help="for every differing field not named by --keep-repo/--keep-evalai: repo keeps the "
        "repository's value (the next push sends it to EvalAI), evalai writes EvalAI's value "
        "into the working copy",
    )
    parser.add_argument(
        "--keep-repo",
        action="append",
        default=[],
        metavar="FIELD",
        help="keep the repository's value of FIELD (repeatable; names as in `evalai-mirror status`)",
    )
    parser.add_argument(
        "--keep-evalai",
        action="append",
        default=[],
        metavar="FIELD",
        help="keep EvalAI's value of FIELD, written into the working copy (repeatable)",
    )
    parser.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="record the base without asking (the differing fields must all have a side)",
    )
    workflow = parser.add_mutually_exclusive_group()
    workflow.add_argument(
        "--replace-workflow",
        action="store_true",
        help="replace EvalAI-Starters' upload workflow with evalai-mirror's workflows "
        "without asking",
    )
    workflow.add_argument(
        "--keep-workflow",
        action="store_true",
        help="leave EvalAI-Starters' workflow as it is, without asking",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="show what adopt finds and would do; change nothing"
    )
    add_connection_arguments(parser)


# --------------------------------------------------------------------------- the choices


def _choices(args: argparse.Namespace, found: Survey) -> dict[str, Side]:
    """The sides the command line chose: per field first, then --keep for the rest."""
    keys = {r.key for r in found.differing}
    chosen: dict[str, Side] = {}
    for side, names in (("repo", args.keep_repo), ("evalai", args.keep_evalai)):
        for name in names:
            if name in chosen and chosen[name] != side:
                raise UsageError(
                    f"{name} is named by both --keep-repo and --keep-evalai", hint="keep one"
                )
            if name not in keys:
                shown = ", ".join(sorted(keys)) or "none"
                raise UsageError(
                    f"{name} is not a field that differs (those that do: {shown})",
                    hint="name a field the comparison lists",
                )
            chosen[name] = "repo" if side == "repo" else "evalai"
    if args.keep:
        for key in keys - set(chosen):
            chosen[key] = "repo" if args.keep == "repo" else "evalai"
    return chosen


def _ask_sides(found: Survey, chosen: dict[str, Side]) -> None:
    """Ask the host for each differing field no option settled."""
    answers = {
        "r": "keep the repository's",
        "e": "keep EvalAI's",
        "R": "the repository's for this and every field left",
        "E": "EvalAI's for this and every field left",
    }
    rest: Side | None = None
    for res in found.differing:
        if res.key in chosen:
            continue
        if rest is None:
            reply = ui.ask(f"  {res.key}: keep which side?", answers, "r")
            if reply in ("R", "E"):
                rest = "repo" if reply == "R" else "evalai"
            chosen[res.key] = "repo" if reply in ("r", "R") else "evalai"
        else:
            chosen[res.key] = rest


# --------------------------------------------------------------------------- the steps


def _workflow_step(ctx: Context, args: argparse.Namespace, asking: bool) -> bool:
    """Offer to replace EvalAI-Starters' workflow; whether something is left for the host."""
    from evalai_mirror.adoption import plan_workflows, replace_workflows

    root = ctx.repo.root
    plan = plan_workflows(root, ctx.branch, ctx.settings.repo.branches)
    if not plan.remove:
        ui.out("workflow: no EvalAI-Starters upload workflow (nothing to replace)")
        return False
    listed = ", ".join(plan.remove)
    ui.out(
        f"workflow: {listed} runs EvalAI-Starters' challenge_processing_script.py, which "
        "uploads the whole challenge on each push, over edits made on EvalAI"
    )
    new = ", ".join(sorted(plan.write)) or "none (they are there already)"
    if plan.kept:
        ui.out(f"  {', '.join(plan.kept)} exists with other content: left as it is")
    if args.dry_run:
        ui.out(f"  would remove {listed} and write {new}")
        return False
    if args.keep_workflow:
        replace = False
    elif args.replace_workflow:
        replace = True
    elif asking:
        replace = ui.ask(
            f"  replace it with evalai-mirror's workflows ({new})?", {"y": "yes", "n": "no"}, "y"
        ) == "y"
    else:
        ui.out("  pass --replace-workflow to replace it with evalai-mirror's workflows "
               "(--keep-workflow to keep it)")
        return True
    if not replace:
        ui.warn(
            f"{listed} was kept: it still uploads the whole challenge on each push, which "
            "overwrites edits made on EvalAI; remove it once the evalai-mirror workflows or "
            "hooks send your pushes"
        )
        return False
    replace_workflows(root, plan)
    ui.out(f"  removed {listed}; wrote {new}")
    ui.out("  commit them: git add -A .github && "
           "git commit -m 'Sync with evalai-mirror instead of EvalAI-Starters'")
    host, team = ctx.settings.host_url.value, ctx.settings.team_pk.value
    ui.out("  on GitHub (Settings -> Secrets and variables -> Actions) set the secret "
           f"EVALAI_AUTH_TOKEN and the variables EVALAI_HOST_URL ({host or 'your EvalAI'}) and "
           f"EVALAI_TEAM_PK ({team or 'your host team id'}); the new workflows read them")
    return False


def _token_step(ctx: Context) -> None:
    """What to do about a real token in a tracked file (never the token itself)."""
    from evalai_mirror.leaks import leak_warning, tracked_token_files

    leaks = tracked_token_files(ctx.settings, ctx.repo)
    if not leaks:
        ui.out("token: no file git tracks holds a real EvalAI token")
        return
    for rel in leaks:
        ui.out(f"token: {leak_warning(rel)}")
    ui.out("  for the workflows, add the new token on GitHub as the secret EVALAI_AUTH_TOKEN "
           "(Settings -> Secrets and variables -> Actions), never in a file")


def _show_survey(found: Survey, repository: str) -> None:
    from evalai_mirror.commands.pull import show_value

    assert found.pk is not None
    ui.out(f"EvalAI challenge {found.pk} is the one EvalAI holds for {repository}: "
           f"{found.page_url}")
    ui.out(f"  {found.agreed} field{'s' if found.agreed != 1 else ''} agree")
    if found.differing:
        ui.out(f"  {len(found.differing)} differ:")
        width = max(len(r.key) for r in found.differing)
        for res in found.differing:
            ui.out(f"    {res.key:<{width}}  here {show_value(res.local)}; "
                   f"EvalAI {show_value(res.remote)}")
    if found.one_sided:
        ui.out(f"  on one side only (the first push's zip upload settles them): "
               f"{', '.join(found.one_sided)}")
    ui.out("  not compared (EvalAI never returns them): the evaluation script, annotation "
           "files and the logo; the first push uploads the whole challenge once")


def _base_step(ctx: Context, args: argparse.Namespace, asking: bool) -> bool:
    """Compare and record the first base; whether something is left for the host."""
    from evalai_mirror import adoption, shared

    state = ctx.load_state()  # the shared base fetched first: another clone may have adopted
    found = adoption.survey(ctx, state)
    if found.adopted:
        since = (state.last_pull or state.last_push or "before") if state else "before"
        where = f"EvalAI challenge {found.pk}" if found.pk else "EvalAI"
        ui.out(f"base: branch {ctx.branch} already syncs with {where} (base recorded, last "
               f"sync {since}); nothing to record. `evalai-mirror status` shows both sides")
        return False
    if found.pk is None:
        ui.out(f"base: EvalAI holds no challenge for {ctx.repository} yet, so there is "
               "nothing to compare; the first `evalai-mirror push` (or the push workflow) "
               "creates it")
        return False
    _show_survey(found, ctx.repository)
    chosen = _choices(args, found)
    if args.dry_run:
        ui.out("dry run: no base recorded, nothing written")
        return False
    if asking and adoption.unsettled(found, chosen):
        ui.out("  for each, keep the repository's value (the next push sends it to EvalAI) "
               "or EvalAI's (written into the working copy):")
        _ask_sides(found, chosen)
    left = adoption.unsettled(found, chosen)
    if left:
        ui.out(f"  no side chosen for {', '.join(left)}: nothing was recorded. Choose with "
               "--keep repo|evalai, or per field with --keep-repo FIELD / --keep-evalai FIELD")
        return True
    if not args.yes:
        if not asking:
            ui.out("  pass --yes to record this base (nothing was recorded)")
            return True
        if ui.ask("  record this base?", {"y": "yes", "n": "no"}, "y") != "y":
            ui.out("  nothing was recorded")
            return True
    with ctx.store.lock():
        again = shared.load(ctx.link, refresh=True)
        if again is not None and again.base:
            raise RefusedError(
                f"another clone recorded a base for {ctx.branch} meanwhile; nothing was "
                "recorded",
                hint="run `evalai-mirror status` to see where the two sides stand",
            )
        done = adoption.record(ctx, found, chosen)
        ctx.publish_state("adopt")  # refs/evalai-mirror/<branch>: every clone starts from it
    ui.out(f"base: recorded {done.base_fields} fields as agreed with EvalAI challenge {done.pk}")
    for key in sorted(done.written):
        ui.out(f"  kept EvalAI's {key}")
    if done.files:
        ui.out(f"  wrote {', '.join(done.files)}: commit it "
               "(git commit -am \"Take EvalAI's values\")")
    if done.kept_repo:
        ui.out(f"  kept the repository's {', '.join(done.kept_repo)}: the next push sends it")
    for key, why in sorted(done.held.items()):
        ui.warn(f"{key} was not written ({why}); settle it with `evalai-mirror resolve {key}`")
    return False


def run(args: argparse.Namespace) -> int:
    from evalai_mirror import sync

    if args.yes and args.dry_run:
        raise UsageError("--dry-run records nothing, so --yes has nothing to confirm",
                         hint="drop one")
    asking = ui.interactive() and not args.dry_run and not os.environ.get("CI")
    ctx = sync.open_context(args, warn_leaks=False)  # the token step says it, once
    try:
        ctx.require_sync_branch()
        left = _workflow_step(ctx, args, asking)
        _token_step(ctx)
        left = _base_step(ctx, args, asking) or left
    finally:
        ctx.close()
    return 1 if left else 0

"""``evalai-mirror push``: send a commit's challenge to EvalAI, field by field.

The challenge is read from a commit (HEAD by default), never from the work tree, so uncommitted
and untracked files never reach EvalAI (``--worktree`` is the exception ``watch --push-on-save``
uses, and says so).  The three-way work is :func:`evalai_mirror.syncpush.push`; this module picks
what to push (a revision, or the refs git or the pre-commit framework hand a hook), decides
what a hook may let through, and prints one line per request that changes EvalAI (in a hook,
one line in all, so that ``git push``'s output stays short).  Once EvalAI has answered, the base
the push moved is shared (``refs/evalai-mirror/<branch>``) by ``evalai-mirror share`` left
running in the background, except on a CI runner (see :mod:`evalai_mirror.detach`).

In a hook (``--hook pre-push`` / ``--hook post-commit``):

* a branch that does not sync, a branch deletion or a tag is skipped quietly (exit 0);
* missing or rejected credentials and an unreachable EvalAI are warnings (exit 0), and an
  unreachable EvalAI leaves the push pending for the next push or ``watch``; ``--strict``
  makes them failures;
* an invalid configuration, a refusal (EvalAI-side edits not pulled yet) or an error EvalAI
  answers with is a failure (exit 1), which stops a ``git push``; after a commit it can only
  be reported.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from evalai_mirror import ui
from evalai_mirror.errors import (
    AuthError,
    GitError,
    MirrorError,
    SettingsError,
    SyncError,
    ThrottledError,
    UnreachableError,
    UsageError,
)
from evalai_mirror.records import record

if TYPE_CHECKING:
    from evalai_mirror.sync import Context
    from evalai_mirror.syncpush import PushReport

PRE_PUSH = "pre-push"
POST_COMMIT = "post-commit"
HOOKS = (PRE_PUSH, POST_COMMIT)
HEADS = "refs/heads/"

# Set by the pre-commit framework for pre-push hooks (pre_commit/commands/run.py).
PC_FLAG = "PRE_COMMIT"
PC_TO_REF = "PRE_COMMIT_TO_REF"
PC_LOCAL_BRANCH = "PRE_COMMIT_LOCAL_BRANCH"
PC_REMOTE_BRANCH = "PRE_COMMIT_REMOTE_BRANCH"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Once EvalAI has answered, the base this push moved is shared on the git remote "
        "(refs/evalai-mirror/<branch>) by `evalai-mirror share`, left running in the "
        "background (its output in .git/evalai-mirror/share.log); on a CI runner (CI set) or "
        "with EVALAI_MIRROR_FOREGROUND=1, before push returns."
    )
    from evalai_mirror.settings import add_connection_arguments

    parser.add_argument(
        "rev",
        nargs="*",
        metavar="REV",
        help="the commit to push (default: HEAD, or the tip of --branch); with --hook "
        "pre-push, the remote name and URL git passes",
    )
    parser.add_argument(
        "--branch",
        metavar="B",
        help="the branch whose sync state and challenge to use (default: the current branch)",
    )
    parser.add_argument(
        "--hook",
        choices=HOOKS,
        help="run as the git hook of that name: read the pushed refs (git's stdin or the "
        "pre-commit framework's PRE_COMMIT_* variables); skip branches that do not sync; "
        "warn instead of failing when EvalAI cannot be reached",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="send even if EvalAI changed fields this commit does not carry (overwrites them)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be sent and send nothing"
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="print only warnings and errors (no report, no progress of a long zip upload)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="in a hook, fail (stop the git push) when EvalAI cannot be reached or no "
        "credentials are set, instead of warning",
    )
    parser.add_argument(
        "--worktree",
        action="store_true",
        help="push the working copy instead of a commit (uncommitted edits included)",
    )
    add_connection_arguments(parser)


# --------------------------------------------------------------------------- what to push


@record(frozen=True)
class Target:
    """One branch to push and the revision to read the challenge from."""

    branch: str
    rev: str


def _is_zero(sha: str) -> bool:
    return bool(sha) and set(sha) == {"0"}


def _branch_of(ref: str) -> str | None:
    return ref[len(HEADS) :] if ref.startswith(HEADS) and len(ref) > len(HEADS) else None


def parse_pre_push(text: str) -> list[Target]:
    """The branches a ``git push`` updates, from the pre-push hook's stdin lines
    ``<local ref> <local sha> <remote ref> <remote sha>``.  Deletions and tags are left out;
    the branch is the local one (the remote one when the local ref is not a branch, e.g.
    ``git push origin HEAD:challenge``)."""
    targets: list[Target] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        local_ref, local_sha, remote_ref, _remote_sha = parts
        if _is_zero(local_sha):
            continue  # a deletion: nothing to send
        branch = _branch_of(local_ref) or _branch_of(remote_ref)
        if branch is None:
            continue  # a tag or another kind of ref
        targets.append(Target(branch, local_sha))
    return targets


def pre_commit_targets(env: Mapping[str, str]) -> list[Target] | None:
    """The branch the pre-commit framework's pre-push stage is running for, from its
    ``PRE_COMMIT_LOCAL_BRANCH`` / ``PRE_COMMIT_TO_REF`` (``PRE_COMMIT_REMOTE_BRANCH`` when the
    local ref is not a branch); None when those are not set (e.g. ``pre-commit run`` by hand).
    On a first push of a whole history pre-commit sets no ``TO_REF``; the local ref is used."""
    local = env.get(PC_LOCAL_BRANCH, "").strip()
    remote = env.get(PC_REMOTE_BRANCH, "").strip()
    to_ref = env.get(PC_TO_REF, "").strip()
    if not local and not remote:
        return None
    branch = _branch_of(local) or _branch_of(remote)
    if branch is None:
        return []
    rev = to_ref or local
    if _is_zero(rev):
        return []
    return [Target(branch, rev)]


def _read_stdin() -> str:
    stream = sys.stdin
    try:
        if stream is None or stream.isatty():
            return ""
        return stream.read()
    except (OSError, ValueError):  # closed, or not readable (e.g. under a test runner)
        return ""


def hook_targets(hook: str, current_branch: str | None, env: Mapping[str, str]) -> list[Target]:
    """What a hook run pushes: the refs git (or pre-commit) names for pre-push, the current
    branch's new HEAD for post-commit (nothing on a detached HEAD)."""
    if hook == POST_COMMIT:
        return [Target(current_branch, "HEAD")] if current_branch else []
    if env.get(PC_FLAG) == "1":
        found = pre_commit_targets(env)
        if found is not None:
            return found
        return [Target(current_branch, "HEAD")] if current_branch else []
    return parse_pre_push(_read_stdin())


# --------------------------------------------------------------------------- output


def _short(sha: str | None) -> str:
    return sha[:7] if sha else "the working copy"


def _listed(names: list[str], most: int = 6) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _show_in_hook(ctx: Context, report: PushReport) -> None:
    """A hook's report: one line (the pre-commit framework shows it with ``verbose: true``,
    git shows it in ``git push``'s output), plus a warning when --force overwrote something."""
    what = f"commit {_short(report.commit)}"
    stats = ctx.client.stats
    figures = f"{stats.requests} request{'s' if stats.requests != 1 else ''}, " + (
        f"{stats.bytes_sent} bytes sent"
    )
    sent = "would send" if report.dry_run else "sent"
    if report.action == "nothing":
        ui.out(f"{ctx.branch} -> EvalAI challenge {report.pk}: nothing to send; EvalAI already "
               f"has {what}")
    elif report.action == "created":
        if report.dry_run:
            ui.out(f"{ctx.branch} -> EvalAI: would create the challenge from {what} by zip "
                   f"({report.reason})")
        else:
            ui.out(f"{ctx.branch} -> EvalAI: created challenge {report.pk}: {report.page_url} "
                   f"(from {what} by zip; {figures})")
    else:
        how = "PATCH" if report.action == "patched" else f"zip ({report.reason})"
        ui.out(f"{ctx.branch} -> EvalAI challenge {report.pk}: {sent} {what} by {how}: "
               f"{_listed(report.fields) or 'the challenge'} ({figures})")
    if report.behind:
        ui.warn(_left_alone(report))
    if report.forced_over:
        verb = "would overwrite" if report.dry_run else "overwrote"
        ui.warn(f"--force {verb} EvalAI-side edits of {', '.join(report.forced_over)}")


def _left_alone(report: PushReport) -> str:
    return (f"left alone: {', '.join(report.behind)} (this commit has the value from before "
            "another clone's push or pull; EvalAI's stays: `git pull` brings it)")


def _show(ctx: Context, report: PushReport, *, worktree: bool) -> None:
    what = "the working copy (uncommitted edits included)" if worktree else (
        f"commit {_short(report.commit)}"
    )
    prefix = "would send" if report.dry_run else "sent"
    head = f"{ctx.branch} -> EvalAI challenge {report.pk}" if report.pk else (
        f"{ctx.branch} -> EvalAI ({ctx.repository})"
    )
    if report.action == "nothing":
        ui.out(f"{head}: nothing to send; EvalAI already has {what}")
    else:
        path = "PATCH" if report.action == "patched" else "zip"
        verb = "dry run, " if report.dry_run else ""
        ui.out(f"{head}: {verb}pushing {what} by {path}: {report.reason}")
        for line in report.requests:
            ui.out(f"  {prefix}: {line}")
        if report.action != "created" and report.fields:
            ui.out(f"  fields: {', '.join(report.fields)}")
    if report.behind:
        ui.out(f"  {_left_alone(report)}")
    if report.forced_over:
        verb = "would overwrite" if report.dry_run else "overwrote"
        ui.warn(f"--force {verb} EvalAI-side edits of {', '.join(report.forced_over)}")
    if report.action == "created" and not report.dry_run:
        ui.out(f"  created challenge {report.pk}: {report.page_url}")
    stats = ctx.client.stats
    ui.out(
        f"  {stats.requests} request{'s' if stats.requests != 1 else ''}, "
        f"{stats.bytes_sent} bytes sent, {stats.bytes_received} bytes received"
    )


# --------------------------------------------------------------------------- running


class _Soft(Exception):
    """A hook failure that warns and lets git go on (unless --strict)."""

    def __init__(self, error: MirrorError, pending: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.pending = pending


def _push_one(args: argparse.Namespace, target: Target, hook: str | None) -> None:
    from evalai_mirror import sync, syncpush

    ctx = sync.open_context(args, branch=target.branch)
    try:
        if not ctx.branch_syncs():
            if hook:
                return  # quietly: only challenge branches sync
            ctx.require_sync_branch()
        remote = args.rev[0] if args.rev else os.environ.get("PRE_COMMIT_REMOTE_NAME")
        if hook == PRE_PUSH and remote:
            ctx.use_remote(remote)  # share the base where git pushes the branch
        commit = None if args.worktree else ctx.repo.resolve(target.rev)
        before = ctx.store.load(ctx.branch)
        if before is not None and before.pending and not args.dry_run:
            since = "a working-copy push" if before.pending == "working copy" else (
                f"commit {_short(before.pending)}"
            )
            ui.out(f"{ctx.branch}: EvalAI missed an earlier push (pending since {since}); "
                   "this push brings it up to date")
        try:
            report = syncpush.push(
                ctx,
                commit or "HEAD",
                force=args.force,
                dry_run=args.dry_run,
                from_worktree=args.worktree,
                command=f"push --hook {hook}" if hook else "push",
                share_later=True,  # EvalAI has answered: the person (or git) need not wait
            )
        except (UnreachableError, ThrottledError) as exc:
            if not args.dry_run:
                syncpush.mark_pending(ctx, commit)
            raise _Soft(exc, pending=not args.dry_run) from exc
        except (AuthError, SettingsError) as exc:
            missing = not (ctx.settings.token.is_set and ctx.settings.team_pk.is_set)
            if hook and (isinstance(exc, AuthError) or missing):
                raise _Soft(exc, pending=False) from exc
            raise
        if args.quiet:
            pass
        elif hook:
            _show_in_hook(ctx, report)
        else:
            _show(ctx, report, worktree=args.worktree)
    finally:
        ctx.close()


def _targets(args: argparse.Namespace) -> list[Target]:
    from evalai_mirror.git import GitRepo

    if args.hook:
        if args.worktree:
            raise UsageError("--worktree cannot be used with --hook", hint="drop one of them")
        try:
            current = GitRepo.open(".").current_branch()
        except GitError:
            current = None
        return hook_targets(args.hook, current, os.environ)
    if len(args.rev) > 1:
        raise UsageError(
            f"push takes one revision, got {len(args.rev)}", hint="e.g. evalai-mirror push HEAD~1"
        )
    if args.worktree and args.rev:
        raise UsageError("--worktree pushes the working copy, not a revision", hint="drop REV")
    rev = args.rev[0] if args.rev else (args.branch or "HEAD")
    branch = args.branch
    if branch is None:
        branch = GitRepo.open(".").current_branch()
        if branch is None:
            raise SyncError(
                "HEAD is detached, so there is no branch to sync",
                hint="check out your challenge branch (e.g. `git switch challenge`) or pass "
                "--branch",
            )
    return [Target(branch, rev)]


def _what_was_sent(error: MirrorError) -> str:
    """"not sent to EvalAI", unless part of the push reached it (the error then lists what)."""
    partial = getattr(error, "partial", None)
    if partial is not None and (partial.sent or partial.unsure):
        return "only partly sent to EvalAI"
    return "not sent to EvalAI"


def run(args: argparse.Namespace) -> int:
    hook: str | None = args.hook
    status = 0
    for target in _targets(args):
        try:
            _push_one(args, target, hook)
        except _Soft as soft:
            if args.strict or not hook:
                if soft.pending:
                    ui.err(f"{target.branch}: kept as pending; the next push or watch sends it")
                raise soft.error from None
            ui.warn(f"{target.branch}: {_what_was_sent(soft.error)}: {soft.error}")
            if soft.pending:
                ui.warn(
                    f"{target.branch}: kept as pending; the next push (or `evalai-mirror watch`) "
                    "sends it. git goes on."
                )
            else:
                ui.warn("git goes on; push again with `evalai-mirror push` once that is fixed")
        except MirrorError as exc:
            if hook is None:
                raise
            ui.err(ui.colour("error: ", "red", sys.stderr) + f"{target.branch}: {exc}")
            if hook == PRE_PUSH:
                ui.err("the git push was stopped (fix the above, or skip EvalAI once with "
                       "`git push --no-verify`)")
            else:
                ui.err(f"the commit was made but {_what_was_sent(exc)}; fix the above and "
                       "run `evalai-mirror push`")
            status = 1
    return status

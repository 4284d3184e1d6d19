"""Pull and resolve, on :mod:`evalai_mirror.sync`'s engine: EvalAI's values into the working
copy.

A pull writes each value EvalAI changed into the file it lives in (surgically, through
:mod:`evalai_mirror.writeback`), replacing a file only while it still holds what the merge read
(a save that lands meanwhile is merged again, never overwritten), and moves the base to EvalAI's
value for every field that is not in conflict.  ``pull --commit`` commits what it wrote.
``resolve`` settles a conflict by taking one side.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evalai_mirror import challenge as model
from evalai_mirror import fsutil
from evalai_mirror.errors import GitError, RefusedError, SyncError
from evalai_mirror.fetch import Remote
from evalai_mirror.merge import MISSING, FieldResult, FieldState, same
from evalai_mirror.records import field, record
from evalai_mirror.source import FileSource, ReadOnce
from evalai_mirror.state import BranchState, move_base, now_iso
from evalai_mirror.sync import (
    Comparison,
    Context,
    Prefer,
    _known,
    _log,
    behind,
    check_claim,
    compare,
    read_evalai,
    read_source,
    require_pk,
    settle_in_flight,
    worktree,
)
from evalai_mirror.writeback import plan_local_changes


@record
class PullReport:
    pk: int
    written: dict[str, Any] = field(default_factory=dict)  # key -> value written here
    files: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # text fields merged from both sides
    kept_local: list[str] = field(default_factory=list)  # changed here; push will send them
    conflicts: list[FieldResult] = field(default_factory=list)
    structural: list[str] = field(default_factory=list)  # EvalAI-side changes no file can take
    held: dict[str, str] = field(default_factory=dict)  # key -> why not written (a shared file)
    diff: str = ""
    commit: str | None = None
    pushed: bool = False
    no_base: bool = False
    dry_run: bool = False


def commit_message(keys: Iterable[str]) -> str:
    return "evalai_bot: Update " + ", ".join(sorted(keys))


def unified_diff(path: str, old: bytes | None, new: bytes) -> str:
    old_text = (old or b"").decode("utf-8", "replace").splitlines(keepends=True)
    new_text = new.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(
        difflib.unified_diff(old_text, new_text, fromfile=f"a/{path}", tofile=f"b/{path}")
    )


MAX_REMERGES = 20  # saves in a row that land while pull writes the same file


def _plan_pull(
    pk: int, cmp: Comparison, local: model.LocalChallenge, source: FileSource, *, dry_run: bool
) -> tuple[PullReport, dict[str, bytes]]:
    """What a pull does with one merge: its report, and each file's new content."""
    report = PullReport(pk=pk, no_base=cmp.base is None, dry_run=dry_run)
    writes: dict[str, Any] = {}
    for res in cmp.result.fields.values():
        if res.is_conflict:
            report.conflicts.append(res)
        elif res.state is FieldState.LOCAL:
            report.kept_local.append(res.key)
        if res.is_conflict or same(res.value, res.local):
            continue
        if res.value is MISSING or res.local is MISSING:
            report.structural.append(res.key)
            continue
        writes[res.key] = res.value
        if res.state is FieldState.MERGED:
            report.merged.append(res.key)
    planned = plan_local_changes(local, source, writes)
    report.held = dict(planned.held)
    report.written = {k: v for k, v in writes.items() if k not in planned.held}
    report.files = sorted(planned.files)
    return report, planned.files


def remove_stale_temps(ctx: Context, local: model.LocalChallenge) -> None:
    """Remove the temporary files a pull or resolve killed mid-write left next to the files
    they write (call it under the state lock: no other write of ours is under way)."""
    for path in {ctx.config_path} | {where.path for where in local.locations.values()}:
        fsutil.remove_stale_temps(ctx.repo.root / path)


def write_unless_saved(root: Path, files: Mapping[str, bytes], read: ReadOnce) -> set[str]:
    """Replace each file with its new content while it still holds what ``read`` read; the
    files someone saved since (left as they are)."""
    saved = set()
    for path, data in sorted(files.items()):
        if not fsutil.replace_if_unchanged(root / path, data, read.read(path)):
            saved.add(path)
    return saved


def pull(
    ctx: Context,
    *,
    prefer: Prefer | None = None,
    dry_run: bool = False,
    commit: bool = False,
    git_push: bool = False,
    command: str = "pull",
    fetched: Remote | None = None,
) -> PullReport:
    """Bring EvalAI-side edits into the working copy, three ways against the base.

    ``fetched`` is EvalAI's side when the caller has just read it (watch polls once and
    pulls only when it changed), so that a pull costs no second pair of requests."""
    source = worktree(ctx)
    first = read_source(source, ctx.config_path)  # a broken config stops us before EvalAI
    with ctx.store.lock():
        remove_stale_temps(ctx, first)
        state = ctx.load_state()
        pk = require_pk(
            ctx,
            state,
            hint="create it with `evalai-mirror push` (or `git push` with the hooks installed)",
        )
        check_claim(ctx, pk)
        if fetched is not None and fetched.pk == pk:
            remote = fetched
        else:
            remote = read_evalai(ctx, pk)
        # Read the working copy as late as possible: an edit saved while we waited for the
        # lock or for EvalAI is then a local change (or a conflict), never overwritten.  Each
        # file is replaced only while it still holds what the merge read; a file saved
        # meanwhile is merged again, with the saved text as the local side.
        done_files: set[str] = set()
        done_writes: dict[str, Any] = {}
        for attempt in range(1, MAX_REMERGES + 1):
            read = ReadOnce(source)
            local = read_source(read, ctx.config_path)
            cmp = compare(state, local, remote, prefer=prefer,
                          behind=behind(ctx, state, local, None))
            report, files = _plan_pull(pk, cmp, local, read, dry_run=dry_run)
            if dry_run:
                report.diff = "".join(
                    unified_diff(path, read.read(path), data)
                    for path, data in sorted(files.items())
                )
                return report
            if commit and files:
                dirty = ctx.repo.dirty_paths(files)
                if dirty:
                    raise RefusedError(
                        f"{', '.join(sorted(dirty))} has uncommitted edits, so --commit would "
                        "mix them into the mirror commit; nothing was written",
                        hint="commit or stash those edits first, or pull without --commit",
                    )
            saved = write_unless_saved(ctx.repo.root, files, read)
            done_files |= set(files) - saved
            done_writes.update(
                {k: v for k, v in report.written.items()
                 if local.locations[k].path not in saved}
            )
            if not saved:
                break
            if attempt == MAX_REMERGES:
                raise SyncError(
                    f"{', '.join(sorted(saved))} kept changing while pull wrote "
                    f"{'it' if len(saved) == 1 else 'them'} ({attempt} times); "
                    "EvalAI's values for it were not written",
                    hint="save less often for a moment, then run pull again",
                )
        report.written = done_writes
        report.files = sorted(done_files)
        writes = done_writes
        # The base moves to EvalAI's value for every field that is settled here.
        new_state = state or BranchState()
        new_state.base = dict(cmp.base or {})
        me = ctx.store.clone_id()
        for res in cmp.result.fields.values():
            if res.is_conflict or res.key in report.structural or res.key in report.held:
                continue
            if res.remote is MISSING:
                new_state.base.pop(res.key, None)
            else:
                move_base(new_state, res.key, res.remote, commit=None, by=me)
        new_state.challenge_pk = pk
        new_state.repository = ctx.repository
        settle_in_flight(new_state, remote.snapshot)
        new_state.last_pull = now_iso()
        ctx.store.save(ctx.branch, new_state)
        if writes:
            _log(ctx, "pull", pk, writes, None, command,
                 f"wrote {', '.join(report.files)}")
        if not (commit and done_files):  # else shared once, with the commit that carries it
            ctx.publish_state(command)
    # Outside the lock: a commit or git push runs the hooks, which run push.
    if commit and done_files:
        report.commit = ctx.repo.commit_paths(sorted(done_files), commit_message(writes))
        _carried(ctx, writes, report.commit, command)
        if git_push:
            try:
                ctx.repo.push("origin", ctx.branch)
            except GitError as exc:
                raise GitError(
                    f"pulled and committed {report.commit[:7]} ({commit_message(writes)}), "
                    f"but {exc.message}",
                    hint=f"{exc.hint}; then `git push origin {ctx.branch}` sends that commit",
                ) from exc
            report.pushed = True
    return report


def _carried(ctx: Context, keys: Iterable[str], commit: str, command: str) -> None:
    """Record that ``commit`` carries the values a pull moved the base of ``keys`` to: a
    clone whose history holds it and still has the older value has changed it back."""
    with ctx.store.lock():
        state = ctx.store.load(ctx.branch)
        if state is None:
            return
        for key in keys:
            move = state.moves.get(key)
            if move is not None and move.get("commit") is None:
                state.moves[key] = {**move, "commit": commit}
        ctx.store.save(ctx.branch, state)
    ctx.publish_state(f"{command} --commit")


# --------------------------------------------------------------------------- resolve


@record
class ResolveReport:
    taken: dict[str, str] = field(default_factory=dict)  # key -> "local" | "remote"
    files: list[str] = field(default_factory=list)


def resolve(ctx: Context, keys: Iterable[str] | None, take: Prefer) -> ResolveReport:
    """Settle conflicts (or named differing fields): ``remote`` writes EvalAI's value here;
    ``local`` records EvalAI's value as seen so the next push sends the local one."""
    source = worktree(ctx)
    first = read_source(source, ctx.config_path)  # a broken config stops us before EvalAI
    report = ResolveReport()
    with ctx.store.lock():
        remove_stale_temps(ctx, first)
        state = ctx.load_state()
        pk = require_pk(
            ctx, state, why="; there is nothing to resolve", hint="run `evalai-mirror push` first"
        )
        check_claim(ctx, pk)
        remote = read_evalai(ctx, pk)
        read = ReadOnce(source)
        local = read_source(read, ctx.config_path)  # as late as possible, as in pull
        cmp = compare(state, local, remote, behind=behind(ctx, state, local, None))
        by_key = cmp.result.fields
        if keys is None:
            chosen = [r for r in by_key.values() if r.is_conflict]
            if not chosen:
                return report
        else:
            chosen = []
            for key in keys:
                if key not in by_key:
                    raise SyncError(
                        f"no field {key!r}",
                        hint="see the field names with `evalai-mirror status`",
                    )
                chosen.append(by_key[key])
        writes = {}
        for res in chosen:
            if res.remote is MISSING or res.local is MISSING:
                raise SyncError(
                    f"{res.key} exists on one side only; only a zip upload can change that",
                    hint="add or remove the phase in challenge_config.yaml and push",
                )
            if take == "remote" and not same(res.local, res.remote):
                writes[res.key] = res.remote
            report.taken[res.key] = take
        files = model.render_local_changes(local, read, writes) if writes else {}
        saved = write_unless_saved(ctx.repo.root, files, read)
        if saved:
            raise SyncError(
                f"{', '.join(sorted(saved))} was saved while resolve wrote it, so it was left "
                "as saved and nothing was settled",
                hint="run resolve again",
            )
        report.files = sorted(files)
        new_state = state or BranchState(challenge_pk=pk, repository=ctx.repository)
        new_state.challenge_pk = pk
        if not new_state.base:
            # No history yet (a fresh clone): what both sides agree on becomes the base too,
            # or every other field would read as "changed on both sides" from now on.
            new_state.base = _known(cmp.result.agreed)
        me = ctx.store.clone_id()
        for res in chosen:
            if take == "remote":
                move_base(new_state, res.key, res.remote, commit=None, by=me)
            else:
                new_state.base[res.key] = res.remote
        settle_in_flight(new_state, remote.snapshot)
        ctx.store.save(ctx.branch, new_state)
        _log(ctx, "resolve", pk, report.taken, None, "resolve", f"took {take}")
        ctx.publish_state("resolve")
    return report


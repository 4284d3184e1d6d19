"""Push: send the challenge as committed to EvalAI by the narrowest requests (the zip only for
what no request can express), after comparing every value those requests would set with
EvalAI's current one.  Part of the sync engine (``sync.py``), which re-exports it.

A push is a *plan* of requests, each with the fields it sets: the write-ahead record
(``BranchState.in_flight``) holds them before the first is sent, and the base takes each
request's fields when EvalAI acknowledges it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from evalai_mirror import challenge as model
from evalai_mirror import remotemodel
from evalai_mirror.catalogue import Read, Write
from evalai_mirror.errors import ApiError, MirrorError, RefusedError, SyncError, ValidationFailed
from evalai_mirror.fetch import ALL_READS
from evalai_mirror.merge import MISSING, FieldResult, FieldState, same
from evalai_mirror.records import field, record
from evalai_mirror.source import FileSource, WorkTreeSource
from evalai_mirror.state import BranchState, move_base, now_iso
from evalai_mirror.sync import (
    Comparison,
    Context,
    _known,
    _log,
    behind,
    check_claim,
    compare,
    find_pk,
    read_evalai,
    read_source,
    settle_in_flight,
    structure_changes,
    worktree,
)

if TYPE_CHECKING:
    from evalai_mirror.git import CommitSource


@record
class PushReport:
    """What a push did (or, with dry_run, would do)."""

    action: Literal["created", "patched", "zip", "nothing"]
    pk: int | None
    fields: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # one line per request that changes EvalAI
    reason: str = ""
    commit: str | None = None
    dry_run: bool = False
    forced_over: list[str] = field(default_factory=list)  # EvalAI-side edits --force overwrote
    page_url: str = ""
    sent: list[str] = field(default_factory=list)  # the requests EvalAI acknowledged
    # fields left alone: the commit has their value from before another clone's sync of them
    behind: list[str] = field(default_factory=list)


def _refusal(cmp: Comparison, ahead: list[FieldResult] | None = None, *,
             zip: bool = False) -> RefusedError:
    ahead = cmp.remote_ahead() if ahead is None else ahead
    names = ", ".join(r.key for r in ahead)
    if cmp.base is None:
        return RefusedError(
            f"no sync history with EvalAI challenge {cmp.remote.pk} on this clone, and these "
            f"fields differ: {names}",
            hint="see them with `evalai-mirror diff`; take EvalAI's with `evalai-mirror pull "
            "--prefer remote`, or this commit's with `evalai-mirror push --force`",
            places=_places(cmp, ahead, "differs from EvalAI's, with no sync history to tell "
                           "which side changed it"),
        )
    how = "the zip upload this push needs sets every field, so it" if zip else "this push"
    return RefusedError(
        f"EvalAI changed {names} since the last sync, and this commit does not carry "
        f"those changes: {how} would undo them",
        hint="run `evalai-mirror pull` to bring them in, commit, and push again "
        "(`push --force` overwrites them)",
        places=_places(cmp, ahead, "EvalAI changed it since the last sync, and this commit "
                       "does not carry that change"),
    )


def _places(
    cmp: Comparison, fields: list[FieldResult], why: str
) -> list[tuple[str, str, int | None, str]]:
    """Where each refused field lives in the repository (for annotations)."""
    found = []
    for res in fields:
        where = cmp.local.locations.get(res.key)
        if where is not None:
            found.append((res.key, where.path, where.line, why))
    return found


def _holds_evalai_edit(here: Any, res: FieldResult) -> bool:
    """Whether the working copy's value carries EvalAI's side of ``res`` that the commit
    (``res.local``) lacks: EvalAI's value itself, or, for text a pull merged, every line
    EvalAI added."""
    if same(here, res.remote):
        return True
    if not (isinstance(here, str) and isinstance(res.local, str) and isinstance(res.remote, str)):
        return False
    if here == res.local:
        return False
    added = set(res.remote.splitlines()) - set(res.local.splitlines())
    return bool(added) and added <= set(here.splitlines())


def _refuse_undoing_a_pull(ctx: Context, cmp: Comparison, committed: CommitSource) -> None:
    """A pull moves the base to EvalAI's values as it writes them into the working copy; until
    they are committed, an older commit reads as "changed here" and would undo EvalAI's edit.
    Refuse when the working copy (this branch's checkout) already holds EvalAI's value of a
    field the commit would send, or, for text a pull merged, EvalAI's lines of it."""
    sending = [r for r in cmp.result.fields.values() if r.state is FieldState.LOCAL]
    if not sending or ctx.repo.current_branch() != ctx.branch:
        return
    work_tree = WorkTreeSource(ctx.repo.root)
    if all(work_tree.file_id(p) == committed.file_id(p) for p in cmp.local.files()):
        return  # the working copy holds the commit's values, so nothing of EvalAI's
    try:
        here = read_source(work_tree, ctx.config_path).fields
    except MirrorError:
        return  # an unreadable working copy carries nothing to protect
    undone = [r.key for r in sending if _holds_evalai_edit(here.get(r.key, MISSING), r)]
    if undone:
        raise RefusedError(
            f"the working copy holds EvalAI's {', '.join(undone)} (pulled, not committed yet) "
            f"but {committed.label} does not, so pushing it would undo EvalAI's edit",
            hint="commit the pulled files, then push again (`push --force` sends the "
            "commit's values anyway)",
        )


def push(
    ctx: Context,
    rev: str = "HEAD",
    *,
    force: bool = False,
    dry_run: bool = False,
    from_worktree: bool = False,
    command: str = "push",
    share_later: bool = False,
) -> PushReport:
    """Send the challenge as committed at ``rev`` (or the working copy) to EvalAI, on the
    shared base; then share the base it moved (also when the push stopped half way: what
    EvalAI acknowledged is agreed): here, or with ``share_later`` in a process of its own
    (a hook, whose git push should not wait for it)."""
    try:
        return _push(ctx, rev, force=force, dry_run=dry_run, from_worktree=from_worktree,
                     command=command)
    finally:
        if not dry_run:
            share = ctx.publish_state_later if share_later else ctx.publish_state
            share(command)


def _push(
    ctx: Context,
    rev: str,
    *,
    force: bool,
    dry_run: bool,
    from_worktree: bool,
    command: str,
) -> PushReport:
    ctx.prefetch_state()  # the shared base comes in while the commit is read and checked
    committed = None if from_worktree else ctx.repo.commit_source(rev)
    if committed is not None:
        _read_ahead(ctx, committed)
    from evalai_mirror.validate import summary, validate_source

    source: FileSource = worktree(ctx) if committed is None else committed
    commit = None if committed is None else committed.sha
    problems = validate_source(source, ctx.config_path)
    if problems:
        raise ValidationFailed(
            f"{source.label} is not a valid challenge: {summary(problems)}",
            problems=problems,
            hint="run `evalai-mirror validate` for every problem; nothing was sent",
        )
    local = read_source(source, ctx.config_path)
    with ctx.store.lock():
        state = ctx.load_state()
        pk = find_pk(ctx, state)
        if pk is None:
            return _first_push(ctx, source, local, commit, dry_run=dry_run, command=command)
        check_claim(ctx, pk, force=force)
        structural = structure_changes(state, local)
        reads = push_reads(state, local, structural)
        remote = read_evalai(ctx, pk, reads, push_details(state, local, reads))
        stale = behind(ctx, state, local, commit)
        cmp = compare(state, local, remote, behind=stale)
        sending = _sending(cmp, force=force)
        requests, zip_only = remotemodel.plan_requests(pk, local.fields, sending, remote.pks)
        if zip_only and not structural and reads != ALL_READS:
            # only the zip can write these: it sets every field, so compare every field first
            remote = read_evalai(ctx, pk, ALL_READS)
            cmp = compare(state, local, remote, behind=stale)
            sending = _sending(cmp, force=force)
            requests, zip_only = remotemodel.plan_requests(pk, local.fields, sending, remote.pks)
        use_zip = bool(structural or zip_only)
        zip_sets = _zip_sets(local, cmp) if use_zip else {}
        if use_zip:  # what the zip does not set still goes by its own request
            requests, _ = remotemodel.plan_requests(
                pk, local.fields, [k for k in sending if k not in zip_sets], remote.pks
            )
        writes = set(zip_sets) | {k for r in requests for k in _request_sets(r)}
        ahead = [r for r in cmp.remote_ahead() if r.key in writes]
        if ahead and not force:
            raise _refusal(cmp, ahead, zip=use_zip)
        if committed is not None and not force:
            _refuse_undoing_a_pull(ctx, cmp, committed)
        report = PushReport(
            action="nothing",
            pk=pk,
            fields=sorted(sending),
            commit=commit,
            dry_run=dry_run,
            forced_over=[r.key for r in ahead],
            page_url=ctx.client.challenge_page_url(pk),
            behind=[k for k in cmp.behind if k not in writes],
        )
        # One entry per request that changes EvalAI: (what the report says, the fields it
        # sets, the call).  Built whole before anything is sent, for the write-ahead record.
        plan: list[tuple[str, dict[str, Any], Callable[[], Any]]] = []
        if use_zip:
            report.action = "zip"
            why = [f"PATCH cannot express a change to: {'; '.join(structural)}"] if structural else []
            if zip_only:
                why.append(f"only the zip writes {', '.join(zip_only)}")
            report.reason = (
                "; ".join(why)
                if state is not None and state.structure
                else "no record of what EvalAI last received for the zip-only parts "
                "(first push from this clone), so the whole challenge is uploaded once"
            )

            def send_zip() -> Any:
                from evalai_mirror.zipbuild import challenge_zip_file

                with challenge_zip_file(source) as zip_file:
                    return ctx.client.create_or_update(zip_file, ctx.repository, ctx.branch)

            plan.append(
                (f"POST create_or_update_github_challenge ({ctx.repository}, zip: sets every "
                 "field the config has)", zip_sets, send_zip)
            )
        elif requests:
            report.action = "patched"
            report.reason = "every changed field has a request of its own: " + ", ".join(
                dict.fromkeys(r.write.value for r in requests)
            )
        plan.extend(_patch_plan(ctx, pk, requests, local.fields))
        report.requests = [line for line, _, _ in plan]
        if dry_run:
            return report
        new_state = state or BranchState()
        new_state.challenge_pk = pk
        new_state.repository = ctx.repository
        if cmp.base is not None:
            new_state.base = dict(cmp.base)  # with our own in-flight values EvalAI holds
        settle_in_flight(new_state, remote.snapshot)
        _send_plan(ctx, new_state, plan, report, commit)
        me = ctx.store.clone_id()
        known = _known(local.fields)
        # EvalAI's newer values this push left alone stay the base they were agreed at
        left = {r.key for r in cmp.remote_ahead() if r.key not in writes}
        for key, value in known.items():
            if key not in left:
                move_base(new_state, key, value, commit=commit, by=me)
        for key in set(new_state.base) - set(known):
            del new_state.base[key]
        new_state.in_flight = {}
        new_state.structure = dict(local.structure)
        new_state.last_push = now_iso()
        if commit:
            new_state.last_push_commit = commit
        new_state.pending = None
        ctx.store.save(ctx.branch, new_state)
        if report.action != "nothing":
            detail = report.reason + (
                f"; overwrote EvalAI-side edits of {', '.join(report.forced_over)}"
                if report.forced_over
                else ""
            )
            _log(ctx, "push", pk, report.fields or structural, commit, command, detail)
        return report


def _read_ahead(ctx: Context, committed: CommitSource) -> None:
    """Send the challenge's GET before the commit is checked, so that EvalAI answers while it
    is, when the config changed since the last push only in keys that GET returns (a title, a
    date...), or not at all while a file one of those keys names did (the description...):
    the push reads it then.  A commit that turns out invalid has then sent a GET, which
    changes nothing; one that needs other GETs sends them as usual."""
    known = ctx.store.load(ctx.branch)
    if known is None or not known.challenge_pk or not known.last_push_commit:
        return
    if known.last_push_commit == committed.sha:
        return
    after = committed.read(ctx.config_path)
    before = committed.read_in(known.last_push_commit, ctx.config_path)
    if after is None or before is None:
        return
    text = [data.decode("utf-8", "replace") for data in (before, after)]
    if model.edits_only_challenge_keys(*text) or (before == after and any(
        committed.read(path) != committed.read_in(known.last_push_commit, path)
        for path in model.challenge_html_files(text[1])
    )):
        try:
            ctx.client.read_ahead(known.challenge_pk)
        except MirrorError:  # no token, say: the push says so where it always did
            pass


def push_reads(
    state: BranchState | None, local: model.LocalChallenge, structural: list[str]
) -> frozenset[Read]:
    """The GETs a push sends: those returning the fields changed here since the last sync
    (what it may write), or every one when the zip goes (it sets every field) or there is no
    history; none when nothing changed here."""
    if structural or state is None or not state.base:
        return ALL_READS
    changed = _changed_here(state, local)
    if any(model.field_write(k) is Write.ZIP for k in changed):
        return ALL_READS
    return frozenset(remotemodel.reads_for(changed))


def push_details(
    state: BranchState | None, local: model.LocalChallenge, reads: frozenset[Read]
) -> frozenset[tuple[str, str]] | None:
    """The phase splits whose detail a push reads (those it may write), None for all."""
    if reads == ALL_READS or state is None:
        return None
    return frozenset(remotemodel.split_details_for(_changed_here(state, local)))


def _changed_here(state: BranchState, local: model.LocalChallenge) -> list[str]:
    base = state.base
    return [
        key for key, value in local.fields.items()
        if (key in base and not same(base[key], value))
        or (key not in base and key in local.explicit)
    ]


def _sending(cmp: Comparison, *, force: bool) -> list[str]:
    """The fields this push would send: changed here (also where EvalAI changed them too,
    which refuses the push unless --force); with --force, every field whose value here differs
    from EvalAI's."""
    here = (FieldState.LOCAL, FieldState.MERGED, FieldState.CONFLICT)
    return sorted(
        r.key for r in cmp.result.fields.values()
        if r.local is not MISSING and r.remote is not MISSING and not same(r.local, r.remote)
        and (force or r.state in here)
    )


def _zip_sets(local: model.LocalChallenge, cmp: Comparison | None) -> dict[str, Any]:
    """Every field the zip upload sets (to this side's value); only those compared in
    ``cmp`` when given."""
    return {
        key: value for key, value in local.fields.items()
        if (cmp is None or key in cmp.result.fields) and model.zip_sets(key, local)
    }


def _request_sets(request: remotemodel.Request) -> list[str]:
    if request.write is Write.TAGS_DOMAIN:
        return ["domain", "tags"]
    return request.keys


def _patch_plan(
    ctx: Context, pk: int, requests: list[remotemodel.Request], values: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any], Callable[[], Any]]]:
    """One plan entry per request, each with the fields it sets."""
    client = ctx.client
    calls: dict[Write, Callable[[int, dict[str, Any]], Any]] = {
        Write.CHALLENGE: client.patch_challenge,
        Write.PHASE: partial(client.patch_phase, pk),
        Write.PHASE_SPLIT: client.patch_phase_split,
        Write.LEADERBOARD: client.patch_leaderboard,
        Write.DATASET_SPLIT: client.patch_dataset_split,
        Write.TAGS_DOMAIN: lambda obj, body: client.patch_tags_and_domain(
            obj, body["list_tags"], body["domain"]
        ),
    }
    return [
        (
            f"PATCH {req.target}: {', '.join(sorted(req.body))}",
            {k: values[k] for k in _request_sets(req) if k in values},
            partial(calls[req.write], req.pk, req.body),
        )
        for req in requests
    ]


def _send_plan(
    ctx: Context,
    state: BranchState,
    plan: list[tuple[str, dict[str, Any], Callable[[], Any]]],
    report: PushReport,
    commit: str | None,
) -> None:
    """Send the requests in order, with a write-ahead record: before the first, every value
    they set is recorded as in flight; after each acknowledged one, the base takes exactly the
    fields it set.  A request that fails leaves its values in flight (the next run counts them
    as ours if EvalAI holds them) and raises its error, which then says what reached EvalAI."""
    if not plan:
        return
    for _, sets, _ in plan:
        state.in_flight.update(sets)
    ctx.store.save(ctx.branch, state)
    for index, (line, sets, call) in enumerate(plan):
        try:
            call()
        except ApiError as exc:
            unsure = exc.status is None  # no answer: the request may have been applied
            sent = [f for _, done, _ in plan[:index] for f in sorted(done)]
            failed = sorted(sets)
            later = [f for _, rest, _ in plan[index + 1:] for f in sorted(rest)]
            exc.partial = PartialPush(sent=sent, unsure=failed if unsure else [],
                                      pending=later if unsure else failed + later)
            if sent or unsure:
                exc.message = f"{exc.message}; {exc.partial.describe()}"
            raise
        me = ctx.store.clone_id()
        for key, value in sets.items():
            move_base(state, key, value, commit=commit, by=me)
            state.in_flight.pop(key, None)
        report.sent.append(line)
        if index < len(plan) - 1:  # after the last, push() saves the whole new state at once
            ctx.store.save(ctx.branch, state)


@record
class PartialPush:
    """How far a push that failed got: fields EvalAI acknowledged, fields whose request got
    no answer (they may have been applied), and fields not sent."""

    sent: list[str]
    unsure: list[str]
    pending: list[str]

    def describe(self) -> str:
        parts = []
        if self.sent:
            parts.append(f"reached EvalAI: {', '.join(self.sent)}")
        if self.unsure:
            parts.append(f"sent, answer lost (may have reached EvalAI): {', '.join(self.unsure)}")
        if self.pending:
            parts.append(f"not sent: {', '.join(self.pending)}")
        return "; ".join(parts)


def _first_push(
    ctx: Context,
    source: FileSource,
    local: model.LocalChallenge,
    commit: str | None,
    *,
    dry_run: bool,
    command: str,
) -> PushReport:
    from evalai_mirror.zipbuild import challenge_zip_file

    report = PushReport(
        action="created",
        pk=None,
        fields=sorted(_known(local.fields)),
        requests=[f"POST create_or_update_github_challenge ({ctx.repository}, zip)"],
        reason=f"EvalAI has no challenge for {ctx.repository} yet",
        commit=commit,
        dry_run=dry_run,
    )
    if dry_run:
        return report
    with challenge_zip_file(source) as zip_file:
        ctx.client.create_or_update(zip_file, ctx.repository, ctx.branch)
    found = ctx.client.find_challenge(ctx.repository)
    if found is None:
        raise SyncError(
            f"EvalAI accepted the challenge but lists none for {ctx.repository}",
            hint="check the host team (EVALAI_TEAM_PK) owns it, then run `evalai-mirror status`",
        )
    pk = int(found["id"])
    check_claim(ctx, pk)
    remote = read_evalai(ctx, pk)
    report.pk = pk
    report.page_url = ctx.client.challenge_page_url(pk)
    ctx.store.save(
        ctx.branch,
        BranchState(
            challenge_pk=pk,
            repository=ctx.repository,
            # what the zip set, then what EvalAI says it holds (where it was read)
            base=_known({**_zip_sets(local, None), **remote.snapshot}),
            structure=dict(local.structure),
            last_push=now_iso(),
            last_push_commit=commit,
        ),
    )
    _log(ctx, "push", pk, ["(created)"], commit, command, report.reason)
    return report


def mark_pending(ctx: Context, commit: str | None) -> None:
    """Remember that a push did not reach EvalAI; the next push or watch sends it."""
    with ctx.store.lock():
        state = ctx.store.load(ctx.branch) or BranchState(repository=ctx.repository)
        state.pending = commit or "working copy"
        ctx.store.save(ctx.branch, state)



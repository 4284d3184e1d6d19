"""The one sync engine that push, pull, watch, status, diff and resolve share.

Every direction is the same three-way comparison: the base snapshot (what the repository and
EvalAI last agreed on, kept in the git directory), the repository side (a commit for push, the
working copy for everything else) and EvalAI's side, merged field by field by
:func:`evalai_mirror.merge.merge`.  The functions here do the I/O around that pure core and
return reports; the command modules decide what to print.

The base moves only after the other side accepted a change: after a push, to what EvalAI now
holds (the commit's values); after a pull, to EvalAI's values for every field that is not in
conflict (a local edit EvalAI has not seen stays "changed here", so the next push sends it).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evalai_mirror import challenge as model
from evalai_mirror.errors import (
    ApiError,
    GitError,
    MirrorError,
    RefusedError,
    SettingsError,
    SyncError,
    ValidationFailed,
)
from evalai_mirror.merge import MISSING, FieldResult, FieldState, MergeResult, merge, same
from evalai_mirror.source import FileSource, WorkTreeSource
from evalai_mirror.state import BranchState, LogEntry, StateStore, now_iso

if TYPE_CHECKING:
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.git import CommitSource, GitRepo
    from evalai_mirror.settings import Settings

Prefer = Literal["local", "remote"]

# States in which EvalAI holds something the repository side does not carry yet.
REMOTE_AHEAD = (FieldState.REMOTE, FieldState.MERGED, FieldState.CONFLICT)


# --------------------------------------------------------------------------- context


@dataclass
class Context:
    """Everything one command run needs: the repository, its settings, EvalAI, the state."""

    repo: GitRepo
    settings: Settings
    branch: str
    repository: str
    store: StateStore
    _client: EvalAIClient | None = None

    @property
    def config_path(self) -> str:
        return self.settings.repo.config

    @property
    def client(self) -> EvalAIClient:
        if self._client is None:
            from evalai_mirror.api import EvalAIClient

            self._client = EvalAIClient(self.settings.connection())
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def branch_syncs(self) -> bool:
        return self.settings.repo.branch_syncs(self.branch)

    def require_sync_branch(self) -> None:
        if not self.branch_syncs():
            patterns = ", ".join(self.settings.repo.branches)
            raise SyncError(
                f"branch {self.branch!r} does not sync to EvalAI (syncing branches: {patterns})",
                hint="check out a challenge branch, or add this one under `branches:` in "
                ".evalai-mirror.yml",
            )


def open_context(
    args: argparse.Namespace | None = None,
    *,
    branch: str | None = None,
    path: Path | None = None,
) -> Context:
    """Resolve settings, open the repository (the one holding ``path``, default the current
    folder) and name the branch and repository identity."""
    from evalai_mirror.git import GitRepo
    from evalai_mirror.settings import resolve

    settings = resolve(args, cwd=path)
    repo = GitRepo.open(settings.repo_root or path or Path.cwd())
    name = branch or getattr(args, "branch", None) or repo.current_branch()
    if not name:
        raise SyncError(
            "HEAD is detached, so there is no branch to sync",
            hint="check out your challenge branch (e.g. `git switch challenge`) or pass --branch",
        )
    warn_token_leaks(settings, repo)
    repository = settings.repo.repository or repo.origin_repository()
    if not repository:
        raise SettingsError(
            "cannot tell this repository's owner/name (EvalAI keys the challenge by it)",
            hint="add the GitHub remote as `origin`, or set `repository: owner/name` in "
            ".evalai-mirror.yml",
        )
    return Context(
        repo=repo,
        settings=settings,
        branch=name,
        repository=repository,
        store=StateStore(repo.git_dir),
    )


def warn_token_leaks(settings: Settings, repo: GitRepo) -> None:
    """Say loudly, on every sync, when a real token sits in a file git tracks."""
    from evalai_mirror.checks import tracked_token_files, warn_token_leak

    for rel in tracked_token_files(settings, repo):
        warn_token_leak(rel)


# --------------------------------------------------------------------------- EvalAI's side


@dataclass
class Remote:
    """A challenge as EvalAI has it now."""

    pk: int
    challenge: dict[str, Any]
    phases: list[dict[str, Any]]
    snapshot: dict[str, Any]

    @property
    def phase_pks(self) -> dict[str, int]:
        return {str(p["codename"]): int(p["id"]) for p in self.phases if p.get("codename")}


def fetch_remote(client: EvalAIClient, pk: int) -> Remote:
    """Two requests, sent at once (one round trip to EvalAI, not two): the challenge and its
    phases.  The phases are asked for by a daemon thread, so that Ctrl-C or an error of the
    challenge request returns at once rather than after the other request ends."""
    import threading

    listed: dict[str, Any] = {}

    def list_phases() -> None:
        try:
            listed["phases"] = client.list_phases(pk)
        except BaseException as exc:  # handed to the caller's thread below
            listed["error"] = exc

    worker = threading.Thread(target=list_phases, name="evalai-phases", daemon=True)
    worker.start()
    detail = client.get_challenge(pk)
    worker.join()
    if "error" in listed:
        raise listed["error"]
    phases: list[dict[str, Any]] = listed["phases"]
    return Remote(pk, detail, phases, model.from_remote(detail, phases))


def find_pk(ctx: Context, state: BranchState | None) -> int | None:
    """The challenge this branch syncs with: recorded, pinned in settings, or found on EvalAI
    by repository name (as EvalAI itself matches it)."""
    if state is not None and state.challenge_pk:
        return state.challenge_pk
    pinned = ctx.settings.repo.challenge_pk(ctx.branch)
    if pinned:
        return pinned
    found = ctx.client.find_challenge(ctx.repository)
    return int(found["id"]) if found else None


def require_pk(ctx: Context, state: BranchState | None, *, hint: str, why: str = "") -> int:
    """:func:`find_pk`, or a :class:`SyncError` (``why`` appended to its message) when EvalAI
    has no challenge for this repository yet."""
    pk = find_pk(ctx, state)
    if pk is None:
        raise SyncError(f"EvalAI has no challenge for {ctx.repository} yet{why}", hint=hint)
    return pk


def check_claim(ctx: Context, pk: int, *, force: bool = False) -> None:
    """Refuse to let a second branch write a challenge another branch syncs with."""
    other = ctx.store.branch_for_challenge(pk)
    if other and other != ctx.branch and not force:
        raise RefusedError(
            f"EvalAI challenge {pk} is already synced from branch {other!r}; EvalAI keys a "
            f"challenge by repository ({ctx.repository}) alone, so branch {ctx.branch!r} would "
            "overwrite it",
            hint=f"sync from {other!r}, or pin branches to challenges under `challenges:` in "
            ".evalai-mirror.yml (--force takes the challenge over for this branch)",
        )


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Base, repository side and EvalAI side of one challenge, merged field by field."""

    state: BranchState | None
    local: model.LocalChallenge
    remote: Remote
    result: MergeResult
    structure_changes: list[str]
    base: dict[str, Any] | None  # the recorded base, with our own in-flight values EvalAI holds

    def remote_ahead(self) -> list[FieldResult]:
        return [r for r in self.result.fields.values() if r.state in REMOTE_AHEAD]

    def differing(self) -> list[FieldResult]:
        """Fields whose repository and EvalAI values differ, whatever the base says."""
        return [r for r in self.result.fields.values() if not same(r.local, r.remote)]


def structure_changes(state: BranchState | None, local: model.LocalChallenge) -> list[str]:
    """The zip-only parts (leaderboards, splits, phases, evaluation script, annotations...) that
    differ from what EvalAI last received; every part when that is not known."""
    if state is None or not state.structure:
        return sorted(local.structure)
    names = set(state.structure) | set(local.structure)
    return sorted(n for n in names if state.structure.get(n) != local.structure.get(n))


def compare(
    state: BranchState | None,
    local: model.LocalChallenge,
    remote: Remote,
    *,
    prefer: Prefer | None = None,
) -> Comparison:
    base = effective_base(state, remote.snapshot)
    keys = set(local.fields) | set(remote.snapshot)
    result = merge(
        base, local.fields, remote.snapshot, text_keys=model.text_keys(keys), prefer=prefer
    )
    return Comparison(state, local, remote, result, structure_changes(state, local), base)


def effective_base(state: BranchState | None, remote: Mapping[str, Any]) -> dict[str, Any] | None:
    """The recorded base, where every value a push recorded as in flight (sent, answer never
    seen) that EvalAI now holds counts as agreed: it is evalai-mirror's own write, not an
    EvalAI-side edit.  None when there is no history."""
    if state is None:
        return None
    base = dict(state.base)
    for key, value in state.in_flight.items():
        if same(remote.get(key, MISSING), value):
            base[key] = value
    return base or None


def settle_in_flight(state: BranchState, remote: Mapping[str, Any]) -> None:
    """Drop from the write-ahead record every value EvalAI now holds (the base takes it)."""
    for key, value in list(state.in_flight.items()):
        if same(remote.get(key, MISSING), value):
            state.base[key] = value
            del state.in_flight[key]


def read_source(source: FileSource, config_path: str) -> model.LocalChallenge:
    return model.read_local(source, config_path)


def worktree(ctx: Context) -> WorkTreeSource:
    """The working copy, which must be a checkout of ``ctx.branch``: another branch's files
    are not this branch's side (``watch`` goes on running across a ``git switch``)."""
    checked_out = ctx.repo.current_branch()
    if checked_out != ctx.branch:
        what = f"branch {checked_out!r}" if checked_out else "a detached HEAD"
        raise SyncError(
            f"the working copy is {what}, not {ctx.branch!r}, so it was left alone",
            hint=f"switch back with `git switch {ctx.branch}`",
        )
    return WorkTreeSource(ctx.repo.root)


def _log(ctx: Context, direction: str, pk: int | None, fields: Iterable[str], commit: str | None,
         command: str, detail: str = "") -> None:
    ctx.store.append_log(
        LogEntry(
            time=now_iso(),
            direction=direction,
            branch=ctx.branch,
            challenge_pk=pk,
            fields=sorted(fields),
            commit=commit,
            command=command,
            detail=detail,
        )
    )


def _known(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not MISSING}


# --------------------------------------------------------------------------- push


@dataclass
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


def _refusal(cmp: Comparison) -> RefusedError:
    ahead = cmp.remote_ahead()
    names = ", ".join(r.key for r in ahead)
    if cmp.base is None:
        return RefusedError(
            f"no sync history with EvalAI challenge {cmp.remote.pk} on this clone, and these "
            f"fields differ: {names}",
            hint="see them with `evalai-mirror diff`; take EvalAI's with `evalai-mirror pull "
            "--prefer remote`, or this commit's with `evalai-mirror push --force`",
        )
    return RefusedError(
        f"EvalAI changed {names} since the last sync, and this commit does not carry "
        "those changes",
        hint="run `evalai-mirror pull` to bring them in, commit, and push again "
        "(`push --force` overwrites them)",
    )


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
) -> PushReport:
    """Send the challenge as committed at ``rev`` (or the working copy) to EvalAI."""
    from evalai_mirror.validate import summary, validate_source

    committed = None if from_worktree else ctx.repo.commit_source(rev)
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
        state = ctx.store.load(ctx.branch)
        pk = find_pk(ctx, state)
        if pk is None:
            return _first_push(ctx, source, local, commit, dry_run=dry_run, command=command)
        check_claim(ctx, pk, force=force)
        remote = fetch_remote(ctx.client, pk)
        cmp = compare(state, local, remote)
        ahead = cmp.remote_ahead()
        if ahead and not force:
            raise _refusal(cmp)
        if committed is not None and not force:
            _refuse_undoing_a_pull(ctx, cmp, committed)
        to_send = {r.key: r.local for r in cmp.differing()}
        report = PushReport(
            action="nothing",
            pk=pk,
            fields=sorted(k for k, v in to_send.items() if v is not MISSING),
            commit=commit,
            dry_run=dry_run,
            forced_over=[r.key for r in ahead],
            page_url=ctx.client.challenge_page_url(pk),
        )
        structural = cmp.structure_changes
        # One entry per request that changes EvalAI: (what the report says, the fields it
        # sets, the call).  Built whole before anything is sent, for the write-ahead record.
        plan: list[tuple[str, dict[str, Any], Callable[[], Any]]] = []
        known = _known(to_send)
        if structural:
            report.action = "zip"
            report.reason = (
                f"PATCH cannot express a change to: {'; '.join(structural)}"
                if state is not None and state.structure
                else "no record of what EvalAI last received for the zip-only parts "
                "(first push from this clone), so the whole challenge is uploaded once"
            )

            def send_zip() -> Any:
                from evalai_mirror.zipbuild import build_challenge_zip

                return ctx.client.create_or_update(
                    build_challenge_zip(source), ctx.repository, ctx.branch
                )

            plan.append(
                (f"POST create_or_update_github_challenge ({ctx.repository}, zip)", known,
                 send_zip)
            )
        elif report.fields:
            report.action = "patched"
            report.reason = "only fields PATCH can express changed"
            plan.extend(_patch_plan(ctx, pk, remote, known))
        report.requests = [line for line, _, _ in plan]
        if dry_run:
            return report
        new_state = state or BranchState()
        new_state.challenge_pk = pk
        new_state.repository = ctx.repository
        if cmp.base is not None:
            new_state.base = dict(cmp.base)  # with our own in-flight values EvalAI holds
        settle_in_flight(new_state, remote.snapshot)
        _send_plan(ctx, new_state, plan, report)
        new_state.base = _known(local.fields)
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


def _patch_plan(
    ctx: Context, pk: int, remote: Remote, known: dict[str, Any]
) -> list[tuple[str, dict[str, Any], Callable[[], Any]]]:
    """The PATCH requests that send ``known`` (field key -> value): the challenge's, then one
    per phase, each with the fields it sets."""
    body, phase_bodies = model.patch_payloads(known, known)
    phase_pks = remote.phase_pks
    plan: list[tuple[str, dict[str, Any], Callable[[], Any]]] = []
    if body:
        sets = {k: v for k, v in known.items() if model.split_key(k) == (None, k) and k in body}
        plan.append((
            f"PATCH challenge {pk}: {', '.join(sorted(body))}",
            sets,
            partial(ctx.client.patch_challenge, pk, body),
        ))
    for codename, pbody in sorted(phase_bodies.items()):
        phase_pk = phase_pks[codename]
        sets = {
            k: v for k, v in known.items()
            if model.split_key(k)[0] == codename and model.split_key(k)[1] in pbody
        }
        plan.append((
            f"PATCH phase {codename} ({phase_pk}): {', '.join(sorted(pbody))}",
            sets,
            partial(ctx.client.patch_phase, pk, phase_pk, pbody),
        ))
    return plan


def _send_plan(
    ctx: Context,
    state: BranchState,
    plan: list[tuple[str, dict[str, Any], Callable[[], Any]]],
    report: PushReport,
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
        for key, value in sets.items():
            state.base[key] = value
            state.in_flight.pop(key, None)
        report.sent.append(line)
        ctx.store.save(ctx.branch, state)


@dataclass
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
    from evalai_mirror.zipbuild import build_challenge_zip

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
    ctx.client.create_or_update(build_challenge_zip(source), ctx.repository, ctx.branch)
    found = ctx.client.find_challenge(ctx.repository)
    if found is None:
        raise SyncError(
            f"EvalAI accepted the challenge but lists none for {ctx.repository}",
            hint="check the host team (EVALAI_TEAM_PK) owns it, then run `evalai-mirror status`",
        )
    pk = int(found["id"])
    check_claim(ctx, pk)
    remote = fetch_remote(ctx.client, pk)
    report.pk = pk
    report.page_url = ctx.client.challenge_page_url(pk)
    ctx.store.save(
        ctx.branch,
        BranchState(
            challenge_pk=pk,
            repository=ctx.repository,
            base=_known(remote.snapshot),
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


# --------------------------------------------------------------------------- pull


@dataclass
class PullReport:
    pk: int
    written: dict[str, Any] = field(default_factory=dict)  # key -> value written here
    files: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)  # text fields merged from both sides
    kept_local: list[str] = field(default_factory=list)  # changed here; push will send them
    conflicts: list[FieldResult] = field(default_factory=list)
    structural: list[str] = field(default_factory=list)  # EvalAI-side changes no file can take
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
    read_source(source, ctx.config_path)  # a config that does not parse stops us before EvalAI
    with ctx.store.lock():
        state = ctx.store.load(ctx.branch)
        pk = require_pk(
            ctx,
            state,
            hint="create it with `evalai-mirror push` (or `git push` with the hooks installed)",
        )
        check_claim(ctx, pk)
        if fetched is not None and fetched.pk == pk:
            remote = fetched
        else:
            remote = fetch_remote(ctx.client, pk)
        # Read the working copy as late as possible: an edit saved while we waited for the
        # lock or for EvalAI is then a local change (or a conflict), never overwritten.
        local = read_source(source, ctx.config_path)
        cmp = compare(state, local, remote, prefer=prefer)
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
        files = model.render_local_changes(local, source, writes) if writes else {}
        report.written = writes
        report.files = sorted(files)
        if dry_run:
            report.diff = "".join(
                unified_diff(path, source.read(path), data) for path, data in sorted(files.items())
            )
            return report
        if commit and files:
            dirty = ctx.repo.dirty_paths(files)
            if dirty:
                raise RefusedError(
                    f"{', '.join(sorted(dirty))} has uncommitted edits, so --commit would mix "
                    "them into the mirror commit; nothing was written",
                    hint="commit or stash those edits first, or pull without --commit",
                )
        from evalai_mirror.fsutil import atomic_write_bytes

        for path, data in sorted(files.items()):
            atomic_write_bytes(ctx.repo.root / path, data)
        # The base moves to EvalAI's value for every field that is settled here.
        new_state = state or BranchState()
        base = dict(cmp.base or {})
        for res in cmp.result.fields.values():
            if res.is_conflict or res.key in report.structural:
                continue
            if res.remote is MISSING:
                base.pop(res.key, None)
            else:
                base[res.key] = res.remote
        new_state.challenge_pk = pk
        new_state.repository = ctx.repository
        new_state.base = base
        settle_in_flight(new_state, remote.snapshot)
        new_state.last_pull = now_iso()
        ctx.store.save(ctx.branch, new_state)
        if writes:
            _log(ctx, "pull", pk, writes, None, command,
                 f"wrote {', '.join(report.files)}")
    # Outside the lock: a commit or git push runs the hooks, which run push.
    if commit and files:
        report.commit = ctx.repo.commit_paths(sorted(files), commit_message(writes))
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


# --------------------------------------------------------------------------- status


@dataclass
class StatusReport:
    branch: str
    repository: str
    syncs: bool
    pk: int | None
    page_url: str
    state: BranchState | None
    comparison: Comparison | None
    remote_error: str | None = None
    remote_missing: bool = False  # EvalAI has no challenge for this repository yet

    @property
    def rows(self) -> list[FieldResult]:
        return list(self.comparison.result.fields.values()) if self.comparison else []

    @property
    def structure_changes(self) -> list[str]:
        """Zip-only parts changed here since EvalAI last received them (when that is known)."""
        if self.comparison is None or self.state is None or not self.state.structure:
            return []
        return self.comparison.structure_changes

    @property
    def drift(self) -> bool:
        return any(r.state is not FieldState.IN_SYNC for r in self.rows) or bool(
            self.structure_changes
        )


def status(ctx: Context) -> StatusReport:
    """Working copy, base and EvalAI, side by side.  Read-only."""
    state = ctx.store.load(ctx.branch)
    report = StatusReport(
        branch=ctx.branch,
        repository=ctx.repository,
        syncs=ctx.branch_syncs(),
        pk=None,
        page_url="",
        state=state,
        comparison=None,
    )
    local = read_source(worktree(ctx), ctx.config_path)
    try:
        pk = find_pk(ctx, state)
        if pk is None:
            report.remote_error = f"EvalAI has no challenge for {ctx.repository} yet"
            report.remote_missing = True
            return report
        report.pk = pk
        report.page_url = ctx.client.challenge_page_url(pk)
        remote = fetch_remote(ctx.client, pk)
    except ApiError as exc:
        report.remote_error = f"could not read EvalAI: {exc}"
        return report
    report.comparison = compare(state, local, remote)
    return report


# --------------------------------------------------------------------------- resolve


@dataclass
class ResolveReport:
    taken: dict[str, str] = field(default_factory=dict)  # key -> "local" | "remote"
    files: list[str] = field(default_factory=list)


def resolve(ctx: Context, keys: Iterable[str] | None, take: Prefer) -> ResolveReport:
    """Settle conflicts (or named differing fields): ``remote`` writes EvalAI's value here;
    ``local`` records EvalAI's value as seen so the next push sends the local one."""
    source = worktree(ctx)
    read_source(source, ctx.config_path)  # a config that does not parse stops us before EvalAI
    report = ResolveReport()
    with ctx.store.lock():
        state = ctx.store.load(ctx.branch)
        pk = require_pk(
            ctx, state, why="; there is nothing to resolve", hint="run `evalai-mirror push` first"
        )
        check_claim(ctx, pk)
        remote = fetch_remote(ctx.client, pk)
        local = read_source(source, ctx.config_path)  # as late as possible, as in pull
        cmp = compare(state, local, remote)
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
        files = model.render_local_changes(local, source, writes) if writes else {}
        from evalai_mirror.fsutil import atomic_write_bytes

        for path, data in sorted(files.items()):
            atomic_write_bytes(ctx.repo.root / path, data)
        report.files = sorted(files)
        new_state = state or BranchState(challenge_pk=pk, repository=ctx.repository)
        new_state.challenge_pk = pk
        if not new_state.base:
            # No history yet (a fresh clone): what both sides agree on becomes the base too,
            # or every other field would read as "changed on both sides" from now on.
            new_state.base = _known(cmp.result.agreed)
        for res in chosen:
            new_state.base[res.key] = res.remote
        settle_in_flight(new_state, remote.snapshot)
        ctx.store.save(ctx.branch, new_state)
        _log(ctx, "resolve", pk, report.taken, None, "resolve", f"took {take}")
    return report

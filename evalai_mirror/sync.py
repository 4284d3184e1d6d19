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
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from evalai_mirror import catalogue, shared
from evalai_mirror import challenge as model
from evalai_mirror.catalogue import Read
from evalai_mirror.detach import last_output, start_detached
from evalai_mirror.errors import (
    ApiError,
    GitError,
    MirrorError,
    RefusedError,
    SettingsError,
    SyncError,
)
from evalai_mirror.fetch import ALL_READS, IdCache
from evalai_mirror.fetch import Remote as Remote
from evalai_mirror.fetch import fetch_remote as fetch_remote
from evalai_mirror.leaks import tracked_token_files, warn_token_leak
from evalai_mirror.merge import MISSING, FieldResult, FieldState, MergeResult, merge, same
from evalai_mirror.records import field, record
from evalai_mirror.source import FileSource, WorkTreeSource
from evalai_mirror.state import BranchState, LogEntry, StateStore, now_iso

if TYPE_CHECKING:
    from evalai_mirror.api import EvalAIClient
    from evalai_mirror.git import GitRepo
    from evalai_mirror.settings import Settings

Prefer = Literal["local", "remote"]

# States in which EvalAI holds something the repository side does not carry yet.
REMOTE_AHEAD = (FieldState.REMOTE, FieldState.MERGED, FieldState.CONFLICT)


# --------------------------------------------------------------------------- context


@record
class Context:
    """Everything one command run needs: the repository, its settings, EvalAI, the state."""

    repo: GitRepo
    settings: Settings
    branch: str
    repository: str
    store: StateStore
    _client: EvalAIClient | None = None
    _link: shared.Link | None = None

    @property
    def link(self) -> shared.Link:
        """This branch's tie to the shared base (refs/evalai-mirror/<branch> on origin)."""
        if self._link is None:
            self._link = shared.Link(self.repo, self.store, self.branch)
        return self._link

    def use_remote(self, name: str) -> None:
        """Share the base through remote ``name`` (the one a pre-push hook pushes to) instead
        of origin, when it is a configured remote."""
        if self.repo.has_remote(name) and name != self.link.remote:
            self.link.close()  # a fetch from the other remote, if one was started
            self.link.remote = name

    def prefetch_state(self) -> None:
        """Start fetching the shared base now, on the side; :meth:`load_state` takes it in."""
        shared.prefetch(self.link)

    def load_state(self) -> BranchState | None:
        """The branch's state, the shared base fetched and merged in first (once per command;
        a long watch at most every minute)."""
        with self.store.lock():
            return shared.load(self.link)

    def publish_state(self, why: str) -> str | None:
        """Share the base this command moved (refs/evalai-mirror/<branch>); a warning when the
        remote cannot take it.  The commit shared, None when nothing new was shared."""
        try:
            sha = shared.publish(self.link, why=why)
        except MirrorError as exc:  # sharing never undoes what the command did
            self.link.warn_once(f"the shared sync state was not updated: {exc}")
            sha = None
        if not self.link.warned:
            self.share_log.unlink(missing_ok=True)  # an earlier background share's trouble
        return sha

    @property
    def share_log(self) -> Path:
        """What the last ``evalai-mirror share`` started in the background printed."""
        return self.store.dir / shared.SHARE_LOG

    def publish_state_later(self, why: str) -> None:
        """:meth:`publish_state` in a process of its own (``evalai-mirror share``), so that a
        push returns once EvalAI has answered, without waiting on the git remote too (a hook's
        ``git push`` waits on it already).  Here and now instead when the last one reported
        trouble (its warning then shows, and the remote may ask for a password), on a CI
        runner, or with ``EVALAI_MIRROR_FOREGROUND=1``."""
        if last_output(self.share_log):
            self.publish_state(why)
            return
        args = ["share", "--quiet", "--branch", self.branch, "--remote", self.link.remote,
                "--why", why]
        if not start_detached(args, self.repo.root, self.share_log):
            self.publish_state(why)

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
        if self._link is not None:
            self._link.close()

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
    warn_leaks: bool = True,
) -> Context:
    """Resolve settings, open the repository (the one holding ``path``, default the current
    folder) and name the branch and repository identity; warn about a committed token unless
    the caller says it itself (``warn_leaks=False``)."""
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
    if warn_leaks:
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
    for rel in tracked_token_files(settings, repo):
        warn_token_leak(rel)


# --------------------------------------------------------------------------- EvalAI's side


def read_evalai(
    ctx: Context,
    pk: int,
    reads: Iterable[Read] = ALL_READS,
    details_for: Iterable[tuple[str, str]] | None = None,
) -> Remote:
    """EvalAI's side for ``reads`` (by default every field: the challenge, its phases, its
    phase splits, each split's detail, prizes and sponsors, sent at once), with the pk cache of
    this repository."""
    return fetch_remote(ctx.client, pk, reads, cache=IdCache(ctx.store.dir, ctx.client.host_url),
                        details_for=details_for)


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


@record
class Comparison:
    """Base, repository side and EvalAI side of one challenge, merged field by field."""

    state: BranchState | None
    local: model.LocalChallenge
    remote: Remote
    result: MergeResult
    structure_changes: list[str]
    base: dict[str, Any] | None  # the recorded base, with our own in-flight values EvalAI holds
    # fields whose repository side predates a move of the base it never saw (see behind())
    behind: list[str] = field(default_factory=list)

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
    behind: Mapping[str, Any] | None = None,
) -> Comparison:
    """The three-way comparison; ``behind`` (see :func:`behind`) names the fields whose
    repository side predates a move of the base, with the base they are compared against."""
    base = effective_base(state, remote.snapshot)
    here = compared_fields(local, remote)
    keys = set(here) | set(remote.snapshot)
    merged_base = None
    stale: dict[str, Any] = {}
    if base is not None:
        base = model.fill_base(base, local, remote.snapshot, keys)
        # the base of the fields EvalAI's answers did not return stays as it is (kept in
        # Comparison.base, so the state keeps it), but is not compared
        merged_base = {
            k: v for k, v in base.items() if k in keys or remote.covers(k)
        }
        stale = {k: v for k, v in (behind or {}).items() if k in merged_base}
        merged_base.update(stale)
    result = merge(
        merged_base, here, remote.snapshot, text_keys=model.text_keys(keys), prefer=prefer
    )
    return Comparison(state, local, remote, result, structure_changes(state, local), base,
                      sorted(stale))


def behind(
    ctx: Context, state: BranchState | None, local: model.LocalChallenge, commit: str | None
) -> dict[str, Any]:
    """Fields whose repository side (``local``, read from ``commit`` or a working copy on
    HEAD) still holds the value the base had before a move this side never saw: a pull into
    some clone's working copy not pushed yet, or a push from another clone of a commit that
    is not in ``commit``'s history.  That value is not an edit made here, so it is compared
    with the base it was agreed at (key -> that base): EvalAI's side then reads as the newer
    one, never undone by this side."""
    if state is None or not state.moves:
        return {}
    at = commit or ctx.repo.head_sha()
    me = ctx.store.clone_id()
    found: dict[str, Any] = {}
    seen: dict[str, bool] = {}
    for key, move in state.moves.items():
        value = local.fields.get(key, MISSING)
        start = move.get("from")
        if key not in state.base or start is None or not same(value, start):
            continue
        if same(value, state.base[key]):
            continue
        moved_in = move.get("commit")
        if isinstance(moved_in, str):
            if move.get("by") == me:
                continue  # this clone's own push: its history is the host's to rewrite
            if moved_in not in seen:
                seen[moved_in] = at is not None and _contains(ctx.repo, moved_in, at)
            if seen[moved_in]:
                continue  # the move is in this history: holding the old value is an edit
        found[key] = start
    return found


def _contains(repo: GitRepo, ancestor: str, commit: str) -> bool:
    try:
        return repo.is_ancestor(ancestor, commit)
    except GitError:
        return False  # a commit this clone does not have is not in its history


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


def compared_fields(local: model.LocalChallenge, remote: Remote) -> dict[str, Any]:
    """The repository's fields that EvalAI's answers in ``remote`` can be compared with."""
    return {k: v for k, v in local.fields.items() if remote.covers(k)}


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


# --------------------------------------------------------------------------- status


@record
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
    # HEAD's side, when the working copy's challenge files are not HEAD's (what is not
    # committed yet); None when they are the same, or HEAD cannot be read
    committed: model.LocalChallenge | None = None

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

    @property
    def one_way(self) -> list[tuple[str, str, bool | None]]:
        """What EvalAI never returns (the evaluation script, each annotation file, the logo's
        bytes): (part, what it is, changed here since the last push: None when unknown)."""
        if self.comparison is None:
            return []
        local = self.comparison.local.structure
        sent = self.state.structure if self.state is not None else {}
        rows: list[tuple[str, str, bool | None]] = []
        for part, label in catalogue.SENT_ONE_WAY:
            names = sorted(n for n in set(local) | set(sent)
                           if n == part or n.startswith(part + "."))
            for name in names:
                what = label.format(name.split(".", 1)[1]) if "{}" in label else label
                changed = None if not sent else sent.get(name) != local.get(name)
                rows.append((name, what, changed))
        return rows

    @property
    def not_compared(self) -> list[str]:
        """The repository's fields whose EvalAI value this status could not read (an EvalAI
        without the phase split detail endpoints); push compares them before a write."""
        if self.comparison is None:
            return []
        return sorted(set(self.comparison.local.fields) - set(self.comparison.result.fields))


def status(ctx: Context) -> StatusReport:
    """Working copy, base and EvalAI, side by side.  Read-only (but for the shared base,
    fetched into this clone's copy)."""
    ctx.prefetch_state()  # fetched while EvalAI answers, when this clone knows the challenge
    state = ctx.store.load(ctx.branch)
    if state is None or not state.challenge_pk:
        state = ctx.load_state()  # the shared base may name the challenge
    report = StatusReport(
        branch=ctx.branch,
        repository=ctx.repository,
        syncs=ctx.branch_syncs(),
        pk=None,
        page_url="",
        state=state,
        comparison=None,
    )
    source = worktree(ctx)
    try:
        pk = find_pk(ctx, state)
    except ApiError as exc:
        read_source(source, ctx.config_path)  # a broken config is said before EvalAI's error
        report.remote_error = f"could not read EvalAI: {exc}"
        return report
    if pk is None:
        read_source(source, ctx.config_path)
        report.remote_error = f"EvalAI has no challenge for {ctx.repository} yet"
        report.remote_missing = True
        return report
    report.page_url = ctx.client.challenge_page_url(pk)  # the client is made before the GETs
    from evalai_mirror.api import at_once

    # The working copy is read while EvalAI answers (the GETs change nothing); a broken
    # config is still the error said first.
    known = pk

    def here() -> model.LocalChallenge:
        local = read_source(source, ctx.config_path)
        report.committed = committed_side(ctx, local)
        return local

    try:
        answers: list[Any] = at_once([here, lambda: read_evalai(ctx, known)])
        state = report.state = ctx.load_state()
        named = find_pk(ctx, state)
        if named is not None and named != pk:  # the shared base names another challenge
            pk = named
            report.page_url = ctx.client.challenge_page_url(pk)
            answers[1] = read_evalai(ctx, pk)
    except ApiError as exc:
        report.state = ctx.load_state()
        report.remote_error = f"could not read EvalAI: {exc}"
        return report
    report.pk = pk
    local: model.LocalChallenge = answers[0]
    remote: Remote = answers[1]
    report.comparison = compare(state, local, remote, behind=behind(ctx, state, local, None))
    return report


def committed_side(ctx: Context, local: model.LocalChallenge) -> model.LocalChallenge | None:
    """HEAD's side when the working copy's challenge files (those ``local`` was read from)
    are not HEAD's; None when each is as HEAD has it, or HEAD cannot be read."""
    try:
        committed = ctx.repo.commit_source("HEAD")
        here = WorkTreeSource(ctx.repo.root)
        files = sorted(local.files())
        if files and all(here.file_id(f) == committed.file_id(f) for f in files):
            return None
        return read_source(committed, ctx.config_path)
    except MirrorError:
        return None

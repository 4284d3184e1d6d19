"""The shared base: the sync state every clone agreed on, kept in git under
``refs/evalai-mirror/<branch>`` so that a collaborator's clone and a CI runner work from the
same base as the host's laptop.

The ref points at a commit whose tree holds two files: ``state.json`` (the branch's agreed
state: challenge pk, per-field base, structure digests, last push and pull, and when each of
them moved) and ``log.jsonl`` (the branch's audit log).  Each write is a new commit on top of
the last one seen, so the ref's history is the history of the base.  What belongs to one clone
only (a push it could not send, its write-ahead record) stays in ``.git/evalai-mirror/``,
which also caches the shared state.

:func:`load` fetches the ref (once per command; a long ``watch`` at most every
:data:`REFRESH_SECONDS`) and merges it into the cache before a comparison.  :func:`publish`
pushes the cache's agreed state after the base moved: never forced; when another writer moved
the ref first, the two are merged slot by slot and the push is tried again.  Merging: a slot
only one side changed since their common commit takes that change; a slot both changed takes
the value moved later (both sides recorded a value EvalAI held; the later one is what EvalAI
got last).  No remote, or one that cannot be reached, is a warning: the cache goes on working
and the next command that moves the base publishes it.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from evalai_mirror import UPGRADE_HINT, ui
from evalai_mirror.errors import GitError, StateError
from evalai_mirror.records import field, fields, record
from evalai_mirror.state import (
    LOCAL_ONLY,
    BranchState,
    LogEntry,
    log_line,
    precise_now,
    same_json,
    set_slots,
    slots,
)

if TYPE_CHECKING:
    from evalai_mirror.git import GitRepo, PendingFetch
    from evalai_mirror.state import StateStore

REF_PREFIX = "refs/evalai-mirror/"
STATE_NAME = "state.json"
LOG_NAME = "log.jsonl"
FORMAT_VERSION = 1
SHARE_LOG = "share.log"
"""In the state folder: what the last ``evalai-mirror share`` started in the background said
(empty or absent when it went well)."""
REFRESH_SECONDS = 60.0
"""How often a long-running command (watch) fetches the shared state again."""
ATTEMPTS = 5
"""How many times a publish that another writer overtook is merged and tried again."""
_TIMES = ("last_push", "last_pull")


def ref_name(branch: str) -> str:
    """The ref that holds ``branch``'s shared state."""
    return REF_PREFIX + branch


@record
class Link:
    """One command's tie to the shared ref: which remote, and when it was last fetched."""

    repo: GitRepo
    store: StateStore
    branch: str
    remote: str = "origin"
    fetched_at: float | None = None
    warned: set[str] = field(default_factory=set)
    pending: PendingFetch | None = None  # a fetch :func:`prefetch` started

    @property
    def ref(self) -> str:
        return ref_name(self.branch)

    def warn_once(self, text: str) -> None:
        if text not in self.warned:
            self.warned.add(text)
            ui.warn(text)

    def close(self) -> None:
        """Stop a fetch :func:`prefetch` started that no :func:`load` took in."""
        if self.pending is not None:
            self.pending.cancel()
            self.pending = None


@record
class Snapshot:
    """What one commit of the shared ref holds."""

    sha: str
    state: BranchState
    log: list[LogEntry]


# --------------------------------------------------------------------------- reading


def prefetch(link: Link) -> None:
    """Start fetching the shared ref on the side, so that the fetch runs while the command
    reads the commit and EvalAI answers; the next :func:`load` takes it in.  Needs no lock
    (a fetch only moves this clone's mirror of the remote's ref)."""
    if link.pending is not None or link.fetched_at is not None:
        return
    try:
        if link.repo.has_remote(link.remote):
            link.pending = link.repo.start_fetch_ref(link.remote, link.ref)
    except GitError:
        pass  # load() fetches the usual way and says what is wrong


def load(link: Link, *, refresh: bool = False) -> BranchState | None:
    """The branch's state, with the shared ref fetched and merged into the cache first (unless
    it was fetched less than :data:`REFRESH_SECONDS` ago and ``refresh`` is not set).  Call
    it under the store's lock."""
    now = time.monotonic()
    due = link.fetched_at is None or now - link.fetched_at >= REFRESH_SECONDS
    if refresh or due or link.pending is not None:
        link.fetched_at = now
        tip = _fetch(link)
        if tip is not None:
            _merge_in(link, tip)
    return link.store.load(link.branch)


def _fetch(link: Link) -> str | None:
    """Fetch the ref (or take in the fetch :func:`prefetch` started); the remote's commit,
    None when there is none to merge (no remote, no ref there yet, or the remote cannot be
    read: a warning)."""
    pending, link.pending = link.pending, None
    if pending is None and not link.repo.has_remote(link.remote):
        return link.repo.ref_sha(link.ref)  # a clone with no remote keeps its ref to itself
    try:
        if pending is not None:
            try:
                return pending.result()
            except GitError as exc:
                if "lock" not in exc.message:
                    raise
                # another fetch of this ref ran at the same time: fetch again, now under
                # the state lock
        return link.repo.fetch_ref(link.remote, link.ref)
    except GitError as exc:
        link.warn_once(
            f"could not fetch the shared sync state ({link.ref}) from {link.remote}: "
            f"{exc.message}; comparing with this clone's copy of it"
        )
        return None


def read(repo: GitRepo, sha: str) -> Snapshot:
    """The state and log in commit ``sha`` of the shared ref (StateError when unreadable)."""
    files = repo.read_files(sha)
    where = f"{sha[:12]}:{STATE_NAME}"
    try:
        data = json.loads(files.get(STATE_NAME, b"{}").decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        version = data.get("version", FORMAT_VERSION)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise StateError(
                f"the shared sync state {where} was written by a newer evalai-mirror "
                f"(format {version})",
                hint=UPGRADE_HINT,
            )
        raw = {k: v for k, v in data.items() if k != "version" and k not in LOCAL_ONLY}
        state = BranchState.from_json(raw, where=where)
        log = [
            LogEntry.from_json(json.loads(line))
            for line in files.get(LOG_NAME, b"").decode("utf-8").splitlines()
            if line.strip()
        ]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise StateError(
            f"the shared sync state {where} is unreadable ({exc})",
            hint="see it with `git show` on that commit; another clone's next push or pull "
            "writes a new one",
        ) from exc
    return Snapshot(sha, state, log)


def _merge_in(link: Link, tip: str) -> None:
    """Merge commit ``tip`` of the shared ref into the cache (state and log)."""
    store, repo = link.store, link.repo
    ours = store.load(link.branch)
    if ours is not None and ours.shared == tip:
        return
    try:
        theirs = read(repo, tip)
    except StateError as exc:
        link.warn_once(f"{exc}; comparing with this clone's copy")
        return
    ancestor = None
    if ours is not None and ours.shared:
        ancestor = _ancestor(repo, ours.shared, tip)
    merged = merge(ancestor, ours, theirs.state)
    merged.shared = tip
    store.save(link.branch, merged, moved_now=False)
    store.merge_log(theirs.log)


def _ancestor(repo: GitRepo, seen: str, tip: str) -> BranchState | None:
    """The state at ``seen`` when it is an ancestor of ``tip`` (the common ground of a
    three-way merge); None otherwise, and the merge goes by time alone."""
    try:
        if not repo.is_ancestor(seen, tip):
            return None
        return read(repo, seen).state
    except (GitError, StateError):
        return None


# --------------------------------------------------------------------------- merging


def merge(
    ancestor: BranchState | None, ours: BranchState | None, theirs: BranchState
) -> BranchState:
    """Two writers' states as one, slot by slot (see :func:`evalai_mirror.state.slots`):
    what one side changed since ``ancestor`` is kept; a slot both changed takes the value
    that moved later (theirs when the times tie).  With no ancestor every differing slot goes
    by time.  What belongs to one clone comes from ``ours``."""
    result = BranchState()
    if ours is not None:
        for name in LOCAL_ONLY:
            setattr(result, name, getattr(ours, name))
    base, mine, other = slots(ancestor), slots(ours), slots(theirs)
    mine_moved = ours.moved if ours is not None else {}
    values: dict[str, Any] = {}
    moved: dict[str, str] = {}
    for key in sorted(set(mine) | set(other) | set(mine_moved) | set(theirs.moved)):
        pick = _pick(key, base if ancestor is not None else None, mine, other,
                     mine_moved.get(key, ""), theirs.moved.get(key, ""))
        source, when = (mine, mine_moved.get(key)) if pick == "ours" else (
            other, theirs.moved.get(key)
        )
        if key in source:
            values[key] = source[key]
        if when:
            moved[key] = when
    set_slots(result, values)
    result.moved = moved
    for name in _TIMES:
        times = [t for t in (getattr(ours, name, None), getattr(theirs, name)) if t]
        setattr(result, name, max(times) if times else None)
    return result


_ABSENT = object()


def _pick(
    key: str,
    base: dict[str, Any] | None,
    mine: dict[str, Any],
    other: dict[str, Any],
    mine_at: str,
    other_at: str,
) -> str:
    a = _ABSENT if base is None else base.get(key, _ABSENT)
    m, o = mine.get(key, _ABSENT), other.get(key, _ABSENT)
    if _same(m, o):
        return "ours" if mine_at > other_at else "theirs"
    if base is not None and _same(m, a):
        return "theirs"
    if base is not None and _same(o, a):
        return "ours"
    return "ours" if mine_at > other_at else "theirs"


def _same(a: Any, b: Any) -> bool:
    return a is b if _ABSENT in (a, b) else same_json(a, b)


# --------------------------------------------------------------------------- writing


def _files(state: BranchState, log: list[LogEntry]) -> dict[str, bytes]:
    data: dict[str, Any] = {"version": FORMAT_VERSION}
    data.update({
        spec.name: getattr(state, spec.name)
        for spec in fields(BranchState) if spec.name not in LOCAL_ONLY
    })
    text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    lines = sorted((e.time, log_line(e)) for e in log)
    return {STATE_NAME: text.encode("utf-8"), LOG_NAME: "".join(x for _, x in lines).encode()}


def _unpublished(link: Link, state: BranchState, log: list[LogEntry]) -> bool:
    """Whether the cache holds agreed state or log lines the last shared commit lacks (the
    times of the last push and pull alone are not worth a commit)."""
    if not state.shared:
        return bool(slots(state) or log)
    try:
        seen = read(link.repo, state.shared)
    except (GitError, StateError):
        return True
    if not _same(slots(state), slots(seen.state)):
        return True
    have = {log_line(e) for e in seen.log}
    return any(log_line(e) not in have for e in log)


def publish(link: Link, *, why: str = "") -> str | None:
    """Commit the cache's agreed state and this branch's log on top of the shared ref and push
    it (never forced); when another writer moved the ref first, fetch, merge and try again.
    The new commit, None when there was nothing new to share or it could not be pushed (a
    warning; the cache keeps it and the next publish sends it).  The store's lock is taken to
    read the cache and to record the commit, not while the remote is waited for, so that a
    slow remote holds up no other command."""
    store, repo = link.store, link.repo
    online = repo.has_remote(link.remote)
    for _ in range(ATTEMPTS):
        with store.lock():
            state = store.load(link.branch)
            if state is None:
                return None
            log = [e for e in store.read_log() if e.branch == link.branch]
            if not _unpublished(link, state, log):
                return None
            parents = [state.shared] if state.shared else []
            message = f"evalai-mirror: {link.branch} at {precise_now()}" + (
                f" ({why})" if why else ""
            )
            sha = repo.commit_files(_files(state, log), parents, message)
        if online:
            try:
                accepted = repo.push_ref(link.remote, sha, link.ref)
            except GitError as exc:
                link.warn_once(
                    f"the shared sync state was not pushed to {link.remote} ({exc.message}); "
                    "this clone keeps it and its next push or pull shares it"
                )
                return None
            if not accepted:  # another clone moved it first: take theirs in, then retry
                with store.lock():
                    tip = _fetch(link)
                    if tip is None:
                        return None
                    _merge_in(link, tip)
                continue
        with store.lock():
            repo.update_ref(link.ref, sha)
            # The cache as it is now: what changed in it since the commit was made is newer
            # than the commit and shared by the next publish.
            now = store.load(link.branch) or state
            now.shared = sha
            store.save(link.branch, now, moved_now=False)
        return sha
    link.warn_once(
        f"{link.ref} kept moving on {link.remote} while this clone tried to share its state "
        f"({ATTEMPTS} attempts); the next push or pull tries again"
    )
    return None

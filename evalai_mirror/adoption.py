"""Adopting an existing EvalAI-Starters repository (``evalai-mirror adopt``): what is there, and
the first base.

A repository that EvalAI-Starters' workflow has been uploading has no sync history, so every
field that differs between it and EvalAI would read as a conflict.  Adopting compares the two
sides once, field by field; the fields they agree on become the base, and for each field that
differs the host chooses a side:

* ``repo``: EvalAI's value becomes the base, so the field reads "changed here" and the next
  push sends the repository's value;
* ``evalai``: EvalAI's value is written into the working copy and becomes the base, recorded
  as a pull records it (moved from the repository's value, not pushed yet), so that until it
  is committed, a push of a commit that still holds the old value (from any clone or runner)
  is refused instead of undoing EvalAI's value.

Either way nothing is sent to EvalAI and nothing is guessed.  EvalAI never returns the
evaluation script, annotation files or the logo, so they cannot be compared: no structure
digests are recorded, and the first push uploads the whole challenge once (after comparing
every field), as EvalAI-Starters did on every push.

The command side (questions, output) is :mod:`evalai_mirror.commands.adopt`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from evalai_mirror import records, scaffold
from evalai_mirror.errors import RefusedError, SyncError
from evalai_mirror.fetch import ALL_READS
from evalai_mirror.merge import MISSING, FieldResult, same
from evalai_mirror.records import field
from evalai_mirror.source import ReadOnce
from evalai_mirror.state import BranchState, move_base, now_iso
from evalai_mirror.sync import (
    Comparison,
    Context,
    _known,
    _log,
    check_claim,
    compare,
    find_pk,
    read_evalai,
    read_source,
    worktree,
)
from evalai_mirror.syncpull import write_unless_saved

Side = Literal["repo", "evalai"]
STARTERS_SCRIPT = "challenge_processing_script.py"
"""What EvalAI-Starters' workflow runs to upload the whole challenge on each push."""


# --------------------------------------------------------------------------- the workflows


def starters_workflows(root: Path) -> list[str]:
    """The workflow files (repository-relative) that run EvalAI-Starters' upload script."""
    folder = root / scaffold.WORKFLOWS_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yml", ".yaml") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if STARTERS_SCRIPT in text:
            found.append(f"{scaffold.WORKFLOWS_DIR}/{path.name}")
    return found


@records.record
class WorkflowPlan:
    """What replacing EvalAI-Starters' workflow writes and removes (repository paths)."""

    remove: list[str]
    write: dict[str, str]  # path -> text, the bundled workflows that are not there yet
    kept: list[str]  # bundled workflow paths that exist with other content: left alone


def plan_workflows(root: Path, branch: str, patterns: list[str] | tuple[str, ...]) -> WorkflowPlan:
    plan = WorkflowPlan(remove=starters_workflows(root), write={}, kept=[])
    for path, text in scaffold.render_workflows(branch, tuple(patterns)).items():
        target = root / path
        if not target.exists():
            plan.write[path] = text
        elif target.read_text(encoding="utf-8", errors="replace") != text:
            plan.kept.append(path)
    return plan


def replace_workflows(root: Path, plan: WorkflowPlan) -> None:
    """Write the bundled workflows first, then remove EvalAI-Starters' (so that an
    interrupted run never leaves the repository with neither)."""
    from evalai_mirror.fsutil import atomic_write_text

    for path, text in sorted(plan.write.items()):
        atomic_write_text(root / path, text)
    for path in plan.remove:
        (root / path).unlink(missing_ok=True)


# --------------------------------------------------------------------------- the comparison


@records.record
class Survey:
    """Where the branch stands before adopting."""

    state: BranchState | None  # the recorded state (from any clone), if any
    pk: int | None = None
    page_url: str = ""
    comparison: Comparison | None = None
    differing: list[FieldResult] = field(default_factory=list)  # both sides hold a value
    one_sided: list[str] = field(default_factory=list)  # a phase/split/... on one side only
    agreed: int = 0
    read: ReadOnce | None = None  # the working copy as compared (record writes from it)

    @property
    def adopted(self) -> bool:
        """Whether the branch already has a base (adopted, or synced by evalai-mirror)."""
        return self.state is not None and bool(self.state.base)


def survey(ctx: Context, state: BranchState | None) -> Survey:
    """Compare the working copy with the challenge EvalAI holds for the repository, every
    field (no base: each difference is the host's to settle).  Read-only."""
    found = Survey(state=state)
    if found.adopted:
        assert state is not None  # adopted: the state says so
        found.pk = state.challenge_pk
        if found.pk:
            found.page_url = ctx.client.challenge_page_url(found.pk)
        return found
    found.pk = find_pk(ctx, None)
    if found.pk is None:
        return found
    check_claim(ctx, found.pk)
    found.page_url = ctx.client.challenge_page_url(found.pk)
    source = worktree(ctx)
    dirty = ctx.repo.dirty_paths(sorted(read_source(source, ctx.config_path).files()))
    if dirty:
        raise RefusedError(
            f"{', '.join(sorted(dirty))} has uncommitted edits, so the repository's side is "
            "not settled; nothing was compared",
            hint="commit or stash them, then run `evalai-mirror adopt` again",
        )
    remote = read_evalai(ctx, found.pk, ALL_READS)
    found.read = ReadOnce(source)
    local = read_source(found.read, ctx.config_path)  # as late as possible, as pull does
    cmp = compare(None, local, remote)
    found.comparison = cmp
    for res in sorted(cmp.result.fields.values(), key=lambda r: r.key):
        if same(res.local, res.remote):
            found.agreed += 1
        elif res.local is MISSING or res.remote is MISSING:
            found.one_sided.append(res.key)
        else:
            found.differing.append(res)
    return found


def unsettled(found: Survey, choices: Mapping[str, Side]) -> list[str]:
    """The differing fields no choice settles."""
    return [r.key for r in found.differing if r.key not in choices]


@records.record
class Recorded:
    """What :func:`record` did."""

    pk: int
    base_fields: int
    written: dict[str, Any] = field(default_factory=dict)  # key -> EvalAI's value, written here
    files: list[str] = field(default_factory=list)
    kept_repo: list[str] = field(default_factory=list)  # the next push sends these
    held: dict[str, str] = field(default_factory=dict)  # key -> why not written


def record(ctx: Context, found: Survey, choices: Mapping[str, Side]) -> Recorded:
    """Record the first base from ``found`` and the host's ``choices`` (one per differing
    field), writing EvalAI's value into the working copy where the host kept EvalAI's.  The
    caller holds the store's lock, has checked that no base was recorded meanwhile, and
    publishes the new state (``ctx.publish_state``) so that every clone starts from it."""
    from evalai_mirror.writeback import plan_local_changes

    cmp = found.comparison
    if cmp is None or found.pk is None or found.read is None:
        raise SyncError("there is no comparison to record", hint="report this bug")
    missing = unsettled(found, choices)
    if missing:
        raise RefusedError(
            f"no side chosen for {', '.join(missing)}; nothing was recorded",
            hint="choose with --keep repo|evalai, or per field with --keep-repo FIELD / "
            "--keep-evalai FIELD",
        )
    chosen = {r.key: r for r in found.differing}
    writes = {k: chosen[k].remote for k, side in choices.items() if side == "evalai" and k in chosen}
    planned = plan_local_changes(cmp.local, found.read, writes)
    done = Recorded(pk=found.pk, base_fields=0, held=dict(planned.held))
    done.written = {k: v for k, v in writes.items() if k not in planned.held}
    done.files = sorted(planned.files)
    done.kept_repo = sorted(k for k, side in choices.items() if side == "repo" and k in chosen)
    saved = write_unless_saved(ctx.repo.root, planned.files, found.read)
    if saved:  # the host saved it while answering: theirs stays, nothing is recorded
        raise SyncError(
            f"{', '.join(sorted(saved))} was saved while adopt compared it, so it was left as "
            "saved and no base was recorded",
            hint="commit it, then run `evalai-mirror adopt` again",
        )
    state = BranchState(
        challenge_pk=found.pk,
        repository=ctx.repository,
        base=_known(cmp.result.agreed),  # the fields both sides agree on
        last_pull=now_iso(),
    )
    for key in done.kept_repo:  # EvalAI's value is the base: the repository's reads as an edit
        state.base[key] = chosen[key].remote
    me = ctx.store.clone_id()
    for key in done.written:
        # As a pull records it: the base moves from the value the repository's commits hold
        # to EvalAI's, written into this working copy only.  Until that is committed, a
        # commit still holding the old value (pushed from anywhere) is not taken for an edit.
        state.base[key] = chosen[key].local
        move_base(state, key, chosen[key].remote, commit=None, by=me)
    ctx.store.save(ctx.branch, state)
    done.base_fields = len(state.base)
    detail = f"first base: {done.base_fields} fields"
    if done.written:
        detail += f"; kept EvalAI's {', '.join(sorted(done.written))}"
    if done.kept_repo:
        detail += f"; kept the repository's {', '.join(done.kept_repo)} (the next push sends it)"
    _log(ctx, "adopt", found.pk, sorted(chosen), None, "adopt", detail)
    return done

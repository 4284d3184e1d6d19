"""Reading EvalAI's side: the GETs a command needs, sent at once (one round trip).

Status and pull send every GET (``ALL_READS``: the challenge, its phases, its phase splits,
each split's detail, prizes, sponsors); a watch poll the first three (``POLL_READS``); a push
only the GETs that return what it is about to write (only the detail of a split it writes; and
everything before a zip, which sets every field).  The split list names dataset splits and leaderboards by pk only, so
their codenames and config ids are learnt once from the detail GETs and cached next to the
state (``ids.json``), keyed by host and challenge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

from evalai_mirror.records import field, record

from . import remotemodel
from .api import EvalAIClient
from .catalogue import POLL_READS, Read, parse_key
from .errors import NotFoundError
from .remotemodel import Ids, Pks

ALL_READS: frozenset[Read] = frozenset(Read)


@record
class Remote:
    """A challenge as EvalAI has it now (the part of it that was read)."""

    pk: int
    challenge: dict[str, Any]
    phases: list[dict[str, Any]]
    snapshot: dict[str, Any]
    reads: frozenset[Read] = POLL_READS
    pks: Pks = field(default_factory=Pks)
    splits: list[dict[str, Any]] = field(default_factory=list)
    # the phase splits (phase codename, dataset split codename) whose detail was read, when
    # not all of them were (a push reads only the detail of the split it writes)
    details_for: frozenset[tuple[str, str]] | None = None

    @property
    def phase_pks(self) -> dict[str, int]:
        return dict(self.pks.phases)

    def covers(self, key: str) -> bool:
        """Whether EvalAI's value of ``key`` was read (so that it can be compared)."""
        parsed = parse_key(key)
        if parsed is None or parsed.field.read not in self.reads:
            return False
        split = remotemodel.split_of(key)
        return split is None or self.details_for is None or split in self.details_for


def run_at_once(calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Every call's result by name, the calls made at once (:func:`api.at_once`)."""
    from .api import at_once

    return dict(zip(calls, at_once(list(calls.values())), strict=True))


class IdCache:
    """``ids.json`` in the state folder: what EvalAI's pks stand for, per host and challenge."""

    def __init__(self, folder: Path | None, host: str) -> None:
        self.path = None if folder is None else folder / "ids.json"
        self.host = host

    def _all(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def load(self, pk: int) -> Ids:
        return Ids.from_json(self._all().get(f"{self.host}#{pk}"))

    def save(self, pk: int, ids: Ids) -> None:
        if self.path is None:
            return
        from .fsutil import atomic_write_bytes

        data = self._all()
        data[f"{self.host}#{pk}"] = ids.to_json()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, json.dumps(data, sort_keys=True).encode("utf-8"))
        except OSError:
            pass  # a cache: the next command learns the ids again


def fetch_remote(
    client: EvalAIClient,
    pk: int,
    reads: Iterable[Read] = POLL_READS,
    *,
    cache: IdCache | None = None,
    details_for: Iterable[tuple[str, str]] | None = None,
) -> Remote:
    """EvalAI's side as the GETs for ``reads`` return it, sent at once.  ``details_for``
    limits the phase split detail GETs to those splits (phase codename, dataset split
    codename), read once the split list has named their pks."""
    only = None if details_for is None else frozenset(details_for)
    wanted = frozenset(reads)
    ids = cache.load(pk) if cache is not None else Ids()
    known = json.dumps(ids.to_json(), sort_keys=True)
    calls: dict[str, Callable[[], Any]] = {}
    if Read.CHALLENGE in wanted:
        calls["challenge"] = lambda: client.get_challenge(pk)
    if Read.PHASES in wanted:
        calls["phases"] = lambda: client.list_phases(pk)
    needs_splits = wanted & {Read.SPLITS, Read.SPLIT_DETAIL, Read.LEADERBOARD,
                             Read.DATASET_SPLIT}
    if needs_splits:
        calls["splits"] = lambda: client.phase_splits(pk)
    if Read.PRIZES in wanted:
        calls["prizes"] = _tolerant(partial(client.prizes, pk))
    if Read.SPONSORS in wanted:
        calls["sponsors"] = _tolerant(partial(client.sponsors, pk))
    if Read.SPLIT_DETAIL in wanted and only is None:
        # the split pks a past read learnt: their details go in this same round trip
        for split_pk in sorted(ids.split_leaderboard):
            calls[f"detail{split_pk}"] = _tolerant(partial(client.get_phase_split, split_pk))
    answers = run_at_once(calls)
    early = {int(k[6:]): v for k, v in answers.items() if k.startswith("detail")}
    got = {k: v for k, v in answers.items() if v is not None and not k.startswith("detail")}
    phases: list[dict[str, Any]] = got.get("phases", [])
    ids.learn_phases(phases)
    splits: list[dict[str, Any]] = got.get("splits", [])
    if "splits" in got:
        ids.forget_splits_but(splits)
    details = _learn(client, pk, ids, splits, want_details=Read.SPLIT_DETAIL in wanted,
                     have_phases="phases" in got, have=early, only=only)
    if "phases" in got:
        ids.phases = {p: c for p, c in ids.phases.items() if any(x.get("id") == p for x in phases)}
    snapshot, pks = remotemodel.snapshot(
        challenge=got.get("challenge"),
        phases=phases if "phases" in got else None,
        splits=splits if needs_splits else None,
        split_details=details if Read.SPLIT_DETAIL in wanted else None,
        prizes=got.get("prizes"),
        sponsors=got.get("sponsors"),
        ids=ids,
    )
    if cache is not None and json.dumps(ids.to_json(), sort_keys=True) != known:
        cache.save(pk, ids)
    effective: set[Read] = {r for r in wanted if r not in (Read.PRIZES, Read.SPONSORS)}
    effective |= {r for r, name in ((Read.PRIZES, "prizes"), (Read.SPONSORS, "sponsors"))
                  if name in got}
    if needs_splits:
        effective.add(Read.SPLITS)
        if any(ids.unknown(splits)):
            # EvalAI did not tell what some pks stand for (an older EvalAI without the detail
            # endpoints): those fields are not compared at all rather than shown as missing
            effective -= {Read.SPLITS, Read.SPLIT_DETAIL}
            snapshot = {k: v for k, v in snapshot.items() if _read_of(k) in effective}
    if only is not None and Read.SPLIT_DETAIL in effective:
        snapshot = {k: v for k, v in snapshot.items()
                    if (split := remotemodel.split_of(k)) is None or split in only}
    return Remote(pk, got.get("challenge", {}), phases, snapshot, frozenset(effective), pks,
                  splits, only)


def _read_of(key: str) -> Read | None:
    from .catalogue import field_of

    spec = field_of(key)
    return None if spec is None else spec.read


def _tolerant(call: Callable[[], Any]) -> Callable[[], Any]:
    """``call``, whose "no such object" answer is None (the pk is then left unknown)."""

    def run() -> Any:
        try:
            return call()
        except NotFoundError:
            return None

    return run


def _learn(
    client: EvalAIClient,
    pk: int,
    ids: Ids,
    splits: list[dict[str, Any]],
    *,
    want_details: bool,
    have_phases: bool,
    have: dict[int, Any],
    only: frozenset[tuple[str, str]] | None = None,
) -> dict[int, dict[str, Any]]:
    """Fill in ``ids`` for ``splits`` (one more round trip when something is new); the split
    details read on the way (all of them when ``want_details``, or those of the splits in
    ``only``), ``have`` those read already."""
    phases, dsplits, psplits = ids.unknown(splits)
    if want_details:
        psplits |= {int(s["id"]) for s in splits if isinstance(s.get("id"), int)
                    and (only is None or ids.split_names(s) in (None, *only))}
    psplits -= {split_pk for split_pk, answer in have.items() if answer is not None}
    calls: dict[str, Callable[[], Any]] = {}
    if phases and not have_phases:
        calls["phases"] = lambda: client.list_phases(pk)
    for ds_pk in sorted(dsplits):
        calls[f"ds{ds_pk}"] = _tolerant(partial(client.get_dataset_split, ds_pk))
    for split_pk in sorted(psplits):
        calls[f"detail{split_pk}"] = _tolerant(partial(client.get_phase_split, split_pk))
    got = {**{f"detail{k}": v for k, v in have.items()}, **run_at_once(calls)}
    ids.learn_phases(got.get("phases", []))
    details: dict[int, dict[str, Any]] = {}
    for name, answer in got.items():
        if not isinstance(answer, dict):
            continue
        if name.startswith("ds") and answer.get("codename") is not None:
            ids.dataset_splits[int(name[2:])] = str(answer["codename"])
        elif name.startswith("detail"):
            details[int(name[6:])] = answer
            if isinstance(answer.get("leaderboard"), int):
                ids.split_leaderboard[int(name[6:])] = int(answer["leaderboard"])
    boards = {lb for lb in ids.split_leaderboard.values() if lb not in ids.leaderboards}
    more = run_at_once(
        {f"lb{lb}": _tolerant(partial(client.get_leaderboard, lb)) for lb in sorted(boards)}
    )
    for name, answer in more.items():
        if isinstance(answer, dict) and isinstance(answer.get("config_id"), int):
            ids.leaderboards[int(name[2:])] = int(answer["config_id"])
    return details

"""Reading EvalAI's side: the GETs a command needs, sent at once (one round trip).

A status or watch poll sends the challenge, its phases and its phase splits (``POLL_READS``);
a push sends only the GETs that return what it is about to write (and everything before a zip,
which sets every field).  The split list names dataset splits and leaderboards by pk only, so
their codenames and config ids are learnt once from the detail GETs and cached next to the
state (``ids.json``), keyed by host and challenge.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from . import remotemodel
from .api import EvalAIClient
from .catalogue import POLL_READS, Read
from .errors import NotFoundError
from .remotemodel import Ids, Pks

ALL_READS: frozenset[Read] = frozenset(Read)


@dataclass
class Remote:
    """A challenge as EvalAI has it now (the part of it that was read)."""

    pk: int
    challenge: dict[str, Any]
    phases: list[dict[str, Any]]
    snapshot: dict[str, Any]
    reads: frozenset[Read] = POLL_READS
    pks: Pks = field(default_factory=Pks)
    splits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def phase_pks(self) -> dict[str, int]:
        return dict(self.pks.phases)


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
) -> Remote:
    """EvalAI's side as the GETs for ``reads`` return it, sent at once."""
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
    got = {k: v for k, v in run_at_once(calls).items() if v is not None}
    phases: list[dict[str, Any]] = got.get("phases", [])
    ids.learn_phases(phases)
    splits: list[dict[str, Any]] = got.get("splits", [])
    details = _learn(client, pk, ids, splits, want_details=Read.SPLIT_DETAIL in wanted,
                     have_phases="phases" in got)
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
    return Remote(pk, got.get("challenge", {}), phases, snapshot, frozenset(effective), pks,
                  splits)


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
) -> dict[int, dict[str, Any]]:
    """Fill in ``ids`` for ``splits`` (one more round trip when something is new); the split
    details read on the way (all of them when ``want_details``)."""
    phases, dsplits, psplits = ids.unknown(splits)
    if want_details:
        psplits = {int(s["id"]) for s in splits if isinstance(s.get("id"), int)}
    calls: dict[str, Callable[[], Any]] = {}
    if phases and not have_phases:
        calls["phases"] = lambda: client.list_phases(pk)
    for ds_pk in sorted(dsplits):
        calls[f"ds{ds_pk}"] = _tolerant(partial(client.get_dataset_split, ds_pk))
    for split_pk in sorted(psplits):
        calls[f"split{split_pk}"] = _tolerant(partial(client.get_phase_split, split_pk))
    got = run_at_once(calls)
    ids.learn_phases(got.get("phases", []))
    details: dict[int, dict[str, Any]] = {}
    for name, answer in got.items():
        if not isinstance(answer, dict):
            continue
        if name.startswith("ds") and answer.get("codename") is not None:
            ids.dataset_splits[int(name[2:])] = str(answer["codename"])
        elif name.startswith("split"):
            details[int(name[5:])] = answer
            if isinstance(answer.get("leaderboard"), int):
                ids.split_leaderboard[int(name[5:])] = int(answer["leaderboard"])
    boards = {lb for lb in ids.split_leaderboard.values() if lb not in ids.leaderboards}
    more = run_at_once(
        {f"lb{lb}": _tolerant(partial(client.get_leaderboard, lb)) for lb in sorted(boards)}
    )
    for name, answer in more.items():
        if isinstance(answer, dict) and isinstance(answer.get("config_id"), int):
            ids.leaderboards[int(name[2:])] = int(answer["config_id"])
    return details

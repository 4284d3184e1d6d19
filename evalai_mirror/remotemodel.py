"""EvalAI's side of the fields (pure: JSON answers in, a snapshot and request bodies out).

EvalAI's answers name objects by pk; the snapshot names them as the config does (phase codename,
dataset split codename, leaderboard config id).  The phase list gives each phase's codename, but
the phase split list gives only pks (no dataset split codename, no leaderboard), so those are
learnt once from the detail GETs and kept in :class:`Ids` (a cache: a wrong entry costs a 404
and a fresh look, never a wrong value, since EvalAI keeps an object's pk while it exists).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from evalai_mirror.records import field, record

from . import catalogue as cat
from .catalogue import Read, Scope, Write
from .values import normalise, to_api


@record
class Ids:
    """What EvalAI's pks stand for, as the config names them."""

    phases: dict[int, str] = field(default_factory=dict)  # phase pk -> codename
    dataset_splits: dict[int, str] = field(default_factory=dict)  # pk -> codename
    leaderboards: dict[int, int] = field(default_factory=dict)  # pk -> config id
    split_leaderboard: dict[int, int] = field(default_factory=dict)  # split pk -> leaderboard pk

    def to_json(self) -> dict[str, Any]:
        return {
            "phases": {str(k): v for k, v in self.phases.items()},
            "dataset_splits": {str(k): v for k, v in self.dataset_splits.items()},
            "leaderboards": {str(k): v for k, v in self.leaderboards.items()},
            "split_leaderboard": {str(k): v for k, v in self.split_leaderboard.items()},
        }

    @classmethod
    def from_json(cls, data: Any) -> Ids:
        ids = cls()
        if not isinstance(data, dict):
            return ids
        try:
            ids.phases = {int(k): str(v) for k, v in dict(data.get("phases", {})).items()}
            ids.dataset_splits = {
                int(k): str(v) for k, v in dict(data.get("dataset_splits", {})).items()
            }
            ids.leaderboards = {int(k): int(v) for k, v in dict(data.get("leaderboards", {})).items()}
            ids.split_leaderboard = {
                int(k): int(v) for k, v in dict(data.get("split_leaderboard", {})).items()
            }
        except (TypeError, ValueError):
            return cls()
        return ids

    def learn_phases(self, phases: Iterable[Mapping[str, Any]]) -> None:
        for phase in phases:
            if phase.get("codename") is not None and isinstance(phase.get("id"), int):
                self.phases[int(phase["id"])] = str(phase["codename"])

    def forget_splits_but(self, splits: Iterable[Mapping[str, Any]]) -> None:
        """Forget the phase splits EvalAI no longer lists (no detail GET is sent for them)."""
        listed = {_pk(item.get("id")) for item in splits}
        self.split_leaderboard = {
            k: v for k, v in self.split_leaderboard.items() if k in listed
        }

    def split_names(self, item: Mapping[str, Any]) -> tuple[str, str] | None:
        """(phase codename, dataset split codename) of a split list item, when known."""
        phase = self.phases.get(_pk(item.get("challenge_phase")) or -1)
        dsplit = self.dataset_splits.get(_pk(item.get("dataset_split")) or -1)
        return None if phase is None or dsplit is None else (phase, dsplit)

    def unknown(self, splits: Iterable[Mapping[str, Any]]) -> tuple[set[int], set[int], set[int]]:
        """(phase pks, dataset split pks, phase split pks) of ``splits`` not known yet."""
        phases, dsplits, psplits = set(), set(), set()
        for item in splits:
            if _pk(item.get("challenge_phase")) not in self.phases:
                phases.add(int(item.get("challenge_phase") or 0))
            if _pk(item.get("dataset_split")) not in self.dataset_splits:
                dsplits.add(int(item.get("dataset_split") or 0))
            if _pk(item.get("id")) not in self.split_leaderboard:
                psplits.add(int(item.get("id") or 0))
        return phases, dsplits, psplits


def _pk(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@record
class Pks:
    """The pk of every object the snapshot names, for the requests that write them."""

    phases: dict[str, int] = field(default_factory=dict)  # codename -> pk
    splits: dict[tuple[str, str], int] = field(default_factory=dict)
    leaderboards: dict[str, int] = field(default_factory=dict)  # config id (str) -> pk
    dataset_splits: dict[str, int] = field(default_factory=dict)  # codename -> pk


def _put(snapshot: dict[str, Any], key: str, spec: cat.Field, answer: Mapping[str, Any]) -> None:
    if spec.json_key in answer:
        snapshot[key] = normalise(spec, answer[spec.json_key])


def snapshot(
    *,
    challenge: Mapping[str, Any] | None = None,
    phases: Iterable[Mapping[str, Any]] | None = None,
    splits: Iterable[Mapping[str, Any]] | None = None,
    split_details: Mapping[int, Mapping[str, Any]] | None = None,
    prizes: list[Any] | None = None,
    sponsors: list[Any] | None = None,
    ids: Ids | None = None,
) -> tuple[dict[str, Any], Pks]:
    """EvalAI's snapshot from whichever answers were read (a field whose GET was not sent is
    left out), and the pks of the objects it names."""
    ids = ids or Ids()
    out: dict[str, Any] = {}
    pks = Pks()
    if challenge is not None:
        for spec in cat.fields(Scope.CHALLENGE).values():
            if spec.read is Read.CHALLENGE:
                _put(out, spec.name, spec, challenge)
    if prizes is not None:
        out["prizes"] = normalise(cat.fields(Scope.CHALLENGE)["prizes"], _prizes(prizes))
    if sponsors is not None:
        out["sponsors"] = normalise(cat.fields(Scope.CHALLENGE)["sponsors"], _sponsors(sponsors))
    if phases is not None:
        phase_list = list(phases)
        ids.learn_phases(phase_list)
        for phase in phase_list:
            codename = phase.get("codename")
            if codename is None:
                continue
            if _pk(phase.get("id")) is not None:
                pks.phases[str(codename)] = int(phase["id"])
            for spec in cat.fields(Scope.PHASE).values():
                _put(out, cat.phase_key(str(codename), spec.name), spec, phase)
    for pk, codename in ids.phases.items():
        pks.phases.setdefault(codename, pk)
    details = split_details or {}
    for item in splits or ():
        split_pk = _pk(item.get("id"))
        pcode = ids.phases.get(_pk(item.get("challenge_phase")) or -1)
        ds_pk = _pk(item.get("dataset_split"))
        dsplit = ids.dataset_splits.get(ds_pk or -1)
        if split_pk is None or pcode is None or dsplit is None or ds_pk is None:
            continue
        pks.splits[(pcode, dsplit)] = split_pk
        pks.dataset_splits[dsplit] = ds_pk
        detail = details.get(split_pk)
        for spec in cat.fields(Scope.PHASE_SPLIT).values():
            answer = detail if spec.read is Read.SPLIT_DETAIL else item
            if answer is not None:
                _put(out, cat.split_key(pcode, dsplit, spec.name), spec, answer)
        for spec in cat.fields(Scope.DATASET_SPLIT).values():
            _put(out, cat.dataset_split_key(dsplit, spec.name), spec, item)
        lb_pk = ids.split_leaderboard.get(split_pk)
        config_id = ids.leaderboards.get(lb_pk or -1)
        if lb_pk is not None and config_id is not None:
            pks.leaderboards[str(config_id)] = lb_pk
            for spec in cat.fields(Scope.LEADERBOARD).values():
                _put(out, cat.leaderboard_key(config_id, spec.name), spec, item)
    return out, pks


def _prizes(items: list[Any]) -> list[Any]:
    keep = ("rank", "amount", "description")
    rows = [{k: p.get(k) for k in keep if k in p} for p in items if isinstance(p, dict)]
    return sorted(rows, key=lambda p: str(p.get("rank")))


def _sponsors(items: list[Any]) -> list[Any]:
    keep = ("name", "website")
    rows = [{k: p.get(k) for k in keep if k in p} for p in items if isinstance(p, dict)]
    return sorted(rows, key=lambda p: str(p.get("name")))


def local_prizes(value: Any) -> Any:
    """The config's prizes / sponsors compared as EvalAI returns them (sorted, known keys)."""
    return _prizes(value) if isinstance(value, list) else value


def local_sponsors(value: Any) -> Any:
    return _sponsors(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------- writing


@record
class Request:
    """One request that writes fields: its kind, the object's pk, its body and its keys."""

    write: Write
    target: str  # for people: "challenge 5", "phase dev (12)", "phase split dev/train (3)"
    pk: int
    body: dict[str, Any]
    keys: list[str]

    def describe(self) -> str:
        return f"{self.write.value} {self.target}: {', '.join(sorted(self.keys))}"


def reads_for(keys: Iterable[str]) -> set[Read]:
    """The GETs that return ``keys`` and the pks their requests need (the split list also for
    leaderboards and dataset splits: it is how their pks are found)."""
    reads: set[Read] = set()
    for key in keys:
        parsed = cat.parse_key(key)
        if parsed is None:
            continue
        reads.add(parsed.field.read)
        if parsed.scope in (Scope.PHASE_SPLIT, Scope.LEADERBOARD, Scope.DATASET_SPLIT):
            reads.add(Read.SPLITS)
    return reads


def split_of(key: str) -> tuple[str, str] | None:
    """The phase split (phase codename, dataset split codename) whose detail GET returns
    ``key``; None for a key any other GET returns."""
    parsed = cat.parse_key(key)
    if parsed is None or parsed.field.read is not Read.SPLIT_DETAIL:
        return None
    return parsed.ident[0], parsed.ident[1]


def split_details_for(keys: Iterable[str]) -> set[tuple[str, str]]:
    """The phase splits whose detail GET returns one of ``keys``."""
    return {split for key in keys if (split := split_of(key)) is not None}


def plan_requests(
    pk: int, values: Mapping[str, Any], keys: Iterable[str], pks: Pks
) -> tuple[list[Request], list[str]]:
    """The narrowest requests that set ``keys`` to ``values`` on EvalAI, grouped one per object
    and kind; and the keys that no request but the zip can write (or whose object EvalAI lacks)."""
    grouped: dict[tuple[Write, str], Request] = {}
    zip_only: list[str] = []
    for key in sorted(set(keys)):
        parsed = cat.parse_key(key)
        if parsed is None or parsed.field.write is Write.ZIP:
            zip_only.append(key)
            continue
        spec, ident = parsed.field, parsed.ident
        target = _target(pk, parsed.scope, ident, pks)
        if target is None:
            zip_only.append(key)
            continue
        label, obj_pk = target
        req = grouped.setdefault(
            (spec.write, label), Request(spec.write, label, obj_pk, {}, [])
        )
        req.keys.append(key)
        if spec.write is Write.TAGS_DOMAIN:
            continue  # both values below, always (EvalAI saves neither without the domain)
        req.body[spec.name] = to_api(spec, values[key])
    for (write, label) in list(grouped):
        if write is Write.TAGS_DOMAIN:
            req = grouped[(write, label)]
            if values.get("domain") is None:
                # EvalAI's tags and domain request saves nothing without a domain: only the
                # zip can clear a domain (or set tags while there is none)
                zip_only.extend(req.keys)
                del grouped[(write, label)]
                continue
            req.body = {"list_tags": list(values.get("tags") or []), "domain": values.get("domain")}
    order = list(Write)
    ordered = sorted(grouped.values(), key=lambda r: (order.index(r.write), r.target))
    return ordered, sorted(zip_only)


def _target(pk: int, scope: Scope, ident: tuple[str, ...], pks: Pks) -> tuple[str, int] | None:
    if scope is Scope.CHALLENGE:
        return f"challenge {pk}", pk
    if scope is Scope.PHASE:
        found = pks.phases.get(ident[0])
        return None if found is None else (f"phase {ident[0]} ({found})", found)
    if scope is Scope.PHASE_SPLIT:
        found = pks.splits.get((ident[0], ident[1]))
        return None if found is None else (f"phase split {'/'.join(ident)} ({found})", found)
    if scope is Scope.LEADERBOARD:
        found = pks.leaderboards.get(ident[0])
        return None if found is None else (f"leaderboard {ident[0]} ({found})", found)
    found = pks.dataset_splits.get(ident[0])
    return None if found is None else (f"dataset split {ident[0]} ({found})", found)

"""Phase splits, leaderboards, dataset splits, tags and domain, prizes and sponsors, as EvalAI's
views answer and change them (``views.challenge_phase_split_list``,
``get_or_update_challenge_phase_split``, ``get_or_update_leaderboard``,
``get_or_update_dataset_split``, ``update_challenge_tags_and_domain``, ``get_prizes_by_challenge``,
``get_sponsors_by_challenge``).  ``Service`` owns one; the app and the UI edits call it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalai_mirror.sandbox import fields, render
from evalai_mirror.sandbox.refused import Refused

if TYPE_CHECKING:
    from evalai_mirror.sandbox.service import Service

NOT_AUTHORIZED = {"error": "Sorry, you are not authorized to perform this operation!"}


def _missing(model: str, pk: int) -> Refused:
    """``get_model_object``'s NotFound: 404 ``{"detail": "<Model> <pk> does not exist"}``."""
    return Refused(404, {"detail": f"{model} {pk} does not exist"})


class Structure:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.store = service.store

    # -- phase splits ---------------------------------------------------------------------
    def phase_splits(self, pk: int, *, anonymous: bool = False) -> list[dict[str, Any]]:
        """The split list: a host sees every split, anyone else the public ones (visibility 3)."""
        challenge = self.service.challenge_doc(pk)
        host = not anonymous and self.service.is_host_of(challenge)
        result = []
        for doc in self.store.children("phase_split", pk):
            if not host and doc.get("visibility", 3) != 3:
                continue
            result.append(
                render.phase_split(
                    doc,
                    self.store.get("phase", int(doc["challenge_phase"])),
                    self.store.get("dataset_split", int(doc["dataset_split"])),
                    self.store.get("leaderboard", int(doc["leaderboard"])),
                )
            )
        return result

    def _split_doc(self, split_pk: int) -> dict[str, Any]:
        doc = self.store.get("phase_split", split_pk)
        if doc is None:
            raise _missing("ChallengePhaseSplit", split_pk)
        return doc

    def get_phase_split(self, split_pk: int) -> dict[str, Any]:
        return render.phase_split_detail(self._split_doc(split_pk))

    def patch_phase_split(self, split_pk: int, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            doc = self._split_doc(split_pk)
            errors: dict[str, list[str]] = {}
            try:
                updated = fields.apply(doc, data, fields.PHASE_SPLIT_FIELDS)
            except fields.PatchErrors as exc:
                errors, updated = exc.errors, doc
            for key, kind in fields.PHASE_SPLIT_PKS.items():
                if key in data:
                    value = data[key]
                    target = self._pk_value(value, kind)
                    if target is None:
                        errors[key] = [self._pk_error(value)]
                    else:
                        updated[key] = target
            if errors:
                raise Refused(400, errors)
            self.store.put("phase_split", split_pk, updated)
        return render.phase_split_detail(updated)

    def _pk_value(self, value: Any, kind: str) -> int | None:
        if isinstance(value, bool) or not str(value).strip().isdigit():
            return None
        pk = int(str(value).strip())
        return pk if self.store.get(kind, pk) is not None else None

    @staticmethod
    def _pk_error(value: Any) -> str:
        if value is None:
            return fields.NULL
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return f"Incorrect type. Expected pk value, received {type(value).__name__}."
        return f'Invalid pk "{value}" - object does not exist.'

    # -- leaderboards and dataset splits --------------------------------------------------
    def _doc(self, kind: str, model: str, pk: int) -> dict[str, Any]:
        doc = self.store.get(kind, pk)
        if doc is None:
            raise _missing(model, pk)
        return doc

    def get_leaderboard(self, pk: int) -> dict[str, Any]:
        return render.leaderboard(self._doc("leaderboard", "Leaderboard", pk))

    def patch_leaderboard(self, pk: int, data: dict[str, Any]) -> dict[str, Any]:
        """``data["schema"]`` already decoded (the view ``json.loads`` it before its serializer)."""
        with self.store.transaction():
            doc = self._doc("leaderboard", "Leaderboard", pk)
            parent = self.store.get("challenge", self.store.parent("leaderboard", pk) or 0)
            if parent is not None and not self.service.is_host_of(parent):
                raise Refused(401, NOT_AUTHORIZED)
            updated = self._apply(doc, data, fields.LEADERBOARD_FIELDS)
            self.store.put("leaderboard", pk, updated)
        return render.leaderboard(updated)

    def get_dataset_split(self, pk: int) -> dict[str, Any]:
        return render.dataset_split(self._doc("dataset_split", "DatasetSplit", pk))

    def patch_dataset_split(self, pk: int, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            doc = self._doc("dataset_split", "DatasetSplit", pk)
            updated = self._apply(doc, data, fields.DATASET_SPLIT_FIELDS)
            self.store.put("dataset_split", pk, updated)
        return render.dataset_split(updated)

    @staticmethod
    def _apply(doc: dict[str, Any], data: dict[str, Any], specs: dict[str, fields.Field]) -> dict[str, Any]:
        try:
            return fields.apply(doc, data, specs)
        except fields.PatchErrors as exc:
            raise Refused(400, exc.errors) from None

    # -- tags and domain, prizes and sponsors ---------------------------------------------
    def update_tags_and_domain(self, pk: int, data: dict[str, Any]) -> None:
        """Kept tags stay in their order, new ones follow; saved only with a valid domain
        (else 406 and nothing changes).  Leaving ``domain`` out is an invalid domain too."""
        with self.store.transaction():
            doc = self.store.get("challenge", pk)
            if doc is None:
                raise _missing("Challenge", pk)
            if not self.service.is_host_of(doc):
                raise Refused(401, NOT_AUTHORIZED)
            new = data.get("list_tags", [])
            if not isinstance(new, (list, str)):
                new = [new]
            tags = [tag for tag in doc.get("list_tags") or [] if tag in new]
            tags += [tag for tag in dict.fromkeys(new) if tag not in tags]
            domain = data.get("domain")
            if not isinstance(domain, str) or domain not in render.DOMAINS:
                raise Refused(406, {"error": f"Invalid domain value:{domain}"})
            doc["list_tags"], doc["domain"] = tags, domain
            self.store.put("challenge", pk, doc)

    def _listed(self, pk: int, key: str) -> list[dict[str, Any]]:
        doc = self.store.get("challenge", pk)
        if doc is None:
            raise Refused(406, {"error": "Challenge does not exist"})
        return [{"challenge": pk, **item} for item in doc.get(key) or []]

    def prizes(self, pk: int) -> list[dict[str, Any]]:
        """ChallengePrizeSerializer: challenge, amount (text), rank, description."""
        return self._listed(pk, "_prizes")

    def sponsors(self, pk: int) -> list[dict[str, Any]]:
        """ChallengeSponsorSerializer: challenge, name, website."""
        return self._listed(pk, "_sponsors")

    # -- what the UI edits name by codename or config id ----------------------------------
    def split_pk(self, pk: int, phase: str, dataset_split: str) -> int:
        phase_pk = self.service.phase_pk(pk, phase)
        split = self.dataset_split_pk(pk, dataset_split)
        for doc in self.store.children("phase_split", pk):
            if doc["challenge_phase"] == phase_pk and doc["dataset_split"] == split:
                return int(doc["id"])
        raise Refused(406, {"error": f"Challenge {pk} has no split of phase {phase} and dataset split {dataset_split}"})

    def dataset_split_pk(self, pk: int, codename: str) -> int:
        for doc in self.store.children("dataset_split", pk):
            if doc.get("codename") == codename:
                return int(doc["id"])
        raise Refused(406, {"error": f"Challenge {pk} has no dataset split with codename {codename}"})

    def leaderboard_pk(self, pk: int, config_id: Any) -> int:
        for doc in self.store.children("leaderboard", pk):
            if str(doc.get("config_id")) == str(config_id):
                return int(doc["id"])
        raise Refused(406, {"error": f"Challenge {pk} has no leaderboard with id {config_id}"})

    def set_prizes(self, pk: int, prizes: list[dict[str, Any]]) -> None:
        """An admin's edit (EvalAI's API cannot change prizes): the list and ``has_prize``."""
        self._set_list(pk, "_prizes", "has_prize", [
            {"amount": str(p["amount"]), "rank": int(p["rank"]), "description": p.get("description")}
            for p in prizes
        ])  # fmt: skip

    def set_sponsors(self, pk: int, sponsors: list[dict[str, Any]]) -> None:
        self._set_list(pk, "_sponsors", "has_sponsors", [
            {"name": str(s["name"]), "website": s.get("website")} for s in sponsors
        ])  # fmt: skip

    def _set_list(self, pk: int, key: str, flag: str, items: list[dict[str, Any]]) -> None:
        with self.store.transaction():
            doc = self.service.challenge_doc(pk)
            doc[key], doc[flag] = items, bool(items)
            self.store.put("challenge", pk, doc)

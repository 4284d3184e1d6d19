"""What the sandbox does, apart from HTTP: seed the host, read and change challenges and phases
the way EvalAI's views do, and import challenge zips.  ``app.py`` maps requests onto this;
``SandboxServer`` calls it directly for "an edit in the EvalAI UI"."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from evalai_mirror.sandbox import fields, render
from evalai_mirror.sandbox.importer import Importer, slug_for
from evalai_mirror.sandbox.refused import Refused
from evalai_mirror.sandbox.store import Store
from evalai_mirror.sandbox.structure import Structure

__all__ = ["HOST_TEAM_PK", "OTHER_TEAM_PK", "Refused", "Service"]

HOST_TEAM_PK = 1
OTHER_TEAM_PK = 2
FROZEN_DATES = (
    "The challenge is frozen and the {} cannot be changed. "
    "Please contact the EvalAI admin at team@eval.ai to make changes."
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_token() -> str:
    """A random token shaped like EvalAI's JWT refresh tokens (three base64url parts)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(
        json.dumps({"token_type": "refresh", "jti": secrets.token_hex(16), "user_id": 1}).encode()
    )
    return f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"


class Service:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.importer = Importer(store)
        self.structure = Structure(self)
        self.token = self._seed()

    def _seed(self) -> str:
        with self.store.transaction():
            token = self.store.get_meta("token")
            if token is None:
                token = new_token()
                self.store.set_meta("token", token)
                for name, member in (("Sandbox Host Team", True), ("Another Host Team", False)):
                    self.store.insert(
                        "team",
                        None,
                        {
                            "team_name": name,
                            "created_by": "host" if member else "someone-else",
                            "team_url": "",
                            "member": member,
                        },
                    )
        return token

    # -- teams ----------------------------------------------------------------------------
    def team(self, pk: int) -> dict[str, Any] | None:
        return self.store.get("team", pk)

    def is_member(self, team_pk: int) -> bool:
        team = self.team(team_pk)
        return bool(team and team.get("member"))

    def _require_team(self, team_pk: int) -> dict[str, Any]:
        team = self.team(team_pk)
        if team is None:
            raise Refused(406, {"error": "ChallengeHostTeam does not exist"})
        return team

    # -- challenges -----------------------------------------------------------------------
    def challenge_doc(self, pk: int) -> dict[str, Any]:
        doc = self.store.get("challenge", pk)
        if doc is None:
            raise Refused(406, {"error": "Challenge does not exist"})
        return doc

    def render_challenge(self, doc: dict[str, Any], base_url: str | None) -> dict[str, Any]:
        result: dict[str, Any] = render.challenge(doc, self.team(int(doc["_team"])), base_url)
        return result

    def get_challenge(self, pk: int, base_url: str | None, team_pk: int | None = None) -> Any:
        if team_pk is not None:
            self._require_team(team_pk)
        return self.render_challenge(self.challenge_doc(pk), base_url)

    def list_challenges(self, team_pk: int, base_url: str) -> list[dict[str, Any]]:
        self._require_team(team_pk)
        docs = [d for d in self.store.all("challenge") if d.get("_team") == team_pk]
        docs.sort(key=lambda d: -int(d["id"]))
        return [self.render_challenge(d, base_url) for d in docs]

    def find_by_repository(self, repository: str) -> int | None:
        for doc in self.store.all("challenge"):
            if doc.get("github_repository") == repository:
                return int(doc["id"])
        return None

    def patch_challenge(
        self, pk: int, data: dict[str, Any], *, team_pk: int | None = None
    ) -> dict[str, Any]:
        """PATCH/PUT: the answer's JSON (relative ``image``); :class:`Refused` otherwise."""
        if team_pk is not None:
            self._require_team(team_pk)
        with self.store.transaction():
            doc = self.challenge_doc(pk)
            frozen = [key for key in ("start_date", "end_date") if key in data]
            if doc.get("is_frozen") and frozen:
                raise Refused(403, {"error": FROZEN_DATES.format(", ".join(frozen))})
            try:
                updated = fields.apply(doc, data, fields.CHALLENGE_FIELDS)
            except fields.PatchErrors as exc:
                raise Refused(400, exc.errors) from None
            if team_pk is not None:
                updated["_team"] = team_pk
            updated["slug"] = slug_for(str(updated["title"]), pk)
            self.store.put("challenge", pk, updated)
        return self.render_challenge(updated, None)

    def set_frozen(self, pk: int, frozen: bool) -> None:
        with self.store.transaction():
            doc = self.challenge_doc(pk)
            doc["is_frozen"] = bool(frozen)
            self.store.put("challenge", pk, doc)

    def is_host_of(self, doc: dict[str, Any]) -> bool:
        return self.is_member(int(doc["_team"]))

    # -- phases ---------------------------------------------------------------------------
    def list_phases(self, pk: int) -> list[dict[str, Any]]:
        self.challenge_doc(pk)
        return [render.phase(p, host=False, base_url=None) for p in self.store.children("phase", pk)]

    def _phase_doc(self, pk: int, phase_pk: int) -> dict[str, Any]:
        self.challenge_doc(pk)
        doc = self.store.get("phase", phase_pk)
        if doc is None or doc.get("challenge") != pk:
            raise Refused(
                406, {"error": f"Challenge phase {phase_pk} does not exist for challenge {pk}"}
            )
        return doc

    def get_phase(self, pk: int, phase_pk: int, base_url: str | None) -> dict[str, Any]:
        doc = self._phase_doc(pk, phase_pk)
        host = self.is_host_of(self.challenge_doc(pk))
        return render.phase(doc, host=host, base_url=base_url)

    def phase_pk(self, pk: int, codename: str) -> int:
        for doc in self.store.children("phase", pk):
            if doc.get("codename") == codename:
                return int(doc["id"])
        raise Refused(406, {"error": f"Challenge {pk} has no phase with codename {codename}"})

    def patch_phase(self, pk: int, phase_pk: int, data: dict[str, Any]) -> dict[str, Any]:
        with self.store.transaction():
            doc = self._phase_doc(pk, phase_pk)
            try:
                updated = fields.apply(doc, data, fields.PHASE_FIELDS)
            except fields.PatchErrors as exc:
                raise Refused(400, exc.errors) from None
            self.store.put("phase", phase_pk, updated)
        return render.phase(updated, host=False, base_url=None)

    def phase_splits(self, pk: int, *, anonymous: bool = False) -> list[dict[str, Any]]:
        return self.structure.phase_splits(pk, anonymous=anonymous)

    # -- edits in EvalAI's web UI (or its Django admin, for prizes and sponsors) --------------
    def ui_edit(
        self,
        pk: int,
        changes: dict[str, Any],
        *,
        phase: str | None = None,
        dataset_split: str | None = None,
        leaderboard: Any = None,
    ) -> dict[str, Any]:
        """Change fields as a host does on EvalAI's pages: the challenge (``list_tags`` /
        ``tags`` and ``domain`` as the tags page sends them, ``prizes`` and ``sponsors`` as an
        admin), a phase (by codename), a phase split (phase and dataset split codenames), a
        dataset split (codename) or a leaderboard (config id).  The edited object's JSON."""
        structure = self.structure
        if leaderboard is not None:
            data = dict(changes)
            if isinstance(data.get("schema"), str):
                data["schema"] = json.loads(data["schema"])
            return structure.patch_leaderboard(structure.leaderboard_pk(pk, leaderboard), data)
        if dataset_split is not None and phase is not None:
            split_pk = structure.split_pk(pk, phase, dataset_split)
            return structure.patch_phase_split(split_pk, changes)
        if dataset_split is not None:
            return structure.patch_dataset_split(structure.dataset_split_pk(pk, dataset_split), changes)
        if phase is not None:
            return self.patch_phase(pk, self.phase_pk(pk, phase), changes)
        return self._ui_edit_challenge(pk, changes)

    def _ui_edit_challenge(self, pk: int, changes: dict[str, Any]) -> dict[str, Any]:
        rest = dict(changes)
        tags = rest.pop("list_tags", None)
        tags = rest.pop("tags", tags)
        domain_given, domain = "domain" in rest, rest.pop("domain", None)
        prizes, sponsors = rest.pop("prizes", None), rest.pop("sponsors", None)
        with self.store.transaction():
            doc = self.challenge_doc(pk)
            if tags is not None or domain_given:
                self.structure.update_tags_and_domain(pk, {
                    "list_tags": doc.get("list_tags") or [] if tags is None else tags,
                    "domain": domain if domain_given else doc.get("domain"),
                })  # fmt: skip
            if prizes is not None:
                self.structure.set_prizes(pk, prizes)
            if sponsors is not None:
                self.structure.set_sponsors(pk, sponsors)
            result = self.patch_challenge(pk, rest)
        if prizes is not None:
            result["prizes"] = self.structure.prizes(pk)
        if sponsors is not None:
            result["sponsors"] = self.structure.sponsors(pk)
        return result

    # -- uploaded configuration -----------------------------------------------------------
    def config_zip(self, pk: int) -> bytes | None:
        return self.store.get_blob("config_zip", pk)

    def store_config_zip(self, pk: int, data: bytes) -> None:
        self.store.put_blob("config_zip", pk, data)

    def logo(self, pk: int) -> bytes | None:
        return self.store.get_blob("logo", pk)

"""Re-record the EvalAI endpoints evalai-mirror uses (and the ones it is about to use) from a
real backend into ``tests/data/api/``.

Usage (a real EvalAI backend, Cloud-CV/EvalAI's Django server, on loopback)::

    EVALAI_CONTRACT_HOST_URL=http://127.0.0.1:8000 EVALAI_CONTRACT_AUTH_TOKEN=... \\
    EVALAI_CONTRACT_TEAM_PK=1 python tests/contract/record.py [--out DIR] [--only NAME...]

It creates a fresh challenge from ``tests/data/challenge`` (with tags, a domain, prizes and
sponsors added to its config) under a unique repository name, then sends each request below and
saves the answer as ``<name>.headers`` (status line and headers; ``Date`` dropped) and
``<name>.json`` (or ``.txt``), and appends one line per request to ``RECORDED.txt``.  Requests
that change things only touch the challenge it created.  The token never reaches a file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script: make `contract` importable
DATA = HERE.parent / "data"
FIXTURE = DATA / "challenge"

EXTRA_CONFIG = """
tags:
  - computer vision
  - random numbers
domain: CV
prizes:
  - rank: 1
    amount: 1000USD
    description: First prize
  - rank: 2
    amount: 500.50USD
    description: Second prize
sponsors:
  - name: Sponsor One
    website: https://sponsor-one.example.com
  - name: Sponsor Two
    website: https://sponsor-two.example.com
"""


def fixture_zip(extra: str = EXTRA_CONFIG, *, root: Path = FIXTURE) -> bytes:
    """The fixture challenge's EvalAI-Starters zip, built by evalai-mirror's own zip builder,
    with ``extra`` appended to its challenge_config.yaml."""
    from evalai_mirror.source import MappingSource, WorkTreeSource
    from evalai_mirror.zipbuild import build_challenge_zip

    tree = WorkTreeSource(root)
    files = {path: tree.read(path) or b"" for path in tree.list_files()}
    files["challenge_config.yaml"] = files["challenge_config.yaml"] + extra.encode()
    return build_challenge_zip(MappingSource(files))


@dataclass
class Recorder:
    url: str
    token: str
    team: int
    out: Path
    only: set[str] = field(default_factory=set)
    lines: list[str] = field(default_factory=list)
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.session.trust_env = False  # loopback: no proxy, no ~/.netrc

    def send(
        self,
        name: str,
        method: str,
        path: str,
        *,
        note: str = "",
        token: str | None = "",
        **kw: Any,
    ) -> requests.Response:
        headers = dict(kw.pop("headers", {}))
        if token is not None:
            headers["Authorization"] = f"Bearer {token or self.token}"
        response = self.session.request(method, self.url + path, headers=headers, timeout=60, **kw)
        if not self.only or name in self.only:
            self.save(name, method, path, note, response)
        return response

    def save(self, name: str, method: str, path: str, note: str, response: requests.Response) -> None:
        head = [f"HTTP/1.1 {response.status_code} {response.reason}"]
        head += [f"{k}: {v}" for k, v in response.headers.items() if k.lower() not in ("date", "set-cookie")]
        (self.out / f"{name}.headers").write_text("\n".join(head) + "\n")
        try:
            body = response.json()
        except ValueError:
            text = response.text
            if response.status_code >= 500:  # Django's DEBUG page: keep its first lines only
                text = "\n".join(text.splitlines()[:2]) + "\n(rest of Django's DEBUG 500 page left out)\n"
            (self.out / f"{name}.txt").write_text(text)
            ext = "txt"
        else:
            (self.out / f"{name}.json").write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n")
            ext = "json"
        if self.token in (self.out / f"{name}.{ext}").read_text():
            raise SystemExit(f"refusing to keep {name}.{ext}: it contains the token")
        suffix = f" ({note})" if note else ""
        self.lines.append(f"{response.status_code} {method} {path}{suffix} -> {name}.{ext}")
        print(self.lines[-1])


def _ok(response: requests.Response, *statuses: int) -> requests.Response:
    if response.status_code not in statuses:
        raise SystemExit(f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}")
    return response


def _body(response: requests.Response) -> dict[str, Any]:
    """The JSON object answered, or {} (a backend without the endpoint answers HTML)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def record(rec: Recorder, root: Path = FIXTURE) -> None:
    team = rec.team
    repo = f"contract-recorder/{uuid.uuid4().hex[:12]}"
    zip_path = f"/api/challenges/challenge/challenge_host_team/{team}/"
    files: Callable[[bytes], dict[str, tuple[str, bytes, str]]] = lambda data: {  # noqa: E731
        "zip_configuration": ("challenge_config.zip", data, "application/zip")
    }
    data = fixture_zip(root=root)
    rec.send("zip_validate_new", "POST", zip_path + "validate_challenge_config/",
             note="fixture zip with tags/domain/prizes/sponsors, new repository",
             files=files(data), data={"GITHUB_REPOSITORY": repo})  # fmt: skip
    _ok(rec.send("zip_create", "POST", zip_path + "create_or_update_github_challenge/",
                 note="same zip: creates the challenge",
                 files=files(data), data={"GITHUB_REPOSITORY": repo, "BRANCH_NAME": "challenge"}), 201)  # fmt: skip
    listing = _ok(rec.send("challenge_list", "GET", f"/api/challenges/challenge_host_team/{team}/challenge"), 200)
    body = listing.json()
    items = body["results"] if isinstance(body, dict) else body
    pk = max(int(c["id"]) for c in items if c.get("github_repository") == repo)
    detail = f"/api/challenges/challenge_host_team/{team}/challenge/{pk}"
    rec.send("challenge_detail_full", "GET", detail, note="tags, domain, prizes, sponsors set by the zip")
    rec.send("challenge_prizes", "GET", f"/api/challenges/challenge/{pk}/prizes/", token=None,
             note="no token needed")  # fmt: skip
    rec.send("challenge_sponsors", "GET", f"/api/challenges/challenge/{pk}/sponsors/", token=None,
             note="no token needed")  # fmt: skip
    rec.send("domain_choices", "GET", "/api/challenges/challenge/get_domain_choices/")

    # PATCH each kind of challenge field
    rec.send("challenge_patch_text", "PATCH", detail, json={"title": "  Recorded title  ", "description": "<p>d</p>"},
             note="JSON title + description (text is trimmed)")  # fmt: skip
    rec.send("challenge_patch_bools", "PATCH", detail, json={"published": True, "remote_evaluation": True,
             "is_docker_based": False}, note="JSON booleans")  # fmt: skip
    rec.send("challenge_patch_dates", "PATCH", detail,
             json={"start_date": "2030-01-01T00:00:00+02:00", "end_date": "2031-01-01T00:00:00Z"},
             note="JSON dates with offsets")  # fmt: skip
    rec.send("challenge_patch_list_tags", "PATCH", detail, json={"list_tags": ["b", "a"], "domain": "NLP"},
             note="tags and domain through the detail PATCH")  # fmt: skip
    rec.send("challenge_patch_bad_values", "PATCH", detail,
             json={"title": "", "published": "maybe", "start_date": "tomorrow", "domain": "XX"},
             note="one bad value of each kind")  # fmt: skip
    rec.send("challenge_patch_freeze", "PATCH", detail, json={"is_frozen": True}, note="is_frozen by the host")
    rec.send("challenge_patch_frozen_dates", "PATCH", detail, json={"start_date": "2030-02-01T00:00:00Z"},
             note="dates of a frozen challenge")  # fmt: skip
    rec.send("challenge_patch_frozen_both_dates", "PATCH", detail,
             json={"start_date": "2030-02-01T00:00:00Z", "end_date": "2031-02-01T00:00:00Z"},
             note="both dates of a frozen challenge")  # fmt: skip
    rec.send("challenge_patch_unfreeze", "PATCH", detail, json={"is_frozen": False}, note="is_frozen false again")

    # tags and domain
    tags = f"/api/challenges/challenge/{pk}/update_challenge_tags_and_domain/"
    rec.send("tags_and_domain_patch", "PATCH", tags, json={"list_tags": ["x", "computer vision"], "domain": "RL"},
             note="new tags and domain")  # fmt: skip
    rec.send("tags_and_domain_patch_bad_domain", "PATCH", tags, json={"list_tags": ["y"], "domain": "XX"},
             note="invalid domain")  # fmt: skip
    rec.send("tags_and_domain_patch_no_domain", "PATCH", tags, json={"list_tags": ["z"]},
             note="domain left out")  # fmt: skip
    rec.send("tags_and_domain_get", "GET", tags, note="GET is not allowed")
    rec.send("challenge_detail_after_tags", "GET", detail, note="after the tags/domain PATCHes")

    # phases
    phases = _ok(rec.send("phase_list", "GET", f"/api/challenges/challenge/{pk}/challenge_phase"), 200).json()
    phase_items = phases["results"] if isinstance(phases, dict) else phases
    phase_pk = int(phase_items[0]["id"])
    phase = f"/api/challenges/challenge/{pk}/challenge_phase/{phase_pk}"
    rec.send("phase_detail", "GET", phase, note="host view")
    rec.send("phase_patch", "PATCH", phase, json={"name": " Phase renamed ", "max_submissions_per_day": 7,
             "is_public": True, "allowed_submission_file_types": ".json, .zip"})  # fmt: skip
    rec.send("phase_patch_bad", "PATCH", phase, json={"max_submissions_per_day": "x", "is_public": "maybe",
             "start_date": "soon"})  # fmt: skip

    # phase splits, leaderboards, dataset splits
    splits = _ok(rec.send("phase_split_list", "GET", f"/api/challenges/{pk}/challenge_phase_split",
                          note="host view: every visibility"), 200).json()  # fmt: skip
    rec.send("phase_split_list_anonymous", "GET", f"/api/challenges/{pk}/challenge_phase_split", token=None,
             note="no token: public splits only")  # fmt: skip
    split_pk = int(splits[0]["id"])
    split = f"/api/challenges/challenge/create/challenge_phase_split/{split_pk}/"
    detail_split = _body(rec.send("phase_split_detail", "GET", split))
    rec.send("phase_split_patch", "PATCH", split, json={"visibility": 3, "show_execution_time": True,
             "leaderboard_decimal_precision": 3, "is_leaderboard_order_descending": False})  # fmt: skip
    rec.send("phase_split_patch_bad", "PATCH", split, json={"visibility": 9, "leaderboard_decimal_precision": "x"})
    rec.send("phase_split_patch_readonly", "PATCH", split, json={"id": 999999, "challenge_phase": 999999},
             note="id and a foreign key")  # fmt: skip
    rec.send("phase_split_list_after_patch", "GET", f"/api/challenges/{pk}/challenge_phase_split")
    rec.send("phase_split_missing", "GET", "/api/challenges/challenge/create/challenge_phase_split/99999999/")
    board_pk = int(detail_split.get("leaderboard") or 0)
    board = f"/api/challenges/challenge/create/leaderboard/{board_pk}/"
    rec.send("leaderboard_detail", "GET", board)
    rec.send("leaderboard_patch", "PATCH", board,
             json={"schema": json.dumps({"labels": ["A", "B"], "default_order_by": "A"})},
             note="schema as a JSON string, as EvalAI's view json.loads it")  # fmt: skip
    rec.send("leaderboard_patch_bad", "PATCH", board, json={"schema": "not json"},
             note="schema that is not JSON")  # fmt: skip
    rec.send("leaderboard_missing", "GET", "/api/challenges/challenge/create/leaderboard/99999999/")
    ds_pk = int(detail_split.get("dataset_split") or 0)
    ds = f"/api/challenges/challenge/create/dataset_split/{ds_pk}/"
    rec.send("dataset_split_detail", "GET", ds)
    rec.send("dataset_split_patch", "PATCH", ds, json={"name": "Renamed split", "codename": "renamed"})
    rec.send("dataset_split_patch_bad", "PATCH", ds, json={"name": "x" * 101})
    rec.send("dataset_split_missing", "GET", "/api/challenges/challenge/create/dataset_split/99999999/")
    rec.send("leaderboard_data", "GET", f"/api/challenges/challenge/{split_pk}/get_leaderboard_data/",
             note="the phase split's leaderboard rows")  # fmt: skip

    # the zip again: an update that changes tags, domain, prizes and sponsors
    changed = EXTRA_CONFIG.replace("random numbers", "updated tag").replace("domain: CV", "domain: NLP")
    changed = changed.replace("1000USD", "2000USD").replace("Sponsor Two", "Sponsor Three")
    rec.send("zip_update_tags_prizes_sponsors", "POST", zip_path + "create_or_update_github_challenge/",
             note="update: other tags, domain, prize amount and sponsor",
             files=files(fixture_zip(changed, root=root)), data={"GITHUB_REPOSITORY": repo, "BRANCH_NAME": "challenge"})  # fmt: skip
    rec.send("challenge_detail_after_update", "GET", detail)
    rec.send("challenge_prizes_after_update", "GET", f"/api/challenges/challenge/{pk}/prizes/", token=None)
    rec.send("challenge_sponsors_after_update", "GET", f"/api/challenges/challenge/{pk}/sponsors/", token=None)
    rec.send("zip_create_bad_domain", "POST", zip_path + "create_or_update_github_challenge/",
             note="domain: XX on a new repository",
             files=files(fixture_zip(EXTRA_CONFIG.replace("domain: CV", "domain: XX"), root=root)),
             data={"GITHUB_REPOSITORY": repo + "-bad-domain", "BRANCH_NAME": "challenge"})  # fmt: skip

    # errors
    rec.send("wrong_token", "GET", detail, token="not.a.token")
    rec.send("wrong_team_list", "GET", "/api/challenges/challenge_host_team/99999999/challenge")
    rec.send("wrong_team_detail", "GET", f"/api/challenges/challenge_host_team/99999999/challenge/{pk}")
    rec.send("wrong_team_validate", "POST", "/api/challenges/challenge/challenge_host_team/99999999/validate_challenge_config/",
             files=files(data), data={"GITHUB_REPOSITORY": repo})  # fmt: skip
    rec.send("missing_challenge", "GET", f"/api/challenges/challenge_host_team/{team}/challenge/99999999")
    rec.send("missing_phase", "GET", f"/api/challenges/challenge/{pk}/challenge_phase/99999999")


def record_corpus(rec: Recorder) -> None:
    """Send each corpus case to the validate endpoint; write what it answered to server.json."""
    from contract.corpus import SERVER, cases, tree
    from evalai_mirror.zipbuild import build_challenge_zip

    answers: dict[str, dict[str, Any]] = {}
    path = f"/api/challenges/challenge/challenge_host_team/{rec.team}/validate_challenge_config/"
    for case in cases():
        data = build_challenge_zip(tree(case))
        response = rec.session.post(
            rec.url + path,
            headers={"Authorization": f"Bearer {rec.token}"},
            files={"zip_configuration": ("challenge_config.zip", data, "application/zip")},
            data={"GITHUB_REPOSITORY": f"contract-corpus/{uuid.uuid4().hex[:12]}"},
            timeout=120,
        )
        answer: dict[str, Any] = {"status": response.status_code}
        if response.status_code == 400:
            answer["error"] = response.json().get("error")
        answers[case["id"]] = answer
        print(case["id"], answer)
    SERVER.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA / "api", help="folder for the recordings")
    parser.add_argument("--only", nargs="*", default=[], help="record only these names")
    parser.add_argument("--fixture", type=Path, default=FIXTURE, help="the challenge to upload")
    parser.add_argument("--corpus", action="store_true", help="record tests/data/corpus/server.json instead")
    args = parser.parse_args(argv)
    env = {k: os.environ.get(f"EVALAI_CONTRACT_{k}", "") for k in ("HOST_URL", "AUTH_TOKEN", "TEAM_PK")}
    missing = [f"EVALAI_CONTRACT_{k}" for k, v in env.items() if not v]
    if missing:
        print(f"set {', '.join(missing)} to a real EvalAI backend first", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    rec = Recorder(env["HOST_URL"].rstrip("/"), env["AUTH_TOKEN"], int(env["TEAM_PK"]), args.out, set(args.only))
    if args.corpus:
        record_corpus(rec)
        return 0
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record(rec, args.fixture)
    index = args.out / "RECORDED.txt"
    header = (
        f"# recorded by tests/contract/record.py on {started} from an EvalAI backend at "
        f"{rec.url} (token: Bearer <JWT refresh token>, team_pk={rec.team})\n"
    )
    index.write_text(header + "\n".join(rec.lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

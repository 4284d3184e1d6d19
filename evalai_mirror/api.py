"""EvalAIClient: the only module that speaks HTTP to EvalAI.

Paths, methods and bodies follow the EvalAI host API exactly (see the project's reference notes):
Bearer auth, trailing slashes only where EvalAI has them, multipart zips that always carry
``zip_configuration``, pagination by following ``next``.  One ``requests.Session`` per client;
GETs are retried on connection errors and 5xx, POST and PATCH never are.  Every failure becomes
an :class:`~evalai_mirror.errors.ApiError` subclass with a one-line message that says what to
do next, and never carries the token.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from evalai_mirror import ui
from evalai_mirror.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    ThrottledError,
    UnreachableError,
)
from evalai_mirror.settings import Connection

if TYPE_CHECKING:
    import requests

CONNECT_TIMEOUT = 5.0
MAX_PAGES = 1000
_AVAILABLE_IN = re.compile(r"available in (\d+(?:\.\d+)?) seconds?")


@dataclass
class ClientStats:
    """Requests sent (retries included) and body bytes each way."""

    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, *, requests: int = 0, sent: int = 0, received: int = 0) -> None:
        """Add to the figures (requests may run in two threads at once)."""
        with self._lock:
            self.requests += requests
            self.bytes_sent += sent
            self.bytes_received += received


class EvalAIClient:
    """The EvalAI host API for one host team."""

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.25,
    ) -> None:
        from evalai_mirror.http import new_session

        ui.register_secret(connection.token)
        self.connection = connection
        self.host_url = connection.host_url.rstrip("/")
        self.team_pk = connection.team_pk
        self.timeout = (CONNECT_TIMEOUT, timeout)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.stats = ClientStats()
        self._session = new_session(
            self.host_url, token=connection.token, headers={"Accept": "application/json"}
        )

    def __enter__(self) -> EvalAIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"EvalAIClient({self.host_url!r}, team_pk={self.team_pk})"

    # -- paths -----------------------------------------------------------------------------

    def _team_challenges(self) -> str:
        return f"/api/challenges/challenge_host_team/{self.team_pk}/challenge"

    def _zip_endpoint(self, name: str) -> str:
        return f"/api/challenges/challenge/challenge_host_team/{self.team_pk}/{name}/"

    def challenge_page_url(self, pk: int) -> str:
        """The challenge's page in EvalAI's web app."""
        return f"{self.host_url}/web/challenges/challenge-page/{int(pk)}/overview"

    # -- the API ---------------------------------------------------------------------------

    def list_challenges(self) -> list[dict[str, Any]]:
        """Every challenge of the host team (all pages)."""
        return self._paginated(self._team_challenges())

    def find_challenge(self, repository: str) -> dict[str, Any] | None:
        """The team's challenge whose ``github_repository`` is ``repository`` (as EvalAI
        matches it: exactly), the newest one if there are several."""
        found = [c for c in self.list_challenges() if c.get("github_repository") == repository]
        if not found:
            return None
        return max(found, key=lambda c: int(c.get("id") or 0))

    def get_challenge(self, pk: int) -> dict[str, Any]:
        return self._object("GET", f"{self._team_challenges()}/{int(pk)}")

    def patch_challenge(self, pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        return self._object("PATCH", f"{self._team_challenges()}/{int(pk)}", json_body=fields)

    def list_phases(self, pk: int) -> list[dict[str, Any]]:
        return self._paginated(f"/api/challenges/challenge/{int(pk)}/challenge_phase")

    def get_phase(self, pk: int, phase_pk: int) -> dict[str, Any]:
        path = f"/api/challenges/challenge/{int(pk)}/challenge_phase/{int(phase_pk)}"
        return self._object("GET", path)

    def patch_phase(self, pk: int, phase_pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/challenges/challenge/{int(pk)}/challenge_phase/{int(phase_pk)}"
        return self._object("PATCH", path, json_body=fields)

    def phase_splits(self, pk: int) -> list[dict[str, Any]]:
        return self._paginated(f"/api/challenges/{int(pk)}/challenge_phase_split")

    # -- phase splits, leaderboards, dataset splits, tags and domain, prizes and sponsors ----

    _CREATE = "/api/challenges/challenge/create"

    def get_phase_split(self, split_pk: int) -> dict[str, Any]:
        return self._object("GET", f"{self._CREATE}/challenge_phase_split/{int(split_pk)}/")

    def patch_phase_split(self, split_pk: int, body: dict[str, Any]) -> dict[str, Any]:
        path = f"{self._CREATE}/challenge_phase_split/{int(split_pk)}/"
        return self._object("PATCH", path, json_body=body)

    def get_leaderboard(self, leaderboard_pk: int) -> dict[str, Any]:
        return self._object("GET", f"{self._CREATE}/leaderboard/{int(leaderboard_pk)}/")

    def patch_leaderboard(self, leaderboard_pk: int, body: dict[str, Any]) -> dict[str, Any]:
        """``body["schema"]`` is a JSON string: EvalAI's view parses it (and fails with a 500
        on text that is not JSON)."""
        path = f"{self._CREATE}/leaderboard/{int(leaderboard_pk)}/"
        return self._object("PATCH", path, json_body=body)

    def get_dataset_split(self, dataset_split_pk: int) -> dict[str, Any]:
        return self._object("GET", f"{self._CREATE}/dataset_split/{int(dataset_split_pk)}/")

    def patch_dataset_split(self, dataset_split_pk: int, body: dict[str, Any]) -> dict[str, Any]:
        path = f"{self._CREATE}/dataset_split/{int(dataset_split_pk)}/"
        return self._object("PATCH", path, json_body=body)

    def patch_tags_and_domain(self, pk: int, tags: list[str], domain: str | None) -> None:
        """Both, always: EvalAI saves neither without a valid domain (its answer is empty)."""
        path = f"/api/challenges/challenge/{int(pk)}/update_challenge_tags_and_domain/"
        self._request("PATCH", path, json_body={"list_tags": list(tags), "domain": domain})

    def prizes(self, pk: int) -> list[dict[str, Any]]:
        return self._paginated(f"/api/challenges/challenge/{int(pk)}/prizes/")

    def sponsors(self, pk: int) -> list[dict[str, Any]]:
        return self._paginated(f"/api/challenges/challenge/{int(pk)}/sponsors/")

    def validate_zip(self, zip_bytes: bytes, repository: str) -> str:
        """Have EvalAI check a challenge zip; its success message.  Careful: for an existing
        challenge EvalAI also stores the zip as that challenge's configuration."""
        _, body = self._request(
            "POST",
            self._zip_endpoint("validate_challenge_config"),
            files=self._zip_files(zip_bytes),
            data={"GITHUB_REPOSITORY": repository},
        )
        return self._success(body, "The challenge config has been validated successfully")

    def create_or_update(self, zip_bytes: bytes, repository: str, branch: str) -> tuple[bool, str]:
        """Create the repository's challenge, or update it; (created?, EvalAI's message)."""
        status, body = self._request(
            "POST",
            self._zip_endpoint("create_or_update_github_challenge"),
            files=self._zip_files(zip_bytes),
            data={"GITHUB_REPOSITORY": repository, "BRANCH_NAME": branch},
        )
        return status == 201, self._success(body, "The challenge has been updated")

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _zip_files(zip_bytes: bytes) -> dict[str, tuple[str, bytes, str]]:
        # EvalAI crashes (HTML 500) on a multipart POST without this field: always send it.
        return {"zip_configuration": ("challenge_config.zip", zip_bytes, "application/zip")}

    @staticmethod
    def _success(body: Any, default: str) -> str:
        if isinstance(body, dict) and isinstance(body.get("Success"), str):
            return str(body["Success"])
        return default

    def _object(
        self, method: str, path: str, *, json_body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        _, body = self._request(method, path, json_body=json_body)
        if not isinstance(body, dict):
            raise self._shape_error(method, path, "an object")
        return body

    def _paginated(self, path: str) -> list[dict[str, Any]]:
        """Every item of a list endpoint, following ``next`` (a plain list is one page)."""
        items: list[dict[str, Any]] = []
        seen: set[str] = set()
        url: str | None = path
        while url is not None:
            if url in seen or len(seen) >= MAX_PAGES:
                raise UnreachableError(
                    f"EvalAI's pages of {path} do not end (page {url} again)",
                    hint="report it to the EvalAI admins; try again later",
                )
            seen.add(url)
            _, body = self._request("GET", url)
            if isinstance(body, list):
                page, url = body, None
            elif isinstance(body, dict) and isinstance(body.get("results"), list):
                page = body["results"]
                url = self._next_path(body.get("next"))
            else:
                raise self._shape_error("GET", path, "a list")
            items.extend(item for item in page if isinstance(item, dict))
        return items

    @staticmethod
    def _next_path(next_url: Any) -> str | None:
        """The path and query of ``next``, sent to our own host: EvalAI behind a proxy may
        build it with an internal host or plain http, and the token goes nowhere else."""
        if not isinstance(next_url, str) or not next_url:
            return None
        parts = urlsplit(next_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def _shape_error(self, method: str, path: str, what: str) -> UnreachableError:
        return UnreachableError(
            f"EvalAI at {self.host_url} answered {method} {path} without {what}",
            hint="check that the host URL is the EvalAI API's address, e.g. https://eval.ai",
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        data: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON) of a 2xx answer; every other outcome raises."""
        import requests

        from evalai_mirror.http import send

        request = requests.Request(
            method, self.host_url + path, json=json_body, files=files, data=data
        )
        prepared = self._session.prepare_request(request)
        sent = len(prepared.body) if prepared.body is not None else 0

        def count_sent() -> None:
            self.stats.count(requests=1, sent=sent)

        def count_received(response: requests.Response) -> None:
            self.stats.count(received=len(response.content))

        try:
            response = send(
                self._session,
                prepared,
                timeout=self.timeout,
                retries=self.retries,
                backoff=self.backoff,
                on_attempt=count_sent,
                on_response=count_received,
            )
        except requests.exceptions.RequestException as exc:
            raise self._unreachable(method, path, exc) from exc
        return response.status_code, self._parse(method, path, response)

    def _unreachable(self, method: str, path: str, exc: Exception) -> UnreachableError:
        import requests

        if isinstance(exc, requests.exceptions.Timeout):
            what = f"timed out after {self.timeout[1]:g} s"
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                what = f"did not accept a connection within {self.timeout[0]:g} s"
        else:
            what = "could not be reached (" + _reason(exc) + ")"
        unsure = (
            "; the change may or may not have been applied: run `evalai-mirror status`"
            if method != "GET"
            else ""
        )
        return UnreachableError(
            f"EvalAI at {self.host_url} {what} on {method} {path}{unsure}",
            hint="check the host URL and your network, then try again",
        )

    def _parse(self, method: str, path: str, response: requests.Response) -> Any:
        status = response.status_code
        try:
            body: Any = response.json()
            is_json = True
        except ValueError:
            body, is_json = response.text, False
        if status >= 500:
            raise UnreachableError(
                f"EvalAI at {self.host_url} failed on {method} {path} ({status} "
                f"{response.reason or 'server error'})",
                status=status,
                hint="EvalAI had an internal error; try again later, and report it to the "
                "EvalAI admins if it stays",
            )
        if 200 <= status < 300:
            if not is_json and not response.content:
                return None  # e.g. the tags and domain PATCH: 200 with an empty body
            if not is_json:
                kind = "an HTML page" if _looks_html(response) else "something that is not JSON"
                raise UnreachableError(
                    f"EvalAI at {self.host_url} answered {method} {path} with {kind}",
                    status=status,
                    hint="check that the host URL is the EvalAI API's address "
                    "(e.g. https://eval.ai), not a web page or a proxy's login page",
                )
            return body
        raise self._error(method, path, response, body if is_json else None)

    def _error(self, method: str, path: str, response: requests.Response, body: Any) -> ApiError:
        status = response.status_code
        detail = _detail(body)
        where = f"{method} {path}"
        if status == 401:
            if isinstance(body, dict) and "do not belong" in str(body.get("error", "")):
                return AuthError(
                    f"you are not a member of EvalAI host team {self.team_pk}",
                    status=status,
                    body=body,
                    hint="check EVALAI_TEAM_PK (your teams are on EvalAI's Host Teams page) "
                    "or ask the team to add you",
                )
            if "credentials were not provided" in detail:
                reason = "no token reached EvalAI"
            else:
                reason = "EvalAI rejected the token: it is invalid or expired"
            return AuthError(
                reason,
                status=status,
                body=body,
                hint=f"get a new token from your EvalAI profile page "
                f"({self.host_url}/web/profile/auth-token) and set EVALAI_AUTH_TOKEN",
            )
        if status == 403:
            return ForbiddenError(
                f"EvalAI refused {where}: {detail or 'forbidden'}",
                status=status,
                body=body,
                hint="a frozen challenge keeps its dates: change them on EvalAI's admin side, "
                "or undo the change here",
            )
        if status in (404, 406):
            if "ChallengeHostTeam" in detail:
                return NotFoundError(
                    f"EvalAI has no host team {self.team_pk} ({detail})",
                    status=status,
                    body=body,
                    hint="check EVALAI_TEAM_PK (or --team-pk, or team_pk in "
                    "github/host_config.json)",
                )
            return NotFoundError(
                f"EvalAI has no such object for {where}" + (f" ({detail})" if detail else ""),
                status=status,
                body=body,
                hint=f"check the challenge pk and that it belongs to host team {self.team_pk}",
            )
        if status == 400:
            return BadRequestError(
                f"EvalAI rejected {where}: {_bad_request(body) or detail or 'bad request'}",
                status=status,
                body=body,
                hint="fix the values named and try again",
            )
        if status == 429:
            retry_after = _retry_after(response.headers.get("Retry-After"), detail)
            when = f"in {retry_after:g} s" if retry_after is not None else "in a minute"
            return ThrottledError(
                f"EvalAI is throttling requests ({detail or 'too many requests'})",
                retry_after=retry_after,
                status=status,
                body=body,
                hint=f"try again {when}",
            )
        return ApiError(
            f"EvalAI answered {status} to {where}" + (f": {detail}" if detail else ""),
            status=status,
            body=body,
            hint="check the host URL and try again",
        )


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "Remote end closed",
        "Connection reset",
        "Connection aborted",
        "nodename nor servname",
        "Temporary failure in name resolution",
        "certificate verify failed",
    ):
        if marker.lower() in text.lower():
            return marker.lower()
    return type(exc).__name__


def _looks_html(response: requests.Response) -> bool:
    ctype = response.headers.get("Content-Type", "")
    return "html" in ctype or response.text.lstrip()[:15].lower().startswith(("<!doctype", "<html"))


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("detail", "error", "errors"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return _one_line(value)
    return ""


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def _bad_request(body: Any) -> str:
    """DRF field errors as "field: message; ...", config errors as the server's lines."""
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return _one_line(body["error"])
        parts = []
        for key, value in body.items():
            messages = value if isinstance(value, list) else [value]
            text = " ".join(_one_line(str(m)) for m in messages if not isinstance(m, (dict, list)))
            if isinstance(value, dict):
                text = _bad_request(value)
            if key in ("non_field_errors", "detail"):
                parts.append(text)
            else:
                parts.append(f"{key}: {text}")
        return "; ".join(p for p in parts if p)
    if isinstance(body, list):
        return "; ".join(_one_line(str(m)) for m in body)
    return ""


def _retry_after(header: str | None, detail: str) -> float | None:
    if header:
        try:
            return max(0.0, float(header.strip()))
        except ValueError:
            pass  # an HTTP date: fall back to the body's number
    match = _AVAILABLE_IN.search(detail)
    return float(match.group(1)) if match else None

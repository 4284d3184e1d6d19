"""EvalAIClient: the only module that speaks HTTP to EvalAI.

Paths, methods and bodies follow the EvalAI host API exactly (see the project's reference notes):
Bearer auth, trailing slashes only where EvalAI has them, multipart zips that always carry
``zip_configuration``, pagination by following ``next``.  JSON requests go over the client's
:class:`~evalai_mirror.http.DirectSession` (plain sockets, keep-alive) unless a proxy applies;
zip uploads and proxied requests over one ``requests.Session``, made when first needed.
GETs are retried on connection errors and 5xx, POST and PATCH never are.  Every failure becomes
an :class:`~evalai_mirror.errors.ApiError` subclass with a one-line message that says what to
do next, and never carries the token.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from evalai_mirror import answers, ui
from evalai_mirror.apierrors import error_for, looks_html, unreachable
from evalai_mirror.errors import ApiError, BadRequestError, UnreachableError
from evalai_mirror.records import field, record
from evalai_mirror.settings import Connection

if TYPE_CHECKING:
    import requests

    from evalai_mirror.http import Response, Started

T = TypeVar("T")
CONNECT_TIMEOUT = 5.0
# The slowest upload (bytes a second) a zip's read timeout still waits for.
SLOWEST_UPLOAD = 512 * 1024
_HEADERS = {"Accept": "application/json"}
MAX_PAGES = 1000


@record
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
        from evalai_mirror.http import DirectSession, direct_applies

        ui.register_secret(connection.token)
        self.connection = connection
        self.host_url = connection.host_url.rstrip("/")
        self.team_pk = connection.team_pk
        self.timeout = (CONNECT_TIMEOUT, timeout)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.stats = ClientStats()
        # JSON requests go over DirectSession (no proxy applies), uploads and proxied requests
        # through requests, imported when first needed (see http.py)
        self._direct = (
            DirectSession(self.host_url, token=connection.token, headers=_HEADERS)
            if direct_applies(self.host_url)
            else None
        )
        self._requests: requests.Session | None = None
        self._ahead: dict[int, Started] = {}  # read_ahead's GETs, answers not read yet

    @property
    def _session(self) -> requests.Session:
        if self._requests is None:
            from evalai_mirror.http import new_session

            self._requests = new_session(
                self.host_url, token=self.connection.token, headers=_HEADERS
            )
        return self._requests

    def __enter__(self) -> EvalAIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for started in self._ahead.values():
            started.close()
        self._ahead.clear()
        if self._direct is not None:
            self._direct.close()
        if self._requests is not None:
            self._requests.close()

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
        path = self._team_challenges()
        return answers.challenges(self._paginated(path), f"GET {path}")

    def find_challenge(self, repository: str) -> dict[str, Any] | None:
        """The team's challenge whose ``github_repository`` is ``repository`` (as EvalAI
        matches it: exactly), the newest one if there are several."""
        found = [c for c in self.list_challenges() if c.get("github_repository") == repository]
        if not found:
            return None
        return max(found, key=lambda c: int(c.get("id") or 0))

    def get_challenge(self, pk: int) -> dict[str, Any]:
        path = f"{self._team_challenges()}/{int(pk)}"
        return self._object("GET", path, answers.challenge, first=self._ahead.pop(int(pk), None))

    def read_ahead(self, pk: int) -> None:
        """Send the GET of challenge ``pk`` now and read its answer later: EvalAI works on it
        while this process goes on (a push checks the commit meanwhile), and the next
        :meth:`get_challenge` of ``pk`` reads it as its first attempt.  A GET changes nothing
        on EvalAI; one nobody reads is dropped with the client.  Where it cannot be sent now
        (a proxy, no connection), the GET is sent as usual when asked for."""
        from evalai_mirror.http import NoAnswer

        pk = int(pk)
        if self._direct is None or pk in self._ahead:
            return
        try:
            self._ahead[pk] = self._direct.start(
                "GET", f"{self._team_challenges()}/{pk}", timeout=self.timeout
            )
        except NoAnswer:
            return
        self.stats.count(requests=1)  # sent, whether or not its answer is read

    def patch_challenge(self, pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        path = f"{self._team_challenges()}/{int(pk)}"
        return self._object("PATCH", path, answers.challenge, json_body=fields)

    def list_phases(self, pk: int) -> list[dict[str, Any]]:
        path = f"/api/challenges/challenge/{int(pk)}/challenge_phase"
        return answers.phases(self._paginated(path), f"GET {path}")

    def get_phase(self, pk: int, phase_pk: int) -> dict[str, Any]:
        path = f"/api/challenges/challenge/{int(pk)}/challenge_phase/{int(phase_pk)}"
        return self._object("GET", path, answers.phase)

    def patch_phase(self, pk: int, phase_pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/challenges/challenge/{int(pk)}/challenge_phase/{int(phase_pk)}"
        return self._object("PATCH", path, answers.phase, json_body=fields)

    def phase_splits(self, pk: int) -> list[dict[str, Any]]:
        """The challenge's phase splits as its host sees them (every visibility): pk, phase and
        dataset split pks and names, visibility, the ``show_*`` flags, the leaderboard's schema.
        Not here (EvalAI's list leaves them out): the leaderboard pk, the decimal precision and
        the order, which :meth:`get_phase_split` has."""
        path = f"/api/challenges/{int(pk)}/challenge_phase_split"
        return answers.phase_splits(self._paginated(path), f"GET {path}")

    # -- phase splits, leaderboards, dataset splits: EvalAI's "create" views ---------------
    @staticmethod
    def _create_path(kind: str, pk: int) -> str:
        return f"/api/challenges/challenge/create/{kind}/{int(pk)}/"

    def get_phase_split(self, split_pk: int) -> dict[str, Any]:
        """One split with its leaderboard pk, ``leaderboard_decimal_precision`` and
        ``is_leaderboard_order_descending``."""
        path = self._create_path("challenge_phase_split", split_pk)
        return self._object("GET", path, answers.phase_split)

    def phase_split_details(self, split_pks: list[int]) -> dict[int, dict[str, Any]]:
        """:meth:`get_phase_split` of each split, the GETs sent at once; {split pk: split}."""
        pks = list(dict.fromkeys(int(pk) for pk in split_pks))
        found = at_once([functools.partial(self.get_phase_split, pk) for pk in pks])
        return dict(zip(pks, found, strict=True))

    def patch_phase_split(self, split_pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        path = self._create_path("challenge_phase_split", split_pk)
        return self._object("PATCH", path, answers.phase_split, json_body=fields)

    def get_leaderboard(self, leaderboard_pk: int) -> dict[str, Any]:
        return self._object("GET", self._create_path("leaderboard", leaderboard_pk),
                            answers.leaderboard)

    def patch_leaderboard(self, leaderboard_pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        """``schema`` goes as JSON text (EvalAI's view ``json.loads`` it, and crashes on
        anything else): a mapping is encoded here, text that is not JSON is refused unsent."""
        body = dict(fields)
        if "schema" in body:
            body["schema"] = _schema_text(body["schema"], leaderboard_pk)
        path = self._create_path("leaderboard", leaderboard_pk)
        return self._object("PATCH", path, answers.leaderboard, json_body=body)

    def get_dataset_split(self, dataset_split_pk: int) -> dict[str, Any]:
        return self._object("GET", self._create_path("dataset_split", dataset_split_pk),
                            answers.dataset_split)

    def patch_dataset_split(self, dataset_split_pk: int, fields: dict[str, Any]) -> dict[str, Any]:
        path = self._create_path("dataset_split", dataset_split_pk)
        return self._object("PATCH", path, answers.dataset_split, json_body=fields)

    # -- tags, domain, prizes, sponsors ----------------------------------------------------
    def patch_tags_and_domain(self, pk: int, tags: list[str], domain: str | None) -> None:
        """Set the tags and the domain (EvalAI answers an empty 200).  EvalAI saves neither
        without a valid domain, so this request cannot clear a domain: only the zip can."""
        path = f"/api/challenges/challenge/{int(pk)}/update_challenge_tags_and_domain/"
        if domain is None:
            raise BadRequestError(
                f"EvalAI's tags and domain request (PATCH {path}) cannot clear the domain",
                hint="push the change with the challenge zip (it sets the domain the config has)",
            )
        self._request("PATCH", path, json_body={"list_tags": list(tags), "domain": domain})

    def prizes(self, pk: int) -> list[dict[str, Any]]:
        """The challenge's prizes: ``amount`` (text), ``rank``, ``description``."""
        path = f"/api/challenges/challenge/{int(pk)}/prizes/"
        return self._paginated(path)  # every item an object (_paginated keeps only those)

    def sponsors(self, pk: int) -> list[dict[str, Any]]:
        """The challenge's sponsors: ``name``, ``website``."""
        path = f"/api/challenges/challenge/{int(pk)}/sponsors/"
        return self._paginated(path)  # every item an object (_paginated keeps only those)

    def validate_zip(self, zip_file: bytes | IO[bytes], repository: str) -> str:
        """Have EvalAI check a challenge zip (bytes, or a file read from where it stands);
        its success message.  Careful: for an existing challenge EvalAI also stores the zip as
        that challenge's configuration."""
        _, body = self._upload(
            "validate_challenge_config", {"GITHUB_REPOSITORY": repository}, zip_file
        )
        return self._success(body, "The challenge config has been validated successfully")

    def create_or_update(
        self, zip_file: bytes | IO[bytes], repository: str, branch: str
    ) -> tuple[bool, str]:
        """Create the repository's challenge, or update it; (created?, EvalAI's message)."""
        status, body = self._upload(
            "create_or_update_github_challenge",
            {"GITHUB_REPOSITORY": repository, "BRANCH_NAME": branch},
            zip_file,
        )
        return status == 201, self._success(body, "The challenge has been updated")

    # -- plumbing --------------------------------------------------------------------------

    def upload_timeout(self, size: int) -> float:
        """The read timeout of a zip upload of ``size`` bytes: the usual one, plus the time
        the zip takes at :data:`SLOWEST_UPLOAD` bytes a second (EvalAI also unpacks and stores
        it before it answers)."""
        return self.timeout[1] + size / SLOWEST_UPLOAD

    def _upload(
        self, endpoint: str, fields: dict[str, str], zip_file: bytes | IO[bytes]
    ) -> tuple[int, Any]:
        """POST ``fields`` and the zip as EvalAI's multipart form.  The zip is streamed from
        its file a block at a time (never read whole into memory), with progress on a
        terminal, and the read timeout grows with its size."""
        import io

        from requests_toolbelt import MultipartEncoder, MultipartEncoderMonitor

        from evalai_mirror import progress

        stream = io.BytesIO(zip_file) if isinstance(zip_file, bytes) else zip_file
        # EvalAI crashes (HTML 500) on a multipart POST without this field: always send it.
        encoder = MultipartEncoder(
            fields=[
                *fields.items(),
                ("zip_configuration", ("challenge_config.zip", stream, "application/zip")),
            ]
        )
        with progress.meter("uploading the challenge zip to EvalAI", encoder.len) as advance:
            done = 0

            def moved(monitor: Any) -> None:
                nonlocal done
                advance(monitor.bytes_read - done)
                done = monitor.bytes_read

            body = MultipartEncoderMonitor(encoder, moved)
            return self._request(
                "POST",
                self._zip_endpoint(endpoint),
                body=body,
                headers={"Content-Type": body.content_type},
                read_timeout=self.upload_timeout(encoder.len),
            )

    @staticmethod
    def _success(body: Any, default: str) -> str:
        if isinstance(body, dict) and isinstance(body.get("Success"), str):
            return str(body["Success"])
        return default

    def _object(
        self,
        method: str,
        path: str,
        check: Callable[[dict[str, Any], str], dict[str, Any]],
        *,
        json_body: dict[str, Any] | None = None,
        first: Started | None = None,
    ) -> dict[str, Any]:
        """The object EvalAI answered, its shape checked by ``check`` (``answers.py``);
        ``first``: the request already sent (:meth:`read_ahead`)."""
        _, body = self._request(method, path, json_body=json_body, first=first)
        if not isinstance(body, dict):
            raise self._shape_error(method, path, "an object")
        return check(body, f"{method} {path}")

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
        body: Any = None,
        headers: dict[str, str] | None = None,
        read_timeout: float | None = None,
        first: Started | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON) of a 2xx answer; every other outcome raises.  ``body`` is
        sent as it is (a file-like one is streamed), with ``headers``.  ``first``: the first
        attempt, already sent (its answer is read as that attempt's)."""
        if self._direct is not None and body is None:
            return self._request_direct(method, path, json_body, first)
        import requests

        from evalai_mirror.http import send

        timeout = self.timeout if read_timeout is None else (CONNECT_TIMEOUT, read_timeout)
        request = requests.Request(
            method, self.host_url + path, json=json_body, data=body, headers=headers
        )
        prepared = self._session.prepare_request(request)
        sent = int(prepared.headers.get("Content-Length") or 0)

        def count_sent() -> None:
            self.stats.count(requests=1, sent=sent)

        def count_received(response: requests.Response) -> None:
            self.stats.count(received=len(response.content))

        try:
            response = send(
                self._session,
                prepared,
                timeout=timeout,
                retries=self.retries,
                backoff=self.backoff,
                on_attempt=count_sent,
                on_response=count_received,
                allow_redirects=False,  # as DirectSession: the token is not sent on
            )
        except requests.exceptions.RequestException as exc:
            raise unreachable(
                method, path, exc, host_url=self.host_url, timeout=timeout
            ) from exc
        return response.status_code, self._parse(method, path, response)

    def _request_direct(
        self, method: str, path: str, json_body: dict[str, Any] | None,
        first: Started | None = None,
    ) -> tuple[int, Any]:
        """:meth:`_request` over :class:`~evalai_mirror.http.DirectSession`, the body encoded
        as ``requests`` encodes ``json=``."""
        from evalai_mirror.http import Answer, Dropped, NoAnswer, retrying

        assert self._direct is not None
        direct = self._direct
        try:
            body = None if json_body is None else json.dumps(json_body, allow_nan=False).encode()
        except ValueError as exc:  # NaN or infinity: not JSON
            raise self._unreachable(method, path, NoAnswer(f"not JSON: {exc}")) from exc
        sent = len(body) if body is not None else 0

        def attempt() -> Answer:
            nonlocal first
            if first is not None:
                sent_before, first = first, None
                return sent_before.answer()
            return direct.request(
                method, path, body=body, timeout=self.timeout,
                content_type=None if body is None else "application/json",
            )

        def count_sent() -> None:
            if first is None:  # a first attempt sent already was counted then
                self.stats.count(requests=1, sent=sent)

        def count_received(answer: Answer) -> None:
            self.stats.count(received=len(answer.content))

        try:
            answer = retrying(
                method, attempt, status=lambda answer: answer.status_code, dropped=(Dropped,),
                retries=self.retries, backoff=self.backoff,
                on_attempt=count_sent, on_response=count_received,
            )
        except NoAnswer as exc:
            raise self._unreachable(method, path, exc) from exc
        return answer.status_code, self._parse(method, path, answer)

    def _unreachable(self, method: str, path: str, exc: Exception) -> UnreachableError:
        return unreachable(method, path, exc, host_url=self.host_url, timeout=self.timeout)

    def _parse(self, method: str, path: str, response: Response) -> Any:
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
            if not response.content:
                return None  # an empty answer (tags and domain); callers needing JSON check
            if not is_json:
                kind = "an HTML page" if looks_html(response) else "something that is not JSON"
                raise UnreachableError(
                    f"EvalAI at {self.host_url} answered {method} {path} with {kind}",
                    status=status,
                    hint="check that the host URL is the EvalAI API's address "
                    "(e.g. https://eval.ai), not a web page or a proxy's login page",
                )
            return body
        raise self._error(method, path, response, body if is_json else None)

    def _error(self, method: str, path: str, response: Response, body: Any) -> ApiError:
        return error_for(method, path, response, body, host_url=self.host_url, team_pk=self.team_pk)

def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Each call's result, in order, the calls made at once (one round trip for several
    GETs).  Each runs in a daemon thread, so Ctrl-C in the caller is not held up; the first
    error (in call order) is raised once all have ended."""
    if len(calls) <= 1:
        return [call() for call in calls]
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index: int) -> None:
        try:
            results[index] = calls[index]()
        except BaseException as exc:  # handed to the caller's thread below
            errors[index] = exc

    workers = [
        threading.Thread(target=run, args=(i,), name=f"evalai-get-{i}", daemon=True)
        for i in range(1, len(calls))
    ]
    for worker in workers:
        worker.start()
    run(0)
    for worker in workers:
        worker.join()
    for error in errors:
        if error is not None:
            raise error
    return results


def _schema_text(schema: Any, leaderboard_pk: int) -> str:
    """The leaderboard schema as the JSON text EvalAI's view decodes."""
    import json

    if not isinstance(schema, str):
        return json.dumps(schema, ensure_ascii=False)
    try:
        json.loads(schema)
    except ValueError as exc:
        raise BadRequestError(
            f"the schema for leaderboard {leaderboard_pk} is not JSON ({exc}); EvalAI would "
            "fail on it with an error page",
            hint='write it as JSON, e.g. {"labels": ["Total"], "default_order_by": "Total"}',
        ) from None
    return schema

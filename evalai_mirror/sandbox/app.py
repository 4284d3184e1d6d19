"""The WSGI application: EvalAI's host endpoints (exact paths, statuses and bodies) plus the
``/_sandbox/`` control routes (request log, faults, UI edits), which are neither logged nor
throttled."""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.wrappers import Request, Response

from evalai_mirror.sandbox.faults import (
    APPLIED_KINDS,
    Fault,
    FaultPlan,
    RequestLog,
    RequestRecord,
    Throttle,
)
from evalai_mirror.sandbox.importer import PartialUpdate, read_zip
from evalai_mirror.sandbox.render import DOMAINS, paginated
from evalai_mirror.sandbox.service import HOST_TEAM_PK, OTHER_TEAM_PK, Refused, Service
from evalai_mirror.validate import check_update, server_error_text, validate_zip_bytes

_UNAUTHENTICATED = {"detail": "Authentication credentials were not provided."}
_TOKEN_NOT_VALID = {
    "detail": "Given token not valid for any token type",
    "code": "token_not_valid",
    "messages": [
        {
            "token_class": "RefreshToken",
            "token_type": "refresh",
            "message": "Token is invalid or expired",
        }
    ],
}
_BAD_HEADER = {
    "detail": "Authorization header must contain two space-delimited values",
    "code": "bad_authorization_header",
}
_NOT_MEMBER = {"error": "Sorry, you do not belong to this Host Team!"}
_NOT_A_HOST = {"error": "Sorry, you are not a host for this challenge. Please check your user access token"}
_UPDATE_FAILED = "Error in creating challenge: None. Please check the yaml configuration!"
_VALIDATED = {"Success": "The challenge config has been validated successfully"}

_DETAIL_ALLOW = "DELETE, PATCH, GET, OPTIONS, PUT"
_ZIP_ALLOW = "OPTIONS, POST"

_CRASH_PAGE = (
    "{exc} at {path}\n{message}\n\n"
    "Request Method: {method}\nRequest URL: {url}\n\n"
    "(EvalAI sandbox: the real server answers this request with Django's 500 error page.)\n"
)
_HTML_500 = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n"
_HTML_404 = "<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"

Handler = Callable[..., Response]

def _rules() -> list[Rule]:
    return [
    Rule("/api/challenges/challenge/challenge_host_team/<int:team>/validate_challenge_config/",
         endpoint="validate_zip", methods=["POST"]),
    Rule("/api/challenges/challenge/challenge_host_team/<int:team>/create_or_update_github_challenge/",
         endpoint="create_or_update", methods=["POST"]),
    Rule("/api/challenges/challenge_host_team/<int:team>/challenge",
         endpoint="challenge_list", methods=["GET"]),
    Rule("/api/challenges/challenge_host_team/<int:team>/challenge/<int:pk>",
         endpoint="challenge_detail", methods=["GET", "PATCH", "PUT"]),
    Rule("/api/challenges/challenge/<int:pk>/challenge_phase",
         endpoint="phase_list", methods=["GET"]),
    Rule("/api/challenges/challenge/<int:pk>/challenge_phase/<int:phase>",
         endpoint="phase_detail", methods=["GET", "PATCH", "PUT"]),
    Rule("/api/challenges/<int:pk>/challenge_phase_split",
         endpoint="phase_splits", methods=["GET"]),
    Rule("/api/challenges/challenge/create/challenge_phase_split/<int:split>/",
         endpoint="phase_split_detail", methods=["GET", "PATCH"]),
    Rule("/api/challenges/challenge/create/leaderboard/<int:board>/",
         endpoint="leaderboard_detail", methods=["GET", "PATCH"]),
    Rule("/api/challenges/challenge/create/dataset_split/<int:split>/",
         endpoint="dataset_split_detail", methods=["GET", "PATCH"]),
    Rule("/api/challenges/challenge/<int:pk>/update_challenge_tags_and_domain/",
         endpoint="tags_and_domain", methods=["PATCH"]),
    Rule("/api/challenges/challenge/get_domain_choices/", endpoint="domain_choices", methods=["GET"]),
    Rule("/api/challenges/challenge/<int:pk>/prizes/", endpoint="prizes", methods=["GET"]),
    Rule("/api/challenges/challenge/<int:pk>/sponsors/", endpoint="sponsors", methods=["GET"]),
    Rule("/api/challenges/challenge/<int:split>/get_leaderboard_data/",
         endpoint="leaderboard_data", methods=["GET"]),
    Rule("/media/logos/<name>", endpoint="media", methods=["GET"]),
    ]  # fmt: skip

# The Allow header of each endpoint (DRF lists its view's methods, on every answer, 429 included).
_ALLOW = {
    "challenge_list": "OPTIONS, POST, GET", "challenge_detail": _DETAIL_ALLOW,
    "phase_list": "OPTIONS, GET, POST", "phase_detail": _DETAIL_ALLOW,
    "validate_zip": _ZIP_ALLOW, "create_or_update": _ZIP_ALLOW,
    "phase_split_detail": "OPTIONS, PATCH, GET", "leaderboard_detail": "OPTIONS, PATCH, GET",
    "dataset_split_detail": "OPTIONS, PATCH, GET", "tags_and_domain": "OPTIONS, PATCH",
    "domain_choices": "OPTIONS, GET", "prizes": "OPTIONS, GET", "sponsors": "OPTIONS, GET",
    "leaderboard_data": "OPTIONS, GET", "phase_splits": "OPTIONS, GET",
}  # fmt: skip
# Endpoints a request without a token may GET (a token that is sent is still checked).
_ANONYMOUS_GET = {"phase_splits", "phase_split_detail", "prizes", "sponsors"}
ANON_RATE_PER_MINUTE = 100  # EvalAI's DEFAULT_THROTTLE_RATES["anon"]; "user" is 60
_NOT_STAFF = {"error": "Sorry, you are not authorized to access this resource!"}

_CONTROL = Map(
    [
        Rule("/_sandbox/info", endpoint="info", methods=["GET"]),
        Rule("/_sandbox/requests", endpoint="requests", methods=["GET", "DELETE"]),
        Rule("/_sandbox/faults", endpoint="faults", methods=["GET", "POST", "DELETE"]),
        Rule("/_sandbox/edit", endpoint="edit", methods=["POST"]),
        Rule("/_sandbox/freeze", endpoint="freeze", methods=["POST"]),
        Rule("/_sandbox/challenge/<int:pk>", endpoint="challenge", methods=["GET"]),
    ]
)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    response = Response(text, status=status, content_type="application/json")
    response.headers["Vary"] = "Origin"
    response.headers["X-Frame-Options"] = "DENY"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _unauthorized(body: Any, allow: str | None) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="api"'}
    if allow:
        headers["Allow"] = allow
    return json_response(body, 401, headers)


class _Dropped(ConnectionAbortedError):
    """Raised after the socket is shut: werkzeug treats it as a client that went away."""


def _shut(environ: dict[str, Any]) -> None:
    """Close the request's connection both ways, with no (more) answer."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class SandboxApp:
    def __init__(
        self,
        service: Service,
        *,
        throttle: Throttle,
        faults: FaultPlan,
        log: RequestLog,
        page_size: int = 100,
        on_request: Callable[[RequestRecord], None] | None = None,
    ) -> None:
        self.service = service
        self.throttle = throttle
        self.anon_throttle = Throttle(ANON_RATE_PER_MINUTE)
        self.faults = faults
        self.log = log
        self.page_size = page_size
        self.on_request = on_request
        self.url_map = Map(_rules(), strict_slashes=True, merge_slashes=False)

    # -- WSGI -----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith("/_sandbox/"):
            return self._control(request)(environ, start_response)
        started = time.time()
        body = request.get_data(cache=True)
        fault = self.faults.take(request.method, request.path)
        if fault is not None and fault.kind == "drop":
            self._record(request, 0, len(body), 0, started)
            _shut(environ)
            raise _Dropped("connection dropped by a sandbox fault")
        response = self._faulted(fault) if fault is not None else None
        if response is None:
            response = self._safe_dispatch(request)
        if fault is not None and fault.kind == "shape" and response.is_json:
            response = json_response(fault.reshape(response.get_json()), response.status_code)
        out = response.get_data()
        if fault is not None and fault.kind in APPLIED_KINDS:
            return self._lose_answer(fault, request, response, environ, start_response, started)
        self._record(request, response.status_code, len(body), len(out), started)
        return response(environ, start_response)

    def _lose_answer(self, fault: Fault, request: Request, response: Response,
                     environ: dict[str, Any], start_response: Any, started: float) -> Iterable[bytes]:
        """The request was carried out; its answer is lost as ``fault.kind`` says."""
        bytes_in = len(request.get_data(cache=True))
        out = response.get_data()
        if fault.kind == "late":
            time.sleep(fault.delay)
            self._record(request, response.status_code, bytes_in, len(out), started)
            return response(environ, start_response)
        self._record(request, 0, bytes_in, 0 if fault.kind == "lost" else len(out) // 2, started)
        if fault.kind == "lost":
            _shut(environ)
            raise _Dropped("answer lost by a sandbox fault")
        headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
        start_response(response.status, [*headers, ("Content-Length", str(len(out)))])

        def half_then_close() -> Iterator[bytes]:
            yield out[: len(out) // 2]
            _shut(environ)
            raise _Dropped("answer cut by a sandbox fault")

        return half_then_close()

    def _record(self, request: Request, status: int, bytes_in: int, bytes_out: int, start: float) -> None:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            status=status,
            bytes_in=bytes_in,
            bytes_out=bytes_out,
            time=start,
            duration=time.time() - start,
            query=request.query_string.decode("latin-1"),
        )
        self.log.add(record)
        if self.on_request is not None:
            self.on_request(record)

    def _faulted(self, fault: Fault) -> Response | None:
        if fault.kind in APPLIED_KINDS or fault.kind == "shape":
            return None  # carried out; the answer is lost or reshaped afterwards
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return None
        if fault.kind == "html":
            return Response(_HTML_500, status=fault.status or 500, content_type="text/html")
        return json_response(
            {"error": "Internal server error (a fault scripted in the EvalAI sandbox)"},
            fault.status or 500,
        )

    def _safe_dispatch(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except Refused as exc:
            return json_response(exc.body, exc.status)

    def _dispatch(self, request: Request) -> Response:
        adapter = self.url_map.bind_to_environ(request.environ)
        allowed: str | None = None
        try:
            endpoint, args = adapter.match()
        except RequestRedirect as exc:
            return Response("", status=301, headers={"Location": exc.new_url})
        except MethodNotAllowed as exc:
            endpoint, args = "", {}
            allowed = ", ".join(sorted({*(exc.valid_methods or []), "OPTIONS"}))
        except NotFound:
            return Response(_HTML_404, status=404, content_type="text/html")
        allow = allowed or _ALLOW.get(endpoint)
        if endpoint == "media":
            return self.media(request, **args)
        anonymous = not request.headers.get("Authorization")
        if not (anonymous and endpoint in _ANONYMOUS_GET and request.method == "GET"):
            denied = self._authenticate(request, allow or _DETAIL_ALLOW)
            if denied is not None:
                return denied
        wait = self._throttle_wait(request, endpoint, anonymous)
        if wait is not None:
            seconds = math.ceil(wait)  # DRF's Throttled: the detail and Retry-After agree
            unit = "second" if seconds == 1 else "seconds"
            headers = {"Retry-After": str(seconds), **({"Allow": allow} if allow else {})}
            return json_response(
                {"detail": f"Request was throttled. Expected available in {seconds} {unit}."},
                429,
                headers,
            )
        if allowed is not None:
            return json_response(
                {"detail": f'Method "{request.method}" not allowed.'}, 405, {"Allow": allowed}
            )
        handler: Handler = getattr(self, endpoint)
        response = handler(request, **args)
        if allow and "Allow" not in response.headers:
            response.headers["Allow"] = allow
        return response

    def _throttle_wait(self, request: Request, endpoint: str, anonymous: bool) -> float | None:
        """EvalAI's throttles, checked after authentication as DRF does.  Every view the sandbox
        serves has UserRateThrottle (the user's one bucket; a request without a token: its
        address's) except the phase split list, which has AnonRateThrottle only (requests
        without a token, by address, 100 a minute; with a token: never throttled)."""
        if self.throttle.rate <= 0:
            return None
        address = f"address:{request.remote_addr}"
        if endpoint == "phase_splits":
            return self.anon_throttle.check(address) if anonymous else None
        return self.throttle.check(address if anonymous else self.service.token)

    def _authenticate(self, request: Request, allow: str) -> Response | None:
        header = request.headers.get("Authorization")
        if not header:
            return _unauthorized(_UNAUTHENTICATED, allow)
        parts = header.split()
        scheme = parts[0].lower() if parts else ""
        if scheme == "bearer":
            if len(parts) != 2:
                return _unauthorized(_BAD_HEADER, allow)
            if parts[1] != self.service.token:
                return _unauthorized(_TOKEN_NOT_VALID, allow)
            return None
        if scheme == "token":
            return _unauthorized({"detail": "Invalid token"}, allow)
        return _unauthorized(_UNAUTHENTICATED, allow)

    # -- helpers --------------------------------------------------------------------------
    @staticmethod
    def _base(request: Request) -> str:
        return request.host_url.rstrip("/")

    @staticmethod
    def _data(request: Request) -> dict[str, Any]:
        if request.mimetype == "application/json" or (
            not request.mimetype and request.get_data()
        ):
            try:
                data = json.loads(request.get_data(as_text=True) or "{}")
            except ValueError as exc:
                raise Refused(400, {"detail": f"JSON parse error - {exc}"}) from None
            if not isinstance(data, dict):
                raise Refused(
                    400,
                    {"non_field_errors": [
                        f"Invalid data. Expected a dictionary, but got {type(data).__name__}."
                    ]},
                )  # fmt: skip
            return data
        return {key: request.form[key] for key in request.form}

    def _page(self, request: Request, items: list[Any]) -> Response:
        raw = request.args.get("page", "1")
        page = int(raw) if raw.isdigit() and int(raw) > 0 else 0
        pages = max(1, math.ceil(len(items) / self.page_size))
        if page == 0 or page > pages:
            return json_response({"detail": "Invalid page."}, 404)
        url = self._base(request) + request.path
        return json_response(paginated(items, page, self.page_size, url))

    # -- the EvalAI endpoints -------------------------------------------------------------
    def challenge_list(self, request: Request, team: int) -> Response:
        return self._page(request, self.service.list_challenges(team, self._base(request)))

    def challenge_detail(self, request: Request, team: int, pk: int) -> Response:
        if request.method == "GET":
            body = self.service.get_challenge(pk, self._base(request), team_pk=team)
        else:
            body = self.service.patch_challenge(pk, self._data(request), team_pk=team)
        return json_response(body, headers={"Allow": _DETAIL_ALLOW})

    def phase_list(self, request: Request, pk: int) -> Response:
        response = self._page(request, self.service.list_phases(pk))
        response.headers["Allow"] = "OPTIONS, GET, POST"
        return response

    def phase_detail(self, request: Request, pk: int, phase: int) -> Response:
        if request.method == "GET":
            body = self.service.get_phase(pk, phase, self._base(request))
        else:
            body = self.service.patch_phase(pk, phase, self._data(request))
        return json_response(body, headers={"Allow": _DETAIL_ALLOW})

    def phase_splits(self, request: Request, pk: int) -> Response:
        anonymous = not request.headers.get("Authorization")  # the public splits only
        return json_response(self.service.phase_splits(pk, anonymous=anonymous))

    def phase_split_detail(self, request: Request, split: int) -> Response:
        structure = self.service.structure
        if request.method == "GET":
            return json_response(structure.get_phase_split(split))
        return json_response(structure.patch_phase_split(split, self._data(request)))

    def leaderboard_detail(self, request: Request, board: int) -> Response:
        structure = self.service.structure
        if request.method == "GET":
            return json_response(structure.get_leaderboard(board))
        structure.get_leaderboard(board)  # 404 before the body is read, as the view does
        data = self._data(request)
        if "schema" in data:  # the view json.loads it: anything but JSON text crashes it
            schema = data["schema"]
            if not isinstance(schema, (str, bytes)):
                kind = type(schema).__name__
                return self._crash(request, "TypeError", f"the JSON object must be str, bytes or bytearray, not {kind}")
            try:
                data["schema"] = json.loads(schema)
            except ValueError as exc:
                return self._crash(request, "JSONDecodeError", str(exc))
        return json_response(structure.patch_leaderboard(board, data))

    def dataset_split_detail(self, request: Request, split: int) -> Response:
        structure = self.service.structure
        if request.method == "GET":
            return json_response(structure.get_dataset_split(split))
        return json_response(structure.patch_dataset_split(split, self._data(request)))

    def tags_and_domain(self, request: Request, pk: int) -> Response:
        self.service.structure.update_tags_and_domain(pk, self._data(request))
        response = Response(b"", status=200)  # EvalAI answers an empty body, no Content-Type
        del response.headers["Content-Type"]
        return response

    def domain_choices(self, request: Request) -> Response:
        return json_response([[code, name] for code, name in DOMAINS.items()])

    def prizes(self, request: Request, pk: int) -> Response:
        return json_response(self.service.structure.prizes(pk))

    def sponsors(self, request: Request, pk: int) -> Response:
        return json_response(self.service.structure.sponsors(pk))

    def leaderboard_data(self, request: Request, split: int) -> Response:
        return json_response(_NOT_STAFF, 401)  # for EvalAI staff only, never a host

    def media(self, request: Request, name: str) -> Response:
        for doc in self.service.store.all("challenge"):
            if doc.get("image") == f"/media/logos/{name}":
                data = self.service.logo(int(doc["id"]))
                if data is not None:
                    kind = "image/png" if name.endswith(".png") else "image/jpeg"
                    return Response(data, content_type=kind)
        return Response(_HTML_404, status=404, content_type="text/html")

    def validate_zip(self, request: Request, team: int) -> Response:
        return self._zip(request, team, create=False)

    def create_or_update(self, request: Request, team: int) -> Response:
        return self._zip(request, team, create=True)

    def _crash(self, request: Request, exc: str, message: str) -> Response:
        text = _CRASH_PAGE.format(
            exc=exc, path=request.path, message=message, method=request.method, url=request.url
        )
        return Response(text, status=500, content_type="text/plain; charset=utf-8")

    def _zip(self, request: Request, team_pk: int, *, create: bool) -> Response:
        if self.service.team(team_pk) is None:
            return json_response({"detail": f"ChallengeHostTeam {team_pk} does not exist"}, 404)
        if not self.service.is_member(team_pk):
            return json_response(_NOT_MEMBER, 401)
        upload = request.files.get("zip_configuration")
        if upload is None:
            return self._crash(request, "AttributeError", "This QueryDict instance is immutable")
        data = upload.read()
        problems = validate_zip_bytes(data)
        if any(getattr(p, "crash", False) for p in problems):
            return self._crash(request, "Exception", server_error_text(problems))
        if problems:
            return json_response({"error": server_error_text(problems)}, 400)
        repository = request.form.get("GITHUB_REPOSITORY")
        if repository is None and create:
            return self._crash(request, "MultiValueDictKeyError", "'GITHUB_REPOSITORY'")
        existing = None if repository is None else self.service.find_by_repository(repository)
        parsed = None
        if existing is not None:
            current = self.service.store.get("challenge", existing) or {}
            if not self.service.is_member(int(current.get("_team", OTHER_TEAM_PK))):
                return json_response(_NOT_A_HOST, 403)
            previous = self.service.config_zip(existing)
            if previous is not None:
                parsed = read_zip(data)
                messages = check_update(
                    read_zip(previous)[0],
                    parsed[0],
                    approved=bool(current.get("approved_by_admin")),
                )
                if messages:
                    return json_response({"error": "\n".join(messages)}, 400)
        if not create:
            if existing is not None:
                self.service.store_config_zip(existing, data)
            return json_response(_VALIDATED)
        assert repository is not None
        try:
            _pk, title = self.service.importer.apply(
                team_pk=team_pk,
                repository=repository,
                data=data,
                parsed=parsed or read_zip(data),
                existing_pk=existing,
            )
        except PartialUpdate:
            return json_response({"error": _UPDATE_FAILED}, 400)
        if existing is None:
            text = f"Challenge {title} has been created successfully and sent for review to EvalAI Admin."
            return json_response({"Success": text}, 201)
        return json_response({"Success": f"The challenge {title} has been updated successfully"})

    def _edited_challenge(self, given: Any) -> int:
        if given is not None:
            return int(given)
        challenges = self.service.store.all("challenge")
        if len(challenges) != 1:
            raise Refused(
                400,
                {"detail": f"the sandbox has {len(challenges)} challenges: name one (--challenge PK)"},
            )
        return int(challenges[0]["id"])

    # -- /_sandbox/ -----------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        adapter = _CONTROL.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except (NotFound, MethodNotAllowed, RequestRedirect):
            return json_response({"detail": "Not found."}, 404)
        try:
            data = self._data(request) if request.method == "POST" else {}
            return self._control_call(endpoint, request, data, **args)
        except Refused as exc:
            return json_response(exc.body, exc.status)
        except (KeyError, TypeError, ValueError) as exc:
            return json_response({"detail": f"bad request to the sandbox: {exc}"}, 400)

    def _control_call(self, endpoint: str, request: Request, data: dict[str, Any], **args: Any) -> Response:
        if endpoint == "info":
            return json_response({"url": self._base(request), "team_pk": HOST_TEAM_PK})
        if endpoint == "requests":
            if request.method == "DELETE":
                self.log.clear()
                return Response(status=204)
            return json_response({"requests": [r.to_json() for r in self.log.records()]})
        if endpoint == "faults":
            if request.method == "DELETE":
                self.faults.clear()
                return Response(status=204)
            if request.method == "POST":
                fault = Fault(
                    data.get("method"),
                    str(data["path_regex"]),
                    str(data["kind"]),
                    int(data.get("count", 1)),
                    float(data.get("delay", 0.0)),
                    None if data.get("status") is None else int(data["status"]),
                    dict(data.get("change") or {}),
                    tuple(str(k) for k in data.get("drop") or ()),
                )
                self.faults.add(fault)
                return json_response(fault.to_json(), 201)
            return json_response({"faults": [f.to_json() for f in self.faults.pending()]})
        if endpoint == "edit":
            pk = self._edited_challenge(data.get("challenge"))
            changes = data.get("fields") or {}
            if not isinstance(changes, dict):
                raise ValueError("fields must be an object")
            named = {key: None if data.get(key) is None else str(data[key]) for key in ("phase", "split")}
            result = self.service.ui_edit(
                pk, changes, phase=named["phase"], dataset_split=named["split"],
                leaderboard=data.get("leaderboard"),
            )  # fmt: skip
            return json_response(result)
        if endpoint == "freeze":
            self.service.set_frozen(int(data["challenge"]), bool(data.get("frozen", True)))
            return json_response(self.service.get_challenge(int(data["challenge"]), self._base(request)))
        return json_response(self.service.get_challenge(int(args["pk"]), self._base(request)))

"""A small local stand-in of GitHub's repository-hooks REST API, for tests.

Real HTTP on 127.0.0.1 (werkzeug, threaded).  It keeps the parts of GitHub's behaviour the
``webhook`` command depends on:

- auth: ``Authorization: Bearer|token <t>``; no token -> 401 "Requires authentication", an
  unknown one -> 401 "Bad credentials";
- classic tokens answer with ``X-OAuth-Scopes`` and each hook endpoint with
  ``X-Accepted-OAuth-Scopes``; a token without an accepted scope gets 404, as GitHub does;
  fine-grained tokens (``scopes=None``) have no ``X-OAuth-Scopes`` and get 403 "Resource not
  accessible by personal access token" with ``X-Accepted-GitHub-Permissions``;
- a repository the token can see but does not administer -> 403 "Must have admin rights to
  Repository."; an unknown repository -> 404;
- ``PATCH /hooks/{id}`` replaces ``config`` whole (a config without a secret removes the
  secret, as documented), ``PATCH /hooks/{id}/config`` changes single properties;
- the secret is echoed as ``********``; the list is paginated with a ``Link`` header;
- :meth:`GitHubStub.deliver` records a signed push delivery (as GitHub would send it) so
  tests can check the signature with the secret the command printed.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

READ = "admin:repo_hook, read:repo_hook, repo, write:repo_hook"
WRITE = "admin:repo_hook, repo, write:repo_hook"
DELETE = "admin:repo_hook, repo"


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass  # keep test output clean; GitHubStub.log records every request


@dataclass
class Token:
    scopes: list[str] | None  # None: a fine-grained token
    admin_of: set[str] = field(default_factory=set)
    member_of: set[str] = field(default_factory=set)  # can see, not admin
    webhooks_permission: bool = True  # fine-grained only


@dataclass
class StubHook:
    id: int
    config: dict[str, Any]
    events: list[str]
    active: bool
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    bodies: dict[int, tuple[bytes, dict[str, str]]] = field(default_factory=dict)

    def as_json(self, base: str, repo: str) -> dict[str, Any]:
        config = dict(self.config)
        if config.get("secret"):
            config["secret"] = "********"
        url = f"{base}/repos/{repo}/hooks/{self.id}"
        last = {"code": None, "status": "unused", "message": None}
        if self.deliveries:
            d = self.deliveries[0]
            last = {"code": d["status_code"], "status": "active", "message": d["status"]}
        return {
            "type": "Repository",
            "id": self.id,
            "name": "web",
            "active": self.active,
            "events": list(self.events),
            "config": config,
            "updated_at": "2024-01-01T00:00:00Z",
            "created_at": "2024-01-01T00:00:00Z",
            "url": url,
            "test_url": url + "/test",
            "ping_url": url + "/pings",
            "deliveries_url": url + "/deliveries",
            "last_response": last,
        }


class GitHubStub:
    """``with GitHubStub() as gh: gh.url`` -> the API base; configure tokens and repos first."""

    def __init__(self, page_size: int = 30) -> None:
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, dict[int, StubHook]] = {}
        self.log: list[dict[str, Any]] = []
        self.page_size = page_size
        self._ids = itertools.count(1001)
        self._lock = threading.Lock()
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle --

    def __enter__(self) -> GitHubStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- set-up helpers --

    def add_repo(self, repo: str) -> None:
        self.repos.setdefault(repo, {})

    def add_token(self, token: str, *, scopes: list[str] | None, admin_of: tuple[str, ...] = (),
                  member_of: tuple[str, ...] = (), webhooks_permission: bool = True) -> None:
        self.tokens[token] = Token(scopes, set(admin_of), set(member_of), webhooks_permission)

    def add_hook(self, repo: str, url: str, *, secret: str | None = None,
                 events: list[str] | None = None, content_type: str = "json") -> int:
        hook_id = next(self._ids)
        config: dict[str, Any] = {"url": url, "content_type": content_type, "insecure_ssl": "0"}
        if secret:
            config["secret"] = secret
        self.repos[repo][hook_id] = StubHook(hook_id, config, events or ["push"], True)
        return hook_id

    def hooks(self, repo: str) -> list[StubHook]:
        return list(self.repos[repo].values())

    def deliver(self, repo: str, hook_id: int, *, status_code: int = 200,
                payload: dict[str, Any] | None = None) -> tuple[bytes, dict[str, str]]:
        """Record a push delivery, signed as GitHub signs it; returns (body, headers)."""
        hook = self.repos[repo][hook_id]
        body = json.dumps(payload or {"ref": "refs/heads/challenge", "repository": {
            "full_name": repo}}, indent=2).encode()
        guid = str(uuid.uuid4())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "GitHub-Hookshot/stub",
            "X-GitHub-Delivery": guid,
            "X-GitHub-Event": "push",
            "X-GitHub-Hook-ID": str(hook_id),
        }
        secret = hook.config.get("secret")
        if secret:
            digest = hmac.new(secret.encode(), body, hashlib.sha256)
            headers["X-Hub-Signature-256"] = "sha256=" + digest.hexdigest()
            headers["X-Hub-Signature"] = "sha1=" + hmac.new(
                secret.encode(), body, hashlib.sha1).hexdigest()
        delivery_id = next(self._ids)
        hook.deliveries.insert(0, {
            "id": delivery_id, "guid": guid, "delivered_at": "2024-05-01T12:00:00Z",
            "redelivery": False, "duration": 0.25,
            "status": "OK" if 200 <= status_code < 300 else f"Invalid HTTP Response: {status_code}",
            "status_code": status_code, "event": "push", "action": None,
            "installation_id": None, "repository_id": 1,
        })
        hook.bodies[delivery_id] = (body, headers)
        return body, headers

    # -- the app --

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            response = self._handle(request)
        return response(environ, start_response)

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(data), status=status, headers=headers or {},
                        content_type="application/json; charset=utf-8")

    def _handle(self, request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        self.log.append({"method": request.method, "path": request.path,
                         "query": request.query_string.decode(), "auth": auth,
                         "body": request.get_data(as_text=True),
                         "user_agent": request.headers.get("User-Agent", "")})
        doc = {"documentation_url": "https://docs.github.com/rest"}
        if not auth:
            return self._json({"message": "Requires authentication", **doc}, 401)
        token_value = auth.split(" ", 1)[-1]
        token = self.tokens.get(token_value)
        if token is None or not re.match(r"^(Bearer|token) ", auth):
            return self._json({"message": "Bad credentials", **doc}, 401)
        headers: dict[str, str] = {"X-RateLimit-Remaining": "4999"}
        if token.scopes is not None:
            headers["X-OAuth-Scopes"] = ", ".join(token.scopes)
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/hooks(?:/(\d+)(/config|/deliveries)?)?", request.path)
        if not m:
            return self._json({"message": "Not Found", **doc}, 404, headers)
        repo, hook_id_s, tail = m.group(1), m.group(2), m.group(3)
        method = request.method
        accepted = READ if method == "GET" else DELETE if method == "DELETE" else WRITE
        headers["X-Accepted-OAuth-Scopes"] = accepted
        if token.scopes is not None:
            if not set(token.scopes) & {s.strip() for s in accepted.split(",")}:
                return self._json({"message": "Not Found", **doc}, 404, headers)
        elif not token.webhooks_permission:
            headers["X-Accepted-GitHub-Permissions"] = (
                "repository_hooks=read" if method == "GET" else "repository_hooks=write")
            return self._json({"message": "Resource not accessible by personal access token",
                               **doc}, 403, headers)
        if repo not in self.repos or repo not in token.admin_of | token.member_of:
            return self._json({"message": "Not Found", **doc}, 404, headers)
        if repo not in token.admin_of:
            return self._json({"message": "Must have admin rights to Repository.", **doc}, 403,
                              headers)
        hooks = self.repos[repo]
        base = request.host_url.rstrip("/")
        if hook_id_s is None:
            if method == "GET":
                return self._list(request, base, repo, headers)
            if method == "POST":
                return self._create(request, base, repo, headers)
            return self._json({"message": "Not Found", **doc}, 404, headers)
        hook = hooks.get(int(hook_id_s))
        if hook is None:
            return self._json({"message": "Not Found", **doc}, 404, headers)
        if tail == "/deliveries" and method == "GET":
            per_page = int(request.args.get("per_page", 30))
            return self._json(hook.deliveries[:per_page], 200, headers)
        if tail == "/config" and method == "PATCH":
            body = request.get_json(force=True)
            hook.config.update({k: v for k, v in body.items()
                                if k in ("url", "content_type", "secret", "insecure_ssl")})
            out = dict(hook.config)
            if out.get("secret"):
                out["secret"] = "********"
            return self._json(out, 200, headers)
        if tail:
            return self._json({"message": "Not Found", **doc}, 404, headers)
        if method == "GET":
            return self._json(hook.as_json(base, repo), 200, headers)
        if method == "PATCH":
            body = request.get_json(force=True)
            if "config" in body:
                hook.config = dict(body["config"])  # replaced whole: no secret -> secret gone
            if "events" in body:
                hook.events = list(body["events"])
            if "active" in body:
                hook.active = bool(body["active"])
            return self._json(hook.as_json(base, repo), 200, headers)
        if method == "DELETE":
            del hooks[hook.id]
            return Response(status=204, headers=headers)
        return self._json({"message": "Not Found", **doc}, 404, headers)

    def _list(self, request: Request, base: str, repo: str, headers: dict[str, str]) -> Response:
        per_page = min(int(request.args.get("per_page", self.page_size)), self.page_size)
        page = int(request.args.get("page", 1))
        items = list(self.repos[repo].values())
        chunk = items[(page - 1) * per_page: page * per_page]
        if page * per_page < len(items):
            headers = {**headers, "Link": (f'<{base}/repos/{repo}/hooks?per_page={per_page}'
                                           f'&page={page + 1}>; rel="next"')}
        return self._json([h.as_json(base, repo) for h in chunk], 200, headers)

    def _create(self, request: Request, base: str, repo: str, headers: dict[str, str]) -> Response:
        body = request.get_json(force=True)
        config = dict(body.get("config") or {})
        if not config.get("url"):
            return self._json({"message": "Validation Failed", "errors": [
                {"resource": "Hook", "code": "custom", "message": "Config must contain URL"}]},
                422, headers)
        for hook in self.repos[repo].values():
            if hook.config.get("url") == config["url"] and hook.events == body.get("events"):
                return self._json({"message": "Validation Failed", "errors": [
                    {"resource": "Hook", "code": "custom",
                     "message": "Hook already exists on this repository"}]}, 422, headers)
        hook_id = next(self._ids)
        hook = StubHook(hook_id, config, list(body.get("events") or ["push"]),
                        bool(body.get("active", True)))
        self.repos[repo][hook_id] = hook
        return self._json(hook.as_json(base, repo), 201, headers)


REPO = "host-org/random-challenge"
TOKEN = "ghp_" + "T0kenForTests" * 3  # a classic token with repo + admin:repo_hook


def standard_stub() -> GitHubStub:
    """A stub (not yet started) where TOKEN administers REPO, as the fixtures expect."""
    stub = GitHubStub()
    stub.add_repo(REPO)
    stub.add_token(TOKEN, scopes=["admin:repo_hook", "repo"], admin_of=(REPO,))
    return stub

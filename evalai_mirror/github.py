"""The GitHub REST client for the ``webhook`` command: repository hooks and their deliveries.

This is the only module that speaks HTTP to GitHub.  ``requests`` is imported when a client is
made, so that ``webhook verify`` (and anything else importing the pure helpers below) stays
light.  Errors become :class:`GitHubError` subclasses whose one-line messages say what to fix,
worked out from GitHub's answer: the status, its ``message`` and the scope headers
(``X-OAuth-Scopes``, ``X-Accepted-OAuth-Scopes``, ``X-Accepted-GitHub-Permissions``).  The token
is registered with :func:`evalai_mirror.ui.register_secret` and never appears in a message.

Shapes follow GitHub's REST API (repository webhooks):
``POST /repos/{owner}/{repo}/hooks``, ``GET`` the list, ``PATCH /hooks/{id}``,
``PATCH /hooks/{id}/config`` (individual config properties; leaves the secret alone),
``DELETE /hooks/{id}`` and ``GET /hooks/{id}/deliveries``.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from evalai_mirror import ui
from evalai_mirror.errors import GitHubError
from evalai_mirror.records import record
from evalai_mirror.settings import is_loopback

if TYPE_CHECKING:  # pragma: no cover
    import requests

DEFAULT_API_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
TOKEN_ENV_VARS = ("AUTH_TOKEN", "GITHUB_TOKEN")
SIGNATURE_HEADER = "X-Hub-Signature-256"

# Classic token scopes that allow each kind of hook call (GitHub's X-Accepted-OAuth-Scopes).
READ_SCOPES = frozenset({"repo", "admin:repo_hook", "write:repo_hook", "read:repo_hook"})
WRITE_SCOPES = frozenset({"repo", "admin:repo_hook", "write:repo_hook"})
DELETE_SCOPES = frozenset({"repo", "admin:repo_hook"})


class GitHubAuthError(GitHubError):
    """401: the token is missing, wrong, expired or revoked."""


class GitHubScopeError(GitHubError):
    """The token works but lacks the scope (or fine-grained permission) for hooks."""


class GitHubPermissionError(GitHubError):
    """403: the account behind the token is not an admin of the repository."""


class GitHubNotFoundError(GitHubError):
    """404: the repository (or hook) does not exist, or the token cannot see it."""


class GitHubUnreachableError(GitHubError):
    """GitHub could not be reached, timed out, or answered 5xx / not JSON."""


class GitHubRateLimitError(GitHubError):
    """403/429 with the rate limit exhausted."""


@record(frozen=True)
class Hook:
    """A repository webhook as GitHub lists it."""

    id: int
    url: str  # the payload URL (config.url)
    events: tuple[str, ...]
    active: bool
    content_type: str
    has_secret: bool
    insecure_ssl: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Hook:
        config = data.get("config") or {}
        return cls(
            id=int(data["id"]),
            url=str(config.get("url") or ""),
            events=tuple(str(e) for e in data.get("events") or ()),
            active=bool(data.get("active")),
            content_type=str(config.get("content_type") or "form"),
            has_secret=bool(config.get("secret")),
            insecure_ssl=str(config.get("insecure_ssl", "0")),
        )


@record(frozen=True)
class Delivery:
    """One delivery attempt of a hook (newest first in GitHub's list)."""

    id: int
    delivered_at: str
    event: str
    status: str
    status_code: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Delivery:
        return cls(
            id=int(data.get("id") or 0),
            delivered_at=str(data.get("delivered_at") or ""),
            event=str(data.get("event") or ""),
            status=str(data.get("status") or ""),
            status_code=int(data.get("status_code") or 0),
        )

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


# --- pure helpers ---------------------------------------------------------------------------


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` signed with ``secret``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def check_signature(secret: bytes, body: bytes, header: str | None) -> tuple[bool, str]:
    """Whether ``header`` is a valid ``X-Hub-Signature-256`` for ``body``; (valid, one-line reason).

    The digest is compared in constant time.
    """
    if header is None:
        return False, f"no {SIGNATURE_HEADER} header in the delivery (was the hook given a secret?)"
    value = header.strip()
    algo, sep, digest = value.partition("=")
    if not sep or algo.lower() != "sha256":
        return False, f"{SIGNATURE_HEADER} is not of the form sha256=<64 hex digits>: {value[:20]!r}"
    digest = digest.strip().lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        return False, f"{SIGNATURE_HEADER} is not of the form sha256=<64 hex digits>"
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if hmac.compare_digest(expected, digest):
        return True, "signature valid: the payload was signed with this secret"
    return False, (
        "signature does not match: either the secret differs from the hook's, or the payload "
        "file is not the exact bytes delivered (reformatted or re-encoded JSON changes them)"
    )


def unreachable_reason(url: str) -> str | None:
    """Why GitHub's servers could not deliver to ``url``, or None when the host looks public.

    Loopback, private (RFC 1918, unique-local), link-local and other non-global addresses,
    ``localhost``, ``*.local`` / ``*.localhost`` / ``*.internal`` / ``*.home.arpa`` names and bare
    hostnames without a dot.  No DNS lookup is made.
    """
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return "the URL has no host name"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    if ip is not None:
        if ip.is_loopback:
            return f"{host} is a loopback address (this machine only)"
        if ip.is_link_local:
            return f"{host} is a link-local address"
        if ip.is_private:
            return f"{host} is a private network address"
        if not ip.is_global:
            return f"{host} is not a globally routable address"
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} names this machine only"
    for suffix in (".local", ".internal", ".lan", ".home.arpa"):
        if host.endswith(suffix):
            return f"{host} is a local-network name ({suffix})"
    if "." not in host:
        return f"{host} is a bare host name that only resolves on your network"
    return None


def web_url(api_url: str) -> str:
    """GitHub's web address for an API base (``https://api.github.com`` -> ``https://github.com``,
    GitHub Enterprise ``https://HOST/api/v3`` -> ``https://HOST``)."""
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.netloc
    if host.lower() == "api.github.com":
        host = "github.com"
    return f"{parts.scheme}://{host}"


def same_url(a: str, b: str) -> bool:
    """Payload URLs compared as GitHub users mean them: scheme and host case-insensitively,
    a trailing slash ignored."""
    pa, pb = urlsplit(a.strip()), urlsplit(b.strip())
    return (
        pa.scheme.lower() == pb.scheme.lower()
        and pa.netloc.lower() == pb.netloc.lower()
        and pa.path.rstrip("/") == pb.path.rstrip("/")
        and pa.query == pb.query
    )


def _scope_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [s.strip() for s in value.split(",") if s.strip()]


# --- the client -----------------------------------------------------------------------------


class GitHubClient:
    """Repository webhooks through GitHub's REST API, with one ``requests.Session``."""

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 30.0,
        retries: int = 2,
        backoff: float = 0.25,
    ) -> None:
        import requests

        from evalai_mirror.http import new_session

        if not token:
            raise GitHubAuthError(
                "no GitHub token: set AUTH_TOKEN (as EvalAI-Starters names it) or GITHUB_TOKEN "
                "to a token with the admin:repo_hook (or repo) scope"
            )
        ui.register_secret(token)
        base = api_url.strip().rstrip("/")
        parts = urlsplit(base)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise GitHubError(
                f"--api-url {api_url!r} is not an http(s) URL; use https://api.github.com or "
                "https://HOST/api/v3 for GitHub Enterprise"
            )
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise GitHubError(
                f"refusing to send the GitHub token over plain http to {parts.hostname}; "
                "use an https:// --api-url"
            )
        self.api_url = base
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._requests = requests
        self._session = new_session(
            base,
            token=token,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION},
        )

    # -- plumbing --

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(
        self, method: str, url: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> requests.Response:
        from evalai_mirror.http import send

        request = self._requests.Request(method, url, json=json, params=params)
        try:
            return send(
                self._session,
                self._session.prepare_request(request),
                timeout=(5.0, self.timeout),
                retries=self.retries,
                backoff=self.backoff,
            )
        except self._requests.RequestException as exc:
            raise GitHubUnreachableError(
                f"cannot reach the GitHub API at {self.api_url} ({type(exc).__name__}); "
                "check your network, or --api-url for GitHub Enterprise"
            ) from None

    def _call(
        self,
        method: str,
        url: str,
        *,
        repo: str,
        needs: frozenset[str],
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> requests.Response:
        response = self._send(method, url, json=json, params=params)
        if response.status_code < 400:
            return response
        raise self._error(response, repo=repo, needs=needs)

    def _json(self, response: requests.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise GitHubUnreachableError(
                f"the GitHub API at {self.api_url} answered {response.status_code} with something "
                "that is not JSON; check --api-url (GitHub Enterprise: https://HOST/api/v3)"
            ) from None

    def _error(self, response: requests.Response, *, repo: str, needs: frozenset[str]) -> GitHubError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        message = str(body.get("message") or "") if isinstance(body, dict) else ""
        headers = response.headers
        scopes = _scope_list(headers.get("X-OAuth-Scopes"))
        accepted = _scope_list(headers.get("X-Accepted-OAuth-Scopes"))
        fine_grained = headers.get("X-Accepted-GitHub-Permissions")
        wanted = " or ".join(sorted(needs & {"admin:repo_hook", "repo"}))
        if status == 401:
            return GitHubAuthError(
                f"GitHub rejected the token ({message or 'Bad credentials'}): it is wrong, expired "
                "or revoked; create a new one (scope admin:repo_hook or repo) and set AUTH_TOKEN "
                "or GITHUB_TOKEN"
            )
        if status in (403, 429) and (
            headers.get("X-RateLimit-Remaining") == "0" or "rate limit" in message.lower()
        ):
            return GitHubRateLimitError(
                f"GitHub's API rate limit is exhausted ({message or status}); wait until "
                f"{headers.get('X-RateLimit-Reset', 'the reset time')} (epoch seconds) and retry"
            )
        if status in (403, 404) and scopes is not None and not (set(scopes) & needs):
            have = ", ".join(scopes) or "no scopes"
            return GitHubScopeError(
                f"the GitHub token lacks the {wanted} scope needed for webhooks on {repo} "
                f"(it has: {have}); add admin:repo_hook (or repo) to the token at "
                f"{web_url(self.api_url)}/settings/tokens"
            )
        if status == 403 and fine_grained:
            return GitHubScopeError(
                f"the fine-grained GitHub token lacks the repository permission {fine_grained} "
                f"on {repo} ({message}); grant 'Webhooks: Read and write' to the token for this "
                "repository"
            )
        if status == 403:
            if "admin" in message.lower():
                return GitHubPermissionError(
                    f"your GitHub account is not an admin of {repo} ({message}); webhooks need "
                    "admin rights: ask a repository owner to install the hook or grant you admin"
                )
            if "not accessible" in message.lower():
                return GitHubScopeError(
                    f"the GitHub token cannot manage webhooks on {repo} ({message}); give it "
                    "admin:repo_hook (classic) or 'Webhooks: Read and write' (fine-grained)"
                )
            return GitHubPermissionError(
                f"GitHub refused the request on {repo} ({message or 'Forbidden'}); webhooks need "
                "admin rights on the repository and a token with admin:repo_hook"
            )
        if status == 404:
            hint = ""
            if accepted and scopes is None:
                hint = f" or the token lacks one of {', '.join(accepted)}"
            return GitHubNotFoundError(
                f"GitHub repository {repo} not found, or this token cannot see it{hint}; check "
                "--repo (or the origin remote) and that the token's account has admin access"
            )
        if status == 422:
            details = []
            if isinstance(body, dict):
                for item in body.get("errors") or []:
                    if isinstance(item, dict):
                        details.append(str(item.get("message") or item.get("code") or item))
                    else:
                        details.append(str(item))
            detail = "; ".join(details) or message or "Validation Failed"
            return GitHubError(f"GitHub rejected the webhook settings for {repo}: {detail}")
        if status >= 500:
            return GitHubUnreachableError(
                f"GitHub answered {status} for {repo}; GitHub may be having trouble, retry later"
            )
        return GitHubError(f"GitHub answered {status} for {repo}: {message or 'unexpected answer'}")

    def _hooks_url(self, repo: str, suffix: str = "") -> str:
        """``{api}/repos/{owner}/{name}/hooks{suffix}``."""
        owner, sep, name = repo.partition("/")
        if not sep or not owner or not name or "/" in name:
            raise GitHubError(f"{repo!r} is not a GitHub repository name; use --repo owner/name")
        return f"{self.api_url}/repos/{owner}/{name}/hooks{suffix}"

    # -- hooks --

    def list_hooks(self, repo: str) -> list[Hook]:
        """Every webhook of ``repo`` (all pages)."""
        hooks: list[Hook] = []
        url: str | None = self._hooks_url(repo)
        params: dict[str, Any] | None = {"per_page": 100}
        while url:
            response = self._call("GET", url, repo=repo, needs=READ_SCOPES, params=params)
            data = self._json(response)
            if not isinstance(data, list):
                raise GitHubUnreachableError(
                    f"GitHub's hook list for {repo} is not a list; check --api-url"
                )
            hooks.extend(Hook.from_json(item) for item in data)
            url = response.links.get("next", {}).get("url")
            params = None
            if url and urlsplit(url).netloc != urlsplit(self.api_url).netloc:
                break  # never send the token to another host
        return hooks

    def create_hook(
        self, repo: str, *, url: str, secret: str, events: Sequence[str] = ("push",)
    ) -> Hook:
        """A new active ``web`` hook sending ``events`` as JSON to ``url``, signed with ``secret``."""
        payload = {
            "name": "web",
            "active": True,
            "events": list(events),
            "config": {"url": url, "content_type": "json", "secret": secret, "insecure_ssl": "0"},
        }
        response = self._call(
            "POST", self._hooks_url(repo), repo=repo, needs=WRITE_SCOPES, json=payload
        )
        return Hook.from_json(self._json(response))

    def update_hook(
        self, repo: str, hook_id: int, *, events: Sequence[str] = ("push",), active: bool = True
    ) -> Hook:
        """Set the events and active flag only (no ``config``: GitHub drops the secret when a
        ``config`` without one is sent to this endpoint)."""
        response = self._call(
            "PATCH",
            self._hooks_url(repo, f"/{hook_id}"),
            repo=repo,
            needs=WRITE_SCOPES,
            json={"events": list(events), "active": active},
        )
        return Hook.from_json(self._json(response))

    def update_hook_config(
        self,
        repo: str,
        hook_id: int,
        *,
        url: str,
        content_type: str = "json",
        insecure_ssl: str = "0",
        secret: str | None = None,
    ) -> dict[str, Any]:
        """Set individual config properties; the secret changes only when ``secret`` is given."""
        config: dict[str, Any] = {"url": url, "content_type": content_type, "insecure_ssl": insecure_ssl}
        if secret is not None:
            config["secret"] = secret
        response = self._call(
            "PATCH",
            self._hooks_url(repo, f"/{hook_id}/config"),
            repo=repo,
            needs=WRITE_SCOPES,
            json=config,
        )
        data = self._json(response)
        return dict(data) if isinstance(data, dict) else {}

    def delete_hook(self, repo: str, hook_id: int) -> None:
        self._call(
            "DELETE", self._hooks_url(repo, f"/{hook_id}"), repo=repo, needs=DELETE_SCOPES
        )

    def list_deliveries(self, repo: str, hook_id: int, *, per_page: int = 1) -> list[Delivery]:
        """The newest ``per_page`` deliveries of a hook, newest first."""
        response = self._call(
            "GET",
            self._hooks_url(repo, f"/{hook_id}/deliveries"),
            repo=repo,
            needs=READ_SCOPES,
            params={"per_page": per_page},
        )
        data = self._json(response)
        if not isinstance(data, list):
            return []
        return [Delivery.from_json(item) for item in data if isinstance(item, dict)]


def hooks_to(hooks: Iterable[Hook], url: str) -> list[Hook]:
    """The hooks whose payload URL is ``url``."""
    return [hook for hook in hooks if same_url(hook.url, url)]

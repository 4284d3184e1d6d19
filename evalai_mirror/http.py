"""The one way this project's HTTP clients (EvalAI, GitHub, the sandbox's) open a session.

A token goes in as the session's auth, so that a ``~/.netrc`` entry can never replace it; every
request says who is asking; and a server on this machine is asked directly, because a proxy from
the environment cannot reach it and plain http through one would hand the token to another host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from evalai_mirror import __version__
from evalai_mirror.settings import is_loopback

if TYPE_CHECKING:
    import requests

USER_AGENT = f"evalai-mirror/{__version__}"


def new_session(
    base_url: str, *, token: str | None = None, headers: Mapping[str, str] | None = None
) -> requests.Session:
    """A ``requests.Session`` for ``base_url``, with ``Authorization: Bearer <token>``."""
    import requests

    session = requests.Session()
    session.trust_env = not is_loopback(urlsplit(base_url).hostname or "")
    if token is not None:
        session.auth = _BearerAuth(token)
    session.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
    return session


class _BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never show the token
        return "BearerAuth(***)"

"""The one way this project's HTTP clients (EvalAI, GitHub, the sandbox's) open a session and
send a request.

A token goes in as the session's auth, so that a ``~/.netrc`` entry can never replace it; every
request says who is asking; and a server on this machine is asked directly, because a proxy from
the environment cannot reach it and plain http through one would hand the token to another host.
A GET is sent again after a dropped connection or a server error; nothing else is.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
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


def send(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    *,
    timeout: float | tuple[float, float],
    retries: int,
    backoff: float,
    on_attempt: Callable[[], None] | None = None,
    on_response: Callable[[requests.Response], None] | None = None,
) -> requests.Response:
    """Send ``prepared`` through ``session`` and read the whole answer.

    A GET is sent up to ``retries`` more times, ``backoff * 2**n`` seconds apart, after a
    dropped connection or a 5xx answer (the last answer is returned, 5xx or not); a read
    timeout is not retried, since the server may still be working.  Other methods are sent
    once.  Raises the last ``requests.RequestException``.  ``on_attempt`` runs before each
    send, ``on_response`` after each answer, for counting.
    """
    import requests

    settings = session.merge_environment_settings(prepared.url, {}, None, None, None)
    attempts = 1 + (max(0, retries) if prepared.method == "GET" else 0)
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * (2 ** (attempt - 1)))
        last = attempt == attempts - 1
        if on_attempt is not None:
            on_attempt()
        try:
            response = session.send(prepared, timeout=timeout, **settings)
            _ = response.content  # read the body here, so a dropped one is retried
        except requests.exceptions.ReadTimeout:
            raise
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError):
            if last:
                raise
            continue
        if on_response is not None:
            on_response(response)
        if response.status_code >= 500 and not last:
            continue
        return response
    raise AssertionError("unreachable")  # pragma: no cover


class _BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never show the token
        return "BearerAuth(***)"

"""The one way this project's HTTP clients (EvalAI, GitHub, the sandbox's) open a session and
send a request.

A token goes in as the session's auth, so that a ``~/.netrc`` entry can never replace it; every
request says who is asking; and a server on this machine is asked directly, because a proxy from
the environment cannot reach it and plain http through one would hand the token to another host.
A GET is sent again after a dropped connection or a server error; nothing else is.

Two transports, one policy.  :class:`DirectSession` sends EvalAI's JSON requests itself,
each one HTTP/1.1 exchange of :mod:`evalai_mirror.wire` on a plain socket (keep-alive
connections, one per concurrent request; ``ssl`` imported only for an https URL), so a hook's
push loads neither ``requests`` (which costs more than the rest of the push's own work) nor
``http.client`` (~37 ms to import: it loads ``email`` and ``ssl``); it is used when no proxy
from the environment applies to the host.  ``requests`` (imported when first needed) sends
everything else: multipart uploads, the GitHub API, and every request that must go through a
proxy.  DirectSession follows no redirect: a 3xx answer is returned as it came.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast
from urllib.parse import urlsplit

from evalai_mirror import __version__
from evalai_mirror.settings import is_loopback
from evalai_mirror.wire import BrokenAnswer, Connection, Reply, host_header

if TYPE_CHECKING:
    import ssl

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


R = TypeVar("R")


def retrying(
    method: str,
    attempt: Callable[[], R],
    *,
    status: Callable[[R], int],
    dropped: tuple[type[BaseException], ...],
    retries: int,
    backoff: float,
    on_attempt: Callable[[], None] | None = None,
    on_response: Callable[[R], None] | None = None,
) -> R:
    """The retry policy of both transports: ``attempt()`` sends the request and reads the
    whole answer.  A GET is sent up to ``retries`` more times, ``backoff * 2**n`` seconds
    apart, after a dropped connection (``dropped``) or a 5xx answer (the last answer is
    returned, 5xx or not); a read timeout is not retried (it must not be in ``dropped``), since
    the server may still be working.  Other methods are sent once.  ``on_attempt`` runs before
    each send, ``on_response`` after each answer, for counting."""
    attempts = 1 + (max(0, retries) if method == "GET" else 0)
    for number in range(attempts):
        if number:
            time.sleep(backoff * (2 ** (number - 1)))
        last = number == attempts - 1
        if on_attempt is not None:
            on_attempt()
        try:
            response = attempt()
        except dropped:
            if last:
                raise
            continue
        if on_response is not None:
            on_response(response)
        if status(response) >= 500 and not last:
            continue
        return response
    raise AssertionError("unreachable")  # pragma: no cover


def send(
    session: requests.Session,
    prepared: requests.PreparedRequest,
    *,
    timeout: float | tuple[float, float],
    retries: int,
    backoff: float,
    on_attempt: Callable[[], None] | None = None,
    on_response: Callable[[requests.Response], None] | None = None,
    allow_redirects: bool = True,
) -> requests.Response:
    """Send ``prepared`` through ``session`` and read the whole answer, as :func:`retrying`
    says (a redirect is followed only when ``allow_redirects``).  Raises the last
    ``requests.RequestException``."""
    import requests

    settings = session.merge_environment_settings(prepared.url, {}, None, None, None)

    def attempt() -> requests.Response:
        response = session.send(
            prepared, timeout=timeout, allow_redirects=allow_redirects, **settings
        )
        _ = response.content  # read the body here, so a dropped one is retried
        return response

    return retrying(
        str(prepared.method),
        attempt,
        status=lambda response: response.status_code,
        # ReadTimeout is neither of these (ConnectTimeout is a ConnectionError)
        dropped=(requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError),
        retries=retries,
        backoff=backoff,
        on_attempt=on_attempt,
        on_response=on_response,
    )


# --------------------------------------------------------------------------- DirectSession

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def direct_applies(base_url: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether :class:`DirectSession` may serve ``base_url``: a host on this machine (never
    proxied), or no proxy set in the environment at all (else ``requests`` sends, honouring
    the proxy and ``NO_PROXY`` as it always did)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    if is_loopback(parts.hostname):
        return True
    env = os.environ if env is None else env
    return not any(env.get(name) or env.get(name.upper()) for name in _PROXY_VARIABLES)


class NoAnswer(Exception):
    """A request that got no (whole) answer.  ``timeout`` is "connect" or "read" when a
    timeout ended it; ``reason`` says what happened, in the words apierrors looks for."""

    def __init__(self, reason: str, timeout: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout


class Dropped(NoAnswer):
    """The connection failed or closed before the whole answer came: a GET is sent again."""


class Answer:
    """A whole HTTP answer, read: what the clients read of a ``requests.Response``
    (``headers`` keyed in lower case; look them up so, which suits both)."""

    def __init__(self, status_code: int, reason: str, headers: Mapping[str, str],
                 content: bytes) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self, **kwargs: Any) -> Any:
        """The body as JSON; ValueError when it is not."""
        return json.loads(self.content, **kwargs)


class Response(Protocol):
    """What the clients read of an answer, from either transport."""

    @property
    def status_code(self) -> int: ...

    @property
    def reason(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...

    @property
    def text(self) -> str: ...

    def json(self, **kwargs: Any) -> Any: ...


class DirectSession:
    """Keep-alive connections to one host, each request one exchange of :mod:`evalai_mirror.wire`
    on a plain socket: each request takes an idle connection (one the server has not closed)
    or opens one, and gives it back when the answer allows; several threads may send at once.
    TLS (``ssl`` imported only then) is verified against ``REQUESTS_CA_BUNDLE`` or
    ``CURL_CA_BUNDLE`` when set (as ``requests`` does), else certifi's bundle, the host name
    sent (SNI) and checked."""

    def __init__(self, base_url: str, *, token: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port or (443 if self._https else 80)
        self._host_header = host_header(self._host, self._port, 443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def __repr__(self) -> str:  # never show the token
        return f"DirectSession({'https' if self._https else 'http'}://{self._host}:{self._port})"

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def request(self, method: str, path: str, *, body: bytes | None = None,
                content_type: str | None = None, timeout: tuple[float, float]) -> Answer:
        """Send one request (``path`` below the base URL, query included) and read the whole
        answer; :class:`Dropped` or :class:`NoAnswer` when there is none."""
        return self.start(method, path, body=body, content_type=content_type,
                          timeout=timeout).answer()

    def start(self, method: str, path: str, *, body: bytes | None = None,
              content_type: str | None = None, timeout: tuple[float, float]) -> Started:
        """Send one request now and leave its answer to be read by :meth:`Started.answer`
        (the server works on it meanwhile); :class:`Dropped` when it cannot be sent."""
        headers = dict(self._headers)
        if content_type is not None:
            headers["Content-Type"] = content_type
        conn = self._connection(timeout)
        try:
            with _failures(conn):
                conn.send(method, self._host_header, self._prefix + path, headers, body)
        except ValueError as exc:  # a path or header that cannot be sent: sending again won't do
            conn.close()
            raise NoAnswer(f"cannot send {method} {path}: {exc}") from exc
        return Started(self, conn, method)

    def give_back(self, conn: Connection, reply: Reply) -> None:
        """Keep ``conn``, its answer read, for the next request, unless the answer closed it."""
        if reply.keep_alive:
            with self._lock:
                self._idle.append(conn)
        else:
            conn.close()

    def _connection(self, timeout: tuple[float, float]) -> Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            if conn.idle_usable():
                conn.sock.settimeout(timeout[1])
                return conn
            conn.close()
        try:
            # an ASCII name as bytes: a str is encoded with the idna codec, which a hook
            # would load (with stringprep and unicodedata) just to pass "127.0.0.1" on
            # (getaddrinfo takes bytes; typeshed says str)
            host = cast(str, self._host.encode() if self._host.isascii() else self._host)
            sock = socket.create_connection((host, self._port), timeout=timeout[0])
        except TimeoutError as exc:
            raise Dropped("connect timed out", timeout="connect") from exc
        except OSError as exc:
            raise Dropped(_reason(exc)) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._https:
                sock = self._wrap(sock)
        except TimeoutError as exc:
            sock.close()
            raise Dropped("connect timed out", timeout="connect") from exc
        except OSError as exc:
            sock.close()
            raise Dropped(_reason(exc)) from exc
        sock.settimeout(timeout[1])
        return Connection(sock)

    def _wrap(self, sock: socket.socket) -> socket.socket:
        """``sock`` after the TLS handshake (within the connect timeout), certificate and
        host name verified."""
        import ssl

        with self._lock:
            if self._tls is None:
                self._tls = _tls_context()
            tls = self._tls
        try:
            return tls.wrap_socket(sock, server_hostname=self._host)
        except ssl.SSLCertVerificationError as exc:
            raise OSError(f"certificate verify failed ({exc.verify_message})") from exc


class Started:
    """A request :meth:`DirectSession.start` sent, its answer not read yet."""

    def __init__(self, session: DirectSession, conn: Connection, method: str) -> None:
        self._session = session
        self._conn = conn
        self._method = method

    def answer(self) -> Answer:
        """Read the whole answer; :class:`Dropped` or :class:`NoAnswer` when there is none."""
        conn = self._conn
        with _failures(conn):
            reply = conn.receive(self._method)
        self._session.give_back(conn, reply)
        return Answer(reply.status, reply.reason, reply.headers, reply.body)

    def close(self) -> None:
        """Drop the request's connection, its answer unread."""
        self._conn.close()


@contextmanager
def _failures(conn: Connection) -> Iterator[None]:
    """A request's failure as :class:`NoAnswer` (a timeout) or :class:`Dropped` (anything else
    on the way), its connection closed."""
    try:
        yield
    except TimeoutError as exc:
        conn.close()
        raise NoAnswer("read timed out", timeout="read") from exc
    except BrokenAnswer as exc:
        conn.close()
        raise Dropped(exc.reason) from exc
    except OSError as exc:
        conn.close()
        raise Dropped(_reason(exc)) from exc


def _tls_context() -> ssl.SSLContext:
    import ssl

    cafile = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not cafile:
        try:
            import certifi

            cafile = certifi.where()
        except ImportError:  # pragma: no cover - requests installs certifi
            cafile = None
    return ssl.create_default_context(cafile=cafile)


def _reason(exc: BaseException) -> str:
    """What went wrong, in the words :func:`evalai_mirror.apierrors.unreachable` looks for."""
    if isinstance(exc, ConnectionRefusedError):
        return "Connection refused"
    if isinstance(exc, ConnectionResetError):
        return "Connection reset by peer"
    if isinstance(exc, ConnectionAbortedError):
        return "Connection aborted"
    return str(exc) or type(exc).__name__


class _BearerAuth:
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never show the token
        return "BearerAuth(***)"

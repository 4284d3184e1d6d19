"""One HTTP/1.1 exchange on a connected socket: write a request, read its whole answer.

Why this exists: a push from a git hook must start fast, and the standard library's
``http.client`` costs ~37 ms to import (it loads ``email`` for its header parser and ``ssl``
even for plain http); h11, the obvious library, costs ~23 ms (it loads ``dataclasses``).  The
project prefers libraries to hand-written code, so this module does only what
:class:`evalai_mirror.http.DirectSession` needs for EvalAI's small JSON requests, and
``requests`` sends everything else.

What it does: writes the request line and headers (``Host``, ``Content-Length`` -- 0 too for a
PATCH, POST or PUT without a body -- and ``Accept-Encoding: identity``) and the body in one
send; reads the status line (skipping interim 1xx answers), the headers, and the body -- none
for HEAD, 1xx, 204 and 304, else chunked (extensions and trailers read and dropped), by
``Content-Length``, or until the server closes -- and says whether the connection may carry
another request (HTTP/1.1 unless ``Connection: close``; HTTP/1.0 only with ``Connection:
keep-alive``; never after a body read until close).  What it reads is bounded as
``http.client`` bounds it: at most 100 header lines (trailers too), each at most 64 KiB.

What it does not do: proxies (``requests`` sends whatever goes through one), compression (it
asks for none), ``Expect: 100-continue``, redirects (an answer is returned as it came, a 3xx
included: the token is not sent on, and apierrors names the host URL to use), TLS (the caller
hands it a wrapped socket), timeouts (the socket's own: ``TimeoutError`` is raised as it is),
or retries (``http.retrying``).  A broken or malformed answer raises :class:`BrokenAnswer`,
its ``reason`` in the words ``requests`` and ``http.client`` use; any other ``OSError`` from
the socket is raised as it is.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Mapping

MAX_LINE = 65536  # bytes in one status, header or chunk-size line (http.client's _MAXLINE)
MAX_HEADERS = 100  # header lines in one answer, and trailer lines (http.client's _MAXHEADERS)
MAX_INTERIM = 10  # 1xx answers skipped before the final one
_RECV = 65536
_NO_BODY_STATUS = frozenset({204, 304})
_BODY_METHODS = frozenset({"PATCH", "POST", "PUT"})
_HEX = frozenset(b"0123456789abcdefABCDEF")
INCOMPLETE = "Connection broken: IncompleteRead"
NO_RESPONSE = "Remote end closed connection without response"


class BrokenAnswer(Exception):
    """The answer did not come whole, or is not HTTP/1.x; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Reply:
    """A whole answer, read: ``headers`` keyed in lower case, a repeated header's values
    joined by ", " (as ``requests`` joins them)."""

    __slots__ = ("body", "headers", "keep_alive", "reason", "status")

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes,
                 keep_alive: bool) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.keep_alive = keep_alive


class Connection:
    """A connected socket (plain or TLS) and the bytes read from it beyond the last answer."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()

    def close(self) -> None:
        self.sock.close()

    def idle_usable(self) -> bool:
        """Whether this connection, its last answer read, can carry another request: nothing
        has come since (a readable socket means the server closed it, or sent something
        unasked; either way it cannot)."""
        if self._buffer or self.sock.fileno() < 0:
            return False
        pending = getattr(self.sock, "pending", None)  # TLS: bytes decrypted, not read
        if pending is not None and pending():
            return False
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    # -- the request -----------------------------------------------------------------------

    def send(self, method: str, host: str, target: str, headers: Mapping[str, str],
             body: bytes | None) -> None:
        """Write one request: ``target`` is the path and query, ``host`` the Host header."""
        _check_token(method, "method")
        _check_token(target, "target")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
        for name, value in headers.items():
            _check_token(name, "header name")
            if "\r" in value or "\n" in value:
                raise ValueError(f"invalid value for header {name}: it holds a line break")
            lines.append(f"{name}: {value}")
        if body is not None or method in _BODY_METHODS:
            lines.append(f"Content-Length: {len(body or b'')}")
        lines.append("Accept-Encoding: identity")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body and len(body) <= _RECV:
            self.sock.sendall(head + body)  # one segment for a small request
        else:
            self.sock.sendall(head)
            if body:
                self.sock.sendall(body)

    # -- the answer ------------------------------------------------------------------------

    def receive(self, method: str) -> Reply:
        """Read the whole answer to a ``method`` request."""
        for _ in range(MAX_INTERIM + 1):
            version, status, reason = self._status_line()
            headers = self._headers("header")
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer (103 Early Hints, an unasked 100 Continue)
            break
        else:
            raise BrokenAnswer(f"more than {MAX_INTERIM} interim (1xx) answers")
        connection = {token.strip().lower()
                      for token in headers.get("connection", "").split(",")}
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection
        if method == "HEAD" or status < 200 or status in _NO_BODY_STATUS:
            body = b""
            keep_alive = keep_alive and status != 101
        elif "transfer-encoding" in headers:
            codings = [c.strip().lower() for c in headers["transfer-encoding"].split(",")]
            if codings[-1] == "chunked":
                body = self._chunked()
                # with a Content-Length too, the answer may have been meant otherwise
                keep_alive = keep_alive and "content-length" not in headers
            else:  # a coding not asked for, not chunked last: the body ends with the connection
                body, keep_alive = self._until_close(), False
        elif "content-length" in headers:
            body = self._exactly(_content_length(headers["content-length"]))
        else:
            body, keep_alive = self._until_close(), False
        return Reply(status, reason, headers, body, keep_alive)

    def _status_line(self) -> tuple[str, int, str]:
        line = self._line("status line", first=True)
        text = line.decode("latin-1").rstrip("\r\n")
        version, _, rest = text.partition(" ")
        code, _, reason = rest.partition(" ")
        if version not in ("HTTP/1.0", "HTTP/1.1") or len(code) != 3 or not code.isdigit():
            raise BrokenAnswer(f"not an HTTP/1.x status line: {text[:80]!r}")
        return version, int(code), reason.strip()

    def _headers(self, what: str) -> dict[str, str]:
        """Header (or trailer) lines up to the blank one, in lower case; obsolete folded
        lines joined to the header before them; a line without a colon skipped."""
        headers: dict[str, str] = {}
        last = ""
        for _ in range(MAX_HEADERS + 1):
            line = self._line(f"{what} line").decode("latin-1")
            if line in ("\r\n", "\n"):
                return headers
            if not line.endswith("\n"):
                raise BrokenAnswer(INCOMPLETE)  # the server closed within the headers
            if line[0] in " \t":
                if last:
                    headers[last] += " " + line.strip()
                continue
            name, colon, value = line.partition(":")
            if colon and name and name == name.strip():
                last = name.lower()
                value = value.strip()
                headers[last] = f"{headers[last]}, {value}" if last in headers else value
        raise BrokenAnswer(f"got more than {MAX_HEADERS} {what}s")

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self._line("chunk size line")
            if not line.endswith(b"\n"):
                raise BrokenAnswer(INCOMPLETE)
            size = line.split(b";", 1)[0].strip()  # a chunk extension is dropped
            if not size or not _HEX.issuperset(size):
                raise BrokenAnswer(f"bad chunk size line: {line[:40]!r}")
            length = int(size, 16)
            if length == 0:
                self._headers("trailer")
                return b"".join(parts)
            parts.append(self._exactly(length))
            end = self._line("chunk end")
            if not end.endswith(b"\n"):
                raise BrokenAnswer(INCOMPLETE)
            if end not in (b"\r\n", b"\n"):
                raise BrokenAnswer("a chunk longer than its size line says")

    # -- reading the socket ----------------------------------------------------------------

    def _fill(self) -> bool:
        """Read what the socket has; False at its end."""
        data = self.sock.recv(_RECV)
        if not data:
            return False
        self._buffer += data
        return True

    def _line(self, what: str, *, first: bool = False) -> bytes:
        """One line, its end included (none: the connection ended first; ``first``: the
        answer's first line, none of which came)."""
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end >= 0:
                if end + 1 > MAX_LINE:
                    break
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_LINE:
                break
            start = len(self._buffer)
            if not self._fill():
                if first and not self._buffer:
                    raise BrokenAnswer(NO_RESPONSE)
                line = bytes(self._buffer)
                self._buffer.clear()
                if first:
                    raise BrokenAnswer(INCOMPLETE)
                return line
        self._buffer.clear()
        raise BrokenAnswer(f"got more than {MAX_LINE} bytes in a {what}")

    def _exactly(self, length: int) -> bytes:
        while len(self._buffer) < length:
            if not self._fill():
                got = len(self._buffer)
                self._buffer.clear()
                raise BrokenAnswer(f"{INCOMPLETE}({got} bytes read, {length - got} more expected)")
        data = bytes(self._buffer[:length])
        del self._buffer[:length]
        return data

    def _until_close(self) -> bytes:
        while self._fill():
            pass
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


def host_header(host: str, port: int, default_port: int) -> str:
    """The Host header for ``host:port`` (an IPv6 address in brackets, a default port left out)."""
    name = f"[{host}]" if ":" in host else host
    return name if port == default_port else f"{name}:{port}"


def _content_length(value: str) -> int:
    """The one length a Content-Length header says ("5, 5" is 5); else a broken answer."""
    lengths = {part.strip() for part in value.split(",")}
    if len(lengths) != 1:
        raise BrokenAnswer(f"conflicting Content-Length: {value[:40]!r}")
    (length,) = lengths
    if not length.isdigit() or not length.isascii():
        raise BrokenAnswer(f"bad Content-Length: {value[:40]!r}")
    return int(length)


def _check_token(text: str, what: str) -> None:
    """A request line part or header name: printable ASCII, no space (no request smuggling)."""
    if not text or not text.isascii() or any(ch <= " " or ch == "\x7f" for ch in text):
        raise ValueError(f"invalid {what} {text[:80]!r}: it must be printable ASCII without spaces")

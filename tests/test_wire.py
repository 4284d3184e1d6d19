"""DirectSession's HTTP/1.1 exchange (evalai_mirror/wire.py) against real servers on 127.0.0.1:
the sandbox, and small raw socket servers (threads) that answer exactly the bytes a test
scripts -- chunked bodies, bodies ended by a close, cut answers, endless headers -- and count
the connections they accept.  No mocks."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evalai_mirror.api import EvalAIClient
from evalai_mirror.errors import NotFoundError
from evalai_mirror.http import DirectSession, Dropped, NoAnswer, retrying
from evalai_mirror.settings import Connection
from evalai_mirror.wire import MAX_HEADERS, MAX_LINE

TIMEOUT = (2.0, 5.0)
TOKEN = "wire-token-0123456789abcdef"

# What a raw server does with one request: the bytes to answer (then keep the connection),
# close_after(bytes) (answer, then close), or a callable given the socket (it does the rest).
Step = bytes | tuple[str, bytes] | Callable[[socket.socket], None]


def close_after(data: bytes) -> tuple[str, bytes]:
    return ("close", data)


def ok(body: bytes = b"{}", *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json",
            f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class RawServer:
    """A server on 127.0.0.1 that reads each request (head and Content-Length body) and does
    the next scripted step; it records the requests and counts the connections it accepts."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = list(steps)
        self.requests: list[bytes] = []
        self.accepted = 0
        self.closed = threading.Event()  # set each time the server closes a connection
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _read_request(self, conn: socket.socket, buffer: bytearray) -> bytes | None:
        while b"\r\n\r\n" not in buffer:
            data = conn.recv(65536)
            if not data:
                return None
            buffer += data
        end = buffer.index(b"\r\n\r\n") + 4
        head = bytes(buffer[:end])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(buffer) < end + length:
            buffer += conn.recv(65536)
        request = bytes(buffer[: end + length])
        del buffer[: end + length]
        return request

    def _serve(self, conn: socket.socket) -> None:
        buffer = bytearray()
        conn.settimeout(10)
        try:
            while True:
                request = self._read_request(conn, buffer)
                if request is None:
                    return
                with self._lock:
                    self.requests.append(request)
                    step = self.steps.pop(0) if self.steps else ok()
                if callable(step):
                    step(conn)
                    return
                if isinstance(step, tuple):
                    conn.sendall(step[1])
                    return
                conn.sendall(step)
        except OSError:
            return
        finally:
            conn.close()
            self.closed.set()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def raw() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def make(*steps: Step) -> RawServer:
        server = RawServer(list(steps))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def session(server: RawServer) -> DirectSession:
    return DirectSession(server.url, token=TOKEN, headers={"Accept": "application/json"})


# --- the request ---------------------------------------------------------------------------


def test_the_request_says_host_length_identity_and_who_asks(raw: Any) -> None:
    server = raw(ok(), ok())
    with_prefix = DirectSession(server.url + "/base/", token=TOKEN)
    with_prefix.request("POST", "/api/x/?a=1", timeout=TIMEOUT)
    with_prefix.request("PATCH", "/api/y", body=b'{"a": 1}', content_type="application/json",
                        timeout=TIMEOUT)
    with_prefix.close()
    post, patch = (request.decode() for request in server.requests)
    port = server.url.rsplit(":", 1)[1]
    assert post.startswith("POST /base/api/x/?a=1 HTTP/1.1\r\n")
    for line in (f"Host: 127.0.0.1:{port}", "Content-Length: 0", "Accept-Encoding: identity",
                 f"Authorization: Bearer {TOKEN}", "User-Agent: evalai-mirror/"):
        assert f"\r\n{line}" in post
    assert patch.endswith('Content-Type: application/json\r\nContent-Length: 8\r\n'
                          'Accept-Encoding: identity\r\n\r\n{"a": 1}')
    assert TOKEN not in repr(with_prefix)


def test_a_get_without_body_sends_no_length_and_a_bad_header_is_not_sent(raw: Any) -> None:
    server = raw(ok())
    direct = session(server)
    direct.request("GET", "/a", timeout=TIMEOUT)
    assert b"Content-Length" not in server.requests[0]
    with pytest.raises(NoAnswer) as info:
        direct.request("GET", "/a b", timeout=TIMEOUT)
    assert not isinstance(info.value, Dropped)  # not sent again: it would fail again
    assert "cannot send GET /a b" in info.value.reason
    injected = DirectSession(server.url, token="abc\r\nX-Evil: 1")
    with pytest.raises(NoAnswer) as info:
        injected.request("GET", "/a", timeout=TIMEOUT)
    assert "Authorization" in info.value.reason and "abc" not in info.value.reason
    assert len(server.requests) == 1
    direct.close()


# --- bodies ----------------------------------------------------------------------------------


def test_a_chunked_body_with_extensions_and_trailers_then_the_connection_again(raw: Any) -> None:
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/json\r\n\r\n"
               b"4;name=value\r\n{\"a\"\r\n"
               b"A\r\n: [1, 2, 3\r\n"
               b"2 ; last\r\n]}\r\n"
               b"0\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n")
    server = raw(chunked, ok(b'{"b": 2}'))
    direct = session(server)
    answer = direct.request("GET", "/chunked", timeout=TIMEOUT)
    assert answer.status_code == 200 and answer.json() == {"a": [1, 2, 3]}
    assert answer.headers["content-type"] == "application/json"
    assert direct.request("GET", "/next", timeout=TIMEOUT).json() == {"b": 2}
    assert server.accepted == 1  # the trailers were read to their end: the connection is reused
    direct.close()


def test_a_body_ended_by_the_close(raw: Any) -> None:
    server = raw(close_after(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"a\": 1}"),
                 close_after(b"HTTP/1.0 200 OK\r\n\r\nsecond"),
                 ok(b"third"))
    direct = session(server)
    assert direct.request("GET", "/1", timeout=TIMEOUT).json() == {"a": 1}
    assert direct.request("GET", "/2", timeout=TIMEOUT).content == b"second"
    assert direct.request("GET", "/3", timeout=TIMEOUT).content == b"third"
    assert server.accepted == 3
    direct.close()


@pytest.mark.parametrize("method, status", [("HEAD", 200), ("GET", 204), ("GET", 304)])
def test_head_204_and_304_have_no_body(raw: Any, method: str, status: int) -> None:
    # the length says what a GET would get: nothing follows, and the connection goes on
    answer = f"HTTP/1.1 {status} Whatever\r\nContent-Length: 50\r\n\r\n".encode()
    server = raw(answer, ok(b"next"))
    direct = session(server)
    first = direct.request(method, "/x", timeout=TIMEOUT)
    assert (first.status_code, first.reason, first.content) == (status, "Whatever", b"")
    assert direct.request("GET", "/y", timeout=TIMEOUT).content == b"next"
    assert server.accepted == 1
    direct.close()


def test_interim_answers_are_skipped_and_repeated_headers_joined(raw: Any) -> None:
    server = raw(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                 b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nX-Folded: one\r\n two\r\n"
                 b"Content-Length: 2\r\n\r\nok")
    direct = session(server)
    answer = direct.request("GET", "/", timeout=TIMEOUT)
    assert answer.content == b"ok" and "link" not in answer.headers
    assert answer.headers["x-a"] == "1, 2" and answer.headers["x-folded"] == "one two"
    direct.close()


# --- keep-alive --------------------------------------------------------------------------------


def test_keep_alive_carries_several_requests_on_one_connection(raw: Any) -> None:
    server = raw(*(ok(f'{{"n": {n}}}'.encode()) for n in range(5)))
    direct = session(server)
    for n in range(5):
        method = "PATCH" if n % 2 else "GET"
        assert direct.request(method, f"/{n}", timeout=TIMEOUT).json() == {"n": n}
    assert server.accepted == 1
    direct.close()


def test_http_1_0_keeps_the_connection_only_when_it_says_keep_alive(raw: Any) -> None:
    server = raw(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\na",
                 b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nb",
                 b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nc",
                 ok(b"d"))
    direct = session(server)
    bodies = [direct.request("GET", "/", timeout=TIMEOUT).content for _ in range(4)]
    assert bodies == [b"a", b"b", b"c", b"d"]
    assert server.accepted == 3  # b and c closed the connection they came on
    direct.close()


def test_an_idle_connection_the_server_closed_is_not_used_again(raw: Any) -> None:
    server = raw(close_after(ok(b"first")), ok(b"second"))  # no "Connection: close" said
    direct = session(server)
    assert direct.request("GET", "/1", timeout=TIMEOUT).content == b"first"
    assert server.closed.wait(5)
    assert direct.request("POST", "/2", timeout=TIMEOUT).content == b"second"  # no error
    assert server.accepted == 2
    direct.close()


def test_threads_share_the_session_each_on_its_own_connection(raw: Any) -> None:
    server = raw()
    direct = session(server)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for n in range(5):
                assert direct.request("GET", f"/{n}", timeout=TIMEOUT).json() == {}
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(server.requests) == 20 and server.accepted <= 4
    direct.close()


# --- answers that do not come whole ----------------------------------------------------------


def test_no_answer_at_all_is_dropped_remote_end_closed(raw: Any) -> None:
    server = raw(close_after(b""))
    with pytest.raises(Dropped) as info:
        session(server).request("GET", "/", timeout=TIMEOUT)
    assert info.value.reason == "Remote end closed connection without response"
    assert info.value.timeout is None


@pytest.mark.parametrize("cut", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"half\": ",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly five",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfive!\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Le",
])
def test_an_answer_cut_short_is_dropped_incomplete_read(raw: Any, cut: bytes) -> None:
    server = raw(close_after(cut))
    with pytest.raises(Dropped) as info:
        session(server).request("GET", "/", timeout=TIMEOUT)
    assert info.value.reason.startswith("Connection broken: IncompleteRead")


def test_a_cut_get_is_sent_again_and_a_cut_post_is_not(raw: Any) -> None:
    cut = close_after(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
    server = raw(cut, ok(b'{"again": true}'), cut)
    direct = session(server)

    def get() -> Any:
        return direct.request("GET", "/", timeout=TIMEOUT)

    answer = retrying("GET", get, status=lambda a: a.status_code, dropped=(Dropped,),
                      retries=2, backoff=0.01)
    assert answer.json() == {"again": True}
    with pytest.raises(Dropped):
        retrying("POST", lambda: direct.request("POST", "/", timeout=TIMEOUT),
                 status=lambda a: a.status_code, dropped=(Dropped,), retries=2, backoff=0.01)
    assert len(server.requests) == 3
    direct.close()


def test_a_cut_answer_from_the_sandbox_is_fetched_again(sandbox: Any) -> None:
    sandbox.add_fault("GET", "challenge$", "cut", 1)
    connection = Connection(sandbox.url, sandbox.token, int(sandbox.team_pk))
    with EvalAIClient(connection, retries=2) as client:
        client.backoff = 0.01
        assert client.list_challenges() == []
        assert client.stats.requests == 2


def test_a_malformed_answer_is_dropped(raw: Any) -> None:
    server = raw(close_after(b"ICY 200 OK\r\n\r\n"),
                 close_after(b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n12345"),
                 close_after(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
    direct = session(server)
    reasons = []
    for _ in range(3):
        with pytest.raises(Dropped) as info:
            direct.request("GET", "/", timeout=TIMEOUT)
        reasons.append(info.value.reason)
    assert reasons[0] == "not an HTTP/1.x status line: 'ICY 200 OK'"
    assert reasons[1] == "conflicting Content-Length: '5, 6'"
    assert reasons[2].startswith("bad chunk size line")


def _endless(piece: bytes, head: bytes) -> Callable[[socket.socket], None]:
    """A step that sends ``head``, then ``piece`` again and again until the client stops
    reading (an unbounded reader would never stop: the test would time out)."""

    def step(conn: socket.socket) -> None:
        conn.sendall(head)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            conn.sendall(piece)

    return step


@pytest.mark.parametrize("what, head, piece, message", [
    ("header line", b"HTTP/1.1 200 OK\r\nX-Long: ", b"a" * 4096,
     f"got more than {MAX_LINE} bytes in a header line"),
    ("status line", b"HTTP/1.1 200 ", b"b" * 4096,
     f"got more than {MAX_LINE} bytes in a status line"),
    ("headers", b"HTTP/1.1 200 OK\r\n", b"X-Again: 1\r\n" * 64,
     f"got more than {MAX_HEADERS} headers"),
    ("trailers", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
     b"X-Trailer: 1\r\n" * 64, f"got more than {MAX_HEADERS} trailers"),
])
def test_endless_headers_are_cut_off_bounded(raw: Any, what: str, head: bytes, piece: bytes,
                                             message: str) -> None:
    server = raw(_endless(piece, head))
    with pytest.raises(Dropped) as info:
        session(server).request("GET", "/", timeout=TIMEOUT)
    assert info.value.reason == message, what


def test_at_most_100_headers_are_read(raw: Any) -> None:
    headers = "".join(f"X-{n}: {n}\r\n" for n in range(MAX_HEADERS - 1))
    server = raw(f"HTTP/1.1 200 OK\r\n{headers}Content-Length: 2\r\n\r\nok".encode())
    direct = session(server)
    answer = direct.request("GET", "/", timeout=TIMEOUT)
    assert answer.content == b"ok" and answer.headers["x-98"] == "98"
    direct.close()


# --- timeouts and refusals -----------------------------------------------------------------------


def test_a_read_timeout_is_no_answer_and_not_sent_again(raw: Any) -> None:
    server = raw(lambda conn: time.sleep(2))
    direct = session(server)
    with pytest.raises(NoAnswer) as info:
        retrying("GET", lambda: direct.request("GET", "/", timeout=(2.0, 0.3)),
                 status=lambda a: a.status_code, dropped=(Dropped,), retries=2, backoff=0.01)
    assert not isinstance(info.value, Dropped)
    assert (info.value.reason, info.value.timeout) == ("read timed out", "read")
    assert len(server.requests) == 1


def test_a_refused_connection_is_dropped_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Dropped) as info:
        DirectSession(f"http://127.0.0.1:{port}").request("GET", "/", timeout=TIMEOUT)
    assert info.value.reason == "Connection refused"


def test_the_sandbox_over_the_wire(sandbox_challenge: tuple[Any, int]) -> None:
    sandbox, pk = sandbox_challenge
    connection = Connection(sandbox.url, sandbox.token, int(sandbox.team_pk))
    with EvalAIClient(connection) as client:
        client.read_ahead(pk)
        assert client.get_challenge(pk)["id"] == pk
        with pytest.raises(NotFoundError):
            client.get_challenge(pk + 1000)
        assert client.patch_challenge(pk, {"title": "Over the wire"})["title"] == "Over the wire"
        assert [c["id"] for c in client.list_challenges()] == [pk]
        assert client.stats.requests == 4


# --- TLS -----------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path, list[Any]]]:
    """An https server on 127.0.0.1 with a self-signed certificate for "localhost" only:
    (its URL with host "localhost", the certificate's file, the connections it accepted).  It
    answers the name the client sent (SNI)."""
    import http.server
    import ssl

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sent_names: list[str | None] = []
    accepted: list[Any] = []

    def remember(sock: Any, name: str | None, _: Any) -> None:
        sent_names.append(name)

    context.sni_callback = remember

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = json.dumps({"sni": sent_names[-1]}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        def get_request(self) -> tuple[Any, Any]:
            sock, address = self.socket.accept()
            accepted.append(address)
            return context.wrap_socket(sock, server_side=True,
                                       do_handshake_on_connect=False), address

        def finish_request(self, request: Any, client_address: Any) -> None:
            try:
                request.do_handshake()
            except OSError:  # the client refused the certificate
                return
            super().finish_request(request, client_address)

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.server_address[1]}", cert, accepted
    finally:
        server.shutdown()
        server.server_close()


def test_https_is_verified_against_the_ca_bundle_with_the_host_name_sent(
    tls_server: tuple[str, Path, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, cert, accepted = tls_server
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    with pytest.raises(Dropped) as info:  # certifi's bundle does not know this certificate
        DirectSession(url).request("GET", "/", timeout=TIMEOUT)
    assert info.value.reason.startswith("certificate verify failed (")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    direct = DirectSession(url)
    before = len(accepted)
    for _ in range(3):
        assert direct.request("GET", "/", timeout=TIMEOUT).json() == {"sni": "localhost"}
    assert len(accepted) == before + 1  # kept alive over TLS too
    direct.close()
    monkeypatch.setenv("CURL_CA_BUNDLE", str(cert))
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert DirectSession(url).request("GET", "/", timeout=TIMEOUT).status_code == 200
    with pytest.raises(Dropped) as info:  # the certificate does not name 127.0.0.1
        DirectSession(url.replace("localhost", "127.0.0.1")).request("GET", "/", timeout=TIMEOUT)
    assert info.value.reason.startswith("certificate verify failed (IP address mismatch")

"""``newsdesk serve`` against clients that connect and then stall (issue 13, "Connections").

A client that sends half a request line, or headers announcing ``Content-Length: 100`` and
then 12 bytes, or that trickles a byte a second, must not take a thread away from anyone
else: the server reads whole requests before any application thread sees them. The server
here is the real one (``newsdesk serve``, one worker of 4 threads) on a TCP port.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import newsdesk_server

SLOW_CLIENTS = 16
ANSWER_WITHIN = 20.0  # seconds for both good clients, slow clients or not (an answer takes well under 1 s)
QUESTIONS = ("Who said 'we are also prepared for the worst'?", "What did Peskov say?")


@pytest.fixture(scope="module")
def server(seed_copy_module: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with newsdesk_server(seed_copy_module, tmp_path_factory.mktemp("log") / "server.log") as base:
        assert httpx.get(base + "/readyz", timeout=120).status_code == 200
        yield base


def _stalled(port: int, i: int) -> socket.socket:
    """A connection that stops mid-request: three kinds, in turn."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(None)  # blocking: the checks below use MSG_DONTWAIT
    kind = i % 3
    if kind == 0:  # half a request line
        s.sendall(b"POST /as")
    elif kind == 1:  # headers done, 12 of the 100 body bytes announced
        s.sendall(b"POST /ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                  b'{"question":')
    else:  # a slowloris: headers trickled a byte at a time (see _trickle)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    return s


@contextlib.contextmanager
def stalled_clients(base: str, n: int) -> Iterator[list[socket.socket]]:
    port = int(base.rsplit(":", 1)[1])
    socks = [_stalled(port, i) for i in range(n)]
    stop = threading.Event()

    def trickle() -> None:  # one header byte a second on every third connection, never finishing
        while not stop.wait(1.0):
            for s in socks[2::3]:
                with contextlib.suppress(OSError):
                    s.sendall(b"X")

    feeder = threading.Thread(target=trickle, daemon=True)
    feeder.start()
    time.sleep(1.0)  # let the server take every one of them in
    try:
        yield socks
    finally:
        stop.set()
        feeder.join(5)
        for s in socks:
            s.close()


def _still_open(s: socket.socket) -> bool:
    """Neither answered nor closed by the server (nothing to read, no EOF)."""
    try:
        s.recv(1, socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # an answer or EOF


def _check_answer(base: str, body: dict) -> None:
    assert not body["abstained"] and body["citations"], body
    for c in body["citations"]:
        text = httpx.get(f"{base}/articles/{c['article_id']}", timeout=10).json()["text"]
        assert text[c["start"]:c["end"]] == c["quote"]


def test_sixteen_stalled_clients_do_not_stop_two_others(server: str) -> None:
    with stalled_clients(server, SLOW_CLIENTS) as socks:
        results: dict[int, object] = {}

        def ask(i: int) -> None:
            try:
                started = time.monotonic()
                response = httpx.post(server + "/ask", json={"question": QUESTIONS[i]}, timeout=ANSWER_WITHIN)
                results[i] = (response.status_code, response.json(), time.monotonic() - started)
            except Exception as exc:  # reported below
                results[i] = exc

        clients = [threading.Thread(target=ask, args=(i,)) for i in range(2)]
        for c in clients:
            c.start()
        for c in clients:
            c.join(ANSWER_WITHIN + 5)
        open_after = sum(_still_open(s) for s in socks)
        for i in range(2):
            assert not isinstance(results.get(i), Exception) and i in results, f"client {i}: {results.get(i)!r}"
            status, body, seconds = results[i]
            assert status == 200 and seconds < ANSWER_WITHIN, (status, seconds)
            _check_answer(server, body)
        # The slow clients were still connected, still waiting, the whole time.
        assert open_after == SLOW_CLIENTS


# ---- errors the server answers itself: the service's JSON shape, through the real server ----------------


def _raw(base: str, request: bytes) -> tuple[int, dict]:
    """Send ``request`` as bytes; the status and JSON body of the answer (the server closes the connection)."""
    host, port = base.rsplit("/", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        received = b""
        while chunk := s.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split(b" ", 2)[1]), json.loads(body)


def test_an_over_long_request_line_is_414_in_the_error_shape(server: str) -> None:
    response = httpx.get(server + "/articles/" + "a" * 10_000, timeout=10)
    assert response.status_code == 414 and response.headers["content-type"] == "application/json"
    assert response.json()["error"]["code"] == "uri_too_long"
    # Longer than any header limit, and never finished: refused as it arrives.
    status, body = _raw(server, b"GET /articles/" + b"a" * 200_000)
    assert status == 414 and body["error"]["code"] == "uri_too_long"


def test_over_large_bodies_are_413_chunked_or_not(server: str) -> None:
    def ten_megabytes() -> Iterator[bytes]:
        for _ in range(160):
            yield b"x" * 65_536

    chunked = httpx.post(server + "/ask", content=ten_megabytes(), headers={"Content-Type": "application/json"}, timeout=30)
    declared = httpx.post(server + "/ask", content=b"x" * 10_000_000, headers={"Content-Type": "application/json"}, timeout=30)
    for response in (chunked, declared):
        assert response.status_code == 413, response.text[:300]
        assert response.json()["error"] == {"code": "payload_too_large", "message": "the body is larger than 65536 bytes"}
    # A chunked body within the limit is read whole and answered.
    body = json.dumps({"question": QUESTIONS[1]}).encode()
    answered = httpx.post(server + "/ask", content=iter([body[:7], body[7:]]), headers={"Content-Type": "application/json"}, timeout=30)
    assert answered.status_code == 200 and answered.json()["citations"]


def test_over_large_headers_and_malformed_requests_have_the_error_shape(server: str) -> None:
    response = httpx.get(server + "/healthz", headers={"X-Padding": "p" * 70_000}, timeout=10)
    assert response.status_code == 431 and response.json()["error"]["code"] == "headers_too_large"
    status, body = _raw(server, b"NONSENSE\r\n\r\n")
    assert status == 400 and body["error"]["code"] == "bad_request"
    assert httpx.get(server + "/healthz", timeout=10).status_code == 200  # and the server goes on

"""``newsdesk serve``: gunicorn runs the processes, waitress serves HTTP inside each worker.

gunicorn's arbiter binds the socket, forks ``NEWSDESK_WORKERS`` workers (each loads its own
model after the fork, with its share of the cores: :meth:`Settings.for_worker`), restarts a worker that
dies, and stops gracefully on SIGTERM. Inside a worker, :class:`WaitressWorker` serves with
waitress: one event loop reads every request whole (headers and body) and only then hands it
to one of ``NEWSDESK_THREADS`` threads, so a client that stops mid-request costs a socket, never
a thread. gunicorn's own threaded worker (gthread) gave a connection to a thread as soon as its
first bytes came, and the thread then blocked reading the rest: four clients sending half a
request line held all four threads and the service answered nobody (issue 13; the numbers
that chose waitress over gthread and gevent are in the README, "How `newsdesk serve` serves").

Errors the server answers before the app sees a request (a request line over
:data:`REQUEST_LINE_BYTES`: 414; request line and headers over :data:`HEADER_BYTES`: 431; a
body over ``NEWSDESK_MAX_REQUEST_BYTES``, chunked or not: 413; a malformed request: 400) have
the service's one error shape, ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import TcpWSGIServer, UnixWSGIServer
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import Error, RequestHeaderFieldsTooLarge

from flask import Flask

from .config import Settings
from .errors import IndexUnavailable
from .http import create_app
from .http.context import get_engine
from .http.app import API_CSP
from .http.errors import error_body
from .http.observability import gunicorn_options

__all__ = ["CHANNEL_TIMEOUT", "HEADER_BYTES", "REQUEST_LINE_BYTES", "GunicornApp", "Limits", "WaitressWorker", "serve", "warming_app"]

REQUEST_LINE_BYTES = 8190  # longest request line (method, target, version); 414 above (gunicorn's own largest limit)
HEADER_BYTES = 64 * 1024  # longest request line and headers together; 431 above
CHANNEL_TIMEOUT = 30  # seconds a connection may stay silent (idle between requests, or stalled mid-request)
CONNECTION_LIMIT = 1000  # open connections per worker; a stalled one costs a socket and a few KiB, no thread
LINGER_SECONDS = 2.0  # after a refused request's answer, how long the rest of its body is read and dropped
UPLOADS = ("POST", "/articles")  # the one route whose body may be up to NEWSDESK_MAX_UPLOAD_BYTES


class GunicornApp(BaseApplication):
    """gunicorn run from Python: ``load`` builds the WSGI app in each worker, after the fork."""

    def __init__(self, load: Callable[[], Any], options: dict[str, Any]) -> None:
        self._load = load
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


# ---- limits and errors answered by the server itself ---------------------------------------


@dataclass(frozen=True)
class Limits:
    """What a request may be before the app sees it; bodies as the app itself limits them."""

    max_request_bytes: int
    max_upload_bytes: int
    request_line_bytes: int = REQUEST_LINE_BYTES
    header_bytes: int = HEADER_BYTES

    def body_error(self, method: str, path: str) -> tuple[int, str]:
        """The largest body accepted for ``method path``, and the message of its 413 (the app's own words)."""
        if (method, path.rstrip("/")) == UPLOADS and self.max_upload_bytes > self.max_request_bytes:
            return self.max_upload_bytes, (f"the body is larger than {self.max_upload_bytes} bytes (NEWSDESK_MAX_UPLOAD_BYTES); "
                                           "split it into several requests")
        return self.max_request_bytes, f"the body is larger than {self.max_request_bytes} bytes"


class Refused(Error):
    """An error the server answers itself, with the service's error code and message."""

    def __init__(self, status: int, reason: str, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.api_code = status, reason, code


# waitress's own errors (a malformed request, an unsupported Transfer-Encoding, a crash) in the service's words.
_CODES = {400: "bad_request", 413: "payload_too_large", 414: "uri_too_long", 431: "headers_too_large",
          500: "internal_error", 501: "not_implemented"}


class _Adjustments(Adjustments):
    def __init__(self, limits: Limits, **kw: Any) -> None:
        super().__init__(**kw)
        self.limits = limits


class _Parser(HTTPRequestParser):
    """waitress's parser, refusing an over-long request line (414) and an over-large body (413, chunked too) early."""

    adj: _Adjustments
    start = b""  # the request's first bytes: the access line of a request refused before its headers end
    refused_early = False

    def received(self, data: bytes) -> int:
        limits = self.adj.limits
        if not self.headers_finished and not self.completed:
            self.start = self.start or data[:256]
            if b"\n" not in self.header_plus:
                end = data.find(b"\n")
                if len(self.header_plus) + (end if end >= 0 else len(data)) > limits.request_line_bytes + 1:  # + the CR
                    return self._refuse(self._uri_too_long(), len(data))
        consumed = super().received(data)
        if isinstance(self.error, RequestHeaderFieldsTooLarge):
            self.refused_early = True
        if self.error is not None or not self.headers_finished:
            return consumed
        if len(getattr(self, "first_line", b"")) > limits.request_line_bytes:
            return self._refuse(self._uri_too_long(), len(data))
        limit, message = limits.body_error(self.command, self.path)
        size = len(self.body_rcv) if self.chunked and self.body_rcv is not None else self.content_length
        if size > limit:
            return self._refuse(Refused(413, "Content Too Large", "payload_too_large", message), len(data))
        return consumed

    def _uri_too_long(self) -> Refused:
        return Refused(414, "URI Too Long", "uri_too_long",
                       f"the request line is longer than {self.adj.limits.request_line_bytes} bytes")

    def _refuse(self, error: Refused, consumed: int) -> int:
        if not self.headers_finished:
            self.refused_early = True
            self.parse_header(b"GET / HTTP/1.0\r\n")  # as waitress does: the answer needs a version; the connection closes
        self.error = error
        self.completed = True
        self.expect_continue = False  # no "100 Continue" for a body that will not be read
        return consumed  # the rest of this read is dropped with the connection, never parsed as a next request

    def method_and_target(self) -> tuple[str, str]:
        """As the client sent them (for the access line), also when the request was refused before its headers ended."""
        if self.refused_early:
            method, _, rest = self.start.lstrip().split(b"\r\n", 1)[0].partition(b" ")
            return method.decode("latin-1")[:16] or "-", rest.rsplit(b" HTTP/", 1)[0].decode("latin-1")[:200] or "-"
        return getattr(self, "command", "-"), getattr(self, "request_uri", "-")[:200]


class _JsonErrorTask(ErrorTask):
    """The answer to a request the server refused, in the service's error shape; the connection then closes."""

    def execute(self) -> None:
        error = self.request.error
        if isinstance(error, Refused):
            code, message = error.api_code, error.body
        elif error.code == 431:
            code, message = "headers_too_large", f"the request line and headers are larger than {HEADER_BYTES} bytes"
        elif error.code == 500:
            code, message = "internal_error", "unexpected error; see the server log"
        else:
            code, message = _CODES.get(error.code, "bad_request"), str(error.body)
        body = json.dumps(error_body(code, message)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.extend([("Content-Type", "application/json"), ("X-Content-Type-Options", "nosniff"),
                                      ("Content-Security-Policy", API_CSP), ("Referrer-Policy", "no-referrer")])
        self.set_close_on_finish()
        self.channel.linger_on_close = True
        self.content_length = len(body)
        self.write(body)
        server = self.channel.server
        if server.on_refused is not None:
            server.on_refused(self.channel, self.request, self.status, self.response_headers, len(body))


class _Channel(HTTPChannel):
    parser_class = _Parser
    error_task_class = _JsonErrorTask
    linger_on_close = False  # set once a request is refused: the client may still be sending its body
    lingering_until: float | None = None

    def service(self) -> None:
        if self.server.stopping and self.requests:  # the worker is stopping: answer, then close
            self.requests[0].headers["CONNECTION"] = "close"
        super().service()

    def idle(self) -> bool:
        """Nothing received of a next request, nothing being answered, nothing left to send."""
        return not self.requests and self.request is None and not self.total_outbufs_len

    # A refused request's answer is sent, then the connection closed: closing a socket with unread bytes
    # (the rest of a 10 MB body) sends a reset, which can destroy the answer before the client reads it.
    # So the server stops writing (FIN after the answer), reads and drops what still comes, and closes
    # at the client's EOF or after LINGER_SECONDS.

    def handle_close(self) -> None:
        if self.linger_on_close and self.lingering_until is None and self.connected:
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.lingering_until = time.monotonic() + LINGER_SECONDS
                self.will_close = self.close_when_flushed = False
                return
        super().handle_close()

    def handle_read(self) -> None:
        if self.lingering_until is None:
            super().handle_read()
            return
        try:
            self.recv(65536)  # dropped; an EOF closes the channel
        except OSError:
            super().handle_close()

    def end_lingering(self, now: float) -> None:
        if self.lingering_until is not None and now >= self.lingering_until:
            super().handle_close()


class _ServerMixin:
    channel_class = _Channel
    stopping = False
    on_refused: Callable[..., None] | None = None


class _TcpServer(_ServerMixin, TcpWSGIServer):
    pass


class _UnixServer(_ServerMixin, UnixWSGIServer):
    pass


class _Wakeup(wasyncore.file_dispatcher):
    """gunicorn's signal pipe in the event loop: a signal (SIGTERM) wakes the loop at once."""

    def handle_read(self) -> None:
        try:
            self.recv(512)
        except OSError:
            pass

    def writable(self) -> bool:
        return False


# ---- the worker ------------------------------------------------------------------------------


class _Response:
    """What gunicorn's access logger reads of a response (``status``, ``headers``, ``sent``)."""

    def __init__(self) -> None:
        self.status = "500 Internal Server Error"
        self.headers: list[tuple[str, str]] = []
        self.sent = 0


class _Request:
    """What gunicorn's access logger reads of a request (``headers``)."""

    def __init__(self, environ: dict[str, Any]) -> None:
        self.headers = [(k[5:].replace("_", "-"), v) for k, v in environ.items() if k.startswith("HTTP_")]


class _Logged:
    """The app's response body; gunicorn's access line is written when the server closes it (a stream: at its end)."""

    def __init__(self, body: Iterable[bytes], response: _Response, done: Callable[[], None]) -> None:
        self.body, self.response, self.done = body, response, done

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self.response.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.done()


def _connection_limit() -> int:
    """:data:`CONNECTION_LIMIT`, or fewer if the process may not open that many files (then accept() would fail)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return CONNECTION_LIMIT if soft == resource.RLIM_INFINITY else max(64, min(CONNECTION_LIMIT, soft - 256))


class WaitressWorker(Worker):
    """A gunicorn worker serving with waitress: requests are read whole by one event loop, then run on threads.

    SIGTERM: stop accepting, close idle connections, let every request already received (or
    being received) finish and its answer be sent, then exit, within gunicorn's graceful timeout.
    """

    limits: Limits  # serve() sets the configured ones, on a subclass

    def run(self) -> None:
        self._map: dict[int, Any] = {}
        self._dispatcher = ThreadedTaskDispatcher()
        self._dispatcher.set_thread_count(self.cfg.threads)
        adj = _Adjustments(
            self.limits, sockets=[s.sock for s in self.sockets], threads=self.cfg.threads, ident="newsdesk",
            channel_timeout=CHANNEL_TIMEOUT, cleanup_interval=min(CHANNEL_TIMEOUT, 10), connection_limit=_connection_limit(),
            max_request_header_size=self.limits.header_bytes,
            # Bodies are limited per route by _Parser (to the byte, de-chunked); waitress's own check stays out of the way.
            max_request_body_size=2 ** 62, asyncore_use_poll=True, expose_tracebacks=False)
        app = self._logged(self.wsgi)
        self._servers = []
        for listener in adj.sockets:
            unix = hasattr(socket, "AF_UNIX") and listener.family == socket.AF_UNIX
            server = (_UnixServer if unix else _TcpServer)(
                app, self._map, True, listener, dispatcher=self._dispatcher, adj=adj, bind_socket=False,
                sockinfo=(listener.family, listener.type, listener.proto, listener.getsockname()))
            server.on_refused = self._log_refused
            self._servers.append(server)
        _Wakeup(self.PIPE[0], map=self._map)
        while self.alive and self.ppid == os.getppid():
            self.notify()
            wasyncore.loop(timeout=1.0, use_poll=True, map=self._map, count=1)
            self._end_lingering()
        self._stop()

    def _channels(self) -> list[_Channel]:
        return [c for server in self._servers for c in list(server.active_channels.values())]

    def _end_lingering(self) -> None:
        now = time.monotonic()
        for channel in self._channels():
            channel.end_lingering(now)

    def _stop(self) -> None:
        deadline = time.monotonic() + max(0.0, self.cfg.graceful_timeout - 1.0)  # the arbiter kills at graceful_timeout
        for server in self._servers:  # no new connections: the arbiter closes its copy of the listener, this is ours
            server.stopping = True
            server.accepting = False
            server.del_channel()
            server.socket.close()
        while time.monotonic() < deadline:
            self.notify()
            wasyncore.loop(timeout=0.2, use_poll=True, map=self._map, count=1)  # read what is already on its way first
            for channel in self._channels():
                if channel.idle():
                    channel.handle_close()
            if not any(server.active_channels for server in self._servers):
                break
        self._dispatcher.shutdown(cancel_pending=True, timeout=1)
        wasyncore.close_all(self._map)

    # gunicorn's access line (its logger_class and access_log_format apply), for the app's answers and the server's own.

    def _logged(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        log = self.log

        def logged(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            started = datetime.now()
            response = _Response()
            environ.setdefault("RAW_URI", environ.get("REQUEST_URI", environ.get("PATH_INFO", "")))

            def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                response.status, response.headers = status, headers
                return start_response(status, headers, exc_info)

            return _Logged(app(environ, start), response,
                           lambda: log.access(response, _Request(environ), environ, datetime.now() - started))

        return logged

    def _log_refused(self, channel: _Channel, request: _Parser, status: str, headers: list[tuple[str, str]], sent: int) -> None:
        response = _Response()
        response.status, response.headers, response.sent = status, headers, sent
        method, target = request.method_and_target()
        environ = {"REQUEST_METHOD": method, "RAW_URI": target, "PATH_INFO": target.split("?", 1)[0], "QUERY_STRING": "",
                   "SERVER_PROTOCOL": f"HTTP/{request.version}",
                   "REMOTE_ADDR": channel.addr[0] if isinstance(channel.addr, tuple) else "-",
                   **{"HTTP_" + k: v for k, v in request.headers.items() if k not in ("CONTENT_LENGTH", "CONTENT_TYPE")}}
        self.log.access(response, _Request(environ), environ, datetime.now() - datetime.fromtimestamp(channel.last_activity))


def serve(settings: Settings) -> None:
    """Run until stopped. The model loads in each worker after the fork (a session per process, never shared)."""
    limits = Limits(settings.max_request_bytes, settings.max_upload_bytes)
    worker = type("NewsdeskWorker", (WaitressWorker,), {"limits": limits})
    options: dict[str, Any] = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": worker,
        "timeout": 120,
        "graceful_timeout": 10,
        "accesslog": "-",
        # gunicorn's control socket is one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl):
        # every instance took it over from the one before. None: stop with SIGTERM, as before.
        "control_socket_disable": True,
    }
    # JSON logs with request ids, and Prometheus metrics shared by the workers (multiprocess mode).
    options.update(gunicorn_options())
    GunicornApp(lambda: warming_app(settings.for_worker()), options).run()


def warming_app(settings: Settings) -> Flask:
    """One worker's app, its index and model loading at once in the background. ``/readyz`` loads them
    too, but only in the worker it reaches: without this, the first question to reach another worker
    waited for its load (about 2 s on the 100k-passage archive, docs/benchmarks.md "Cold start")."""
    app = create_app(settings)
    threading.Thread(target=_warm_up, args=(app,), name="newsdesk-warm-up", daemon=True).start()
    return app


def _warm_up(app: Flask) -> None:
    try:
        with app.app_context():
            get_engine().pipeline
    except IndexUnavailable:
        pass  # no index yet, or a damaged one: every request says so (503), as it would have without this

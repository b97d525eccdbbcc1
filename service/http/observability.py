"""What an operator follows a request by: its id, JSON log lines that carry it, and request metrics.

Every request gets an id: the caller's ``X-Request-ID`` when it is a sane token (letters,
digits and ``._:-``, at most 128), else a new one, so a forged header cannot inject into a
log line. The id is echoed as ``X-Request-ID`` on every response (errors and streams too) and
is the ``request_id`` of every line logged while the request is handled: the app's lines
(read from a context variable) and gunicorn's access line (read from the WSGI environ, as
gunicorn writes it once the response is over). Lines are JSON and hold neither request
headers nor bodies; the LLM API key is redacted should any message quote it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TextIO

from flask import Flask, Response, request
from gunicorn.glogging import Logger
from pythonjsonlogger.json import JsonFormatter
from werkzeug.wsgi import ClosingIterator

from ..config import Settings
from ..metrics import MULTIPROC_ENV, REQUEST_SECONDS, REQUESTS, use_multiprocess_dir

__all__ = ["ENVIRON_KEY", "REQUEST_ID_HEADER", "UNMATCHED", "GunicornLogger", "JsonLines", "drop_stale_metrics", "gunicorn_options", "install_observability",
           "json_handler"]

METRICS_PREFIX = "newsdesk-metrics-"  # a server's own temporary metrics directory (gunicorn_options)
OWNER_FILE = "owner.pid"
REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_KEY = "newsdesk.request_id"
_RULE_KEY = "newsdesk.rule"
UNMATCHED = "unmatched"  # the endpoint label of a request no route matched (404, 405): never the raw path
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_current_id: ContextVar[str | None] = ContextVar("newsdesk_request_id", default=None)
_redacted: set[str] = set()  # secrets as they appear inside a JSON string


def install_observability(app: Flask, settings: Settings) -> None:
    """Give ``app``'s requests their ids and metrics, and keep its LLM key out of the logs."""
    if settings.llm_api_key:
        _redacted.add(json.dumps(settings.llm_api_key)[1:-1])
    app.wsgi_app = _RequestObserver(app.wsgi_app)  # type: ignore[method-assign]

    @app.after_request
    def note_rule(response: Response) -> Response:
        request.environ[_RULE_KEY] = request.url_rule.rule if request.url_rule else UNMATCHED
        return response


class _RequestObserver:
    """WSGI middleware: outside Flask, so no hook order, early return or error handler can skip it."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex
        environ[ENVIRON_KEY] = request_id
        _current_id.set(request_id)
        started = time.perf_counter()
        status = "500"

        def start(status_line: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status
            status = status_line.split(" ", 1)[0]
            headers = [(k, v) for k, v in headers if k.lower() != REQUEST_ID_HEADER.lower()] + [(REQUEST_ID_HEADER, request_id)]
            return start_response(status_line, headers, exc_info)

        def finish() -> None:  # when the server closes the body: a stream is timed to its end
            labels = (environ["REQUEST_METHOD"], environ.get(_RULE_KEY, UNMATCHED), status)
            REQUESTS.labels(*labels).inc()
            REQUEST_SECONDS.labels(*labels).observe(time.perf_counter() - started)
            _current_id.set(None)

        return ClosingIterator(self.wsgi_app(environ, start), finish)


class _RequestIdFilter(logging.Filter):
    """Stamps a record with the id of the request being handled (None outside one); an explicit ``request_id`` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current_id.get()
        return True


class JsonLines(JsonFormatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, process, message, request_id, and any ``extra`` fields."""

    def __init__(self) -> None:
        super().__init__("{levelname}{name}{process}{message}{request_id}", style="{", timestamp="time",
                         rename_fields={"levelname": "level", "name": "logger"})

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in _redacted:
            line = line.replace(secret, "[redacted]")
        return line


def json_handler(stream: TextIO) -> logging.Handler:
    """A handler writing JSON lines, each with its request id, to ``stream``."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    handler.addFilter(_RequestIdFilter())
    return handler


class GunicornLogger(Logger):
    """gunicorn's lines and the app's (the root logger's) as JSON lines; the access line as fields, with the request id."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonLines())
                handler.addFilter(_RequestIdFilter())
        root = logging.getLogger()
        for handler in [h for h in root.handlers if getattr(h, "_newsdesk", False)]:  # setup runs again on reload
            root.removeHandler(handler)
        handler = json_handler(sys.stderr)
        handler._newsdesk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.WARNING)  # libraries' INFO lines (haystack: one per pipeline step) would drown the service's
        logging.getLogger("newsdesk").setLevel(self.loglevel)
        logging.captureWarnings(True)  # a library's warning is a JSON line too

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        method, path, status = environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), str(resp.status).split(" ", 1)[0]
        self.access_log.info("%s %s %s", method, path, status, extra={
            "request_id": environ.get(ENVIRON_KEY), "method": method, "path": path, "status": int(status),
            "duration_ms": round(request_time.total_seconds() * 1000, 1), "bytes": getattr(resp, "sent", None),
            "remote_addr": environ.get("REMOTE_ADDR"), "user_agent": environ.get("HTTP_USER_AGENT")})


def drop_stale_metrics(folder: Path) -> None:
    """Remove the temporary metrics directories in ``folder`` whose server is gone.

    Each names its server's process in :data:`OWNER_FILE`; one without that file, or whose process is alive
    (or belongs to another user), is left alone.
    """
    for directory in folder.glob(f"{METRICS_PREFIX}*"):
        try:
            owner = int((directory / OWNER_FILE).read_text(encoding="ascii"))
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(directory, ignore_errors=True)
        except (OSError, ValueError):  # no owner file, unreadable, or a live process of another user
            continue


def gunicorn_options() -> dict[str, Any]:
    """What ``newsdesk serve`` adds to gunicorn's settings: JSON logs, and metrics the workers share.

    The metrics directory is ``PROMETHEUS_MULTIPROC_DIR`` if set, else a temporary one removed on exit; one left
    by a server that could not exit (SIGKILL, the OOM killer) is removed by the next start (:func:`drop_stale_metrics`).
    """
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
    else:
        drop_stale_metrics(Path(tempfile.gettempdir()))
        directory = Path(tempfile.mkdtemp(prefix=METRICS_PREFIX))
        (directory / OWNER_FILE).write_text(str(os.getpid()), encoding="ascii")  # gunicorn's master: this process

    def share_metrics(server: Any) -> None:
        use_multiprocess_dir(directory)

    def drop_metrics(server: Any) -> None:
        if not given:
            shutil.rmtree(directory, ignore_errors=True)

    return {"logger_class": GunicornLogger, "on_starting": share_metrics, "on_exit": drop_metrics}

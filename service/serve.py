"""``newsdesk serve``: the Flask app under gunicorn (threaded workers, one model per worker)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

from .config import Settings
from .http import create_app

__all__ = ["GunicornApp", "serve"]


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


def post_fork(server: Any, worker: Any) -> None:
    # Each worker has its own model; splitting the cores keeps workers from oversubscribing them.
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, server.cfg.workers)))


def serve(settings: Settings) -> None:
    """Run until stopped. The model loads in each worker after the fork (never before: torch and fork do not mix)."""
    GunicornApp(lambda: create_app(settings), {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "threads": settings.threads,
        "worker_class": "gthread",
        "timeout": 120,
        "graceful_timeout": 10,
        "accesslog": "-",
        "post_fork": post_fork,
    }).run()

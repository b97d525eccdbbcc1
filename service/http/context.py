"""The one accessor for the process's :class:`~newsdesk.service.runtime.engine.Engine` (Flask's ``get_db()`` habit)."""

from __future__ import annotations

from flask import current_app

from ..runtime.engine import Engine

__all__ = ["EXTENSION", "get_engine"]

EXTENSION = "newsdesk"


def get_engine() -> Engine:
    """The engine the app factory registered: the index and pipeline, built on first use."""
    return current_app.extensions[EXTENSION]

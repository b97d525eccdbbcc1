"""HTTP tests run the real app in process (Flask's WSGI app behind httpx's WSGI transport):
the same requests and responses as on a socket, without starting gunicorn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

from newsdesk.service.config import Settings
from newsdesk.service.http import create_app

BASE_URL = "http://newsdesk.test"


# The suites send hundreds of requests a minute from one address: rate limits are off unless a test sets them.
NO_RATE_LIMITS = {"rate_limit_per_address": "", "rate_limit_per_key": "", "rate_limit_writes": ""}


def make_app(data_dir: Path, **settings: Any) -> Flask:
    """The service over ``data_dir``, configured by ``settings`` only (not by this process's environment)."""
    return create_app(Settings.from_env({}, data_dir=data_dir, **{**NO_RATE_LIMITS, **settings}))


def in_process(app: Flask) -> httpx.Client:
    """An httpx client whose requests go straight into ``app`` (streams included)."""
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE_URL)


@pytest.fixture
def client(seed_copy: Path) -> Iterator[FlaskClient]:
    """Flask's test client over a private copy of the seed index."""
    app = make_app(seed_copy)
    yield app.test_client()
    app.extensions["newsdesk"].close()


@pytest.fixture(scope="module")
def server(seed_copy_module: Path) -> Iterator[httpx.Client]:
    """The service over a module's copy of the seed index, in process, model loaded."""
    app = make_app(seed_copy_module)
    with in_process(app) as client:
        assert client.get("/readyz").status_code == 200
        yield client
    app.extensions["newsdesk"].close()

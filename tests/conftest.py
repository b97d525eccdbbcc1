"""Shared fixtures: a fresh data directory per test, the real model loaded once, and a
seed index built once per session (read-only tests share it)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402

from newsdesk.index.embed import Embedder  # noqa: E402
from newsdesk.index.ingest import ingest  # noqa: E402
from newsdesk.index.options import IngestOptions  # noqa: E402
from newsdesk.index.store import ArticleStore, WriteStore  # noqa: E402
from newsdesk.service.config import Settings  # noqa: E402

from tests.pg_servers import PostgresServer, create_database, start_primary  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
# The team's evaluation sets (../shared/eval): read there, never copied (SciFact's licence forbids it).
EVAL = next((p for p in (ROOT.parent / "shared" / "eval", Path("/work/shared/eval")) if (p / "seed_dev_qa.jsonl").exists()),
            ROOT.parent / "shared" / "eval")


DEFAULTS = Settings()


def open_store(data_dir: Path, *, writer: bool = False) -> ArticleStore:
    """The store under ``data_dir`` with the default settings."""
    return DEFAULTS.open_store(data_dir, writer=writer)


def open_pg_store(url: str, *, writer: bool = False) -> WriteStore:
    """The PostgreSQL store at ``url`` with the default settings."""
    return dataclasses.replace(DEFAULTS, database_url=url).open_store(writer=writer)


def ingest_options(**overrides: object) -> IngestOptions:
    """The default ingest options, with ``overrides``."""
    return dataclasses.replace(DEFAULTS.ingest_options(), **overrides)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    model = DEFAULTS.embedder()
    model.warm_up()
    return model


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def writer(data_dir: Path):
    store = open_store(data_dir, writer=True)
    yield store
    store.close()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with the five seeds indexed; tests must not write to it (servers get a copy: they keep conversations)."""
    data = tmp_path_factory.mktemp("seed-index")
    with open_store(data, writer=True) as store:
        report = ingest([SEEDS], store, ingest_options(), progress=False)
    assert not report.skipped
    return data


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL 18 with pgvector on loopback for the session (tests make their own databases in it)."""
    server = start_primary(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_seed_url(pg_server: PostgresServer) -> str:
    """A PostgreSQL database with the five seeds indexed, as ``seed_index``; tests must not write to it."""
    url = create_database(pg_server, "seeds")
    with open_pg_store(url, writer=True) as store:
        report = ingest([SEEDS], store, ingest_options(), progress=False)
    assert not report.skipped
    return url


@pytest.fixture
def seed_store(seed_index: Path):
    store = open_store(seed_index)
    yield store
    store.close()


@pytest.fixture(scope="module")
def seed_copy_module(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A writable copy of the seed index shared by one module (a server writes its conversations there)."""
    target = tmp_path_factory.mktemp("seed-copy") / "data"
    shutil.copytree(seed_index, target)
    return target


@pytest.fixture
def seed_copy(seed_index: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the seed index."""
    target = tmp_path / "seed-copy"
    shutil.copytree(seed_index, target)
    return target

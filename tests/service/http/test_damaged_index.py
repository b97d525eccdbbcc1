"""The index failing underneath, caused for real: no index, an empty database file, a file that is not
SQLite, a page of the SQLite file overwritten, an ingest killed before its first commit. Every answer
is a 503 naming what failed, never a 500 and never a server path (the log names the file, for the
operator); no model is loaded for any of it."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from newsdesk.index.store import DB_NAME
from newsdesk.service.runtime import engine as engine_module

from tests.conftest import open_store
from tests.service.http.conftest import in_process, make_app

PAGE = 4096


def overwrite_middle_page(data_dir: Path) -> None:
    """4 KiB of garbage over the page in the middle of the database: a b-tree or overflow page of the chunks."""
    db = data_dir / DB_NAME
    with open(db, "r+b") as handle:
        handle.seek(db.stat().st_size // 2 // PAGE * PAGE)
        handle.write(b"\xde\xad\xbe\xef" * (PAGE // 4))


def not_sqlite(data_dir: Path) -> None:
    (data_dir / DB_NAME).write_bytes(b"not a database, " * 1000)


def empty_file(data_dir: Path) -> None:
    (data_dir / DB_NAME).write_bytes(b"")


def no_index(data_dir: Path) -> None:
    for path in data_dir.iterdir():
        shutil.rmtree(path) if path.is_dir() else path.unlink()


def requests(base: httpx.Client) -> list[httpx.Response]:
    """Every endpoint that reads the index, once."""
    question = {"question": "Who said 'we are also prepared for the worst'?"}
    return [base.get("/readyz"), base.post("/ask", json=question), base.post("/ask/stream", json=question),
            base.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question["question"]}]}),
            base.get("/articles/002_45b39b5889d0e37c"), base.get("/passages/0000")]


@pytest.mark.parametrize("harm, fragment", [
    (overwrite_middle_page, "the index database is damaged"),
    (not_sqlite, "the index database is damaged"),
    (empty_file, "no index yet"),
    (no_index, "no index yet"),
])
def test_a_missing_or_damaged_index_is_503_without_paths(seed_copy: Path, harm: Callable[[Path], None], fragment: str,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    harm(seed_copy)
    app = make_app(seed_copy)
    with caplog.at_level(logging.ERROR), in_process(app) as base:
        for response in requests(base):
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "index_unavailable" and fragment in response.json()["error"]["message"]
            assert "/" not in response.json()["error"]["message"]  # no path of any kind
    app.extensions["newsdesk"].close()
    if "damaged" in fragment:
        assert str(seed_copy / DB_NAME) in caplog.text  # the operator learns which file


def test_an_index_whose_first_ingest_never_committed_is_not_ready(tmp_path: Path) -> None:
    """A writer's open commits the schema; a kill before the first batch leaves just that: no articles."""
    open_store(tmp_path, writer=True).close()
    app = make_app(tmp_path)
    with in_process(app) as base:
        response = base.get("/readyz")
    app.extensions["newsdesk"].close()
    assert response.status_code == 503
    assert response.json()["error"] == {"code": "index_unavailable", "message": "the index holds no articles yet: run `newsdesk ingest`"}


def test_a_large_index_is_checked_behind_its_first_answers_and_a_damage_found_takes_it_out(
        seed_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """Above PAGE_CHECK_INLINE_BYTES the page check runs on its own connection while the server answers; here every
    database counts as large, and the damage is a page the first answers need not read."""
    monkeypatch.setattr(engine_module, "PAGE_CHECK_INLINE_BYTES", 0)
    overwrite_middle_page(seed_copy)
    app = make_app(seed_copy)
    engine = app.extensions["newsdesk"]
    with caplog.at_level(logging.ERROR), in_process(app) as base:
        first = base.get("/healthz")
        engine.store  # opens the index and starts the check
        checker = engine.page_check  # started by the opening (it may be over already: a damage is found at once)
        assert checker is not None
        checker.join(timeout=30)
        assert first.status_code == 200 and not checker.is_alive()
        for response in requests(base):
            assert response.status_code == 503, response.text
            assert "the index database is damaged" in response.json()["error"]["message"]
    engine.close()
    assert "failed its page check while serving" in caplog.text

"""`newsdesk keys create|list|revoke`, and how keys are kept: hashed, beside the index, never shown twice."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import psycopg
import pytest

from newsdesk.service.cli import main
from newsdesk.service.runtime.keys import KEYS_DB, KeyStore, has_scope

from tests.conftest import open_store
from tests.pg_servers import PostgresServer, create_database


def keys_cli(data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("NEWSDESK_DATA_DIR", str(data_dir))
    code = main(["keys", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_revoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    code, out, err = keys_cli(data, monkeypatch, capsys, "create", "--scope", "write", "--name", "newsroom CMS")
    assert code == 0
    token = out.strip()
    assert re.fullmatch(r"nd_[A-Za-z0-9_-]{43}", token)  # 256 random bits, alone on stdout
    key_id = re.search(r"created (key_[0-9a-f]{12}) \(scope write, 'newsroom CMS'\)", err)[1]
    assert "shown only now" in err

    code, out, _ = keys_cli(data, monkeypatch, capsys, "list")
    assert code == 0 and token not in out
    assert re.fullmatch(rf"{key_id}  write  {re.escape(token[:7])}…  created \S+  active  newsroom CMS\n", out)
    stored = (data / KEYS_DB).read_bytes()
    assert token.encode() not in stored and token[7:].encode() not in stored  # only the hash and the first characters

    store = KeyStore(data)
    assert store.check(token).id == key_id
    code, out, _ = keys_cli(data, monkeypatch, capsys, "revoke", key_id)
    assert code == 0 and f"revoked {key_id} (write)" in out
    assert store.check(token) is None
    assert "revoked " in keys_cli(data, monkeypatch, capsys, "list")[1]
    code, _, err = keys_cli(data, monkeypatch, capsys, "revoke", "key_000000000000")
    assert code == 1 and "no key with id 'key_000000000000'" in err


def test_scopes_are_ordered_and_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert has_scope("admin", "write") and has_scope("write", "read") and has_scope("read", "read")
    assert not has_scope("read", "write") and not has_scope("write", "admin")
    with pytest.raises(SystemExit):
        keys_cli(tmp_path, monkeypatch, capsys, "create", "--scope", "root")
    store = KeyStore(tmp_path)
    assert store.check("nd_anything") is None and store.keys() == []
    assert not (tmp_path / KEYS_DB).exists()  # checking keys never creates the file
    first, second = store.create("read")[1], store.create("admin", "ops")[1]
    assert first != second and store.check(second).scope == "admin" and store.check(first + "x") is None


def test_keys_survive_an_index_rebuild(tmp_path: Path) -> None:
    open_store(tmp_path, writer=True).close()  # an (empty) index
    token = KeyStore(tmp_path).create("write")[1]
    removed = [f.unlink() for f in tmp_path.iterdir() if f.name.startswith(("newsdesk.sqlite3", "vectors-"))]
    assert removed
    assert KeyStore(tmp_path).check(token) is not None  # they live in their own file, not in the index


def test_with_the_index_in_postgresql_every_node_knows_every_key(tmp_path: Path, pg_server: PostgresServer, monkeypatch: pytest.MonkeyPatch,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Two nodes (two data folders) over one database: a key made on one is valid, listed and revoked on the other."""
    url = create_database(pg_server, f"k{uuid.uuid4().hex[:12]}")
    monkeypatch.setenv("NEWSDESK_DATABASE_URL", url)
    code, out, _ = keys_cli(tmp_path / "node-a", monkeypatch, capsys, "create", "--scope", "write", "--name", "CMS")
    token = out.strip()
    other = KeyStore(tmp_path / "node-b", url)
    assert code == 0 and other.check(token).scope == "write" and [k.name for k in other.keys()] == ["CMS"]
    assert not (tmp_path / "node-a" / KEYS_DB).exists()  # nothing beside the node
    with psycopg.connect(url) as db:
        stored = db.execute("SELECT key_hash, key_start FROM api_keys").fetchall()
    assert len(stored) == 1 and token not in str(stored) and stored[0][1] == token[:7]
    assert other.revoke(other.keys()[0].id).revoked_at and KeyStore(tmp_path / "node-a", url).check(token) is None
    other.close()

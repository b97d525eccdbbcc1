"""ConversationStore: turns persisted in SQLite beside the index, forgotten after their TTL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from newsdesk.service.domain import Turn
from newsdesk.service.runtime.conversations import DB_NAME, ConversationStore


def test_conversations_expire_after_their_ttl(tmp_path: Path) -> None:
    now = [1000.0]
    store = ConversationStore(tmp_path, ttl_seconds=60, clock=lambda: now[0])
    store.add_turn("c_old", Turn("q", "q", "a", ("x",)))
    assert store.exists("c_old") and store.history("c_old")[0].cited == ("x",)
    now[0] += 61
    assert not store.exists("c_old") and store.history("c_old") == []
    store.add_turn("c_new", Turn("q2", "q2", "a2"))  # a write forgets every expired conversation
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("SELECT count(*) FROM turns WHERE conversation_id='c_old'").fetchone()[0] == 0
    store.close()


def test_turns_come_back_in_order_and_ids_are_fresh(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path, ttl_seconds=60)
    for i in range(3):
        store.add_turn("c_1", Turn(f"q{i}", f"q{i}", f"a{i}"))
    assert [t.question for t in store.history("c_1")] == ["q0", "q1", "q2"]
    assert store.history("c_unknown") == [] and not store.exists("c_unknown")
    assert store.new_id() != store.new_id() and store.new_id().startswith("c_")
    store.close()

"""Several service nodes over one PostgreSQL index (issue 15): two ``newsdesk serve`` processes on different
loopback addresses answer the same questions identically, share their conversations, and one keeps answering
when the other is killed; the second reads from a streaming replica, and loses no request when the replica is
killed. Real servers throughout: PostgreSQL 18 + pgvector (primary and replica) and gunicorn."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import EVAL
from tests.pg_servers import PostgresServer, start_replica
from tests.servers import newsdesk_process

pytestmark = pytest.mark.slow

VOLATILE = {"conversation_id", "timings", "request_id"}  # what differs between two asks of one question by design


def _questions() -> list[str]:
    lines = (EVAL / "seed_dev_qa.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def _ask(base: str, question: str, conversation_id: str | None = None) -> dict:
    body = {"question": question, "as_of": "2026-12-01", **({"conversation_id": conversation_id} if conversation_id else {})}
    reply = httpx.post(f"{base}/ask", json=body, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_two_nodes_on_one_database_answer_alike_share_conversations_and_survive_each_other(
        pg_server: PostgresServer, pg_seed_url: str, tmp_path: Path) -> None:
    replica = start_replica(pg_server, tmp_path / "replica", host="127.0.0.3")
    replica_url = replica.url(pg_seed_url.rsplit("/", 1)[1])
    try:
        _serve_two_nodes(pg_seed_url, replica, replica_url, tmp_path)
    finally:
        replica.stop()


def _serve_two_nodes(pg_seed_url: str, replica: PostgresServer, replica_url: str, tmp_path: Path) -> None:
    with newsdesk_process(tmp_path / "a", tmp_path / "a.log", database_url=pg_seed_url, host="127.0.0.1") as (a, process_a), \
            newsdesk_process(tmp_path / "b", tmp_path / "b.log", database_url=pg_seed_url, host="127.0.0.2",
                             database_replica_urls=replica_url) as (b, _):
        assert a.split(":")[1] != b.split(":")[1]  # two addresses, two processes
        for question in _questions():
            first, second = _ask(a, question), _ask(b, question)
            assert {k: v for k, v in first.items() if k not in VOLATILE} == {k: v for k, v in second.items() if k not in VOLATILE}

        started = _ask(a, "Who is the NATO Secretary General?")
        followed = _ask(b, "What did he say about Russia?", started["conversation_id"])
        assert followed["conversation_id"] == started["conversation_id"] and not followed.get("warnings")
        assert not (tmp_path / "a" / "conversations.sqlite3").exists() and not (tmp_path / "b" / "conversations.sqlite3").exists()

        for process in [*psutil.Process(process_a.pid).children(recursive=True), psutil.Process(process_a.pid)]:
            process.kill()  # the whole node at once: its gunicorn arbiter and workers, as a crashed machine
        process_a.wait()
        answers = [_ask(b, question) for question in _questions()[:5]]
        replica.kill()  # b's reads were going to it: every request still answers, from the primary
        answers += [_ask(b, question) for question in _questions()]
        assert len(answers) == len(_questions()) + 5
        assert "passed over" in (tmp_path / "b.log").read_text()
        with pytest.raises(httpx.ConnectError):
            httpx.post(f"{a}/ask", json={"question": "Who is the NATO Secretary General?"}, timeout=5)

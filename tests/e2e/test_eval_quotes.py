"""Every citation the service returns, for every question of every evaluation set, quotes
its original article exactly: ``quote == original[start:end]``; so does every short answer
(``text == original[start:end]``, inside the citation it names) and every source listed beside
the answer (``quote == original[start:end]``).

Each set's articles are indexed, ``newsdesk serve`` runs on a socket, every question goes
to ``POST /ask``, and every citation is checked twice: against the article text as it was
given to ingest (the seed file, the XQuAD paragraph, the SciFact abstract), and against
``GET /articles/<id>``, the text an auditor opens. The sets are read from
``../shared/eval`` (SciFact may not be copied into the project):

* seed dev set: 20 questions over the five seeds;
* XQuAD English: 1,190 questions over its 240 paragraphs;
* SciFact: the 300 test claims over all 5,183 abstracts (about 7 minutes to index).

The seed set and XQuAD are checked again with the index in PostgreSQL (a real server): the same
guarantee, whichever store holds the originals.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from newsdesk.service.config import Settings
from newsdesk.service.evaluation import build_index, xquad_articles

from tests.conftest import EVAL, SEEDS
from tests.pg_servers import PostgresServer, create_database
from tests.servers import newsdesk_server

pytestmark = pytest.mark.slow


def _ask_all(base: str, questions: list[str]) -> list[dict]:
    with httpx.Client(base_url=base, timeout=120) as client, ThreadPoolExecutor(4) as pool:
        def ask(question: str) -> dict:
            response = client.post("/ask", json={"question": question})
            assert response.status_code == 200, (question, response.text)
            return response.json()

        return list(pool.map(ask, questions))


def _check_quotes(base: str, questions: list[str], originals: dict[str, str]) -> int:
    """Ask every question; check every citation, short answer and source against ``originals`` and the audit
    endpoint. Returns the count."""
    answers = _ask_all(base, questions)
    checked = 0
    served: dict[str, str] = {}
    failures = []
    def exact(article: str, start: int, end: int, text: str) -> bool:
        if article not in served:
            served[article] = httpx.get(f"{base}/articles/{quote(article, safe='')}", timeout=60).json()["text"]
        return originals[article][start:end] == text == served[article][start:end]

    for question, body in zip(questions, answers):
        assert body["abstained"] == (not body["citations"]), question
        for c in body["citations"]:
            if not exact(c["article_id"], c["start"], c["end"], c["quote"]):
                failures.append((question, c["article_id"], c["start"], c["end"], c["quote"][:80]))
            assert f"[{c['n']}]" in body["answer"], (question, c["n"])
            checked += 1
        short = body["short_answer"]
        if short is not None:  # the few words of a factoid answer: inside the citation it names, and exact
            cited = next(c for c in body["citations"] if c["n"] == short["n"])
            assert cited["article_id"] == short["article_id"] and cited["start"] <= short["start"] < short["end"] <= cited["end"]
            if not exact(short["article_id"], short["start"], short["end"], short["text"]):
                failures.append((question, short["article_id"], short["start"], short["end"], short["text"]))
            checked += 1
        assert {c["article_id"] for c in body["citations"]} <= {s["article_id"] for s in body["sources"]}, question
        for s in body["sources"]:  # the stories beside the answer, by their best sentence (not counted: the counts are of answers)
            if not exact(s["article_id"], s["start"], s["end"], s["quote"]):
                failures.append((question, s["article_id"], s["start"], s["end"], s["quote"][:80]))
    assert not failures, f"{len(failures)} citations, short answers or sources do not quote their article: {failures[:5]}"
    return checked


def _jsonl(path: Path) -> Iterable[dict]:
    return (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def test_seed_dev_set(seed_copy: Path, tmp_path: Path) -> None:
    questions = [q["question"] for q in _jsonl(EVAL / "seed_dev_qa.jsonl")]
    originals = {path.stem: path.read_text(encoding="utf-8") for path in SEEDS.glob("*.txt")}
    with newsdesk_server(seed_copy, tmp_path / "server.log") as base:
        checked = _check_quotes(base, questions, originals)
    assert len(questions) == 20 and checked >= 16  # every answerable question cites at least once


def test_seed_dev_set_on_postgresql(pg_seed_url: str, tmp_path: Path) -> None:
    questions = [q["question"] for q in _jsonl(EVAL / "seed_dev_qa.jsonl")]
    originals = {path.stem: path.read_text(encoding="utf-8") for path in SEEDS.glob("*.txt")}
    with newsdesk_server(tmp_path / "node", tmp_path / "server.log", database_url=pg_seed_url) as base:
        checked = _check_quotes(base, questions, originals)
    assert checked >= 15


def test_xquad_on_postgresql(pg_server: PostgresServer, tmp_path: Path) -> None:
    url = create_database(pg_server, "xquad_quotes")
    articles, questions = xquad_articles(EVAL / "xquad" / "xquad.en.json")
    build_index(articles, tmp_path / "xquad", dataclasses.replace(Settings(), database_url=url)).close()
    with newsdesk_server(tmp_path / "node", tmp_path / "server.log", database_url=url) as base:
        checked = _check_quotes(base, [q for q, _, _ in questions], {a["id"]: a["text"] for a in articles})
    assert checked >= 1000


def test_xquad(tmp_path: Path) -> None:
    articles, questions = xquad_articles(EVAL / "xquad" / "xquad.en.json")
    build_index(articles, tmp_path / "xquad", Settings()).close()
    with newsdesk_server(tmp_path / "xquad" / "index", tmp_path / "server.log") as base:
        checked = _check_quotes(base, [q for q, _, _ in questions], {a["id"]: a["text"] for a in articles})
    assert len(questions) == 1190 and checked >= 1000


def test_scifact(tmp_path: Path) -> None:
    folder = EVAL / "scifact"
    corpus = [d for d in _jsonl(folder / "corpus.jsonl") if d["text"].strip()]
    build_index(({"id": d["_id"], "title": d.get("title") or None, "text": d["text"]} for d in corpus),
                tmp_path / "scifact", Settings()).close()
    queries = {q["_id"]: q["text"] for q in _jsonl(folder / "queries.jsonl")}
    test_ids = dict.fromkeys(line.split("\t")[0] for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:])
    with newsdesk_server(tmp_path / "scifact" / "index", tmp_path / "server.log") as base:
        checked = _check_quotes(base, [queries[qid] for qid in test_ids], {d["_id"]: d["text"] for d in corpus})
    assert len(test_ids) == 300 and checked >= 250

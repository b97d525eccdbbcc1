"""Fault (issue 13): a real ``newsdesk serve`` (one worker) SIGKILLed, its whole process group, at
random (seeded) moments while a client posts batches of articles to ``POST /articles`` with a write key;
restarted over the same data directory each time. After every kill: the index opens and is consistent
(``integrity_problems()`` empty), every article whose POST was acknowledged (a 2xx received) is there
and readable (``GET /articles/<id>``), a POST cut off by the kill committed whole or not at all, and
its retry is idempotent (each article added or unchanged, never replaced or duplicated). At the end
everything is re-posted (unchanged, nothing added twice) and acknowledged articles are answered from.

Most kills land a random time after the first acknowledged POST of a server's life (steady writing:
receiving a body, embedding, committing, answering); some a random time after its first POST was
sent (the write pipeline's models still loading).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import open_store
from tests.servers import free_port, wait_until_up

pytestmark = pytest.mark.slow

SEED = 20261213
# The suite kills twice (each restart reloads the models, ~13 s; CI has 30 minutes); issue 13's acceptance run killed 20 times:
# NEWSDESK_TEST_WRITE_KILLS=20 .venv/bin/python -m pytest tests/e2e/test_write_kill.py (1 passed in 310 s, 2026-12-02).
KILLS = int(os.environ.get("NEWSDESK_TEST_WRITE_KILLS", "2"))
BATCH = 3  # articles per POST: one committed write each

_WORDS = """harbour bridge council budget ferry engineer station valley river storm rainfall museum orchestra festival
mayor inspector railway airport pilot factory union contract market bakery library stadium coach league census
satellite telescope glacier volcano shelter rescue volunteer charity donor tribunal auditor regulator lawyer""".split()
_VERBS = "announced confirmed rejected approved delayed cancelled expanded reduced opened closed signed inspected repaired".split()
_SYLLABLES = "ka lo mi ra ten vu zor bel dra fin gosh hal ix jun kel mar nor pel quin ros sab tul ven wex yar".split()


def make_articles(n: int, rng: random.Random) -> list[dict]:
    """``n`` small distinct articles, each with a made-up name of its own (for BM25) in its first sentence."""
    used: set[str] = set()
    articles = []
    for i in range(n):
        while (name := "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()) in used:
            pass
        used.add(name)
        sentences = [f"The {name} {rng.choice(_WORDS)} {rng.choice(_VERBS)} {rng.randint(2, 999)} new "
                     f"{' '.join(rng.choices(_WORDS, k=4))} on Monday."]
        sentences += [f"{rng.choice(_WORDS).capitalize()} officials {rng.choice(_VERBS)} the "
                      f"{' '.join(rng.choices(_WORDS, k=rng.randint(4, 8)))} near the {rng.choice(_WORDS)}."
                      for _ in range(2)]
        articles.append({"id": f"kill-{i:04d}", "title": f"{name} {rng.choice(_WORDS)} {rng.choice(_VERBS)}",
                         "publisher": "Kill Wire", "published_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                         "text": " ".join(sentences) + "\n", "name": name})
    return articles


def body_of(batch: list[dict]) -> list[dict]:
    return [{k: v for k, v in a.items() if k != "name"} for a in batch]


class Server:
    """``newsdesk serve`` in a process group of its own, so that SIGKILL takes the arbiter and its worker at once."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "NEWSDESK_PORT": str(self.port), "NEWSDESK_HOST": "127.0.0.1",
               "NEWSDESK_WORKERS": "1", "NEWSDESK_THREADS": "4", "HAYSTACK_TELEMETRY_ENABLED": "False", "HF_HUB_OFFLINE": "1",
               "NEWSDESK_RATE_LIMIT_PER_ADDRESS": "", "NEWSDESK_RATE_LIMIT_PER_KEY": "", "NEWSDESK_RATE_LIMIT_WRITES": ""}
        with open(log, "w") as handle:
            self.proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"], env=env, stdout=handle,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.pgid = self.proc.pid
        wait_until_up(self.proc, self.base + "/healthz", log)

    def kill(self) -> None:
        """SIGKILL the whole group, and wait until no process of it is left (the worker holds the writer lock)."""
        try:
            os.killpg(self.pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(self.pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise AssertionError("processes of the killed server are still alive")


@dataclass
class Poster:
    """Posts batches back to back on a thread until the server goes away."""

    base: str
    key: str
    batches: list[list[dict]]
    committed: dict[int, bool] = field(default_factory=dict)  # a retried batch: whether it was committed before
    acked: list[int] = field(default_factory=list)  # indexes of the batches whose POST got a 2xx
    in_flight: int | None = None  # the batch whose POST the kill cut off
    first_sent: threading.Event = field(default_factory=threading.Event)
    first_acked: threading.Event = field(default_factory=threading.Event)
    problems: list[str] = field(default_factory=list)

    def start(self, first: int) -> threading.Thread:
        thread = threading.Thread(target=self._run, args=(first,), daemon=True)
        thread.start()
        return thread

    def _run(self, first: int) -> None:
        with httpx.Client(base_url=self.base, headers={"Authorization": f"Bearer {self.key}"}, timeout=120) as client:
            for n in range(first, len(self.batches)):
                self.in_flight = n
                self.first_sent.set()
                try:
                    response = client.post("/articles", json=body_of(self.batches[n]))
                except httpx.HTTPError:
                    return  # killed: no answer, so not acknowledged
                if not 200 <= response.status_code < 300:
                    self.problems.append(f"batch {n}: {response.status_code} {response.text[:300]}")
                    return
                report = response.json()
                # A retry of a POST the kill cut off is idempotent: all unchanged if it had committed, else all added.
                outcome = "unchanged" if self.committed.get(n) else "added"
                if sorted(report[outcome]) != sorted(a["id"] for a in self.batches[n]) or report["replaced"] or report["skipped"]:
                    self.problems.append(f"batch {n}: expected all {outcome}: {report}")
                self.acked.append(n)
                self.in_flight = None
                self.first_acked.set()


def post(base: str, key: str, batch: list[dict]) -> dict:
    """One POST that must succeed (no kill is coming)."""
    response = httpx.post(base + "/articles", json=body_of(batch), headers={"Authorization": f"Bearer {key}"}, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def check_index(data_dir: Path, acked_ids: set[str], seed_ids: set[str]) -> set[str]:
    """The index opens and is consistent and holds every acknowledged article; returns its article ids."""
    with open_store(data_dir) as store:
        assert store.integrity_problems() == []
        ids = set(store.article_ids())
        counts = store.counts()
        assert counts.articles == len(ids)
        assert store.vectors().ntotal == counts.vectors
    assert acked_ids <= ids, f"acknowledged but missing: {sorted(acked_ids - ids)}"
    assert seed_ids <= ids
    return ids


def test_acknowledged_writes_survive_sigkill_of_the_server(seed_copy: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    data_dir = seed_copy
    key = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "keys", "create", "--scope", "write", "--name", "kill test"],
                         env={**os.environ, "NEWSDESK_DATA_DIR": str(data_dir)}, capture_output=True, text=True, timeout=60,
                         check=True).stdout.strip()
    assert key.startswith("nd_")
    with open_store(data_dir) as store:
        seed_ids = set(store.article_ids())
    articles = make_articles(BATCH * 400, rng)
    by_id = {a["id"]: a for a in articles}
    batches = [articles[i:i + BATCH] for i in range(0, len(articles), BATCH)]
    poster = Poster("", key, batches)
    acked_ids: set[str] = set()
    committed: dict[int, bool] = {}
    next_batch = 0
    outcomes: list[str] = []
    started = time.monotonic()
    for n in range(KILLS):
        server = Server(data_dir, tmp_path / f"server-{n}.log")
        try:
            if n:
                ids = check_index(data_dir, acked_ids, seed_ids)  # a reader beside the restarted server
                cut = poster.in_flight
                if cut is not None:
                    cut_ids = {a["id"] for a in batches[cut]}
                    committed[cut] = cut_ids <= ids
                    assert committed[cut] or not cut_ids & ids, f"batch {cut} was torn: {sorted(cut_ids & ids)} of {sorted(cut_ids)}"
                    outcomes[-1] += "committed-unacked" if committed[cut] else "not-committed"
                    next_batch = cut  # the client's first POST is its retry
                # Every acknowledged article is readable, the text as sent.
                for article_id in sorted(acked_ids)[-3 * BATCH:] + rng.sample(sorted(acked_ids), min(5, len(acked_ids))):
                    got = httpx.get(f"{server.base}/articles/{article_id}", timeout=60)
                    assert got.status_code == 200 and got.json()["text"] == by_id[article_id]["text"], got.text
            poster = Poster(server.base, key, batches, dict(committed))
            thread = poster.start(next_batch)
            if n % 4 == 3:  # some kills while the first POST loads the write pipeline (or soon after)
                assert poster.first_sent.wait(60)
                delay = rng.uniform(0.0, 8.0)
                phase = "first-post"
            else:
                assert poster.first_acked.wait(120), (tmp_path / f"server-{n}.log").read_text()[-3000:]
                delay = rng.uniform(0.0, 2.0)
                phase = "steady"
            time.sleep(delay)
        finally:
            server.kill()
        thread.join(timeout=60)
        assert not thread.is_alive() and poster.problems == []
        acked_ids |= {a["id"] for b in poster.acked for a in batches[b]}
        next_batch = (poster.acked[-1] + 1) if poster.acked else next_batch
        outcomes.append(f"kill {n} {phase}+{delay:.2f}s acked {len(poster.acked)}: ")
        if poster.in_flight is None:
            outcomes[-1] += "between-posts"
        check_index(data_dir, acked_ids, seed_ids)  # nothing running: the index as the kill left it

    # Retries of everything ever sent: nothing added twice, nothing replaced; all answerable.
    server = Server(data_dir, tmp_path / "server-final.log")
    try:
        ids = check_index(data_dir, acked_ids, seed_ids)
        if poster.in_flight is not None:
            cut_ids = {a["id"] for a in batches[poster.in_flight]}
            assert cut_ids <= ids or not cut_ids & ids
            outcomes[-1] += "committed-unacked" if cut_ids <= ids else "not-committed"
        sent = batches[:max(next_batch, (poster.in_flight or 0) + 1)]
        with open_store(data_dir) as store:
            before = store.counts()
        for batch in sent:
            report = post(server.base, key, batch)
            assert report["replaced"] == [] and report["skipped"] == []
            assert set(report["added"]) | set(report["unchanged"]) == {a["id"] for a in batch}
            assert not set(report["added"]) & ids and set(report["unchanged"]) <= ids
        all_sent = {a["id"] for b in sent for a in b}
        with open_store(data_dir) as store:
            after = store.counts()
            assert store.integrity_problems() == []
            assert set(store.article_ids()) == seed_ids | all_sent
            assert after.articles == len(seed_ids) + len(all_sent)
            for article_id in all_sent:
                assert len(store.passages_of(article_id)) == 1  # one chunk each: none duplicated
            assert store.vectors().ntotal == after.vectors
        assert after.articles - before.articles == len(all_sent - ids)
        for article_id in rng.sample(sorted(acked_ids), 3):
            name = by_id[article_id]["name"]
            answer = httpx.post(f"{server.base}/ask", json={"question": f"What did the {name} officials do?"}, timeout=120).json()
            assert not answer["abstained"] and any(c["article_id"] == article_id for c in answer["citations"]), answer
    finally:
        server.kill()
    print(f"{KILLS} kills in {time.monotonic() - started:.0f}s; {len(acked_ids)} articles acknowledged")
    print("\n".join(outcomes))
    assert len(acked_ids) > 0 and sum("committed-unacked" in o or "not-committed" in o for o in outcomes) >= KILLS // 2

"""Crash safety for real: ``newsdesk ingest`` is SIGKILLed at random moments, again and
again, into one data directory; after every kill the index must open, be consistent, hold
every batch it reported as committed (and nothing half-written), and search must work.
A last run finishes the ingest and must embed only what no killed run had committed.

The FAISS file is written atomically at the end of an ingest, so a kill *while* it is
written is hard to time; instead the newest ``vectors-*`` folder is damaged or removed by
hand and the store must rebuild it from SQLite.
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from newsdesk.index.embed import passage_input
from newsdesk.index.errors import IndexNotBuilt
from newsdesk.index.pipeline import BoilerplateCleaner, MetadataExtractor, SentenceChunker
from newsdesk.index.records import Skipped
from newsdesk.index.sources import read_sources
from newsdesk.index.store import DB_NAME, ArticleStore
from newsdesk.index.store.vectorfiles import saved_folders
from newsdesk.index.vectors import INDEX_FILE, VectorIndex
from tests.conftest import ingest_options, open_store

SEED = 20240611
N_ARTICLES = 150
BATCH_ARTICLES = 3
MIN_KILLS = 10

COMMIT_RE = re.compile(r"^committed generation (\d+): (.+)$")
SUMMARY_RE = re.compile(r"^added (\d+), replaced (\d+), unchanged (\d+), skipped (\d+); embedded (\d+) chunk\(s\), reused (\d+);")

# ---- a deterministic synthetic archive ----------------------------------------------------

_VOCAB = """
government minister council budget election parliament court judge ruling appeal harbour bridge river valley
mountain railway station airport pilot engineer farmer harvest drought flood storm rainfall temperature forecast
hospital doctor nurse patient clinic vaccine outbreak research laboratory university student teacher school exam
factory worker union strike wage contract market price inflation currency export import shipment container port
police officer investigation witness evidence trial verdict prison sentence detective suspect warrant border
military soldier convoy ceasefire negotiation treaty delegation embassy ambassador summit agreement sanction
energy pipeline reactor turbine solar wind grid outage battery fuel refinery mine copper lithium coal timber
festival museum gallery theatre orchestra novel author poet painter sculpture exhibition concert audience ticket
football stadium coach striker goalkeeper league championship tournament medal athlete record marathon cyclist
village town city district province region capital suburb neighbourhood street square market bakery library
committee report survey census statistics analyst economist forecast growth recession deficit surplus loan bank
software network satellite launch rocket telescope observatory physicist chemist biologist species forest reef
coastline island lake glacier volcano earthquake tremor evacuation shelter rescue volunteer charity donor ferry
mayor governor senator spokesperson official adviser auditor inspector regulator prosecutor lawyer tribunal
quietly suddenly sharply gradually formally publicly eventually reportedly briefly widely narrowly largely
announced confirmed rejected approved delayed cancelled expanded reduced doubled opened closed signed inspected
repaired reviewed questioned criticised praised funded built designed tested measured recorded estimated
northern southern eastern western central coastal rural urban ancient modern regional national local foreign
""".split()
_SYLLABLES = "ka lo mi ra ten vu zor bel dra fin gosh hal ix jun kel mar nor pel quin ros sab tul ven wex yar".split()


def _keyword(rng: random.Random, used: set[str]) -> str:
    while True:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
        if word not in used:
            used.add(word)
            return word


def _sentence(rng: random.Random, keyword: str | None) -> str:
    words = rng.choices(_VOCAB, k=rng.randint(9, 18))
    if keyword:
        words.insert(rng.randrange(1, len(words)), keyword)
    words.insert(rng.randrange(1, len(words)), str(rng.randint(2, 9999)))
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def make_archive(path: Path, n: int = N_ARTICLES, seed: int = SEED) -> list[dict]:
    """``n`` distinct articles of 3-5 paragraphs (two or three chunks each) as JSON Lines."""
    rng = random.Random(seed)
    used: set[str] = set()
    records = []
    for i in range(n):
        keyword = _keyword(rng, used)
        paragraphs = []
        for p in range(rng.randint(3, 5)):
            sentences = [_sentence(rng, keyword if (p == 0 and s == 0) or rng.random() < 0.15 else None)
                         for s in range(rng.randint(3, 5))]
            paragraphs.append(" ".join(sentences))
        records.append({
            "id": f"crash-{i:03d}",
            "title": f"{keyword} {' '.join(rng.choices(_VOCAB, k=4))}",
            "url": f"https://news.example.org/{i:03d}",
            "publisher": rng.choice(["Example Wire", "Daily Sample", "The Synthetic Post"]),
            "published_at": f"2023-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "text": "\n\n".join(paragraphs) + "\n",
            "keyword": keyword,
        })
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps({k: v for k, v in record.items() if k != "keyword"}) + "\n")
    return records


@dataclass
class Expected:
    """What a complete article looks like in the index, computed without the model."""

    title: str
    text: str
    keyword: str
    sentences: list[tuple[int, int]]
    chunks: list[tuple[str, int, int]]  # (chunk id, start, end)
    chunk_texts: list[str] = field(default_factory=list)


def expected_index(path: Path, records: list[dict]) -> dict[str, Expected]:
    articles = list(read_sources([path], 5 * 1024 * 1024))
    assert len(articles) == len(records) and not any(isinstance(a, Skipped) for a in articles)
    drafts = BoilerplateCleaner().run(articles)["drafts"]
    assert len(drafts) == len(records), "the synthetic articles must not be mistaken for boilerplate"
    drafts = MetadataExtractor().run(drafts)["drafts"]
    options = ingest_options()
    drafts = SentenceChunker(options.max_tokens, options.overlap_tokens).run(drafts)["drafts"]  # the ingest defaults
    keywords = {r["id"]: r["keyword"] for r in records}
    return {d.article.id: Expected(d.metadata.title, d.article.raw_text, keywords[d.article.id],
                                   [(s.start, s.end) for s in d.sentences],
                                   [(c.id, c.start, c.end) for c in d.chunks], [c.text for c in d.chunks])
            for d in drafts}


# ---- running and killing the real command ---------------------------------------------------

def ingest_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(NEWSDESK_DATA_DIR=str(data_dir), NEWSDESK_INGEST_BATCH_ARTICLES=str(BATCH_ARTICLES),
               HAYSTACK_TELEMETRY_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


class IngestRun:
    """``newsdesk ingest -v`` as a subprocess; its stdout is read line by line on a thread."""

    def __init__(self, archive: Path, data_dir: Path, log: Path) -> None:
        self.lines: queue.Queue[tuple[float, str | None]] = queue.Queue()
        self.stdout: list[str] = []
        self._stderr = log.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "ingest", "-v", str(archive)],
                                     stdout=subprocess.PIPE, stderr=self._stderr, env=ingest_env(data_dir), text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.commits: list[tuple[int, list[str]]] = []

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.monotonic(), line))
        self.lines.put((time.monotonic(), None))

    def _take(self, line: str) -> None:
        self.stdout.append(line)
        # A line cut short by the kill has no newline; its ids may be truncated, so it is not counted.
        match = COMMIT_RE.match(line.rstrip("\n")) if line.endswith("\n") else None
        if match:
            self.commits.append((int(match.group(1)), match.group(2).split()))

    def wait_for(self, commits: int, deadline: float) -> bool:
        """Read lines until ``commits`` commit lines were seen (True), or EOF / the deadline."""
        while len(self.commits) < commits:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                _, line = self.lines.get(timeout=remaining)
            except queue.Empty:
                return False
            if line is None:
                self.lines.put((time.monotonic(), None))
                return False
            self._take(line)
        return True

    def kill(self) -> bool:
        """SIGKILL now; True if the process was still running (a real kill)."""
        alive = self.proc.poll() is None
        if alive:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.finish(timeout=30)
        return alive and self.proc.returncode == -signal.SIGKILL

    def finish(self, timeout: float) -> int:
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        while True:
            try:
                _, line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self._take(line)
        self._stderr.close()
        return self.proc.returncode


def kill_schedule(rng: random.Random) -> list[tuple[str, float, int]]:
    """``(moment, delay, commits)``: where in the process's life each kill lands.

    * ``loading``: ``delay`` seconds after the start (imports, opening the store, loading the model);
    * ``after-commit``: the moment the ``commits``-th batch of the run is reported committed;
    * ``mid-ingest``: ``delay`` seconds after that report (embedding or writing the next batch).
    """
    plan = ([("loading", rng.uniform(0.3, 3.0), 0) for _ in range(3)]
            + [("after-commit", 0.0, rng.randint(1, 3)) for _ in range(4)]
            + [("mid-ingest", rng.uniform(0.01, 0.5), rng.randint(1, 2)) for _ in range(5)])
    rng.shuffle(plan)
    first = next(i for i, p in enumerate(plan) if p[0] != "loading")
    plan.insert(0, plan.pop(first))  # the first run commits something, so later kills hit a real index
    return plan


# ---- what must hold after every kill ---------------------------------------------------------

def check_store(data_dir: Path, expected: dict[str, Expected], order: list[str], reported: set[str],
                embedder, rng: random.Random, generation_before: int, run: IngestRun) -> int:
    """Open the index read-only and check everything; returns its generation."""
    if not (data_dir / DB_NAME).exists():
        assert not reported, "batches were reported committed but there is no database"
        with pytest.raises(IndexNotBuilt):
            open_store(data_dir)
        return generation_before
    with open_store(data_dir) as store:
        assert store.integrity_problems() == []
        ids = store.article_ids()
        present = set(ids)
        assert reported <= present, f"reported committed but missing: {sorted(reported - present)}"
        # Batches commit whole and in input order: the index holds a prefix of the archive,
        # a whole number of batches long (or all of it).
        assert present == set(order[:len(ids)]), "the index holds articles out of order: a batch was torn"
        assert len(ids) % BATCH_ARTICLES == 0 or len(ids) == len(order)

        # Generations: each commit of this run was reported in sequence; at most one more
        # (killed between its commit and its report line) may exist unreported.
        generation = store.generation
        run_generations = [g for g, _ in run.commits]
        assert run_generations == list(range(generation_before + 1, generation_before + 1 + len(run_generations)))
        last = run_generations[-1] if run_generations else generation_before
        assert generation in (last, last + 1)

        counts = store.counts()
        assert counts.articles == len(ids)
        rowids: list[int] = []
        for article_id in ids:
            want = expected[article_id]
            article = store.article(article_id)
            assert article.raw_text == want.text and article.title == want.title
            assert [(s.start, s.end) for s in store.sentences(article_id)] == want.sentences
            chunks = store.passages_of(article_id)
            assert chunks and [(c.chunk_id, c.start, c.end) for c in chunks] == want.chunks
            rowids += [c.rowid for c in chunks]
        assert counts.chunks == len(rowids) == sum(len(expected[i].chunks) for i in ids)
        assert counts.sentences == sum(len(expected[i].sentences) for i in ids)

        # FAISS holds one vector per passage and one per sentence in it, keyed by chunk row id.
        assert store.vectors().ntotal == counts.vectors > counts.chunks
        assert store.indexed_chunk_rowids() == set(rowids)

        if ids:
            probe = rng.choice(ids)
            want = expected[probe]
            # BM25: the article's own made-up name finds it.
            hits = store.bm25_search(want.keyword, 5)
            assert probe in {p.article_id for p in store.passages(r for r, _ in hits).values()}
            # Dense: a chunk's own embedding input finds that very chunk first.
            seq = rng.randrange(len(want.chunks))
            query = embedder.embed([passage_input(want.title, want.chunk_texts[seq])])[0]
            top = store.dense_search(query, 3)
            assert top and top[0][0] == store.passages_of(probe)[seq].rowid and top[0][1] > 0.99
        else:
            assert store.dense_search(np.ones(384, np.float32) / np.sqrt(384), 3) == []
        return generation


@pytest.mark.slow
def test_ingest_survives_repeated_sigkill(tmp_path: Path, embedder) -> None:
    archive = tmp_path / "archive.jsonl"
    records = make_archive(archive)
    order = [r["id"] for r in records]
    expected = expected_index(archive, records)
    total_chunks = sum(len(e.chunks) for e in expected.values())
    assert len(set(order)) == N_ARTICLES and total_chunks >= 2 * N_ARTICLES
    data_dir = tmp_path / "data"
    rng = random.Random(SEED + 1)

    reported: set[str] = set()
    generation = 0
    kills: list[str] = []
    for n, (moment, delay, commits) in enumerate(kill_schedule(rng)):
        run = IngestRun(archive, data_dir, tmp_path / f"stderr-{n}.log")
        try:
            if moment == "loading":
                run.wait_for(10**9, run.started + delay)
            else:
                reached = run.wait_for(commits, run.started + 120)
                assert reached or run.proc.poll() is not None, f"run {n}: no commit within 120 s"
                if delay:
                    run.wait_for(10**9, time.monotonic() + delay)
            killed = run.kill()
        finally:
            if run.proc.poll() is None:
                run.kill()
        if killed:
            kills.append(f"{moment}@{time.monotonic() - run.started:.2f}s/{len(run.commits)} commits")
        else:  # it finished (or died) on its own before the kill: that must have been a clean exit
            assert run.proc.returncode == 0, (tmp_path / f"stderr-{n}.log").read_text()
        for _, ids in run.commits:
            reported.update(ids)
        checked = time.monotonic()
        generation = check_store(data_dir, expected, order, reported, embedder, rng, generation, run)
        print(f"run {n}: {moment} killed={killed} at {checked - run.started:.2f}s after {len(run.commits)} commit(s); "
              f"generation {generation}; check {time.monotonic() - checked:.2f}s")

    assert len(kills) >= MIN_KILLS, f"only {len(kills)} real kills: {kills}"

    with open_store(data_dir) as store:
        before = store.counts()
    assert before.articles < N_ARTICLES, "the killed runs finished the archive; nothing is left to resume"

    run = IngestRun(archive, data_dir, tmp_path / "stderr-final.log")
    code = run.finish(timeout=300)
    assert code == 0, (tmp_path / "stderr-final.log").read_text()
    summary = [m for m in (SUMMARY_RE.match(line) for line in run.stdout) if m]
    assert len(summary) == 1, run.stdout
    added, replaced, unchanged, skipped, embedded, reused = map(int, summary[0].groups())
    # The resumed run embeds exactly the chunks no killed run committed, and nothing twice.
    assert (added, replaced, unchanged, skipped) == (N_ARTICLES - before.articles, 0, before.articles, 0)
    assert (embedded, reused) == (total_chunks - before.chunks, 0)
    for _, ids in run.commits:
        reported.update(ids)
    # Only a batch killed between its commit and its report line may have gone unreported.
    assert set(order) - reported <= set(order[:before.articles])

    generation = check_store(data_dir, expected, order, reported, embedder, rng, generation, run)
    with open_store(data_dir) as store:
        counts = store.counts()
        assert counts.articles == N_ARTICLES and counts.chunks == total_chunks
        assert store.integrity_problems() == []
    # The finished ingest saved the FAISS file for its generation; it loads as is, no repair.
    saved = saved_folders(data_dir)
    assert saved[-1].name == f"vectors-{generation:09d}" and len(saved) <= 2  # the newest, and at most the one before
    index, saved_generation = VectorIndex.load(saved[-1], 384)
    assert saved_generation == generation and index.ntotal == counts.vectors
    assert not list(data_dir.glob("*.tmp"))


# ---- a damaged or missing FAISS file is rebuilt from SQLite --------------------------------

def _damage(data_dir: Path, how: str) -> None:
    newest = saved_folders(data_dir)[-1] / INDEX_FILE
    data = newest.read_bytes()
    if how == "truncated":
        newest.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        newest.write_bytes(b"")
    elif how == "garbage":
        newest.write_bytes(b"not a numpy archive\n" * 64)
    elif how == "bitflip":
        middle = len(data) // 2
        newest.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64]) + data[middle + 64:])
    elif how == "deleted":
        shutil.rmtree(newest.parent)
    elif how in ("stale", "killed-mid-save"):  # an older generation's file: the article deleted since is in it
        with open_store(data_dir, writer=True) as store:
            assert store.delete("003_f9095a6aa4cb8e46")  # no save_vectors: as if killed right after the commit
            generation = store.generation
        if how == "killed-mid-save":  # ... or killed while writing the new generation's file
            (data_dir / f"vectors-{generation:09d}.tmp").mkdir()
            (data_dir / f"vectors-{generation:09d}.tmp" / INDEX_FILE).write_bytes(data[: len(data) // 3])
    else:
        raise AssertionError(how)


def _assert_vectors_match_sqlite(store: ArticleStore, embedder) -> None:
    rowids = {c.rowid for a in store.article_ids() for c in store.passages_of(a)}
    counts = store.counts()
    assert store.vectors().ntotal == counts.vectors and counts.chunks == len(rowids)
    assert store.indexed_chunk_rowids() == rowids
    chunk = store.passages_of(store.article_ids()[0])[0]
    title = store.article(chunk.article_id).title
    top = store.dense_search(embedder.embed([passage_input(title, chunk.text)])[0], 3)
    assert top[0][0] == chunk.rowid and top[0][1] > 0.99
    assert store.bm25_search("NATO Russia Ukraine", 5)


_DAMAGE = ["deleted", "stale", "killed-mid-save", "garbage", "truncated", "empty", "bitflip"]


@pytest.mark.parametrize("how", _DAMAGE)
def test_reader_rebuilds_damaged_or_missing_vectors_from_sqlite(seed_copy: Path, embedder, how: str) -> None:
    _damage(seed_copy, how)
    with open_store(seed_copy) as store:
        assert store.integrity_problems() == []
        _assert_vectors_match_sqlite(store, embedder)


@pytest.mark.parametrize("how", _DAMAGE)
def test_writer_replaces_damaged_or_missing_vectors_file(seed_copy: Path, embedder, how: str) -> None:
    _damage(seed_copy, how)
    with open_store(seed_copy, writer=True) as store:
        _assert_vectors_match_sqlite(store, embedder)
        path = store.save_vectors()
        generation, vectors = store.generation, store.counts().vectors
    assert saved_folders(seed_copy)[-1] == path and len(saved_folders(seed_copy)) <= 2
    assert not list(seed_copy.glob("*.tmp"))
    index, saved_generation = VectorIndex.load(path, 384)  # a sound file again: loads without repair
    assert saved_generation == generation and index.ntotal == vectors
    with open_store(seed_copy) as reopened:
        _assert_vectors_match_sqlite(reopened, embedder)

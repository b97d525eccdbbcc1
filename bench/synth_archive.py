"""A reproducible synthetic news archive of a given number of passages, indexed by the real ingest stages (issue 14).

    .venv/bin/python bench/synth_archive.py --passages 10000 --out /tmp/synth/h10k --vectors hashed --questions-out q.jsonl
    .venv/bin/python bench/synth_archive.py --passages 10000 --out DIR --vectors model     # real vectors (the model: slow)
    .venv/bin/python bench/synth_archive.py --passages 1000000 --out DIR --vectors hashed --index-type hnsw
    NEWSDESK_DATA_DIR=DIR .venv/bin/newsdesk serve                 # NEWSDESK_INDEX_TYPE=hnsw for an hnsw archive
    .venv/bin/python bench/ask.py --data DIR --questions q.jsonl --no-haystack

The text is a word-level Markov chain (order 2, from sentence starts) trained on the sentences
of XQuAD English's 240 contexts and the seed articles (their kept lines only, as the cleaner
leaves them), with an entity of a generated sentence swapped, now and then, for another of its
label. The training sentences are tagged once by the project's entity tagger (spaCy
``en_core_web_sm``, cached in the model cache folder keyed by the corpus), and every generated
token keeps its label, so each article knows its entities' exact offsets without a model run:
spaCy over a million passages would take hours on two cores. Articles have lognormal lengths
(median about 590 words, 5th/95th percentiles about 210/1,720), paragraphs of 1-4 sentences, a
generated headline, one of 30 fictional publishers, a date-time in 2019-01-01..2026-11-30 and a
URL; about 10 % (``--wire-copies``) are wire copies: another publisher's copy of a recent
article, dated within two days of it, with one or two sentences edited (an entity swapped) or
rewritten, so that the real near-duplicate clusterer forms clusters (the few copies whose edits go beyond its threshold stay
apart, as they would in a real archive).

Each article is read as a JSON Lines record is (``index.sources.article_from_record``: id,
title, publisher, published_at, url), then runs through the real components of
``index/pipeline.py``: cleaning, metadata, near-duplicates, chunking (the default settings),
and the real ``ArticleStore.write`` (SQLite + Tantivy, one transaction per ``--batch`` articles);
the FAISS file is built and saved once at the end. Two stages are bench stand-ins:

* entities: :class:`BenchGeneratedEntities` hands over the generator's entities (those inside
  a sentence as the real chunker cut it) instead of ``EntityRecognizer``;
* vectors, with ``--vectors hashed``: :class:`BenchHashedEmbedder`, a hashing-trick projection
  (each word a seeded Gaussian 384-d vector, summed over the passage or sentence, normalised)
  instead of ``ChunkEmbedder``; similar texts get similar vectors. The index still records the
  real model, so the real server embeds its queries with it: queries and passages are then in
  different spaces, and such an archive measures latency and throughput only, never quality
  (most questions abstain on it: 33 and 35 of 40 on the 10k and 100k archives of seed 0, so an
  answer is composed and verified for a minority of them). ``--vectors model`` runs the real
  ``ChunkEmbedder`` (real vectors, at the model's speed: docs/benchmarks.md, "Ingest throughput").

With ``--vectors hashed`` on two shared cores: about 450 passages/s (10k passages in ~22 s, 100k
in ~230 s, FAISS flat included). The same ``--seed`` and ``--passages`` give the same articles, ids
and texts (a smaller archive is a prefix of a larger one). ``--questions-out`` writes ``--questions`` XQuAD questions (shuffled
by the seed, cycled) as JSON Lines with an ``as_of`` date drawn from the archive's date range,
for ``bench/ask.py --data DIR --questions FILE``. Results: printed, appended to
bench/results/synth_archive.json (not with ``--no-write``).
"""

from __future__ import annotations

import argparse
import bisect
import dataclasses
import datetime as dt
import hashlib
import importlib.metadata
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from newsdesk.index import entities as entities_module  # noqa: E402
from newsdesk.index.chunk import sentences_of  # noqa: E402
from newsdesk.index.clean import clean  # noqa: E402
from newsdesk.index.embed import embed_key, passage_input  # noqa: E402
from newsdesk.index.entities import MODEL_PACKAGE, Entity, EntityTagger  # noqa: E402
from newsdesk.index.pipeline import (ArticleWriter, BoilerplateCleaner, ChunkEmbedder, MetadataExtractor,  # noqa: E402
                                     NearDuplicateClusterer, SentenceChunker)
from newsdesk.index.records import Draft  # noqa: E402
from newsdesk.index.sources import article_from_record  # noqa: E402
from newsdesk.index.text import split_sentences  # noqa: E402
from newsdesk.service.config import Settings  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result  # noqa: E402

XQUAD = Path("/work/shared/eval/xquad/xquad.en.json")
SEEDS = ROOT / "seeds"
RESULTS = ROOT / "bench" / "results" / "synth_archive.json"

PUBLISHERS = (
    "The Harbour Courier", "Northgate Tribune", "Daily Meridian", "The Lakeside Herald", "Capital Ledger",
    "Evening Sentinel", "The Granite Post", "Riverbend Gazette", "Coastal Observer", "The Morning Compass",
    "Highland Chronicle", "Metro Dispatch", "The Valley Record", "Westbrook Times", "Union Press Agency",
    "Continental Wire", "The Prairie Journal", "Summit Daily", "Bayview Standard", "The Civic Monitor",
    "Eastfield Examiner", "Pioneer News Service", "The Atlas Review", "Lowland Bulletin", "Harborline News",
    "The Northern Star Weekly", "Central Wire Service", "The Ironbridge Voice", "Seaboard Mirror", "Global Desk Report",
)
FIRST_DAY, LAST_DAY = dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.timezone.utc)
MEDIAN_WORDS, WORDS_SIGMA, MIN_WORDS, MAX_WORDS = 550, 0.7, 60, 5000
PARAGRAPH_SENTENCES, PARAGRAPH_WEIGHTS = (1, 2, 3, 4), (30, 35, 25, 10)
RECENT_ORIGINALS = 500  # wire copies are taken from the last this-many original articles
ENTITY_SWAP = 0.3  # chance that a generated entity is replaced by another of its label
MAX_SENTENCE_TOKENS = 80

Token = tuple[str, str, str]  # (separator before it: "" or " ", text, entity label or "")
BOS: Token = ("", "\x02", "")
EOS: Token = ("", "\x03", "")


# ---- the training corpus, tagged once -----------------------------------------------------

def training_documents() -> list[tuple[str, list[tuple[int, int]]]]:
    """``(text, sentence spans)`` of the XQuAD contexts and of the seeds' kept lines, cut by the project's splitter."""
    documents = []
    for article in json.loads(XQUAD.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for line in paragraph["context"].splitlines():
                if line.strip():
                    documents.append((line, split_sentences(line)))
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        documents.append((text, [(s.start, s.end) for s, _ in sentences_of(text, clean(text)[0])]))
    return documents


def tagged_sentences(cache_dir: Path) -> list[list[Token]]:
    """Every training sentence as labelled tokens. spaCy takes ~10 s over the corpus, so its entities are cached in
    ``cache_dir``, keyed by the corpus, the tagger's code and the model's version."""
    documents = training_documents()
    key = hashlib.sha256(json.dumps([documents, importlib.metadata.version(MODEL_PACKAGE.replace("_", "-")),
                                     Path(entities_module.__file__).read_text(encoding="utf-8")]).encode()).hexdigest()[:16]
    cache = cache_dir / f"synth-corpus-{key}.json"
    if cache.exists():
        found = json.loads(cache.read_text(encoding="utf-8"))
    else:
        tagged = EntityTagger(batch_size=256).tag_many(documents)
        found = [[[e.start, e.end, e.label] for e in entities] for entities in tagged]
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")  # whole or absent, whoever else writes it
        partial.write_text(json.dumps(found), encoding="utf-8")
        partial.replace(cache)
    return [_tokens(text, start, end, [e for e in entities if start <= e[0] and e[1] <= end])
            for (text, spans), entities in zip(documents, found) for start, end in spans]


def _tokens(text: str, start: int, end: int, entities: list[list[Any]]) -> list[Token]:
    """The sentence ``text[start:end]``: each entity one token, the words between it split at white space."""
    tokens: list[Token] = []

    def add(s: int, e: int, label: str) -> None:
        tokens.append((" " if s > start and text[s - 1].isspace() else "", re.sub(r"\s+", " ", text[s:e]), label))

    position = start
    for e_start, e_end, label in sorted(entities):
        for match in re.finditer(r"\S+", text[position:e_start]):
            add(position + match.start(), position + match.end(), "")
        add(e_start, e_end, label)
        position = e_end
    for match in re.finditer(r"\S+", text[position:end]):
        add(position + match.start(), position + match.end(), "")
    return tokens


class TextModel:
    """An order-2 Markov chain over labelled tokens, from sentence starts to sentence ends."""

    def __init__(self, sentences: Sequence[list[Token]]) -> None:
        number: dict[Token, int] = {BOS: 0, EOS: 1}  # tokens by number; a state is two numbers, a * n + b
        walks = [[0, 0, *(number.setdefault(t, len(number)) for t in tokens), 1] for tokens in sentences if tokens]
        self._tokens: list[Token] = list(number)
        self._n = len(number)
        counts: dict[int, Counter[int]] = {}
        for walk in walks:
            for a, b, c in zip(walk, walk[1:], walk[2:]):
                counts.setdefault(a * self._n + b, Counter())[c] += 1
        self._chain = {state: (list(c), list(accumulate(c.values()))) for state, c in counts.items()}
        self._pools: dict[str, list[tuple[str, str]]] = {}
        for walk in walks:
            for i in walk[2:-1]:
                if self._tokens[i][2]:
                    self._pools.setdefault(self._tokens[i][2], []).append(self._tokens[i][1:])

    def sentence(self, rng: random.Random) -> list[Token]:
        """A generated sentence: re-drawn while longer than ``MAX_SENTENCE_TOKENS`` or shorter than 3 tokens."""
        for _ in range(10):
            tokens = self._walk(rng)
            if 3 <= len(tokens) <= MAX_SENTENCE_TOKENS:
                break
        return [self.swapped(t, rng) if t[2] and rng.random() < ENTITY_SWAP else t for t in tokens]

    def _walk(self, rng: random.Random) -> list[Token]:
        chain, n, draw = self._chain, self._n, rng.random
        a = b = 0
        walk: list[int] = []
        while len(walk) <= MAX_SENTENCE_TOKENS:
            nexts, cumulative = chain[a * n + b]
            c = nexts[bisect.bisect(cumulative, draw() * cumulative[-1])]
            if c == 1:
                break
            walk.append(c)
            a, b = b, c
        return [self._tokens[i] for i in walk]

    def swapped(self, token: Token, rng: random.Random) -> Token:
        """``token`` (an entity) with the text of another entity of its label."""
        text, label = rng.choice(self._pools[token[2]])
        return (token[0], text, label)


def _words(tokens: Sequence[Token]) -> int:
    return 1 + sum(t[1].count(" ") + (t[0] == " ") for t in tokens)


# ---- articles ----------------------------------------------------------------------------------

@dataclasses.dataclass
class SynthArticle:
    """An article before rendering: paragraphs of sentences of labelled tokens, so a wire copy can edit sentences."""

    id: str
    title: str
    publisher: str
    published_at: dt.datetime
    paragraphs: list[list[list[Token]]]
    copy_of: str | None = None

    @property
    def url(self) -> str:
        site = re.sub(r"[^a-z]+", "", self.publisher.lower().removeprefix("the "))
        slug = "-".join(re.findall(r"[a-z0-9]+", self.title.lower()))[:60].strip("-")
        return f"https://www.{site}.example/{self.published_at:%Y/%m/%d}/{slug}-{self.id.rsplit('-', 1)[-1]}"

    def render(self) -> tuple[str, list[Entity]]:
        """The article's text (paragraphs apart by a blank line) and its entities' exact offsets into it."""
        parts: list[str] = []
        entities: list[Entity] = []
        position = 0
        for p, paragraph in enumerate(self.paragraphs):
            for s, tokens in enumerate(paragraph):
                separator = "\n\n" if p and not s else " " if s else ""
                parts.append(separator)
                position += len(separator)
                for i, (sep, text, label) in enumerate(tokens):
                    if i and sep:
                        parts.append(sep)
                        position += len(sep)
                    if label:
                        entities.append(Entity(position, position + len(text), label, text))
                    parts.append(text)
                    position += len(text)
        return "".join(parts), entities

    def record(self, text: str) -> dict[str, str]:
        """The article, its rendered ``text`` given, as a JSON Lines record (the fields `newsdesk ingest` reads)."""
        return {"id": self.id, "title": self.title, "url": self.url, "publisher": self.publisher,
                "published_at": self.published_at.isoformat(timespec="seconds"), "text": text}


class ArchiveGenerator:
    """An endless, seeded stream of articles: originals and (a ``wire_copies`` share) copies of recent ones."""

    def __init__(self, model: TextModel, seed: int, wire_copies: float) -> None:
        self.model = model
        self.seed = seed
        self.wire_copies = wire_copies
        self._rng = random.Random(seed)
        self._recent: deque[SynthArticle] = deque(maxlen=RECENT_ORIGINALS)
        self._count = 0

    def __iter__(self) -> Iterator[SynthArticle]:
        while True:
            self._count += 1
            article_id = f"synth-{self.seed}-{self._count:08d}"
            if self._recent and self._rng.random() < self.wire_copies:
                yield self._wire_copy(article_id, self._rng.choice(self._recent))
                continue
            article = self._original(article_id)
            self._recent.append(article)
            yield article

    def _original(self, article_id: str) -> SynthArticle:
        rng = self._rng
        target = min(MAX_WORDS, max(MIN_WORDS, round(rng.lognormvariate(math.log(MEDIAN_WORDS), WORDS_SIGMA))))
        paragraphs: list[list[list[Token]]] = []
        words = 0
        while words < target:
            paragraph = [self.model.sentence(rng) for _ in range(rng.choices(PARAGRAPH_SENTENCES, PARAGRAPH_WEIGHTS)[0])]
            words += sum(map(_words, paragraph))
            paragraphs.append(paragraph)
        seconds = rng.uniform(0, (LAST_DAY - FIRST_DAY).total_seconds())
        published = (FIRST_DAY + dt.timedelta(seconds=seconds)).replace(microsecond=0)
        return SynthArticle(article_id, self._headline(), rng.choice(PUBLISHERS), published, paragraphs)

    def _headline(self) -> str:
        tokens = self.model.sentence(self._rng)[:self._rng.randint(6, 12)]
        text = tokens[0][1] + "".join(sep + text for sep, text, _ in tokens[1:])
        return text.rstrip(" ,.;:!?\"'“”‘’(-—") or "Untitled"

    def _wire_copy(self, article_id: str, original: SynthArticle) -> SynthArticle:
        """Another publisher's copy, dated within two days, with one or two sentences edited or rewritten."""
        rng = self._rng
        paragraphs = [[list(s) for s in paragraph] for paragraph in original.paragraphs]
        places = [(p, s) for p, paragraph in enumerate(paragraphs) for s in range(len(paragraph))]
        for p, s in rng.sample(places, min(len(places), rng.choice((1, 2)))):
            tokens = paragraphs[p][s]
            named = [i for i, t in enumerate(tokens) if t[2]]
            if named and rng.random() < 0.7:
                i = rng.choice(named)
                tokens[i] = self.model.swapped(tokens[i], rng)
            else:
                paragraphs[p][s] = self.model.sentence(rng)
        shift = dt.timedelta(seconds=rng.uniform(0, 2 * 86400))
        published = original.published_at + shift if original.published_at + shift <= LAST_DAY else original.published_at - shift
        publisher = rng.choice([p for p in PUBLISHERS if p != original.publisher])
        return SynthArticle(article_id, original.title, publisher, published.replace(microsecond=0), paragraphs, original.id)


# ---- the two bench stand-ins ---------------------------------------------------------------------

class BenchGeneratedEntities:
    """Stands in for ``EntityRecognizer``: the generator's entities that lie inside a sentence the real chunker cut
    (the store's rule), so no spaCy run; ``known`` maps article ids to their generated entities."""

    def __init__(self) -> None:
        self.known: dict[str, list[Entity]] = {}

    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        out = []
        for draft in drafts:
            starts = [s.start for s in draft.sentences]
            inside = []
            for entity in self.known.pop(draft.article.id):
                i = bisect.bisect_right(starts, entity.start) - 1
                if i >= 0 and entity.end <= draft.sentences[i].end:
                    inside.append(entity)
            out.append(dataclasses.replace(draft, entities=tuple(sorted(inside, key=lambda e: (e.start, e.end, e.label)))))
        return {"drafts": out}


class BenchHashedEmbedder:
    """Stands in for ``ChunkEmbedder``: the hashing trick, each word a seeded Gaussian vector, summed, normalised.

    The same shapes as the real stage: a vector per chunk (of ``passage_input(title, text)``) and one per sentence
    span of the chunk; ``embed_keys`` under a model name of their own, so no real ingest ever reuses them.
    """

    def __init__(self, seed: int, dim: int) -> None:
        self.seed = seed
        self.dim = dim
        self.model_name = f"bench-hashed-words/seed-{seed}"
        self._rows: dict[str, int] = {}
        self._matrix = np.zeros((0, dim), dtype=np.float32)

    def _vector(self, text: str) -> np.ndarray:
        words = re.findall(r"\w+", text.lower())
        for word in words:
            if word not in self._rows:
                if len(self._rows) == len(self._matrix):  # grown by doubling: the vocabulary is the corpus's, ~20k words
                    self._matrix = np.vstack([self._matrix, np.zeros((max(1024, len(self._matrix)), self.dim), np.float32)])
                digest = hashlib.blake2b(f"{self.seed}\x00{word}".encode(), digest_size=8).digest()
                rng = np.random.default_rng(int.from_bytes(digest, "big"))
                self._matrix[len(self._rows)] = rng.standard_normal(self.dim, dtype=np.float32)
                self._rows[word] = len(self._rows)
        return self._matrix[[self._rows[w] for w in words]].sum(axis=0) if words else np.zeros(self.dim, np.float32)

    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        out = []
        for draft in drafts:
            raw, title = draft.article.raw_text, draft.metadata.title
            headline = self._vector(title or "")
            spans: dict[tuple[int, int], np.ndarray] = {}
            keys, passages, sentences = [], [], []
            for chunk in draft.chunks:
                rows = []
                for sentence in draft.sentences[chunk.first_sentence:chunk.last_sentence + 1]:
                    span = (max(sentence.start, chunk.start), min(sentence.end, chunk.end))
                    if span not in spans:
                        spans[span] = self._vector(raw[span[0]:span[1]])
                    rows.append(spans[span])
                keys.append(embed_key(self.model_name, passage_input(title, chunk.text)))
                passages.append(headline + np.sum(rows, axis=0))
                sentences.append(_normalized(np.stack(rows)))
            vectors = _normalized(np.stack(passages)) if passages else np.empty((0, self.dim), np.float32)
            out.append(dataclasses.replace(draft, embed_keys=tuple(keys), vectors=vectors, sentence_vectors=tuple(sentences)))
        return {"drafts": out, "embedded": sum(len(d.chunks) for d in drafts), "reused": 0}


def _normalized(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.ascontiguousarray(rows / np.where(norms == 0, 1, norms), dtype=np.float32)


# ---- building the archive ------------------------------------------------------------------------

def build(args: argparse.Namespace) -> dict[str, Any]:
    """Generate and index articles until the archive holds ``args.passages`` passages; the run's figures."""
    started = time.perf_counter()
    settings = Settings.from_env(index_type=args.index_type)
    options = settings.ingest_options()
    model = TextModel(tagged_sentences(options.model_cache_dir))
    with settings.open_store(args.out, writer=True) as store:
        cleaner, metadata = BoilerplateCleaner(), MetadataExtractor()
        dedupe = NearDuplicateClusterer(store, threshold=options.near_duplicate_threshold)
        chunker = SentenceChunker(max_tokens=options.max_tokens, overlap_tokens=options.overlap_tokens)
        entities = BenchGeneratedEntities()
        if args.vectors == "model":
            embedder: ChunkEmbedder | BenchHashedEmbedder = ChunkEmbedder(store, cache_dir=str(options.model_cache_dir), ray_address=options.ray_address,
                                                                          runs=options.embed_runs)
            embedder.warm_up()
        else:
            embedder = BenchHashedEmbedder(args.seed, store.dim)
        writer = ArticleWriter(store)
        setup = time.perf_counter() - started
        print(f"text model and store ready in {setup:.1f} s; generating {args.passages:,} passages into {args.out}", flush=True)

        articles = iter(ArchiveGenerator(model, args.seed, args.wire_copies))
        passages = written = copies = skipped = 0
        ingest_started = last_report = time.perf_counter()
        while passages < args.passages:
            batch, copy_ids = [], set()
            for article in (next(articles) for _ in range(args.batch)):
                text, found = article.render()
                batch.append(article_from_record(article.record(text), f"synth-archive:seed={args.seed}:{article.id}"))
                entities.known[article.id] = found
                if article.copy_of:
                    copy_ids.add(article.id)
            cleaned = cleaner.run(batch)
            skipped += len(cleaned["skipped"])
            drafts = chunker.run(dedupe.run(metadata.run(cleaned["drafts"])["drafts"])["drafts"])["drafts"]
            kept = []
            for draft in drafts:
                if passages >= args.passages:
                    break
                kept.append(draft)
                passages += len(draft.chunks)
            writer.run(embedder.run(kept)["drafts"], tagged=entities.run(kept)["drafts"])
            entities.known.clear()  # those of articles the cleaner skipped or the target cut off
            written += len(kept)
            copies += sum(d.article.id in copy_ids for d in kept)
            if time.perf_counter() - last_report > 10 or passages >= args.passages:
                last_report = time.perf_counter()
                elapsed = last_report - ingest_started
                print(f"  {written:,} articles, {passages:,} passages, {elapsed:.0f} s, {passages / elapsed:.0f} passages/s", flush=True)
        faiss_started = time.perf_counter()
        store.save_vectors()
        faiss_seconds = time.perf_counter() - faiss_started
        seconds = time.perf_counter() - ingest_started
        counts = store.counts()
        n_entities = store.db.query("SELECT count(*) FROM entities")[0][0]
        multi = store.db.query("SELECT count(*), coalesce(sum(n), 0) FROM "
                               "(SELECT count(*) AS n FROM articles GROUP BY cluster_id HAVING n > 1)")[0]
    files = {str(p.relative_to(args.out)): p.stat().st_size for p in sorted(args.out.rglob("*")) if p.is_file()}
    return {"passages_target": args.passages, "seed": args.seed, "vectors_kind": args.vectors, "index_type": args.index_type,
            "batch": args.batch, "wire_copy_share": args.wire_copies, "articles": counts.articles, "wire_copies": copies,
            "skipped": skipped, "clusters": counts.clusters, "clusters_of_copies": multi[0], "articles_in_clusters_of_copies": multi[1],
            "passages": counts.chunks, "sentences": counts.sentences, "vectors": counts.vectors, "entities": n_entities,
            "setup_seconds": round(setup, 2), "seconds": round(seconds, 2), "faiss_seconds": round(faiss_seconds, 2),
            "passages_per_s": round(counts.chunks / seconds, 1), "database_bytes": sum(v for k, v in files.items() if ".sqlite" in k),
            "data_dir_bytes": sum(files.values()), "files": files}


def write_questions(path: Path, n: int, seed: int) -> None:
    """``n`` XQuAD questions, shuffled by ``seed`` and cycled, each asked at a date drawn from the archive's range."""
    rng = random.Random(f"questions-{seed}")
    questions = [qa["question"] for article in json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
                 for paragraph in article["paragraphs"] for qa in paragraph["qas"]]
    rng.shuffle(questions)
    days = (LAST_DAY.date() - FIRST_DAY.date()).days
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            as_of = FIRST_DAY.date() + dt.timedelta(days=rng.randint(0, days))
            out.write(json.dumps({"question": questions[i % len(questions)], "as_of": as_of.isoformat()}) + "\n")


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, required=True, help="passages (chunks) to reach; no article is added after")
    parser.add_argument("--out", type=Path, required=True, help="the data folder to create (must be missing or empty)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vectors", choices=("model", "hashed"), default="hashed",
                        help="`model`: the real embedding model; `hashed`: a hashing-trick stand-in (latency only, not quality)")
    parser.add_argument("--index-type", choices=("flat", "hnsw", "ivfpq"), default="flat", help="FAISS index built at the end")
    parser.add_argument("--questions-out", type=Path, help="write questions (JSON Lines: question, as_of) here")
    parser.add_argument("--questions", type=int, default=200, help="how many questions --questions-out gets")
    parser.add_argument("--batch", type=int, default=200, help="articles per committed write")
    parser.add_argument("--wire-copies", type=float, default=0.1, help="share of articles that are wire copies of recent ones")
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to bench/results")
    args = parser.parse_args(argv)
    if args.passages < 1 or args.batch < 1:
        parser.error("--passages and --batch must be at least 1")
    if not 0 <= args.wire_copies < 1:
        parser.error("--wire-copies must be in [0, 1)")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"--out {args.out} is not an empty folder; refusing to add to it")

    summary = build(args)
    if args.questions_out:
        write_questions(args.questions_out, args.questions, args.seed)
        summary["questions_file"] = str(args.questions_out)
    summary["data_dir"] = str(args.out)
    print(f"{summary['articles']:,} articles ({summary['wire_copies']:,} wire copies; {summary['clusters']:,} clusters, "
          f"{summary['clusters_of_copies']:,} of them of 2+ articles), "
          f"{summary['passages']:,} passages, {summary['sentences']:,} sentences, {summary['vectors']:,} vectors, "
          f"{summary['entities']:,} entities in {summary['seconds']:.1f} s (+{summary['setup_seconds']:.1f} s setup): "
          f"{summary['passages_per_s']:.0f} passages/s; database {summary['database_bytes'] / 2**20:.0f} MiB, "
          f"folder {summary['data_dir_bytes'] / 2**20:.0f} MiB")
    if not args.no_write:
        from report import machine

        append_result(RESULTS, {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(), **summary})
        print(f"appended to {RESULTS.relative_to(ROOT)}")
    return summary


if __name__ == "__main__":
    main()

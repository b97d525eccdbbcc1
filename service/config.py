"""All configuration in one typed place: ``NEWSDESK_*`` environment variables.

Every setting is declared once in :data:`SETTINGS` with its type, default and help; the
README's table is checked against this registry by a test, so neither can drift.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limits import parse_many
from newsdesk.index.embed import PRECISIONS, Embedder, model_identity, precision_of
from newsdesk.index.fetch import FetchOptions
from newsdesk.index.options import IngestOptions
from newsdesk.index.store import VECTOR_STORAGES, ArticleStore, WriteStore
from newsdesk.index.vectors import IndexParams

from .errors import ConfigError

__all__ = ["PREFIX", "LLMSettings", "Settings", "settings_table"]

PREFIX = "NEWSDESK_"


@dataclass(frozen=True)
class LLMSettings:
    """The LLM connection, derived from :class:`Settings` (``Settings.llm``)."""

    base_url: str
    model: str
    api_key: str
    timeout: float
    max_tokens: int


def _setting(default: Any, help: str, choices: tuple[str, ...] | None = None, minimum: float | None = None) -> Any:
    return field(default=default, metadata={"help": help, "choices": choices, "minimum": minimum})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _setting(Path("data"), "Folder holding the index (SQLite database and FAISS files), and the conversations.")
    database_replica_urls: str = _setting("", "Comma-separated streaming replicas of NEWSDESK_DATABASE_URL's database: a serving process reads from them in turn and writes to the primary; one that is down or behind the newest generation is passed over with a warning in the log, never an error to the reader.")
    database_url: str = _setting("", "PostgreSQL database holding the index instead (`postgresql://user:password@host:port/db`; pgvector installed or installable; docs/architecture.md); empty: the embedded SQLite + FAISS index in NEWSDESK_DATA_DIR. The password is never logged.")
    index_type: str = _setting("flat", "FAISS index: `flat` (exact), `hnsw` or `ivfpq` (large archives).", ("flat", "hnsw", "ivfpq"))
    hnsw_m: int = _setting(32, "HNSW: graph neighbours per vector (applies when the index is next built; memory grows with it).", minimum=2)
    hnsw_ef_construction: int = _setting(80, "HNSW: candidates while linking a vector (build time against graph quality; applies at the next build).", minimum=1)
    hnsw_ef_search: int = _setting(128, "HNSW: candidates while searching: recall against latency (applies at once; measured in docs/benchmarks.md).", minimum=1)
    ivf_nlist: int = _setting(0, "IVF-PQ: inverted lists (applies at the next build); 0: 4·√N, at most N/39.", minimum=0)
    ivf_pq_m: int = _setting(48, "IVF-PQ: product-quantiser sub-vectors of 8 bits each (a divisor of 384; applies at the next build).", minimum=1)
    ivf_nprobe: int = _setting(0, "IVF-PQ: lists searched per query: recall against latency (applies at once); 0: nlist/16, at least 8.", minimum=0)
    ivf_refine: int = _setting(0, "IVF-PQ: re-rank the k x this many best PQ hits by inner product with float16 copies of the vectors kept beside the codes (half of Flat's memory; applies at the next build; a deletion then rebuilds); 0: no re-ranking.", minimum=0)
    vector_storage: str = _setting("float16", "How a new index keeps its vectors in SQLite: `float16` (half the bytes; retrieval quality in docs/benchmarks.md) or `float32`. An existing index keeps the one it was built with.", VECTOR_STORAGES)
    search_threads: int = _setting(1, "OpenMP threads of FAISS in a process that answers questions. One query's search is memory-bound: a second thread made it 10 times slower on a busy 2-core machine (docs/benchmarks.md); concurrent requests use the cores instead.", minimum=1)
    chunk_tokens: int = _setting(192, "Largest chunk, in cl100k_base tokens.", minimum=16)
    chunk_overlap_tokens: int = _setting(48, "Whole sentences up to this many tokens are repeated at the start of the next chunk.", minimum=0)
    near_duplicate_threshold: float = _setting(0.8, "Estimated Jaccard similarity (MinHash, 5-word shingles) above which two articles are copies of one story.", minimum=0.01)
    embed_threads: int = _setting(0, "Threads of the embedding model in each process (ONNX Runtime); 0: one per core, and `newsdesk serve` gives each worker its share of the cores.", minimum=0)
    embed_precision: str = _setting("int8", "Embedding model weights for a new index, run by ONNX Runtime: `int8-attention` (dynamic quantisation of every matrix product, attention's too), `int8` (all but attention's: the model 1.8 times as fast as fp32) or `fp32`; speed and retrieval quality in docs/benchmarks.md. An existing index keeps the precision it was built with.", PRECISIONS)
    model_cache_dir: Path = _setting(Path("~/.cache/newsdesk"), "Folder where the embedding model's ONNX files are built from the bundled weights on first use (a few seconds, once).")
    ingest_embed_runs: int = _setting(0, "Texts the embedding model runs at once during ingest, each on one thread at a lower priority than the entity tagger beside it; 0: one per core.", minimum=0)
    ner_batch_size: int = _setting(256, "Sentences per batch of the entity tagger (spaCy `en_core_web_sm`, NER only) at ingest.", minimum=1)
    ingest_batch_articles: int = _setting(256, "Most articles per committed write during ingest.", minimum=1)
    ingest_batch_chars: int = _setting(200_000, "Most characters of article text per committed write (one batch is embedded together).", minimum=1)
    ray_address: str = _setting("", "Ray cluster (`host:port` of its head) whose nodes embed the passages of `newsdesk ingest` as Ray Data tasks (`newsdesk ingest --ray` sets it for one run); every node needs Newsdesk installed; empty: the ingesting process embeds.")
    max_article_bytes: int = _setting(5 * 1024 * 1024, "Largest article (a file, or one JSON line) accepted; larger ones are skipped with a reason.", minimum=1)
    fetch_user_agent: str = _setting("Newsdesk/0.1 (news archive indexer)", "User-Agent of every request `newsdesk ingest URL` makes (pages, feeds, sitemaps, robots.txt).")
    fetch_timeout: float = _setting(10.0, "Seconds a fetched page may take: per request, and in all for one page.", minimum=0.1)
    fetch_interval: float = _setting(1.0, "Least seconds between two requests to one host (a larger robots.txt `Crawl-delay` wins).", minimum=0.0)
    fetch_max_redirects: int = _setting(5, "Most redirects followed for one URL.", minimum=0)
    fetch_robots: bool = _setting(True, "Obey each host's robots.txt.")
    fetch_max_feed_items: int = _setting(1000, "Most item pages fetched from one feed or sitemap.", minimum=1)
    fusion: str = _setting("convex", "How BM25 and dense rankings are fused: `convex` (0.4 BM25 + 0.6 dense, min-max scaled; measured best, see docs/benchmarks.md) or `rrf` (reciprocal rank).", ("rrf", "convex"))
    retrieval_candidates: int = _setting(50, "Passages each retriever returns before fusion.", minimum=1)
    top_k: int = _setting(5, "Passages an answer is drawn from (the `top_k` of /ask).", minimum=1)
    abstain_below: float = _setting(0.14, "Probability (the fitted answer scorer's) under which the extractive answerer abstains; the default is the threshold `bench/fit_scorer.py` set on held-out folds (see docs/benchmarks.md).", minimum=0.0)
    llm_base_url: str = _setting("", "OpenAI-compatible server for LLM mode (e.g. http://127.0.0.1:8011/v1); empty: extractive only.")
    llm_model: str = _setting("", "Model name sent to the LLM server.")
    llm_api_key: str = _setting("", "API key for the LLM server (never logged); empty for local servers.")
    llm_timeout: float = _setting(30.0, "Seconds to wait for the LLM before answering extractively.", minimum=0.1)
    llm_max_tokens: int = _setting(300, "Longest LLM answer, in tokens.", minimum=1)
    host: str = _setting("127.0.0.1", "Address `newsdesk serve` listens on.")
    port: int = _setting(8080, "Port `newsdesk serve` listens on.", minimum=1)
    workers: int = _setting(2, "gunicorn worker processes (each loads the model).", minimum=1)
    threads: int = _setting(4, "Threads per worker.", minimum=1)
    max_request_bytes: int = _setting(64 * 1024, "Largest request body accepted (413 above it).", minimum=256)
    cors_origins: str = _setting("", "Comma-separated origins (e.g. `https://news.example`) whose pages may embed the widget and call the API from the browser; empty: none but this service itself.")
    conversation_ttl_seconds: int = _setting(86_400, "Seconds a conversation is kept after its last turn; older ones are forgotten.", minimum=1)
    conversation_max_turns: int = _setting(10, "Turns kept per conversation: each turn beyond deletes the oldest (a follow-up leans on the last 3 at most).", minimum=1)
    conversation_answer_chars: int = _setting(1000, "Characters of an answer kept with its turn (shown when the LLM rewrites the next follow-up); longer ones are cut at a word.", minimum=50)
    followup_context_chars: int = _setting(1000, "Most characters of earlier questions a follow-up is searched with (newest first, from the last 3 turns), however long the conversation.", minimum=50)
    read_requires_key: bool = _setting(False, "Require an API key (any scope) for the read endpoints: /ask, /ask/stream, /v1/*, GET /articles, /passages. Writes always need a `write` key (`newsdesk keys create`).")
    rate_limit_per_address: str = _setting("600 per minute", "Requests one client address may make without a valid API key, all endpoints together (e.g. `10 per second;600 per minute`; empty: no limit). 429 with Retry-After beyond it.")
    rate_limit_per_key: str = _setting("1200 per minute", "Requests one API key may make, all endpoints together (same notation; empty: no limit).")
    rate_limit_writes: str = _setting("60 per minute", "POST and DELETE /articles requests one API key may make, on top of its overall limit (same notation; empty: no limit).")
    rate_limit_storage: str = _setting("memory://", "Where rate-limit counts live: `memory://` (each worker process counts alone, so a client may get up to NEWSDESK_WORKERS times a limit) or a store the workers share, e.g. `redis://127.0.0.1:6379` (install its client package).")
    max_upload_bytes: int = _setting(64 * 1024 * 1024, "Largest POST /articles body (JSON, JSON Lines or a page); each article in it is still held to NEWSDESK_MAX_ARTICLE_BYTES.", minimum=256)
    write_job_bytes: int = _setting(256 * 1024, "POST /articles bodies larger than this are indexed by a background job (202; progress at `GET /jobs/ID`); smaller ones within the request.", minimum=0)
    write_lock_wait_seconds: float = _setting(10.0, "Seconds a POST or DELETE /articles waits for the index's writer lock while another process (`newsdesk ingest`) holds it, before answering 503 with Retry-After.", minimum=0.0)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> "Settings":
        """Defaults, then ``NEWSDESK_*`` variables, then explicit overrides (tests)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = PREFIX + f.name.upper()
            if f.name in overrides:
                values[f.name] = overrides[f.name]
            elif name in environ:
                values[f.name] = _parse(name, environ[name], f)
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        return tuple(o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip())

    @property
    def llm(self) -> LLMSettings | None:
        """The LLM connection, or ``None`` when LLM mode is not configured."""
        if not self.llm_base_url:
            return None
        return LLMSettings(self.llm_base_url, self.llm_model or "default", self.llm_api_key, self.llm_timeout, self.llm_max_tokens)

    def ingest_options(self) -> IngestOptions:
        return IngestOptions(max_tokens=self.chunk_tokens, overlap_tokens=self.chunk_overlap_tokens,
                             near_duplicate_threshold=self.near_duplicate_threshold, model_cache_dir=self.model_cache_dir.expanduser(),
                             ner_batch_size=self.ner_batch_size, embed_runs=self.ingest_embed_runs or _cores(),
                             batch_articles=self.ingest_batch_articles, batch_chars=self.ingest_batch_chars,
                             max_article_bytes=self.max_article_bytes, ray_address=self.ray_address)

    def fetch_options(self) -> FetchOptions:
        return FetchOptions(user_agent=self.fetch_user_agent, timeout_seconds=self.fetch_timeout, max_bytes=self.max_article_bytes,
                            max_redirects=self.fetch_max_redirects, min_interval_seconds=self.fetch_interval,
                            respect_robots=self.fetch_robots, max_feed_items=self.fetch_max_feed_items)

    def open_store(self, data_dir: Path | None = None, *, writer: bool = False) -> WriteStore:
        """The index, read-only unless ``writer``: in PostgreSQL when ``database_url`` is set, else under ``data_dir``
        (default: ``data_dir`` of these settings)."""
        if self.database_url:
            from newsdesk.index.store.postgres import PostgresStore  # psycopg: only when the index is in PostgreSQL

            replicas = [u.strip() for u in self.database_replica_urls.split(",") if u.strip()]
            return PostgresStore(self.database_url, data_dir=data_dir or self.data_dir, writer=writer, replica_urls=replicas,
                                 model_name=model_identity(self.embed_precision),
                                 index_params=self.index_params(), vector_storage=self.vector_storage)
        return ArticleStore(data_dir or self.data_dir, index_type=self.index_type, writer=writer,
                            model_name=model_identity(self.embed_precision), index_params=self.index_params(),
                            vector_storage=self.vector_storage)

    def index_params(self) -> IndexParams:
        """How the approximate FAISS index types are built and searched."""
        return IndexParams(**{f.name: getattr(self, f.name) for f in dataclasses.fields(IndexParams)})

    def embedder(self, store: WriteStore | None = None) -> Embedder:
        """The embedding model ``store`` was built with, to embed its queries (without one: a new index's)."""
        precision = precision_of(store.model_name) if store is not None else self.embed_precision
        return Embedder(precision=precision, cache_dir=self.model_cache_dir.expanduser(), threads=self.embed_threads or None)

    def for_worker(self) -> "Settings":
        """These settings in one of ``workers`` server processes: its share of the cores for the model, unless set."""
        share = max(1, _cores() // self.workers)
        return self if self.embed_threads else dataclasses.replace(self, embed_threads=share)

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            value, meta = getattr(self, f.name), f.metadata
            if meta.get("choices") and value not in meta["choices"]:
                raise ConfigError(f"{PREFIX}{f.name.upper()}={value!r}: choose one of {', '.join(meta['choices'])}")
            if meta.get("minimum") is not None and value < meta["minimum"]:
                raise ConfigError(f"{PREFIX}{f.name.upper()}={value!r}: must be at least {meta['minimum']}")
        if self.chunk_overlap_tokens >= self.chunk_tokens:
            raise ConfigError(f"{PREFIX}CHUNK_OVERLAP_TOKENS must be smaller than {PREFIX}CHUNK_TOKENS")
        for origin in self.allowed_origins:
            if not (origin.startswith(("http://", "https://")) and origin.count("/") == 2):
                raise ConfigError(f"{PREFIX}CORS_ORIGINS: {origin!r} is not an origin such as https://news.example")
        for name, url in (("database_url", self.database_url), *(("database_replica_urls", u.strip()) for u in self.database_replica_urls.split(","))):
            if url and not url.startswith(("postgresql://", "postgres://")):
                from newsdesk.index.store.postgres import redact

                raise ConfigError(f"{PREFIX}{name.upper()}: {redact(url)} is not a PostgreSQL URL (postgresql://user@host:port/database)")
        if self.database_replica_urls.strip() and not self.database_url:
            raise ConfigError(f"{PREFIX}DATABASE_REPLICA_URLS needs {PREFIX}DATABASE_URL: replicas are read beside a primary")
        if self.near_duplicate_threshold > 1:
            raise ConfigError(f"{PREFIX}NEAR_DUPLICATE_THRESHOLD must be at most 1")
        for name in ("rate_limit_per_address", "rate_limit_per_key", "rate_limit_writes"):
            value = getattr(self, name)
            try:
                if value.strip():
                    parse_many(value)
            except ValueError:
                raise ConfigError(f"{PREFIX}{name.upper()}={value!r} is not a rate limit such as '600 per minute' "
                                  "or '10/second;600/minute'") from None


def _parse(name: str, raw: str, f: dataclasses.Field) -> Any:
    kind = f.type if isinstance(f.type, type) else {"Path": Path, "str": str, "int": int, "float": float, "bool": bool}[str(f.type)]
    try:
        if kind is bool:
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from exc


def settings_table() -> list[tuple[str, str, str]]:
    """``(variable, default, help)`` for every setting: the README documents exactly these."""
    return [(PREFIX + f.name.upper(), str(f.default).lower() if isinstance(f.default, bool) else str(f.default), f.metadata["help"])
            for f in dataclasses.fields(Settings)]


def _cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1

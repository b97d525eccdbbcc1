"""The two sides of a store: the handful of calls the query side makes (:class:`ReadStore`), and the
calls ingestion adds (:class:`WriteStore`).

The embedded SQLite + FAISS store implements both; the store on PostgreSQL + pgvector
(:mod:`.postgres`) implements the same calls and passes the same contract tests
(``tests/index/store/test_contract.py``), so neither side knows which it uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ..entities import Entity
from ..records import Draft, RowIds, Sentence, StoredArticle, StoredPassage
from .reads import ArticleSummary, IndexCounts
from .writes import WriteResult

__all__ = ["ReadStore", "WriteStore"]


@runtime_checkable
class ReadStore(Protocol):
    model_name: str  # the embedding model the index was built with (``index.embed.model_identity``)

    @property
    def generation(self) -> int:
        """The last committed write; it changes whenever what a search can find changes."""

    def counts(self) -> IndexCounts:
        """How much is indexed, and at which generation."""

    def close(self) -> None:
        """Release the connection (and a writer's lock)."""

    def article(self, article_id: str) -> StoredArticle | None:
        """The stored original (every citation points into its ``raw_text``), or ``None``."""

    def list_articles(self, limit: int, after: str | None = None, publishers: Sequence[str] | None = None,
                      published_from: str | None = None, published_to: str | None = None) -> list[ArticleSummary]:
        """Up to ``limit`` articles (metadata, no text) in id order after the id ``after``, filtered as ``rowids_where``."""

    def sentences(self, article_id: str) -> list[Sentence]:
        """The article's sentences in order (empty for an unknown article)."""

    def entities(self, article_id: str, start: int = 0, end: int | None = None) -> list[Entity]:
        """The named entities, numbers and dates of the article's sentences, by start (empty for an unknown
        article, or one stored before entities were and not yet tagged); each ``text`` is ``raw_text[start:end]``.
        With ``start``/``end``: only those beginning inside ``[start, end)``."""

    def sentence_vectors(self, rowid: int) -> np.ndarray:
        """One passage's sentences' in-context vectors, ``float32[n_sentences, dim]``, in order."""

    def passages(self, rowids: Iterable[int]) -> dict[int, StoredPassage]:
        """Passages by row id; unknown ids are absent."""

    def passage(self, chunk_id: str) -> StoredPassage | None:
        """One passage by its chunk id."""

    def cluster_members(self, cluster_id: str) -> list[str]:
        """The article ids of one near-duplicate cluster, the canonical copy first."""

    def clusters(self, cluster_ids: Iterable[str]) -> dict[str, list[str]]:
        """:meth:`cluster_members` of many clusters in one read; unknown clusters are absent."""

    def rowids_where(self, publishers: Sequence[str] | None = None, published_from: str | None = None,
                     published_to: str | None = None, stories: Sequence[str] | None = None,
                     known_by: str | None = None) -> RowIds:
        """The passages of the articles matching every given condition (undated articles: no date
        range matches them; ``known_by`` keeps them)."""

    def newest_published(self) -> str | None:
        """The latest publication date in the archive (ISO date), or ``None``."""

    def bm25_search(self, query: str, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Top ``(rowid, score)`` by BM25, best first; scores positive."""

    def database_bytes(self) -> int:
        """The size of the database, so that a server opening it knows what a full check of its pages costs."""

    def check_pages(self) -> None:
        """Raise :class:`~newsdesk.index.errors.IndexDamaged` unless the database's pages are sound."""

    def dense_search(self, query_vector: np.ndarray, k: int, allowed: RowIds | None = None) -> list[tuple[int, float]]:
        """Top ``(rowid, cosine)`` by the passage's or its best sentence's vector, best first."""

    def warm_up(self) -> None:
        """Load what the first search would, so that a server is ready only once it answers at full speed."""


@runtime_checkable
class WriteStore(ReadStore, Protocol):
    """A store opened to write (``writer=True``): what the ingest pipeline and the write API call."""

    data_dir: Path  # where the node keeps what is not the index (conversations); the index itself for SQLite
    index_type: str

    @property
    def writer(self) -> bool:
        """Whether this store holds the one writer's lock."""

    def article_hash(self, article_id: str) -> str | None:
        """The stored content hash of an article, or ``None``: an unchanged re-ingest stops on it."""

    def cached_vectors(self, keys: Iterable[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``(passage, sentences)`` vectors already computed for these embedding inputs."""

    def lsh_candidates(self, bands: Sequence[tuple[int, int]]) -> list[tuple[str, bytes, str]]:
        """Articles sharing a MinHash band with a new one: ``(id, minhash, cluster_id)``."""

    def write(self, drafts: Sequence[Draft]) -> WriteResult:
        """Insert or replace these articles in one transaction that bumps the generation."""

    def write_entities(self, found: Mapping[str, Sequence[Entity]]) -> int:
        """Store the entities of articles listed by :meth:`untagged_articles`; returns the generation."""

    def untagged_articles(self, limit: int) -> list[str]:
        """Articles stored before entities were, oldest first."""

    def delete(self, article_id: str) -> bool:
        """Remove one article in one transaction; ``False`` if unknown."""

    def save_vectors(self) -> object:
        """Make the committed vectors durable for readers (FAISS files; nothing to do where the database indexes them)."""

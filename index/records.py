"""The records that flow through ingestion and out of the store.

Every span is an offset into the raw article text, counted in Unicode code points
(Python ``str`` indices): ``raw_text[start:end]`` is always the record's text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np

from .entities import Entity


class SharedRecord:
    """Frozen records are shared, never copied: Haystack deep-copies every input it passes
    between components, which for a batch of drafts meant a million needless copies."""

    def __deepcopy__(self, memo: dict) -> "SharedRecord":
        return self


class RowIds(AbstractSet[int]):
    """Passage row ids: the passages a query may look at (:meth:`~.store.ArticleStore.rowids_where`).

    A sorted NumPy array behind a read-only set: made from a filter's array in one step (a Python set
    of the 50k ids of a 100k-passage archive's ``as_of`` filter cost 5 ms a question), a member test
    is a binary search, and Haystack's copy of each component input shares it whole (it copied a set
    element by element: over a second a question for ten thousand ids).
    """

    __slots__ = ("_ids",)

    def __init__(self, ids: Iterable[int] | np.ndarray = ()) -> None:
        array = (ids if isinstance(ids, np.ndarray) else np.fromiter(ids, dtype=np.int64)).astype(np.int64, copy=False)
        if len(array) > 1000 and array.min() >= 0:  # sorted through a table of flags: linear, 20x faster than a sort at 50k
            flags = np.zeros(int(array.max()) + 1, dtype=bool)
            flags[array] = True
            self._ids = np.flatnonzero(flags).astype(np.int64)
        else:
            self._ids = np.unique(array)

    def __contains__(self, rowid: object) -> bool:
        if not isinstance(rowid, (int, np.integer)):
            return False
        at = int(np.searchsorted(self._ids, rowid))
        return at < len(self._ids) and int(self._ids[at]) == rowid

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids.tolist())

    def __len__(self) -> int:
        return len(self._ids)

    def __deepcopy__(self, memo: dict) -> "RowIds":
        return self

    def __repr__(self) -> str:
        return f"RowIds({len(self)} ids)"

    def array(self) -> np.ndarray:
        """The ids, sorted (not to be modified)."""
        return self._ids

    def isin(self, rowids: np.ndarray) -> np.ndarray:
        """A boolean mask: which of ``rowids`` are members (one binary search for all of them)."""
        if not len(self._ids):
            return np.zeros(len(rowids), dtype=bool)
        at = np.minimum(np.searchsorted(self._ids, rowids), len(self._ids) - 1)
        return self._ids[at] == rowids


@dataclass(frozen=True)
class Span(SharedRecord):
    """A half-open character range ``[start, end)`` of an article's raw text."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")

    def __len__(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Metadata(SharedRecord):
    """What an article states about itself; ``None`` means the article does not say."""

    title: str | None = None
    publisher: str | None = None
    published_at: str | None = None  # ISO 8601 date, or date-time in UTC (see index/dates.py)
    url: str | None = None
    author: str | None = None
    updated_at: str | None = None  # as published_at
    fetched_at: str | None = None  # UTC date-time a web page was fetched (None for files)


@dataclass(frozen=True)
class RawArticle(SharedRecord):
    """An article exactly as read: ``raw_text`` is never modified after this point.

    ``source_text`` is the file content the text was read from (the HTML markup for
    HTML files, otherwise identical to ``raw_text``); ``stated`` holds metadata that the
    source declares in structured form (JSON Lines fields, HTML meta tags). ``warnings``
    name fields that were dropped (an unparseable date): a bad field costs that field,
    never the article.
    """

    id: str
    raw_text: str
    source: str
    format: str
    source_text: str | None = None
    stated: Metadata = field(default_factory=Metadata)
    warnings: tuple[str, ...] = ()

    @property
    def content_hash(self) -> str:
        return content_hash(self.raw_text)


def content_hash(text: str) -> str:
    """The identity of an article's content: equal hashes mean an exact re-ingest."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Sentence(SharedRecord):
    seq: int
    start: int
    end: int
    text: str  # always raw_text[start:end]


@dataclass(frozen=True)
class Chunk(SharedRecord):
    """A token window of consecutive kept sentences; never spans removed boilerplate."""

    id: str
    seq: int
    start: int
    end: int
    text: str  # always raw_text[start:end]
    first_sentence: int
    last_sentence: int
    n_tokens: int


@dataclass(frozen=True)
class Draft(SharedRecord):
    """An article on its way through the ingestion pipeline; each stage fills a field.

    Stages return new drafts (``dataclasses.replace``) and never mutate their input.
    """

    article: RawArticle
    kept: tuple[Span, ...] = ()
    removed: tuple[tuple[Span, str], ...] = ()
    metadata: Metadata = field(default_factory=Metadata)
    minhash: tuple[int, ...] = ()
    bands: tuple[tuple[int, int], ...] = ()  # MinHash LSH band keys, to find near-duplicates later
    duplicate_of: str | None = None  # canonical article id of its near-duplicate cluster
    sentences: tuple[Sentence, ...] = ()
    entities: tuple[Entity, ...] = ()  # of the sentences, in text order; stored with the article
    chunks: tuple[Chunk, ...] = ()
    embed_keys: tuple[str, ...] = ()  # one per chunk: the identity of the text that was embedded
    vectors: object = None  # numpy float32 array, one row per chunk
    sentence_vectors: tuple = ()  # per chunk, one row per sentence of the chunk (late chunking)
    reused_vectors: int = 0


@dataclass(frozen=True)
class Skipped(SharedRecord):
    """An input that was not indexed, and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class FieldWarning(SharedRecord):
    """An input that was indexed without one of its fields, and why."""

    source: str
    message: str


@dataclass(frozen=True)
class StoredArticle(SharedRecord):
    """An article as the store holds it: the original text every citation points into."""

    id: str
    content_hash: str
    raw_text: str
    source_text: str  # the file as read (HTML markup for pages); equal to raw_text otherwise
    source: str
    format: str
    title: str | None
    publisher: str | None
    published_at: str | None
    url: str | None
    cluster_id: str  # the canonical article id of its near-duplicate cluster
    removed: tuple[tuple[int, int, str], ...]  # boilerplate spans ``(start, end, reason)``
    ingested_seq: int
    ingested_at: str
    author: str | None = None
    updated_at: str | None = None
    fetched_at: str | None = None


@dataclass(frozen=True)
class StoredPassage(SharedRecord):
    """A stored chunk with what the query side needs of its article (one row, one read)."""

    rowid: int  # the FAISS id's chunk part; never reused
    chunk_id: str
    article_id: str
    seq: int
    start: int
    end: int
    text: str  # always raw_text[start:end]
    first_sentence: int
    last_sentence: int
    n_tokens: int
    title: str | None
    publisher: str | None
    published_at: str | None
    url: str | None
    cluster_id: str

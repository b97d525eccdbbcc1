"""BM25 over Tantivy: the lexical index's life, derived from SQLite like the FAISS files.

Why Tantivy (Lucene's design in Rust, its project's own Python bindings) and not SQLite's FTS5, which this
index used before: FTS5 scores every passage that holds any term of a question, so its cost grows with the
archive (100k passages: 18.5 ms a question, 58 % of ``/ask``); Tantivy's top-k skips blocks that cannot
enter the top (0.3 ms on the same questions), and indexes 100k passages in under 3 s.

SQLite holds every chunk's text, so the folder ``lexical/`` is derived state: the writer adds and removes
a write's chunks right after SQLite commits it, then records the generation it reached in
``lexical/newsdesk.json``. A crash between the two commits leaves that record behind the database; a writer
that opens the index then rebuilds the folder from SQLite (100k passages: seconds). Until then readers search
what the folder holds: a chunk gone from SQLite is skipped when its passage is read, a newer one is found by
the dense side only. A folder that is missing, damaged or another index's is rebuilt by the writer and
built in memory by a reader that finds none.

Analysis: Tantivy's simple tokenizer (runs of letters and digits), lower case, accents folded to ASCII,
Snowball English stems (the stemmer :func:`~newsdesk.index.text.content_terms` uses); BM25 with k1 1.2, b 0.75.
A passage is indexed as one field, its headline then its text: two fields (Tantivy weighs each term by its
frequency in each field, so a word rare among headlines outweighed the text) scored SciFact's BM25-only
nDCG@10 0.654 against 0.679 for one field and 0.684 for FTS5's two columns (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import tantivy

from ..records import RowIds
from .database import Database

__all__ = ["ANALYZER_NAME", "LEXICAL_DIR", "LexicalFiles"]

logger = logging.getLogger(__name__)

LEXICAL_DIR = "lexical"
ANALYZER_NAME = "news_en"
_ANALYZER_VERSION = "headline+text|simple|remove_long40|lowercase|ascii_fold|snowball_english|v1"  # a change rebuilds every folder
_MARKER = "newsdesk.json"
_WRITER_HEAP = 128_000_000
_TERM_SET_SQUARED = 100  # a filter of n row ids goes inside the search while n² < this × the archive's passages (bm25_hits)


def _analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold()).filter(tantivy.Filter.stemmer("english")).build())


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("rowid", indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name=ANALYZER_NAME, index_option="freq")
    return builder.build()


_ANALYZER = _analyzer()
_SCHEMA = _schema()


class LexicalFiles:
    """Keeps the Tantivy index at the committed generation (see module doc)."""

    db: Database
    data_dir: Path
    _lexical: tantivy.Index | None
    _lexical_writer: tantivy.IndexWriter | None
    _lexical_in_memory: bool  # built in memory by a reader that found no usable folder
    _lexical_seen: tuple[int, int] | None  # the marker's (inode, mtime) the searcher is of
    _lexical_searcher: tantivy.Searcher | None

    @property
    def _lexical_path(self) -> Path:
        return self.data_dir / LEXICAL_DIR

    def _lexical_marker(self) -> dict | None:
        try:
            return json.loads((self._lexical_path / _MARKER).read_text())
        except (OSError, ValueError):
            return None

    def lexical_generation(self) -> int | None:
        """The generation the folder was last brought to, or ``None`` if it is missing or not this index's."""
        marker = self._lexical_marker()
        if not marker or marker.get("index_id") != self.db.meta("index_id") or marker.get("analyzer") != _ANALYZER_VERSION:
            return None
        return int(marker["generation"])

    def _write_lexical_marker(self, generation: int) -> None:
        path = self._lexical_path / _MARKER
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            json.dump({"generation": generation, "index_id": self.db.meta("index_id"), "analyzer": _ANALYZER_VERSION}, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def repair_lexical(self, force: bool = False) -> bool:
        """(Writer) Rebuild the folder from SQLite unless it is at the committed generation (``force``: even then,
        as ``bench/bm25.py`` times it); ``True`` if rebuilt."""
        with self.db.lock:
            if self.lexical_generation() == self.db.generation and not force:
                return False
            logger.info("BM25 index in %s is behind the database or missing: rebuilding it from SQLite", self._lexical_path)
            self._close_lexical()
            shutil.rmtree(self._lexical_path, ignore_errors=True)
            self._lexical_path.mkdir(parents=True)
            self._lexical_writer = self._build_lexical(self._lexical_path)
            self._write_lexical_marker(self.db.generation)
            return True

    def _build_lexical(self, path: Path | None) -> tantivy.IndexWriter:
        """A new index at ``path`` (``None``: in memory) holding every chunk, committed; its writer."""
        writer = self._writer_of(self._open_lexical(path))
        _add_rows(writer, self._chunk_rows())
        writer.commit()
        return writer

    def _chunk_rows(self, rowids: Sequence[int] | None = None) -> Iterable[tuple[int, str, str]]:
        sql = "SELECT c.rowid, coalesce(a.title, ''), c.text FROM chunks c JOIN articles a ON a.id = c.article_id"
        if rowids is None:
            yield from self.db.connection.execute(sql)  # streamed: a million passages' text is never in memory at once
            return
        for at in range(0, len(rowids), 500):
            part = rowids[at:at + 500]
            yield from self.db.connection.execute(f"{sql} WHERE c.rowid IN ({','.join('?' * len(part))})", part)

    def _open_lexical(self, path: Path | None) -> tantivy.Index:
        index = tantivy.Index(_SCHEMA, path=str(path) if path else None, reuse=True)
        index.register_tokenizer(ANALYZER_NAME, _ANALYZER)
        index.config_reader("Manual")
        self._lexical = index
        self._lexical_in_memory = path is None
        self._lexical_seen = None
        self._lexical_searcher = None
        return index

    def _writer_of(self, index: tantivy.Index) -> tantivy.IndexWriter:
        return index.writer(_WRITER_HEAP, 1)

    def index_lexical(self, added: Sequence[int], removed: Sequence[int], generation: int) -> None:
        """(Writer) Bring the folder to ``generation``, just committed in SQLite: index the chunks ``added``,
        drop those ``removed`` (row ids). A failure here loses nothing: the next writer rebuilds the folder."""
        with self.db.lock:
            if self.lexical_generation() != generation - 1:
                self.repair_lexical()  # behind by more than this write: rebuilt whole, this write included
                return
            try:
                if self._lexical is None or self._lexical_writer is None:
                    self._lexical_writer = self._writer_of(self._lexical or self._open_lexical(self._lexical_path))
                writer = self._lexical_writer
                for rowid in removed:
                    writer.delete_documents_by_term("rowid", rowid)
                _add_rows(writer, self._chunk_rows(list(added)))
                writer.commit()
                self._write_lexical_marker(generation)
            except (OSError, ValueError) as exc:
                logger.error("BM25 index not updated to generation %d (%s): the next writer rebuilds it", generation, exc)
                self._close_lexical()

    def _close_lexical(self) -> None:
        if self._lexical_writer is not None:
            try:
                self._lexical_writer.wait_merging_threads()  # segments merged before the writer goes: searches stay fast
            except (OSError, ValueError) as exc:
                logger.warning("BM25 segment merge cut short (%s)", exc)
        self._lexical_writer = None
        self._lexical = None
        self._lexical_searcher = None

    def _searcher(self) -> tantivy.Searcher:
        """A searcher of the folder's newest commit, reloaded when the writer's marker changes."""
        with self.db.lock:
            stamp = self._marker_stamp()
            # first use, or built in memory while there was no usable folder and now a writer has made one
            folder = (self._lexical is None or self._lexical_in_memory) and stamp is not None and self.lexical_generation() is not None
            if folder:
                self._open_lexical(self._lexical_path)
            elif self._lexical is None and self.db.writer:
                self.repair_lexical()
                stamp = self._marker_stamp()
            elif self._lexical is None:  # nothing a reader can use: built in memory, as FAISS is
                logger.warning("no usable BM25 index in %s: building one in memory until a writer opens the index", self._lexical_path)
                self._build_lexical(None)
            if self._lexical_searcher is None or not self._lexical_in_memory and stamp != self._lexical_seen:
                assert self._lexical is not None
                self._lexical.reload()
                self._lexical_searcher = self._lexical.searcher()
                self._lexical_seen = stamp
            return self._lexical_searcher

    def _marker_stamp(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self._lexical_path / _MARKER)  # replaced whole by each commit: a new inode
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns

    def lexical_count(self) -> int:
        """How many passages the BM25 index holds (integrity checks)."""
        return self._searcher().num_docs

    def bm25_hits(self, terms: Sequence[str], k: int, allowed: RowIds | None, total: int) -> list[tuple[int, float]]:
        """Top ``(rowid, score)`` for the words ``terms``, among ``allowed`` if given (``total``: the archive's
        passages, to choose between filtering inside the search and after it)."""
        tokens = list(dict.fromkeys(t for term in terms for t in _ANALYZER.analyze(term)))
        if not tokens:
            return []
        query = tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.term_query(_SCHEMA, "text", token))
                                             for token in tokens])
        searcher = self._searcher()
        # A filter goes inside the search as a set of row ids (its cost grows with the set) or after it, on enough
        # hits that k pass (its cost grows with total / allowed). Measured on 100k passages, 100 questions: 200 ids
        # cost 0.7 ms as a set against 38 ms after; 24,000 ids 13 ms against 0.9 ms; even at about 3,200 ids, so
        # a set while n² < 100 × total (3,200 ids of 100k passages, 10,000 of a million).
        if allowed is not None and len(allowed) ** 2 < _TERM_SET_SQUARED * total:
            only = tantivy.Query.const_score_query(tantivy.Query.term_set_query(_SCHEMA, "rowid", allowed.array().tolist()), 0.0)
            return self._hits(searcher, tantivy.Query.boolean_query([(tantivy.Occur.Must, query), (tantivy.Occur.Must, only)]), k)
        wanted = k if allowed is None else 2 * k * max(1, round(total / max(1, len(allowed))))
        while True:
            hits = self._hits(searcher, query, wanted)
            if allowed is None or not hits:
                kept = hits
            else:
                kept = [h for h, ok in zip(hits, allowed.isin(np.array([rowid for rowid, _ in hits], dtype=np.int64))) if ok]
            if len(kept) >= k or len(hits) < wanted:
                return kept[:k]
            wanted *= 4

    @staticmethod
    def _hits(searcher: tantivy.Searcher, query: tantivy.Query, k: int) -> list[tuple[int, float]]:
        found = searcher.search(query, k, count=False).hits
        rowids = searcher.fast_field_values("rowid", [address for _, address in found])
        return [(int(rowid), float(score)) for (score, _), rowid in zip(found, rowids)]


def _add_rows(writer: tantivy.IndexWriter, rows: Iterable[tuple[int, str, str]]) -> None:
    for rowid, title, text in rows:
        document = tantivy.Document()
        document.add_integer("rowid", rowid)
        document.add_text("text", f"{title}\n\n{text}" if title else text)
        writer.add_document(document)

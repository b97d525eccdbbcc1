"""The offset contract and the index's consistency, checked in SQL for every row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import IndexDamaged
from .database import Database

__all__ = ["IntegrityChecks"]


class IntegrityChecks:
    db: Database
    dim: int
    vector_dtype: np.dtype
    lexical_generation: Callable[[], int | None]  # the store's :class:`~.lexical.LexicalFiles`
    lexical_count: Callable[[], int]

    def check_pages(self) -> None:
        """Raise :class:`IndexDamaged` unless every page of the database file is sound: SQLite's structural
        check (``PRAGMA quick_check``, one pass over the file), so a damaged page is found before a reader
        meets it half-way through an answer; it stops at the first problem."""
        problem = self.db.query("PRAGMA quick_check(1)")[0][0]
        if problem != "ok":
            raise IndexDamaged(f"the index database {self.db.path} is damaged: {' '.join(problem.splitlines())}")

    def integrity_problems(self) -> list[str]:
        """Everything that would make the index inconsistent; empty when it is sound."""
        query = self.db.query
        problems = [r[0] for r in query("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"chunk {r[0]} text differs from its article at [{r[1]}, {r[2]})" for r in query(
            'SELECT c.id, c.start, c."end" FROM chunks c JOIN articles a ON a.id=c.article_id WHERE substr(a.raw_text, c.start + 1, c."end" - c.start) != c.text')]
        problems += [f"sentence {r[0]}#{r[1]} text differs from its article" for r in query(
            'SELECT s.article_id, s.seq FROM sentences s JOIN articles a ON a.id=s.article_id WHERE substr(a.raw_text, s.start + 1, s."end" - s.start) != s.text')]
        problems += [f"entity {r[0]}[{r[1]}:{r[2]}] text differs from its article" for r in query(
            'SELECT e.article_id, e.start, e."end" FROM entities e JOIN articles a ON a.id=e.article_id '
            'WHERE substr(a.raw_text, e.start + 1, e."end" - e.start) != e.text')]
        problems += [f"entity {r[0]}[{r[1]}:{r[2]}] lies outside every sentence of its article" for r in query(
            'SELECT e.article_id, e.start, e."end" FROM entities e WHERE NOT EXISTS (SELECT 1 FROM sentences s '
            'WHERE s.article_id=e.article_id AND s.start <= e.start AND e."end" <= s."end")')]
        problems += [f"chunk {r[0]} has a vector of {r[1]} bytes" for r in query(
            "SELECT id, length(vector) FROM chunks WHERE length(vector) != ?", (self.vector_dtype.itemsize * self.dim,))]
        problems += [f"chunk {r[0]} has sentence vectors of {r[1]} bytes" for r in query(
            "SELECT id, length(sentence_vectors) FROM chunks WHERE length(sentence_vectors) != (last_sentence - first_sentence + 1) * ?",
            (self.vector_dtype.itemsize * self.dim,))]
        n_chunks = query("SELECT count(*) FROM chunks")[0][0]
        if self.lexical_generation() == self.db.generation and (n_bm25 := self.lexical_count()) != n_chunks:
            problems.append(f"BM25 index has {n_bm25} rows for {n_chunks} chunks")
        problems += [f"article {r[0]} has no chunks" for r in query(
            "SELECT id FROM articles WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE article_id=articles.id)")]
        return problems

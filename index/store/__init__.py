"""The persistent index: SQLite (articles, sentences, entities, chunks, vectors, BM25) plus FAISS.

Every write is one SQLite transaction that bumps the *generation*; a crash at any moment
leaves the last committed generation, complete. SQLite (WAL mode, ``synchronous=FULL``)
holds everything, including each chunk's vector and text, so the FAISS files (see
:mod:`.vectorfiles`) and the BM25 index (Tantivy, see :mod:`.lexical`) can always be
repaired from it.

:class:`ArticleStore` is the one facade; each job lives in its own module:
:mod:`.database` (connection, lock, migrations), :mod:`.reads`, :mod:`.writes`,
:mod:`.search`, :mod:`.vectorfiles`, :mod:`.lexical`, :mod:`.integrity`. :class:`ReadStore` is the
protocol the query side reads through.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np

from ..embed import DIM, MODEL_NAME
from ..vectors import IndexParams, VectorIndex
from .database import DB_NAME, SCHEMA_VERSION, Database
from .identity import VECTOR_STORAGES, StoreIdentity
from .integrity import IntegrityChecks
from .lexical import LexicalFiles
from .protocol import ReadStore, WriteStore
from .reads import ArticleReads, IndexCounts
from .search import PassageSearch
from .vectorfiles import PASSAGE_SLOT, SLOT_BITS, VectorFiles, vector_id
from .writes import ArticleWrites, WriteResult

__all__ = ["DB_NAME", "PASSAGE_SLOT", "SCHEMA_VERSION", "SLOT_BITS", "VECTOR_STORAGES", "ArticleStore", "IndexCounts", "ReadStore", "WriteResult", "WriteStore",
           "vector_id"]


class ArticleStore(StoreIdentity, ArticleReads, ArticleWrites, PassageSearch, VectorFiles, LexicalFiles, IntegrityChecks):
    """Articles, sentences, entities, chunks and their vectors under one data directory.

    Open with ``writer=True`` to ingest or delete (an exclusive lock on the folder);
    readers never block the writer and always see the last committed generation.
    ``index_type`` is the FAISS index kind (``Settings.index_type``), built and searched with ``index_params``;
    ``vector_storage`` (``float16``, half of ``float32``'s bytes) is how a new index keeps its vectors in SQLite; an index records the
    embedding model it was built with (``model_name``, ``dim``) and never mixes two: ``model_name`` is the
    model for a new index; an index built with the same model at another precision (``#int8``) keeps its own.
    """

    def __init__(self, data_dir: str | Path, *, index_type: str, vector_storage: str, writer: bool = False,
                 model_name: str = MODEL_NAME, dim: int = DIM, index_params: IndexParams = IndexParams()) -> None:
        self.data_dir = Path(data_dir)
        self.index_type = index_type
        self.index_params = index_params
        self.model_name = model_name
        self.dim = dim
        self._vectors: VectorIndex | None = None
        self._vectors_generation = -1
        self._vectors_file: Path | None = None
        self._lexical = self._lexical_writer = self._lexical_searcher = self._lexical_seen = None
        self._lexical_in_memory = False
        self.db = Database(self.data_dir, writer=writer)
        self._check_model()
        self.vector_dtype = np.dtype(self._vector_storage(vector_storage))
        if writer:
            self._assign_index_id()
            self.remove_stale_files()
            self.repair_lexical()

    def close(self) -> None:
        """Release the BM25 writer (its segment merges finished), the connection and a writer's lock."""
        with self.db.lock:
            self._close_lexical()
        super().close()

    def warm_up(self) -> None:
        """The FAISS index mapped and the BM25 index opened, in step with the database, before the first search."""
        self.vectors()
        self._searcher()

    def database_bytes(self) -> int:
        """The SQLite file's size (its write-ahead log aside)."""
        return self.db.path.stat().st_size

    def _assign_index_id(self) -> None:
        """A random id for a new index (or one from before ids), carried by every FAISS file it saves, so that a
        vectors file copied from another index is never searched as this one's (:mod:`.vectorfiles`)."""
        if self.db.meta("index_id") is None:
            with self.db.transaction():
                self.db.set_meta("index_id", secrets.token_hex(16))

"""The index in PostgreSQL with pgvector: the same records and calls as the embedded SQLite + FAISS store.

Selected by ``NEWSDESK_DATABASE_URL=postgresql://...`` (:meth:`newsdesk.service.config.Settings.open_store`):
articles, sentences, entities, passages and clusters in tables; every passage's and sentence's vector in
pgvector (``halfvec`` for ``float16`` storage, ``vector`` for ``float32``) under an HNSW index; text search
with PostgreSQL's own (GIN, ``ts_rank``: see :mod:`.search` for how it differs from BM25); filters in SQL.
Every write is one transaction that bumps the generation, so a killed ingest (or a killed server) leaves
the last committed generation. Each job lives in its own module: :mod:`.connection`, :mod:`.reads`,
:mod:`.writes`, :mod:`.search`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...embed import DIM, MODEL_NAME
from ...errors import StoreError
from ...vectors import IndexParams
from ..identity import StoreIdentity
from .connection import PG_SCHEMA_VERSION, PostgresDatabase, redact
from .reads import PostgresReads
from .search import PostgresSearch
from .writes import PostgresWrites

__all__ = ["PG_SCHEMA_VERSION", "PostgresStore", "redact"]


class PostgresStore(StoreIdentity, PostgresReads, PostgresWrites, PostgresSearch):
    """Articles, sentences, entities, chunks and their vectors in one PostgreSQL database (see module doc).

    ``writer=True`` takes the one writer's lock (a session advisory lock) and creates or migrates the schema;
    readers never wait for the writer, and read from ``replica_urls`` (streaming replicas) when they are given and
    caught up (:mod:`.connection`). ``data_dir`` is where the node keeps what is not the index (conversations).
    """

    index_type = "hnsw"  # pgvector's; built with index_params' hnsw_m and hnsw_ef_construction, searched with hnsw_ef_search

    def __init__(self, url: str, *, data_dir: str | Path, vector_storage: str, writer: bool = False, replica_urls: Sequence[str] = (),
                 model_name: str = MODEL_NAME, dim: int = DIM, index_params: IndexParams = IndexParams()) -> None:
        self.data_dir = Path(data_dir)
        self.model_name = model_name
        self.dim = dim
        self.index_params = index_params
        wide = vector_storage == "float32"
        schema = {"vector": f"{'vector' if wide else 'halfvec'}({dim})", "ops": "vector_ip_ops" if wide else "halfvec_ip_ops",
                  "hnsw_m": index_params.hnsw_m, "hnsw_ef_construction": index_params.hnsw_ef_construction}
        session = {"hnsw.ef_search": str(min(1000, index_params.hnsw_ef_search)), "hnsw.iterative_scan": "relaxed_order"}
        self.db = PostgresDatabase(url, writer=writer, schema=schema, session=session, replica_urls=replica_urls)
        try:
            self._check_model()
            self.vector_storage = self._vector_storage(vector_storage)
            self.vector_type = "vector" if self.vector_storage == "float32" else "halfvec"
            self.vector_dtype = np.dtype(self.vector_storage)
        except BaseException:
            self.db.close()
            raise

    @property
    def url(self) -> str:
        """The database's address without its password."""
        return redact(self.db.url)

    def database_bytes(self) -> int:
        """The database's size on the server's disk."""
        return int(self.db.query("SELECT pg_database_size(current_database())")[0][0])

    def warm_up(self) -> None:
        """Nothing to load: the vector index lives in the server."""

    def check_pages(self) -> None:
        """PostgreSQL checks its own pages (data checksums, on by default since PostgreSQL 18) as it reads them and
        reports a damaged one as an error of that read; here: the schema answers a read."""
        if self.db.query("SELECT count(*) FROM meta WHERE key='generation'")[0][0] != 1:
            raise StoreError(f"the index database {self.db.path} has no generation")

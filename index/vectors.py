"""The FAISS side of the store: one file per committed generation, written atomically.

SQLite holds every vector and is the source of truth; the FAISS file is a persisted,
derived index. :meth:`VectorIndex.sync` brings an index to exactly the set of vectors
SQLite holds (adding, removing, or rebuilding where the index type cannot remove), so a
file that is missing or older than the committed generation is repaired on open.
"""

from __future__ import annotations

import io
import logging
import math
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import faiss
import numpy as np

logger = logging.getLogger(__name__)

INDEX_TYPES = ("flat", "hnsw", "ivfpq")
IVFPQ_MIN_VECTORS = 4096  # below this, IVF-PQ cannot train well and Flat is exact and fast anyway


class VectorIndex:
    """Inner-product search over L2-normalized vectors, keyed by chunk row ids."""

    def __init__(self, index_type: str, dim: int) -> None:
        if index_type not in INDEX_TYPES:
            raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
        self.index_type = index_type
        self.dim = dim
        self.ids = np.empty(0, dtype=np.int64)
        self._index = self._empty_index(index_type)
        self.effective_type = index_type if index_type != "ivfpq" else "flat"

    def _empty_index(self, kind: str) -> faiss.Index:
        if kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = 128
            inner.hnsw.efConstruction = 80
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Build from scratch; IVF-PQ trains here (and falls back to Flat on small archives)."""
        kind = self.index_type
        if kind == "ivfpq" and len(ids) >= IVFPQ_MIN_VECTORS:
            nlist = max(16, min(int(4 * math.sqrt(len(ids))), len(ids) // 39))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFPQ(quantizer, self.dim, nlist, 48, 8, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors)
            index.nprobe = max(8, nlist // 16)
            self._index = index
            self.effective_type = "ivfpq"
        else:
            if kind == "ivfpq":
                logger.info("IVF-PQ needs %d vectors to train; using Flat for %d", IVFPQ_MIN_VECTORS, len(ids))
            self._index = self._empty_index("hnsw" if kind == "hnsw" else "flat")
            self.effective_type = "hnsw" if kind == "hnsw" else "flat"
        if len(ids):
            self._index.add_with_ids(vectors, ids)
        self.ids = np.array(ids, dtype=np.int64)

    def sync(self, wanted_ids: np.ndarray, fetch: Callable[[Iterable[int]], tuple[np.ndarray, np.ndarray]]) -> bool:
        """Make the index hold exactly ``wanted_ids``; ``fetch(ids)`` returns ``(ids, vectors)``.

        :returns: whether anything changed.
        """
        wanted = np.asarray(wanted_ids, dtype=np.int64)
        to_remove = np.setdiff1d(self.ids, wanted, assume_unique=True)
        to_add = np.setdiff1d(wanted, self.ids, assume_unique=True)
        if not len(to_remove) and not len(to_add):
            return False
        grown_for_ivfpq = self.index_type == "ivfpq" and self.effective_type != "ivfpq" and len(wanted) >= IVFPQ_MIN_VECTORS
        if grown_for_ivfpq or len(to_remove) and self.effective_type == "hnsw":  # HNSW cannot remove
            ids, vectors = fetch(wanted.tolist())
            self.rebuild(ids, vectors)
            return True
        if len(to_remove):
            self._index.remove_ids(to_remove)
            self.ids = np.setdiff1d(self.ids, to_remove, assume_unique=True)
        if len(to_add):
            ids, vectors = fetch(to_add.tolist())
            self._index.add_with_ids(vectors, ids)
            self.ids = np.concatenate([self.ids, ids])
        return True

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest vectors: ``(ids, scores)``, best first (fewer when the index holds fewer)."""
        if self.ntotal == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores, ids = self._index.search(np.asarray(query, dtype=np.float32).reshape(1, -1), min(k, self.ntotal))
        found = ids[0] != -1
        return ids[0][found], scores[0][found]

    def save(self, path: Path, generation: int, index_id: str = "") -> None:
        """Write atomically: a temp file, fsync, rename, fsync the folder. ``index_id``: the index the file belongs to."""
        buffer = io.BytesIO()
        np.savez(buffer, index=faiss.serialize_index(self._index), ids=self.ids, generation=np.int64(generation),
                 index_id=np.array(index_id), index_type=np.array(self.index_type), effective=np.array(self.effective_type))
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path, dim: int, index_id: str | None = None) -> tuple["VectorIndex", int]:
        """The saved index and the generation it was built for; with ``index_id``, a file saved for any other index
        (or before files carried one) raises ``ValueError``: its ids would name another archive's passages."""
        with np.load(path, allow_pickle=False) as data:
            saved_for = str(data["index_id"]) if "index_id" in data.files else ""
            if index_id is not None and saved_for != index_id:
                raise ValueError(f"it was saved for index {saved_for or '(unknown)'!r}, not this index {index_id!r}")
            index = cls(str(data["index_type"]), dim)
            index._index = faiss.deserialize_index(data["index"])
            index.ids = data["ids"].astype(np.int64)
            index.effective_type = str(data["effective"])
            generation = int(data["generation"])
        if isinstance(index._index, faiss.IndexHNSW) or index.effective_type == "hnsw":
            faiss.downcast_index(index._index.index).hnsw.efSearch = 128
        if index.effective_type == "ivfpq":
            ivf = faiss.downcast_index(index._index)
            ivf.nprobe = max(8, ivf.nlist // 16)
        return index, generation


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

"""The FAISS index's life: loaded from the newest saved file, synced with SQLite, saved per generation.

SQLite holds every vector, so the FAISS file is derived state: a missing, stale or damaged
file costs a sync or a rebuild, never data. A file is tied to its database: it carries the
index's id (``meta.index_id``, random, set when the index is created) and the generation it
was saved at, so a file copied from another index, or from a generation this database never
committed, is rebuilt from SQLite rather than searched: its ids would name another archive's
passages. FAISS ids are a chunk's row id shifted left by
:data:`SLOT_BITS` plus a slot: its sentences 0..1022, the passage itself 1023.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..vectors import VectorIndex
from .database import Database

__all__ = ["PASSAGE_SLOT", "SLOT_BITS", "VectorFiles", "vector_id"]

logger = logging.getLogger(__name__)

SLOT_BITS = 10
PASSAGE_SLOT = (1 << SLOT_BITS) - 1


def vector_id(rowid: int, slot: int) -> int:
    return (rowid << SLOT_BITS) | slot


class VectorFiles:
    """Keeps the in-memory FAISS index at the committed generation (see module doc)."""

    db: Database
    data_dir: Path
    dim: int
    index_type: str
    _vectors: VectorIndex | None
    _vectors_generation: int
    _vectors_file: Path | None  # the saved file that matches the index in memory

    def _vector_path(self, generation: int) -> Path:
        return self.data_dir / f"vectors-{generation:09d}.npz"

    def remove_stale_files(self) -> None:
        """Temporary files a killed writer left behind."""
        for path in self.data_dir.glob("vectors-*.npz.tmp"):
            path.unlink(missing_ok=True)

    def _wanted_vector_ids(self) -> np.ndarray:
        """Every FAISS id the committed chunks call for: one per passage, one per sentence in it."""
        ids: list[int] = []
        for rowid, n in self.db.query("SELECT rowid, last_sentence - first_sentence + 1 FROM chunks ORDER BY rowid"):
            ids.append(vector_id(rowid, PASSAGE_SLOT))
            ids.extend(vector_id(rowid, j) for j in range(n))
        return np.array(sorted(ids), dtype=np.int64)

    def _fetch_vectors(self, wanted: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        by_chunk: dict[int, list[int]] = {}
        for vid in wanted:
            by_chunk.setdefault(vid >> SLOT_BITS, []).append(vid & PASSAGE_SLOT)
        rowids = list(by_chunk)
        out_ids: list[int] = []
        rows: list[np.ndarray] = []
        for i in range(0, len(rowids), 900):
            part = rowids[i:i + 900]
            for rowid, blob, sentences in self.db.query(
                    f"SELECT rowid, vector, sentence_vectors FROM chunks WHERE rowid IN ({','.join('?' * len(part))})", part):
                passage = np.frombuffer(blob, dtype=np.float32)
                per_sentence = np.frombuffer(sentences, dtype=np.float32).reshape(-1, self.dim)
                for slot in by_chunk[rowid]:
                    out_ids.append(vector_id(rowid, slot))
                    rows.append(passage if slot == PASSAGE_SLOT else per_sentence[slot])
        vectors = np.stack(rows).astype(np.float32) if rows else np.empty((0, self.dim), np.float32)
        return np.array(out_ids, dtype=np.int64), vectors

    def vectors(self) -> VectorIndex:
        """The FAISS index for the current generation, loaded (or repaired) on first use."""
        with self.db.lock:
            generation = self.db.generation
            if self._vectors is not None and self._vectors_generation == generation:
                return self._vectors
            if self._vectors is None:
                self._vectors = self._load_saved_vectors()
            changed = self._vectors.sync(self._wanted_vector_ids(), self._fetch_vectors)
            if changed:
                self._vectors_file = None  # what is in memory is no longer what is on disk
            self._vectors_generation = generation
            return self._vectors

    def _load_saved_vectors(self) -> VectorIndex:
        """The newest saved FAISS file if it is this index's, of a committed generation; else an empty index (when
        there is none, or it is damaged, or another index's)."""
        saved = sorted(self.data_dir.glob("vectors-*.npz"))
        if saved:
            try:
                index, generation = VectorIndex.load(saved[-1], self.dim, index_id=self.db.meta("index_id"))
                if generation > self.db.generation:
                    raise ValueError(f"it was saved at generation {generation}, after this database's {self.db.generation}")
                if index.index_type == self.index_type:
                    self._vectors_file = saved[-1]
                    return index
            except Exception as exc:  # damaged, or not this database's: SQLite holds every vector, rebuild from it
                logger.warning("FAISS file %s cannot be used (%s); rebuilding it from SQLite", saved[-1], exc)
        self._vectors_file = None
        return VectorIndex(self.index_type, self.dim)

    def save_vectors(self) -> Path:
        """Persist the FAISS index for the committed generation, then drop older files."""
        index = self.vectors()
        path = self._vector_path(self._vectors_generation)
        if self._vectors_file != path:
            index.save(path, self._vectors_generation, self.db.meta("index_id") or "")
            self._vectors_file = path
        for old in self.data_dir.glob("vectors-*.npz"):
            if old != path:
                old.unlink(missing_ok=True)
        return path

    def indexed_chunk_rowids(self) -> set[int]:
        """The chunks the FAISS index holds vectors for (tests and integrity checks)."""
        return {int(v) >> SLOT_BITS for v in self.vectors().ids}

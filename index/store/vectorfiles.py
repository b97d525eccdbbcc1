"""The FAISS index's life: loaded from the newest saved folder, synced with SQLite, saved per generation.

SQLite holds every vector, so the FAISS file is derived state: a missing, stale or damaged
file costs a sync or a rebuild, never data. A file is tied to its database: it carries the
index's id (``meta.index_id``, random, set when the index is created) and the generation it
was saved at, so a file copied from another index, or from a generation this database never
committed, is rebuilt from SQLite rather than searched: its ids would name another archive's
passages. An index loaded from a folder stays memory-mapped while it can: when the archive
changes, it moves to the writer's newest saved folder and syncs only what is newer than that;
the folders of the two newest saved generations are kept, so a server that mapped the older
one can still read it into memory. FAISS ids are a chunk's row id shifted left by
:data:`SLOT_BITS` plus a slot: its sentences 0..1022, the passage itself 1023.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ..vectors import IndexParams, VectorIndex
from .database import Database

__all__ = ["PASSAGE_SLOT", "SLOT_BITS", "VectorFiles", "saved_folders", "vector_id"]

logger = logging.getLogger(__name__)

SLOT_BITS = 10
PASSAGE_SLOT = (1 << SLOT_BITS) - 1


def vector_id(rowid: int, slot: int) -> int:
    return (rowid << SLOT_BITS) | slot


def saved_folders(data_dir: Path) -> list[Path]:
    """Saved generations' folders, oldest first (a killed save's ``.tmp`` folder is not one)."""
    return sorted(p for p in data_dir.glob("vectors-*") if p.is_dir() and p.name[len("vectors-"):].isdigit())


class VectorFiles:
    """Keeps the in-memory FAISS index at the committed generation (see module doc)."""

    db: Database
    data_dir: Path
    dim: int
    index_type: str
    index_params: IndexParams
    vectors_of: Callable[[bytes], np.ndarray]  # the store's :meth:`~.reads.ArticleReads.vectors_of`
    _vectors: VectorIndex | None
    _vectors_generation: int
    _vectors_file: Path | None  # the saved folder that matches the index in memory

    def _vector_path(self, generation: int) -> Path:
        return self.data_dir / f"vectors-{generation:09d}"

    def remove_stale_files(self) -> None:
        """What a killed writer left behind, and the files of releases that saved one ``vectors-*.npz`` file."""
        for path in self.data_dir.glob("vectors-*"):
            if path.suffix in (".tmp", ".old"):
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            elif path.suffix == ".npz" or path.name.endswith(".npz.tmp"):
                path.unlink(missing_ok=True)

    def _wanted_vector_ids(self) -> np.ndarray:
        """Every FAISS id the committed chunks call for, sorted: one per passage, one per sentence in it."""
        rows = np.array(self.db.query("SELECT rowid, last_sentence - first_sentence + 1 FROM chunks"), dtype=np.int64).reshape(-1, 2)
        rowids, sentences = rows[:, 0], rows[:, 1]
        per_chunk = sentences + 1
        starts = np.cumsum(per_chunk) - per_chunk
        slot = np.arange(int(per_chunk.sum()), dtype=np.int64) - np.repeat(starts, per_chunk)  # 0..n within each chunk
        slot[slot == np.repeat(sentences, per_chunk)] = PASSAGE_SLOT  # the n-th is the passage's own
        return np.sort((np.repeat(rowids, per_chunk) << SLOT_BITS) | slot)

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
                passage = self.vectors_of(blob)[0]
                per_sentence = self.vectors_of(sentences)
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
            newest = saved_folders(self.data_dir)[-1:]
            if self._vectors is None or self._vectors.mapped and newest and newest[0] != self._vectors_file:
                # a mapped index follows the writer's saved folders; a damaged one costs a sync from SQLite
                saved = self._load_saved_vectors()
                if saved is not None:
                    self._vectors, saved_generation = saved
                    if saved_generation == generation:
                        # saved for this very generation, checksums verified: its ids are the chunks' (reading them
                        # from SQLite to compare would cost 0.4 s at 100k passages, at every start)
                        self._vectors_generation = generation
                        return self._vectors
                elif self._vectors is None:
                    self._vectors = VectorIndex(self.index_type, self.dim, self.index_params)
            changed = self._vectors.sync(self._wanted_vector_ids(), self._fetch_vectors)
            if changed:
                self._vectors_file = None  # what is in memory is no longer what is on disk
            self._vectors_generation = generation
            return self._vectors

    def _load_saved_vectors(self) -> tuple[VectorIndex, int] | None:
        """The newest saved FAISS folder and its generation if it is this index's, of a committed generation; else
        ``None`` (when there is none, or it is damaged, or another index's: SQLite holds every vector)."""
        saved = saved_folders(self.data_dir)
        if not saved:
            return None
        try:
            index, generation = VectorIndex.load(saved[-1], self.dim, index_id=self.db.meta("index_id"), params=self.index_params)
            if generation > self.db.generation:
                raise ValueError(f"it was saved at generation {generation}, after this database's {self.db.generation}")
            if index.index_type != self.index_type:
                return None
        except Exception as exc:  # damaged, or not this database's
            logger.warning("FAISS file %s cannot be used (%s); %s", saved[-1], exc,
                           "syncing the index in memory instead" if self._vectors else "rebuilding it from SQLite")
            return None
        self._vectors_file = saved[-1]
        return index, generation

    def save_vectors(self) -> Path:
        """Persist the FAISS index for the committed generation, then drop all but the previous saved folder."""
        index = self.vectors()
        path = self._vector_path(self._vectors_generation)
        if self._vectors_file != path:
            index.save(path, self._vectors_generation, self.db.meta("index_id") or "")
            self._vectors_file = path
        saved = saved_folders(self.data_dir)
        for old in [p for p in saved if p < path][:-1] + [p for p in saved if p > path]:
            shutil.rmtree(old, ignore_errors=True)
        self.remove_stale_files()
        return path

    def indexed_chunk_rowids(self) -> set[int]:
        """The chunks the FAISS index holds vectors for (tests and integrity checks)."""
        return {int(v) >> SLOT_BITS for v in self.vectors().ids}

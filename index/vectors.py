"""The FAISS side of the store: one folder per committed generation, written atomically.

SQLite holds every vector and is the source of truth; the FAISS file is a persisted,
derived index. :meth:`VectorIndex.sync` brings an index to exactly the set of vectors
SQLite holds (adding, removing, or rebuilding where the index type cannot remove), so a
file that is missing or older than the committed generation is repaired on open.

A saved index is loaded memory-mapped (FAISS's ``IO_FLAG_MMAP_IFC``): start-up reads no
vectors, and the processes of one server share the page cache instead of a copy each. A
mapped index cannot change, so the first change reads it into memory (:meth:`VectorIndex.sync`).
"""

from __future__ import annotations

import json
import logging
import math
import mmap
import os
import shutil
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import faiss
import numpy as np
import xxhash

logger = logging.getLogger(__name__)

INDEX_TYPES = ("flat", "hnsw", "ivfpq")
IVFPQ_MIN_VECTORS = 4096  # below this, IVF-PQ cannot train well and Flat is exact and fast anyway
EXACT_FILTERED = 20_000  # a filter keeping at most this many vectors is searched exactly among them (a few ms)
FETCH_BATCH = 262_144  # vectors read from the store per step of a build (384 MiB as float32)
INDEX_FILE, IDS_FILE, META_FILE = "index.faiss", "ids.npy", "meta.json"  # the files of a saved generation's folder
CHECKSUM = "xxh3_64"  # what meta.json records each file's digest as (older folders: "crc32")


@dataclass(frozen=True)
class IndexParams:
    """How the approximate index types are built and searched (``Settings``: ``NEWSDESK_HNSW_*``, ``NEWSDESK_IVF_*``).

    Build parameters apply when an index is (re)built; search parameters apply to a loaded index at once.
    The recall they buy and the latency they cost are measured in docs/benchmarks.md (``bench/vector_index.py``).
    """

    hnsw_m: int = 32  # graph neighbours per vector (build; memory grows with it)
    hnsw_ef_construction: int = 80  # candidates while linking (build time)
    hnsw_ef_search: int = 128  # candidates while searching (recall against latency)
    ivf_nlist: int = 0  # inverted lists (build); 0: 4·√N, at most N/39
    ivf_pq_m: int = 48  # product-quantiser sub-vectors of 8 bits (build; must divide the dimension)
    ivf_nprobe: int = 0  # lists searched (search); 0: nlist/16, at least 8
    ivf_refine: int = 0  # re-rank k x this many PQ hits by inner product with float16 copies of the vectors (build: keeps them); 0: none

    def nlist_for(self, n: int) -> int:
        return self.ivf_nlist or max(16, min(int(4 * math.sqrt(n)), n // 39))

    def nprobe_for(self, nlist: int) -> int:
        return min(nlist, self.ivf_nprobe or max(8, nlist // 16))


@dataclass(frozen=True, eq=False)
class GroupFilter:
    """Keeps the vectors whose group, ``id >> shift``, is flagged in ``flags`` (a passage's vectors share its row id).

    A search remembers each stored vector's group, so a filter over every vector costs one gather, not a shift of
    each id as well (100k passages hold 640k vectors).
    """

    flags: np.ndarray  # bool, indexed by group
    shift: int

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        groups = ids >> self.shift
        inside = groups < len(self.flags)
        return inside & self.flags[np.where(inside, groups, 0)]


class VectorIndex:
    """Inner-product search over L2-normalized vectors, keyed by chunk row ids."""

    def __init__(self, index_type: str, dim: int, params: IndexParams = IndexParams()) -> None:
        if index_type not in INDEX_TYPES:
            raise ValueError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")
        if index_type == "ivfpq" and dim % params.ivf_pq_m:
            raise ValueError(f"the IVF-PQ sub-quantisers ({params.ivf_pq_m}) must divide the dimension {dim}")
        self.index_type = index_type
        self.dim = dim
        self.params = params
        self.ids = np.empty(0, dtype=np.int64)
        self._index = self._empty_index(index_type)
        self._mapped_from: Path | None = None  # the saved folder whose vectors are mapped, not in memory
        self._order_cache: np.ndarray | None = None  # see _order
        self._groups_cache: tuple[int, np.ndarray, int] | None = None  # see _group_mask
        self.effective_type = index_type if index_type != "ivfpq" else "flat"

    def _empty_index(self, kind: str) -> faiss.Index:
        if kind == "hnsw":
            inner = faiss.IndexHNSWFlat(self.dim, self.params.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efSearch = self.params.hnsw_ef_search
            inner.hnsw.efConstruction = self.params.hnsw_ef_construction
            return faiss.IndexIDMap2(inner)
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def mapped(self) -> bool:
        """Whether the vectors are read from a saved folder's memory map (:meth:`load`), not held in memory."""
        return self._mapped_from is not None

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Build from scratch; IVF-PQ trains here (and falls back to Flat on small archives)."""
        self._start(len(ids), vectors)
        if len(ids):
            self._index.add_with_ids(vectors, ids)
        self.ids = np.array(ids, dtype=np.int64)

    def _start(self, n: int, vectors: np.ndarray | None) -> None:
        """An empty index for ``n`` vectors; IVF-PQ trains on ``vectors`` (a sample of 64 a list is drawn from them)."""
        kind = self.index_type
        if kind == "ivfpq" and n >= IVFPQ_MIN_VECTORS:
            assert vectors is not None
            nlist = self.params.nlist_for(n)
            index = faiss.IndexIVFPQ(faiss.IndexFlatIP(self.dim), self.dim, nlist, self.params.ivf_pq_m, 8, faiss.METRIC_INNER_PRODUCT)
            index.train(vectors[_training_sample(len(vectors), nlist)])  # 64 points a list train k-means well; all of 1M would take minutes more
            if self.params.ivf_refine:  # candidates re-ranked by their vectors in float16: half of Flat's memory,
                # the same recall@10 as float32 (docs/benchmarks.md, "Vector search per index type")
                exact = faiss.IndexScalarQuantizer(self.dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
                index = faiss.IndexIDMap2(faiss.IndexRefine(index, exact))
            self._index = index
            self.effective_type = "ivfpq"
        else:
            if kind == "ivfpq":
                logger.info("IVF-PQ needs %d vectors to train; using Flat for %d", IVFPQ_MIN_VECTORS, n)
            self._index = self._empty_index("hnsw" if kind == "hnsw" else "flat")
            self.effective_type = "hnsw" if kind == "hnsw" else "flat"
        self._mapped_from = None
        self._order_cache = self._groups_cache = None
        self.tune(self.params)
        self.ids = np.empty(0, dtype=np.int64)

    def _rebuild_from(self, wanted: np.ndarray, fetch: Callable[[Iterable[int]], tuple[np.ndarray, np.ndarray]]) -> None:
        """Build from scratch with the vectors fetched a batch at a time: a million passages hold 6.4 million
        vectors, 10 GB as one float32 array (and as many again in the rows it is stacked from)."""
        sample = None
        if self.index_type == "ivfpq" and len(wanted) >= IVFPQ_MIN_VECTORS:
            _, sample = fetch(wanted[_training_sample(len(wanted), self.params.nlist_for(len(wanted)))].tolist())
        self._start(len(wanted), sample)
        self._add_fetched(wanted, fetch)

    def _add_fetched(self, ids: np.ndarray, fetch: Callable[[Iterable[int]], tuple[np.ndarray, np.ndarray]]) -> None:
        for start in range(0, len(ids), FETCH_BATCH):
            got, vectors = fetch(ids[start:start + FETCH_BATCH].tolist())
            self._index.add_with_ids(vectors, got)
            self.ids = np.concatenate([self.ids, got])

    def sync(self, wanted_ids: np.ndarray, fetch: Callable[[Iterable[int]], tuple[np.ndarray, np.ndarray]]) -> bool:
        """Make the index hold exactly ``wanted_ids``; ``fetch(ids)`` returns ``(ids, vectors)``.

        :returns: whether anything changed.
        """
        wanted = np.asarray(wanted_ids, dtype=np.int64)
        to_remove = np.setdiff1d(self.ids, wanted, assume_unique=True)
        to_add = np.setdiff1d(wanted, self.ids, assume_unique=True)
        if not len(to_remove) and not len(to_add):
            return False
        self._order_cache = self._groups_cache = None
        grown_for_ivfpq = self.index_type == "ivfpq" and self.effective_type != "ivfpq" and len(wanted) >= IVFPQ_MIN_VECTORS
        if grown_for_ivfpq or len(to_remove) and not self._can_remove():
            self._rebuild_from(wanted, fetch)
            return True
        if self._mapped_from is not None:
            try:
                self._index = faiss.read_index(str(self._mapped_from / INDEX_FILE))
                self._mapped_from = None
            except RuntimeError as exc:  # its folder was removed since (a writer saved two newer generations)
                logger.warning("cannot read %s into memory (%s); rebuilding the vectors from SQLite", self._mapped_from, exc)
                self._rebuild_from(wanted, fetch)
                return True
        if len(to_remove):
            self._index.remove_ids(to_remove)
            self.ids = np.setdiff1d(self.ids, to_remove, assume_unique=True)
        self._add_fetched(to_add, fetch)
        return True

    def _can_remove(self) -> bool:
        """HNSW graphs and re-ranked IVF-PQ cannot drop vectors: a deletion rebuilds them."""
        return self.effective_type == "flat" or self.effective_type == "ivfpq" and not isinstance(self._index, faiss.IndexIDMap2)

    def tune(self, params: IndexParams) -> None:
        """Search with ``params``'s search parameters from now on (its build parameters wait for the next build)."""
        self.params = params
        inner = faiss.downcast_index(self._index.index if isinstance(self._index, faiss.IndexIDMap2) else self._index)
        if isinstance(inner, faiss.IndexHNSW):
            inner.hnsw.efSearch = self.params.hnsw_ef_search
        if isinstance(inner, faiss.IndexRefine):
            inner.k_factor = float(max(1, self.params.ivf_refine))
            inner = faiss.downcast_index(inner.base_index)
        if isinstance(inner, faiss.IndexIVF):
            inner.nprobe = self.params.nprobe_for(inner.nlist)

    def search(self, query: np.ndarray, k: int, keep: GroupFilter | Callable[[np.ndarray], np.ndarray] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest vectors: ``(ids, scores)``, best first (fewer when the index holds fewer, or the filter keeps
        fewer). ``keep(ids)``: which of these vector ids may be returned (a boolean mask), for a filtered search.

        A filter that keeps few vectors is searched exactly among them (Flat and HNSW hold the vectors themselves);
        a larger one through a FAISS selector inside the search, so ``k`` need not grow with what the filter drops;
        IVF-PQ asks for more hits until ``k`` pass the filter, and finds only what the lists it probes hold (a narrow
        filter may leave fewer than ``k``).
        """
        if self.ntotal == 0 or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        query = np.asarray(query, dtype=np.float32).reshape(1, -1)
        if keep is None:
            return self._found(*self._index.search(query, min(k, self.ntotal)))
        if self.effective_type == "ivfpq":
            return self._search_widening(query, k, keep)
        order = self._order()
        mask = self._group_mask(keep) if isinstance(keep, GroupFilter) else keep(order)
        kept = int(np.count_nonzero(mask))
        if kept <= EXACT_FILTERED:
            positions = np.flatnonzero(mask)
            scores = self._stored_vectors()[positions] @ query[0]
            best = np.argsort(-scores, kind="stable")[:k]
            return order[positions[best]], scores[best].astype(np.float32)
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bitmap))
        inner = faiss.downcast_index(self._index.index)
        params = (faiss.SearchParametersHNSW(sel=selector, efSearch=self.params.hnsw_ef_search)
                  if isinstance(inner, faiss.IndexHNSW) else faiss.SearchParameters(sel=selector))
        scores, positions = inner.search(query, min(k, kept), params=params)
        found = positions[0] != -1
        return order[positions[0][found]], scores[0][found]

    def _search_widening(self, query: np.ndarray, k: int, keep: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        wanted = 4 * k
        while True:
            ids, scores = self._found(*self._index.search(query, min(wanted, self.ntotal)))
            passing = keep(ids)
            if np.count_nonzero(passing) >= k or len(ids) < wanted:
                return ids[passing][:k], scores[passing][:k]
            wanted *= 4

    @staticmethod
    def _found(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        found = ids[0] != -1
        return ids[0][found], scores[0][found]

    def _order(self) -> np.ndarray:
        """The id of each stored vector in FAISS's own order (Flat and HNSW under their id map), read once per state."""
        if self._order_cache is None:
            self._order_cache = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return self._order_cache

    def _group_mask(self, keep: GroupFilter) -> np.ndarray:
        """``keep`` over the stored vectors in :meth:`_order`, their groups computed once per state."""
        if self._groups_cache is None or self._groups_cache[0] != keep.shift:
            groups = self._order() >> keep.shift
            top = int(groups.max()) if len(groups) else -1
            self._groups_cache = (keep.shift, groups.astype(np.int32 if top < 2**31 else np.int64), top)
        _, groups, top = self._groups_cache
        flags = keep.flags if len(keep.flags) > top else np.pad(keep.flags, (0, top + 1 - len(keep.flags)))
        return flags[groups]

    def _stored_vectors(self) -> np.ndarray:
        """The stored vectors as an array (no copy: memory-mapped where the index is), in :meth:`_order`."""
        inner = faiss.downcast_index(self._index.index)
        flat = faiss.downcast_index(inner.storage) if isinstance(inner, faiss.IndexHNSW) else inner
        return faiss.rev_swig_ptr(flat.get_xb(), self.ntotal * self.dim).reshape(self.ntotal, self.dim)

    def save(self, path: Path, generation: int, index_id: str = "") -> None:
        """Write the folder ``path`` atomically: a temporary folder (the FAISS file, the ids, and ``meta.json`` with
        their checksums), fsynced, then renamed into place. ``index_id``: the index the folder belongs to."""
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        faiss.write_index(self._index, str(tmp / INDEX_FILE))
        np.save(tmp / IDS_FILE, self.ids)
        meta = {"generation": generation, "index_id": index_id, "index_type": self.index_type, "effective": self.effective_type,
                "built_with": asdict(self.params),
                CHECKSUM: {name: _checksum(tmp / name, CHECKSUM) for name in (INDEX_FILE, IDS_FILE)}}
        (tmp / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
        for name in (INDEX_FILE, IDS_FILE, META_FILE):
            with open(tmp / name, "rb") as handle:
                os.fsync(handle.fileno())
        fsync_dir(tmp)
        if path.exists():  # the same generation saved again (its folder was damaged): never two folders half-replaced
            old = path.with_name(path.name + ".old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            shutil.rmtree(old)
        os.replace(tmp, path)
        fsync_dir(path.parent)

    @classmethod
    def load(cls, path: Path, dim: int, index_id: str | None = None, params: IndexParams = IndexParams()) -> tuple["VectorIndex", int]:
        """The index saved in folder ``path`` and the generation it was built for, its vectors memory-mapped (read
        when searched, shared by every process that maps them); a checksum mismatch raises ``ValueError``, as does a
        folder saved for any other index than ``index_id`` (its ids would name another archive's passages)."""
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        saved_for = str(meta.get("index_id", ""))
        if index_id is not None and saved_for != index_id:
            raise ValueError(f"it was saved for index {saved_for or '(unknown)'!r}, not this index {index_id!r}")
        kind = CHECKSUM if CHECKSUM in meta else "crc32"  # folders saved before XXH3 carry CRC-32s
        for name, expected in meta[kind].items():
            if _checksum(path / name, kind) != expected:
                raise ValueError(f"{name} does not match its checksum")
        index = cls(str(meta["index_type"]), dim, params)
        index._index = faiss.read_index(str(path / INDEX_FILE), faiss.IO_FLAG_MMAP_IFC)
        index._mapped_from = path
        index.ids = np.load(path / IDS_FILE).astype(np.int64)
        index.effective_type = str(meta["effective"])
        if index._index.ntotal != len(index.ids) or index._index.d != dim:
            raise ValueError(f"it holds {index._index.ntotal} vectors of {index._index.d} dimensions, not {len(index.ids)} of {dim}")
        index.tune(params)
        return index, int(meta["generation"])


def _training_sample(n: int, nlist: int) -> np.ndarray:
    """Positions of the vectors IVF-PQ trains on: 64 a list, drawn with a fixed seed, in order."""
    return np.sort(np.random.default_rng(0).choice(n, size=min(n, 64 * nlist), replace=False))


def _checksum(path: Path, kind: str) -> int:
    """The file's XXH3-64 (or, for folders saved before it, CRC-32), read through a memory map: catches a damaged or
    truncated vectors file, which FAISS would otherwise load and search as it is. Every worker checks the folder as
    it starts: XXH3 reads 1.1 GB in 0.15 s where zlib's CRC-32 took 0.58 s (docs/benchmarks.md, cold start)."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            return 0
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return xxhash.xxh3_64_intdigest(mapped) if kind == CHECKSUM else zlib.crc32(mapped)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

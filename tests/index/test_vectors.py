"""The saved vectors folder: memory-mapped on load, checked against its checksums, read into memory before a change."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from newsdesk.index.vectors import CHECKSUM, EXACT_FILTERED, IDS_FILE, INDEX_FILE, META_FILE, GroupFilter, IndexParams, VectorIndex

DIM = 16


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _store(ids: np.ndarray, vectors: np.ndarray):
    table = dict(zip(ids.tolist(), vectors))
    return lambda wanted: (np.array(list(wanted), np.int64), np.stack([table[i] for i in wanted]))


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_a_saved_folder_loads_mapped_and_searches_as_the_index_it_was(tmp_path: Path, kind: str) -> None:
    vectors, ids = _vectors(300), np.arange(300, dtype=np.int64) * 7
    index = VectorIndex(kind, DIM)
    index.rebuild(ids, vectors)
    index.save(tmp_path / "vectors-000000003", 3, "idx")
    loaded, generation = VectorIndex.load(tmp_path / "vectors-000000003", DIM, index_id="idx")
    assert generation == 3 and loaded.mapped and not index.mapped and loaded.effective_type == kind
    assert loaded.ids.tolist() == ids.tolist()
    for probe in vectors[:20]:
        assert loaded.search(probe, 5)[0].tolist() == index.search(probe, 5)[0].tolist()
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_a_mapped_index_is_read_into_memory_before_it_changes(tmp_path: Path, kind: str) -> None:
    vectors, ids = _vectors(400), np.arange(400, dtype=np.int64)
    fetch = _store(ids, vectors)
    index = VectorIndex(kind, DIM)
    index.rebuild(ids[:300], vectors[:300])
    index.save(tmp_path / "vectors-000000001", 1)
    loaded, _ = VectorIndex.load(tmp_path / "vectors-000000001", DIM)
    wanted = np.concatenate([ids[10:300], ids[300:]])  # ten removed, a hundred added
    assert loaded.sync(wanted, fetch) and not loaded.mapped
    assert sorted(loaded.ids.tolist()) == wanted.tolist() and loaded.ntotal == len(wanted)
    assert loaded.search(vectors[350], 1)[0].tolist() == [350]
    assert 3 not in loaded.search(vectors[3], 5)[0].tolist()
    again, _ = VectorIndex.load(tmp_path / "vectors-000000001", DIM)  # the saved folder itself is untouched
    assert again.ntotal == 300


def test_a_mapped_index_whose_folder_is_gone_is_rebuilt_from_the_store(tmp_path: Path) -> None:
    vectors, ids = _vectors(200), np.arange(200, dtype=np.int64)
    index = VectorIndex("flat", DIM)
    index.rebuild(ids[:150], vectors[:150])
    index.save(tmp_path / "vectors-000000001", 1)
    loaded, _ = VectorIndex.load(tmp_path / "vectors-000000001", DIM)
    shutil.rmtree(tmp_path / "vectors-000000001")  # a writer saved newer generations and removed it
    assert loaded.sync(ids, _store(ids, vectors)) and not loaded.mapped
    assert sorted(loaded.ids.tolist()) == ids.tolist() and loaded.search(vectors[180], 1)[0].tolist() == [180]


def _as_saved_before_xxh3(folder: Path) -> None:
    """Rewrite a folder's meta.json as releases before XXH3 wrote it: CRC-32s under "crc32"."""
    meta = json.loads((folder / META_FILE).read_text())
    del meta[CHECKSUM]
    meta["crc32"] = {name: zlib.crc32((folder / name).read_bytes()) for name in (INDEX_FILE, IDS_FILE)}
    (folder / META_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize("saved_by", ["this release", "a release before XXH3"])
@pytest.mark.parametrize("damage", ["bitflip", "truncated", "ids", "another index", "none"])
def test_a_damaged_or_foreign_folder_is_refused(tmp_path: Path, damage: str, saved_by: str) -> None:
    index = VectorIndex("flat", DIM)
    index.rebuild(np.arange(100, dtype=np.int64), _vectors(100))
    folder = tmp_path / "vectors-000000002"
    index.save(folder, 2, "mine")
    if saved_by != "this release":
        _as_saved_before_xxh3(folder)
    if damage == "none":  # either kind of checksum is verified and passes
        assert VectorIndex.load(folder, DIM, index_id="mine")[0].ntotal == 100
        return
    data = (folder / INDEX_FILE).read_bytes()
    if damage == "bitflip":  # inside the vectors: FAISS itself would load it and search wrong vectors
        middle = len(data) // 2
        (folder / INDEX_FILE).write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1:])
    elif damage == "truncated":
        (folder / INDEX_FILE).write_bytes(data[: len(data) // 2])
    elif damage == "ids":
        np.save(folder / IDS_FILE, np.arange(1, 101, dtype=np.int64))
    with pytest.raises(ValueError, match="checksum" if damage != "another index" else "not this index"):
        VectorIndex.load(folder, DIM, index_id="theirs" if damage == "another index" else "mine")


def test_saving_the_same_generation_again_replaces_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "vectors-000000005"
    first = VectorIndex("flat", DIM)
    first.rebuild(np.arange(10, dtype=np.int64), _vectors(10))
    first.save(folder, 5)
    second = VectorIndex("flat", DIM)
    second.rebuild(np.arange(20, dtype=np.int64), _vectors(20, seed=1))
    second.save(folder, 5)
    assert VectorIndex.load(folder, DIM)[0].ntotal == 20
    assert json.loads((folder / META_FILE).read_text())["generation"] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


FILTERED_N = 2 * EXACT_FILTERED + 5000  # large enough that a 30% filter goes through the selector


@pytest.fixture(scope="module", params=["flat", "hnsw", "ivfpq"])
def built(request: pytest.FixtureRequest) -> tuple[str, VectorIndex, np.ndarray, np.ndarray]:
    """One index of each type over the same vectors, shared by the filters tried on it."""
    vectors, ids = _vectors(FILTERED_N), np.arange(FILTERED_N, dtype=np.int64) * 3 + 1
    index = VectorIndex(request.param, DIM, IndexParams(ivf_pq_m=8))
    index.rebuild(ids, vectors)
    return request.param, index, vectors, ids


@pytest.mark.parametrize("form", ["callable", "groups"])  # a mask function; a GroupFilter, its flags short of the top id
@pytest.mark.parametrize("share", [0.002, 0.3, 0.9])  # exactly among few; a FAISS selector; nearly everything
def test_a_filtered_search_returns_the_nearest_kept_vectors(built: tuple[str, VectorIndex, np.ndarray, np.ndarray],
                                                             share: float, form: str) -> None:
    kind, index, vectors, ids = built
    n = FILTERED_N
    kept_ids = ids[np.random.default_rng(1).random(n) < share]
    kept_ids = kept_ids[kept_ids < ids.max() - 30]  # the last vectors are never kept: flags may end before the top id
    table = np.zeros(int(ids.max()) + 1, dtype=bool)
    table[kept_ids] = True
    keep = (lambda found: table[found]) if form == "callable" else GroupFilter(table[:int(kept_ids.max()) + 1], 0)
    for probe in _vectors(10, seed=9):
        found, scores = index.search(probe, 10, keep)
        assert table[found].all() and (np.diff(scores) <= 1e-6).all()
        if kind == "ivfpq" and share * n < 1000:  # only what its probed lists hold: a narrow filter may leave fewer
            assert len(found) >= 1
            continue
        assert len(found) == 10
        exact = kept_ids[np.argsort(-(vectors[kept_ids // 3] @ probe))[:10]]
        recall = len(set(found.tolist()) & set(exact.tolist())) / 10
        if kind == "flat" or kind == "hnsw" and share * n <= EXACT_FILTERED:
            assert recall == 1.0
        else:  # approximate: HNSW through a selector, IVF-PQ's quantised codes
            assert recall >= 0.5


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivfpq"])
def test_a_build_from_the_store_reads_its_vectors_a_batch_at_a_time(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    import newsdesk.index.vectors as vectors_module

    n = 5000  # IVF-PQ trains above 4,096
    vectors, ids = _vectors(n), np.arange(n, dtype=np.int64) * 3
    fetch = _store(ids, vectors)
    asked: list[int] = []
    monkeypatch.setattr(vectors_module, "FETCH_BATCH", 1024)
    streamed = VectorIndex(kind, DIM, IndexParams(ivf_pq_m=4))
    assert streamed.sync(ids, lambda wanted: (asked.append(len(wanted)), fetch(wanted))[1])
    whole = VectorIndex(kind, DIM, IndexParams(ivf_pq_m=4))
    whole.rebuild(ids, vectors)
    # no read larger than a batch (IVF-PQ's training sample aside, read first), and the same index as from one array
    assert max(asked[1:] if kind == "ivfpq" else asked) <= 1024 and sum(asked[1:] if kind == "ivfpq" else asked) == n
    assert streamed.effective_type == whole.effective_type == kind and sorted(streamed.ids.tolist()) == ids.tolist()
    for probe in vectors[:20]:
        assert streamed.search(probe, 5)[0].tolist() == whole.search(probe, 5)[0].tolist()


def test_ivfpq_re_ranked_by_float16_copies_finds_the_exact_neighbours(tmp_path: Path) -> None:
    """NEWSDESK_IVF_REFINE keeps float16 copies (half of Flat's memory) and re-ranks the PQ hits by them."""
    import faiss

    n = 6000
    vectors, ids = _vectors(n), np.arange(n, dtype=np.int64) * 2
    probes = _vectors(30, seed=4)
    exact = [set(ids[np.argsort(-(vectors @ p))[:10]].tolist()) for p in probes]
    recall = {}
    for refine in (0, 32):
        index = VectorIndex("ivfpq", DIM, IndexParams(ivf_pq_m=4, ivf_nprobe=1000, ivf_refine=refine))
        index.rebuild(ids, vectors)
        recall[refine] = np.mean([len(set(index.search(p, 10)[0].tolist()) & e) / 10 for p, e in zip(probes, exact)])
    inner = faiss.downcast_index(index._index.index)
    assert isinstance(inner, faiss.IndexRefine) and faiss.downcast_index(inner.refine_index).sa_code_size() == 2 * DIM
    assert recall[32] >= 0.98 and recall[0] < recall[32]
    index.save(tmp_path / "vectors-000000001", 1)
    loaded, _ = VectorIndex.load(tmp_path / "vectors-000000001", DIM, params=IndexParams(ivf_pq_m=4, ivf_nprobe=1000, ivf_refine=32))
    assert all(loaded.search(p, 10)[0].tolist() == index.search(p, 10)[0].tolist() for p in probes)

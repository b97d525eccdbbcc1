"""Vector search per index type at archive scale: build time, memory, search latency, recall against Flat.

    .venv/bin/python bench/vector_index.py --n 1000000            # Flat, HNSW and IVF-PQ at 1M vectors
    .venv/bin/python bench/vector_index.py --n 100000 --types hnsw

The vectors are synthetic (seeded), because embedding a million real passages takes hours on this
machine: unit vectors with the structure of sentence embeddings, a low-rank part (64 latent
directions, so that near neighbours exist) plus isotropic noise, normalised. Uniformly random unit
vectors would make every approximate index look worse than on real text (nothing is near
anything in 384 dimensions); this mixture is easier than that, harder than a few tight clusters,
and stated as such. Queries are perturbed copies of stored vectors (a question near its passage).

Each index type is built and searched by Newsdesk's own :class:`newsdesk.index.vectors.VectorIndex`
(the same parameters the service uses) in a fresh subprocess, so its resident memory (VmRSS after the build minus before)
is its own; the vectors themselves (N x 384 float32) are in every process and are reported apart.
Search: one query at a time (as ``/ask`` searches), k = 10, FAISS on the process's default threads;
recall@10 is against Flat's exact answers for the same queries. Save and load: the service's
vectors file (``VectorIndex.save``/``load``). Results: printed, appended to
bench/results/vector_index.json, and written into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result, machine, write_section  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "vector_index.json"
DIM = 384
LATENT = 64
K = 10


def synthetic_vectors(n: int, seed: int) -> np.ndarray:
    """``n`` unit vectors: a shared low-rank part plus noise (see the module doc), in chunks to bound memory."""
    basis = np.random.default_rng(12345).standard_normal((LATENT, DIM)).astype(np.float32) / np.sqrt(LATENT)
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        block = rng.standard_normal((m, LATENT)).astype(np.float32) @ basis
        block += 0.6 * rng.standard_normal((m, DIM)).astype(np.float32) / np.sqrt(DIM)
        out[start:start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def queries_for(vectors: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    picked = vectors[rng.choice(len(vectors), size=count, replace=False)]
    noisy = picked + 0.5 * rng.standard_normal(picked.shape).astype(np.float32) / np.sqrt(DIM)
    return noisy / np.linalg.norm(noisy, axis=1, keepdims=True)


def _rss_mib() -> float:
    """Resident memory now (VmRSS), not the peak: the generator's temporaries are gone by the time it is read."""
    line = next(line for line in Path("/proc/self/status").read_text().splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(kind: str, n: int, queries: int, work: Path) -> dict:
    """In a child: build ``kind`` over the synthetic vectors, search, save, load; the exact answers come from Flat."""
    from newsdesk.index.vectors import VectorIndex

    vectors = synthetic_vectors(n, seed=1)
    asked = queries_for(vectors, queries, seed=2)
    rss_vectors = _rss_mib()
    ids = np.arange(n, dtype=np.int64)
    index = VectorIndex(kind, DIM)
    started = time.perf_counter()
    index.rebuild(ids, vectors)
    build = time.perf_counter() - started
    rss_built = _rss_mib()
    for q in asked[:20]:  # warm
        index.search(q, K)
    latencies, found = [], []
    for q in asked:
        t = time.perf_counter()
        hit_ids, _ = index.search(q, K)
        latencies.append(1000 * (time.perf_counter() - t))
        found.append(hit_ids.tolist())
    path = work / f"vectors-{kind}"
    started = time.perf_counter()
    index.save(path, generation=1, index_id="bench")
    save = time.perf_counter() - started
    effective = index.effective_type
    del index
    started = time.perf_counter()
    VectorIndex.load(path, DIM, index_id="bench")
    load = time.perf_counter() - started
    lat = np.array(latencies)
    return {"type": kind, "effective": effective, "n": n, "build_s": build, "rss_vectors_mib": rss_vectors, "rss_built_mib": rss_built,
            "rss_peak_mib": _peak_mib(), "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)),
            "mean_ms": float(lat.mean()), "save_s": save, "load_s": load, "file_mib": sum(f.stat().st_size for f in path.iterdir()) / 2**20, "found": found}


def measure(kind: str, n: int, queries: int, work: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(queries), str(work)],
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{kind} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def write_doc(result: dict) -> None:
    m = result["machine"]
    lines = ["## Vector search per index type", "",
             f"Machine: {m['cpu']}, {m['nproc']} cores, {m['memory_gib']} GiB RAM, shared (load average "
             f"{m['load_average_at_start']:.2f} at start). Run {result['date']}.", "",
             f"Command: `.venv/bin/python bench/vector_index.py --n {result['n']} --queries {result['queries']}`. "
             f"{result['n']:,} synthetic unit vectors (384 dimensions, a 64-direction low-rank part plus noise: see the "
             "script; not real embeddings), queries near stored vectors, one query at a time, k = 10, through Newsdesk's "
             "`VectorIndex` with the service's parameters (HNSW M 32, efConstruction 80, efSearch 128; IVF-PQ nlist "
             "4·√N, 48 sub-quantisers of 8 bits, nprobe nlist/16). Recall@10 against Flat's exact answers. Memory: resident "
             "memory (VmRSS) after the build minus before it (the generated vectors); the vectors file is the service's (`VectorIndex.save`).", "",
             "| index | build | memory beyond the vectors | search p50 / p95 | recall@10 vs Flat | file | load |",
             "|---|---|---|---|---|---|---|"]
    for r in result["types"]:
        lines.append(f"| {r['type']} | {r['build_s']:.1f} s | {r['rss_built_mib'] - r['rss_vectors_mib']:.0f} MiB | "
                     f"{r['p50_ms']:.2f} / {r['p95_ms']:.2f} ms | {r['recall@10']:.3f} | {r['file_mib']:.0f} MiB | {r['load_s']:.1f} s |")
    flat = next((r for r in result["types"] if r["type"] == "flat"), None)
    if flat:
        lines += ["", "Search time relative to Flat in the same run: " + ", ".join(
            f"{r['type']} {r['p50_ms'] / flat['p50_ms']:.3f}× (p50)" for r in result["types"] if r["type"] != "flat") + "."]
    write_section("vector_index", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--types", default="flat,hnsw,ivfpq")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    kinds = args.types.split(",")
    if "flat" not in kinds:
        kinds.insert(0, "flat")  # the exact answers recall is measured against
    with tempfile.TemporaryDirectory(prefix="newsdesk-vector-bench-") as tmp:
        info = machine()
        runs = []
        for kind in kinds:
            run = measure(kind, args.n, args.queries, Path(tmp))
            print(f"{kind}: build {run['build_s']:.1f} s, p50 {run['p50_ms']:.2f} ms, p95 {run['p95_ms']:.2f} ms, "
                  f"RSS {run['rss_built_mib']:.0f} MiB (vectors {run['rss_vectors_mib']:.0f}), load {run['load_s']:.1f} s", flush=True)
            runs.append(run)
    exact = next(r for r in runs if r["type"] == "flat")["found"]
    for run in runs:
        run["recall@10"] = float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(run.pop("found"), exact)]))
        print(f"{run['type']}: recall@10 vs Flat {run['recall@10']:.3f}")
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": info, "n": args.n,
              "queries": args.queries, "types": runs}
    if not args.no_write:
        append_result(RESULTS, result)
        write_doc(result)
        print(f"wrote {RESULTS.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, n, queries, work = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
        out = run_one(kind, n, queries, work)
        print("RESULT " + json.dumps(out), flush=True)
    else:
        main()

"""Vector search per index type at archive scale: build time, memory, recall against latency.

    .venv/bin/python bench/vector_index.py --n 1000000            # every index type at 1M vectors
    .venv/bin/python bench/vector_index.py --n 100000 --types hnsw

The vectors are synthetic (seeded), because embedding a million real passages takes hours on this
machine: unit vectors with the structure of sentence embeddings, a low-rank part (64 latent
directions, so that near neighbours exist) plus isotropic noise, normalised. Uniformly random unit
vectors would make every approximate index look worse than on real text (nothing is near
anything in 384 dimensions); this mixture is easier than that, harder than a few tight clusters,
and stated as such. Queries are perturbed copies of stored vectors (a question near its passage).

Each index type (``flat``, ``hnsw``, ``ivfpq``, and ``ivfpq-refine``: IVF-PQ whose candidates are
re-ranked by exact inner product) is built by Newsdesk's own :class:`newsdesk.index.vectors.VectorIndex`
with the service's defaults (:class:`~newsdesk.index.vectors.IndexParams`) in a fresh subprocess, so
its resident memory (VmRSS after the build minus before) is its own; the vectors themselves (N x 384
float32) are in every process and are reported apart. Then it is searched along its knob
(``SWEEPS``: HNSW's efSearch, IVF's nprobe), one query at a time on one thread (as a serving
process searches), k = 10; recall@10 is against Flat's exact answers for the same queries. Save
and load: the service's vectors folder (``VectorIndex.save``/``load``). Results: printed, appended to
bench/results/vector_index.json, a recall/latency plot (docs/vector_index.png) and docs/benchmarks.md.
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
PLOT = ROOT / "docs" / "vector_index.png"
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


# Each approximate type is searched along its recall/latency knob; the service's default is marked in the table.
SWEEPS = {"flat": ("exact", [0]), "hnsw": ("hnsw_ef_search", [16, 32, 64, 128, 256, 512, 1024]),
          "ivfpq": ("ivf_nprobe", [8, 16, 32, 64, 128, 256, 1024])}
# ivfpq-refine is searched along both of its knobs: lists probed (where the true neighbours can be found at
# all) and PQ hits re-ranked per result (which of those found are put in the right order).
REFINE_POINTS = [(64, 8), (256, 8), (256, 64), (1024, 16), (1024, 32), (1024, 64), (2048, 64)]  # (nprobe, refine)
REFINE = 64  # ivfpq-refine is built with NEWSDESK_IVF_REFINE=64 (the k x 64 best PQ hits re-ranked)


def run_one(kind: str, n: int, queries: int, work: Path) -> dict:
    """In a child: build ``kind`` over the synthetic vectors, search along its knob, save, load."""
    import dataclasses

    import faiss

    from newsdesk.index.vectors import IndexParams, VectorIndex

    vectors = synthetic_vectors(n, seed=1)
    asked = queries_for(vectors, queries, seed=2)
    rss_vectors = _rss_mib()
    ids = np.arange(n, dtype=np.int64)
    params = IndexParams(ivf_refine=REFINE if kind == "ivfpq-refine" else 0)
    index = VectorIndex(kind.split("-")[0], DIM, params)
    started = time.perf_counter()
    index.rebuild(ids, vectors)  # on every core, as `newsdesk ingest` builds
    build = time.perf_counter() - started
    rss_built = _rss_mib()
    faiss.omp_set_num_threads(1)  # searched as a serving process does (NEWSDESK_SEARCH_THREADS)
    if kind == "ivfpq-refine":
        settings = [{"ivf_nprobe": probes, "ivf_refine": refine} for probes, refine in REFINE_POINTS]
    else:
        knob, values = SWEEPS[kind]
        if knob == "ivf_nprobe":  # the service's own nprobe for this size is always one of the points
            values = sorted({*values, params.nprobe_for(params.nlist_for(n))})
        settings = [{knob: value} for value in values]
    points = []
    for setting in settings:
        knob, value = " + ".join(setting), " / ".join(str(v) for v in setting.values())
        if "exact" not in setting:
            index.tune(dataclasses.replace(params, **setting))
        for q in asked[:20]:  # warm
            index.search(q, K)
        latencies, found = [], []
        for q in asked:
            t = time.perf_counter()
            hit_ids, _ = index.search(q, K)
            latencies.append(1000 * (time.perf_counter() - t))
            found.append(hit_ids.tolist())
        lat = np.array(latencies)
        defaults = IndexParams()
        default = all(v == getattr(defaults, k) or k == "ivf_nprobe" and v == defaults.nprobe_for(defaults.nlist_for(n))
                      for k, v in setting.items() if k != "exact")
        points.append({"knob": knob, "value": value, "default": default,
                       "p50_ms": float(np.percentile(lat, 50)), "p95_ms": float(np.percentile(lat, 95)), "found": found})
    path = work / f"vectors-{kind}"
    started = time.perf_counter()
    index.save(path, generation=1, index_id="bench")
    save = time.perf_counter() - started
    effective = index.effective_type
    del index
    started = time.perf_counter()
    VectorIndex.load(path, DIM, index_id="bench", params=params)
    load = time.perf_counter() - started
    return {"type": kind, "effective": effective, "n": n, "build_s": build, "rss_vectors_mib": rss_vectors, "rss_built_mib": rss_built,
            "rss_peak_mib": _peak_mib(), "save_s": save, "load_s": load,
            "file_mib": sum(f.stat().st_size for f in path.iterdir()) / 2**20, "points": points}


def measure(kind: str, n: int, queries: int, work: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(queries), str(work)],
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{kind} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in result["types"]:
        xs, ys = [p["p95_ms"] for p in r["points"]], [p["recall@10"] for p in r["points"]]
        ax.plot(xs, ys, "o-", label=r["type"])
        for p in r["points"]:
            if p["knob"] != "exact":
                ax.annotate(str(p["value"]), (p["p95_ms"], p["recall@10"]), fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax.axhline(0.95, color="grey", linestyle=":", linewidth=1)
    ax.axvline(20, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("search p95, ms (one query at a time, one thread)")
    ax.set_ylabel("recall@10 against Flat")
    ax.set_title(f"{result['n']:,} vectors: recall against latency (labels: efSearch; nprobe [/ refine])")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def write_doc(result: dict) -> None:
    m = result["machine"]
    lines = ["## Vector search per index type", "",
             f"Machine: {m['cpu']}, {m['nproc']} cores, {m['memory_gib']} GiB RAM (load average "
             f"{m['load_average_at_start']:.2f} at start). Run {result['date']}.", "",
             f"Command: `.venv/bin/python bench/vector_index.py --n {result['n']} --queries {result['queries']}`. "
             f"{result['n']:,} synthetic unit vectors (384 dimensions, a 64-direction low-rank part plus noise: see the "
             "script; not real embeddings), queries near stored vectors, one query at a time on one thread (as a serving "
             "process searches), k = 10, through Newsdesk's `VectorIndex`; built on both cores. Defaults (`IndexParams`): "
             "HNSW M 32, efConstruction 80, efSearch 128; IVF-PQ nlist 4·√N, 48 sub-quantisers of 8 bits, nprobe nlist/16; "
             "`ivfpq-refine` is IVF-PQ built with `NEWSDESK_IVF_REFINE` (it keeps float16 copies of the vectors), searched "
             "along both knobs: lists probed and the k x refine best PQ hits re-ranked. Recall@10 against Flat's exact answers. Memory: resident memory (VmRSS) "
             "after the build minus before it (the generated vectors); file: the service's saved folder (`VectorIndex.save`); "
             "load: `VectorIndex.load` (checksums, then memory-mapped).", "",
             "| index | build | memory beyond the vectors | file | load | knob | search p50 / p95 | recall@10 vs Flat |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["types"]:
        for i, p in enumerate(r["points"]):
            head = (f"| {r['type']} | {r['build_s']:.1f} s | {r['rss_built_mib'] - r['rss_vectors_mib']:.0f} MiB | {r['file_mib']:.0f} MiB | "
                    f"{r['load_s']:.2f} s |") if i == 0 else "| | | | | |"
            knob = "exact" if p["knob"] == "exact" else f"{p['knob']} {p['value']}{' (default)' if p['default'] else ''}"
            lines.append(f"{head} {knob} | {p['p50_ms']:.2f} / {p['p95_ms']:.2f} ms | {p['recall@10']:.3f} |")
    flat = next((r for r in result["types"] if r["type"] == "flat"), None)
    if flat:
        base = flat["points"][0]["p95_ms"]
        best = {r["type"]: max((p for p in r["points"] if p["recall@10"] >= 0.95), key=lambda p: -p["p95_ms"], default=None)
                for r in result["types"] if r["type"] != "flat"}
        lines += ["", "The fastest point of each type that finds at least 0.95 of Flat's top 10, and its p95 against Flat's in "
                  "the same run: " + "; ".join(
                      f"{kind} none (best {max(p['recall@10'] for p in r['points']):.3f})" if best[kind] is None else
                      f"{kind} {best[kind]['knob']} {best[kind]['value']}: recall {best[kind]['recall@10']:.3f}, p95 "
                      f"{best[kind]['p95_ms']:.2f} ms = {best[kind]['p95_ms'] / base:.3f}× Flat"
                      for kind, r in ((r["type"], r) for r in result["types"] if r["type"] != "flat")) + ".",
                  "", f"![recall against latency]({PLOT.name})"]
    write_section("vector_index", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--types", default="flat,hnsw,ivfpq,ivfpq-refine")
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
            print(f"{kind}: build {run['build_s']:.1f} s, RSS {run['rss_built_mib']:.0f} MiB (vectors {run['rss_vectors_mib']:.0f}), "
                  f"load {run['load_s']:.2f} s; p95 ms along {run['points'][0]['knob']}: "
                  + ", ".join(f"{p['value']}: {p['p95_ms']:.2f}" for p in run["points"]), flush=True)
            runs.append(run)
    exact = next(r for r in runs if r["type"] == "flat")["points"][0]["found"]
    for run in runs:
        for point in run["points"]:
            point["recall@10"] = float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(point.pop("found"), exact)]))
        print(f"{run['type']}: recall@10 vs Flat " + ", ".join(f"{p['value']}: {p['recall@10']:.3f}" for p in run["points"]))
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": info, "n": args.n,
              "queries": args.queries, "types": runs}
    if not args.no_write:
        append_result(RESULTS, result)
        plot(result)
        write_doc(result)
        print(f"wrote {RESULTS.relative_to(ROOT)}, {PLOT.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        kind, n, queries, work = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), Path(sys.argv[5])
        out = run_one(kind, n, queries, work)
        print("RESULT " + json.dumps(out), flush=True)
    else:
        main()

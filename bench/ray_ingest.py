"""Ingest on a two-node Ray cluster against one process, in the same run, and whether the two indexes are equal.

    .venv/bin/python bench/ray_ingest.py [--xquad ../shared/eval/xquad/xquad.en.json] [--no-write]

The articles are XQuAD English's 240 paragraphs (real text, the real model). Both sides ingest them
with the same settings into fresh embedded indexes (the writer is not what is compared; the PostgreSQL
primary is the writer in ``tests/e2e/test_ray_ingest.py``):

* ``one process``: ``newsdesk ingest`` as it runs by default, the model in the ingesting process
  (ONNX Runtime on both cores);
* ``ray``: ``newsdesk ingest --ray``, the passages embedded as Ray Data tasks on a local Ray cluster
  of two nodes (head 127.0.0.2, worker 127.0.0.3, one CPU each: the same 2 cores), the rest as above.

Each side first ingests 8 other articles into a throwaway index, so that neither pays for loading
models in its timed run (the one process its model, each Ray worker process its own); then each
ingests the 240 articles, timed, alternating sides for ``--rounds``. Reported: passages/s of each, the
ratio, and whether every article, passage, sentence, entity and vector of the two indexes is equal.
Results: printed, appended to bench/results/ray_ingest.json, the ``ray-ingest`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result, machine, write_section  # noqa: E402

sys.path.insert(0, str(ROOT))
from tests.ray_cluster import ray_cluster  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ray_ingest.json"
XQUAD = ROOT.parent / "shared" / "eval" / "xquad" / "xquad.en.json"


def _write(articles: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in articles), encoding="utf-8")
    return path


def _same(a_dir: Path, b_dir: Path, settings) -> bool:
    with settings.open_store(a_dir) as a, settings.open_store(b_dir) as b:
        if a.counts().chunks != b.counts().chunks:
            return False
        for article_id in a.article_ids():
            if (a.sentences(article_id), a.entities(article_id)) != (b.sentences(article_id), b.entities(article_id)):
                return False
            mine, theirs = a.passages_of(article_id), b.passages_of(article_id)
            if [p.text for p in mine] != [p.text for p in theirs]:
                return False
            if not all(np.array_equal(a.sentence_vectors(p.rowid), b.sentence_vectors(q.rowid)) for p, q in zip(mine, theirs)):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--xquad", type=Path, default=XQUAD)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and docs alone")
    args = parser.parse_args()
    from newsdesk.index.ingest import ingest_items
    from newsdesk.index.pipeline import build_ingest_pipeline
    from newsdesk.index.sources import read_sources
    from newsdesk.service.config import Settings
    from newsdesk.service.evaluation import xquad_articles

    articles, _ = xquad_articles(args.xquad)
    settings = Settings.from_env()
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(), "articles": len(articles),
              "runs": {"one process": [], "ray": []}}
    with tempfile.TemporaryDirectory(prefix="newsdesk-ray-ingest-") as tmp, ray_cluster() as address:
        work = Path(tmp)
        source = _write(articles, work / "articles.jsonl")
        warm = _write([{**a, "id": "warm-" + a["id"]} for a in articles[-8:]], work / "warm.jsonl")
        options = {"one process": settings.ingest_options(), "ray": dataclasses.replace(settings.ingest_options(), ray_address=address)}
        pipelines = {}
        for side, option in options.items():
            with settings.open_store(work / f"warm-{side}", writer=True) as store:
                pipelines[side] = build_ingest_pipeline(store, option)
                ingest_items(read_sources([warm], option.max_article_bytes, None), store, option, pipeline=pipelines[side])
        for round_ in range(args.rounds):
            for side, option in options.items():
                folder = work / f"{side}-{round_}"
                with settings.open_store(folder, writer=True) as store:
                    started = time.perf_counter()
                    report = ingest_items(read_sources([source], option.max_article_bytes, None), store, option, pipeline=pipelines[side])
                    seconds = time.perf_counter() - started
                    passages = store.counts().chunks
                result["runs"][side].append({"seconds": round(seconds, 1), "passages": passages,
                                             "passages_per_s": round(passages / seconds, 1), "embedded": report.chunks_embedded})
                print(f"{side}, round {round_ + 1}: {passages} passages in {seconds:.1f} s, {passages / seconds:.1f} passages/s", flush=True)
        ray_nodes = len(pipelines["ray"].get_component("embedder")._embedder.nodes)
        result["ray_nodes_used"] = ray_nodes
        result["identical"] = _same(work / "one process-0", work / "ray-0", settings)
    best = {side: max(r["passages_per_s"] for r in runs) for side, runs in result["runs"].items()}
    result["ratio"] = round(best["ray"] / best["one process"], 2)
    print(f"best: one process {best['one process']} passages/s, ray {best['ray']} passages/s ({ray_nodes} nodes): "
          f"ratio {result['ratio']}; indexes identical: {result['identical']}")
    if not args.no_write:
        append_result(RESULTS, result)
        m = result["machine"]
        command = "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
        write_section("ray-ingest", [
            "## Ingest on Ray against one process (issue 15)", "",
            f"Machine: {m['cpu']}, {m['nproc']} cores, {m['memory_gib']} GiB (load average {m['load_average_at_start']:.2f} at start). "
            f"Run {result['date']}. Command: `{command}`.", "",
            f"XQuAD English's {result['articles']} paragraphs, the real int8 model; the best of {args.rounds} rounds per side, "
            "sides alternating, models loaded before the clock (bench/ray_ingest.py says how).", "",
            "| side | passages/s (best) | rounds (s) |", "|---|---|---|",
            *[f"| {side} | {best[side]} | {', '.join(str(r['seconds']) for r in runs)} |" for side, runs in result["runs"].items()],
            "",
            f"Ray over one process: **{result['ratio']}x**, with {ray_nodes} nodes embedding (a local cluster: both nodes share the "
            "machine's 2 cores, which the one process uses too, so this measures Ray's overhead, not more hardware). "
            f"The two indexes are {'identical' if result['identical'] else 'NOT identical'}: every article, passage, "
            "sentence, entity and vector compared."])


if __name__ == "__main__":
    main()

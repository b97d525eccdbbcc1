"""BM25 engines side by side: SQLite FTS5 (what the index used until schema 4) against Tantivy (the store's now).

    .venv/bin/python bench/bm25.py --archive /tmp/synth/h100k --questions /tmp/synth/q100k.jsonl [--scifact]

Speed: the archive's chunks (headline and text, as schema 3 indexed them) are copied into an FTS5 table
of a scratch SQLite file (``porter unicode61 remove_diacritics 2``, two columns), and each question is
asked of both engines in turn, as ``PassageSearch.bm25_search`` asks (the question's words without stop
words; FTS5: ``MATCH 'a' OR 'b' ... ORDER BY bm25() LIMIT k``; Tantivy: the store's own search over its
``lexical/`` folder, which a writer of this code builds). Questions alternate between the engines, so
both pay the same machine noise; the figure is the ratio of their medians in one run. Both engines read
from a warm page cache (a warm-up pass over every question first).

Quality (``--scifact``): BEIR SciFact's 300 test queries against its 5,183 abstracts, BM25 alone (the
top 100 passages ranked by article), nDCG@10, for FTS5 with two columns and for Tantivy as the store
indexes it; the abstracts are ingested into a scratch index by the real pipeline (minutes: the model
embeds them) unless ``--scifact-index`` names one built before.

Results: printed, appended to ``bench/results/bm25.json``, and the ``bm25`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result, machine, write_section  # noqa: E402

from newsdesk.index.store import ArticleStore  # noqa: E402
from newsdesk.index.text import search_terms  # noqa: E402
from newsdesk.service.config import Settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "bm25.json"
SCIFACT = ROOT.parent / "shared" / "eval" / "scifact"
FTS5_SCHEMA = "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, text, tokenize='porter unicode61 remove_diacritics 2')"


def fts5_copy(store: ArticleStore, path: Path) -> tuple[sqlite3.Connection, float]:
    """An FTS5 table of the store's chunks, as schema 3 indexed them; the seconds its build took."""
    db = sqlite3.connect(path)
    db.execute(FTS5_SCHEMA)
    started = time.perf_counter()
    rows = store.db.connection.execute("SELECT c.rowid, coalesce(a.title, ''), c.text FROM chunks c JOIN articles a ON a.id = c.article_id")
    db.executemany("INSERT INTO chunks_fts(rowid, title, text) VALUES(?,?,?)", rows)
    db.commit()
    return db, time.perf_counter() - started


def fts5_search(db: sqlite3.Connection, query: str, k: int) -> list[tuple[int, float]]:
    terms = search_terms(query)
    if not terms:
        return []
    match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
    return [(int(r[0]), float(r[1])) for r in db.execute(
        "SELECT rowid, -bm25(chunks_fts, 1.0, 1.0) FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts, 1.0, 1.0) LIMIT ?",
        (match, k))]


def speed(store: ArticleStore, fts: sqlite3.Connection, questions: list[str], k: int) -> dict:
    for question in questions:  # warm-up: both engines' pages in the cache
        fts5_search(fts, question, k)
        store.bm25_search(question, k)
    times: dict[str, list[float]] = {"fts5": [], "tantivy": []}
    overlap = []
    for i, question in enumerate(questions):
        order = (("fts5", lambda q: fts5_search(fts, q, k)), ("tantivy", lambda q: store.bm25_search(q, k)))
        found = {}
        for name, search in order if i % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            found[name] = search(question)
            times[name].append(1000 * (time.perf_counter() - started))
        top = {r for r, _ in found["fts5"][:10]}
        if top:
            overlap.append(len(top & {r for r, _ in found["tantivy"][:10]}) / len(top))
    out = {name: {"p50_ms": round(statistics.median(t), 3), "p95_ms": round(sorted(t)[int(0.95 * (len(t) - 1))], 3)} for name, t in times.items()}
    out["p50_ratio_tantivy_to_fts5"] = round(out["tantivy"]["p50_ms"] / out["fts5"]["p50_ms"], 4)
    out["top10_overlap"] = round(statistics.mean(overlap), 3)
    return out


def scifact(store: ArticleStore, fts: sqlite3.Connection) -> dict:
    queries = {q["_id"]: q["text"] for q in map(json.loads, (SCIFACT / "queries.jsonl").read_text(encoding="utf-8").splitlines()) if q}
    qrels: dict[str, dict[str, int]] = {}
    for line in (SCIFACT / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(score)
    article = dict(store.db.query("SELECT rowid, article_id FROM chunks"))

    def ndcg(hits: list[tuple[int, float]], relevant: dict[str, int]) -> float:
        ranked = list(dict.fromkeys(article[r] for r, _ in hits if r in article))
        dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        return dcg / sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))

    return {name: round(statistics.mean(ndcg(search(queries[q], 100), rel) for q, rel in qrels.items()), 4)
            for name, search in (("fts5", lambda q, k: fts5_search(fts, q, k)), ("tantivy", store.bm25_search))}


def write_doc(result: dict, command: str) -> None:
    m, s = result["machine"], result["speed"]
    lines = ["## BM25: FTS5 against Tantivy (`bench/bm25.py`, issue 14)", "",
             f"Command: `{command}` (measured {result['date']}). Machine: {m['cpu']}, {m['nproc']} cores; load average "
             f"{m['load_average_at_start']:.2f} at start. Archive: {result['passages']:,} passages; {result['questions']} questions, "
             f"top {result['k']}, one thread, engines alternating question by question.", "",
             "| engine | p50 ms | p95 ms | build s |", "|---|---|---|---|",
             f"| SQLite FTS5 (schema ≤ 3) | {s['fts5']['p50_ms']} | {s['fts5']['p95_ms']} | {result['fts5_build_seconds']} |",
             f"| Tantivy (`index/store/lexical.py`) | {s['tantivy']['p50_ms']} | {s['tantivy']['p95_ms']} | {result['tantivy_build_seconds']} |",
             "", f"Tantivy / FTS5, medians in the same run: **{s['p50_ratio_tantivy_to_fts5']}**. The two top 10s share "
             f"{s['top10_overlap']:.0%} of their passages (other stemmer, one field against two columns, Lucene's idf; on this "
             "synthetic text many passages tie)."]
    if "scifact" in result:
        sf = result["scifact"]
        lines += ["", f"SciFact, BM25 alone (300 queries, nDCG@10): FTS5 {sf['fts5']}, Tantivy {sf['tantivy']}."]
    write_section("bm25", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", type=Path, required=True, help="an index folder (a writer of this code has opened it)")
    parser.add_argument("--questions", type=Path, required=True, help="JSON Lines with a question field")
    parser.add_argument("--k", type=int, default=50, help="hits a search returns (default 50: NEWSDESK_RETRIEVAL_CANDIDATES)")
    parser.add_argument("--scifact", action="store_true", help="also BM25-alone nDCG@10 on SciFact")
    parser.add_argument("--scifact-index", type=Path, help="a SciFact index built before (evaluation.build_index)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    settings = Settings.from_env()
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    result: dict = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
                    "archive": str(args.archive), "questions": len(questions), "k": args.k}
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-bm25-") as tmp:
        work = Path(tmp)
        with settings.open_store(args.archive, writer=True) as store:  # a writer: the lexical folder up to date
            started = time.perf_counter()
            store.repair_lexical(force=True)
            result["tantivy_build_seconds"] = round(time.perf_counter() - started, 2)
        with settings.open_store(args.archive) as store:
            result["passages"] = store.counts().chunks
            fts, result["fts5_build_seconds"] = fts5_copy(store, work / "fts5.sqlite3")
            result["fts5_build_seconds"] = round(result["fts5_build_seconds"], 2)
            result["speed"] = speed(store, fts, questions, args.k)
            print(json.dumps(result["speed"], indent=1), flush=True)
        if args.scifact:
            from newsdesk.service.evaluation import build_index

            index = args.scifact_index
            if index is None:
                corpus = [json.loads(line) for line in (SCIFACT / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
                build_index(({"id": d["_id"], "title": d.get("title") or None, "text": d["text"]} for d in corpus if d["text"].strip()),
                            work / "scifact", settings).close()
                index = work / "scifact" / "index"
            with settings.open_store(index) as store:
                fts, _ = fts5_copy(store, work / "scifact-fts5.sqlite3")
                result["scifact"] = scifact(store, fts)
            print("SciFact BM25 alone, nDCG@10:", result["scifact"], flush=True)
    if not args.no_write:
        append_result(RESULTS, result)
        write_doc(result, " ".join([".venv/bin/python bench/bm25.py", *sys.argv[1:]]))
        print(f"wrote {RESULTS.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    main()

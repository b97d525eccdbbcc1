"""Evaluation sets through the real pipeline, scored (``newsdesk eval``, ``bench/``).

Formats are those of ``shared/eval/README.md``:

* ``seed``: JSON Lines ``{id, question, answers, articles, kind}`` against the current index;
* ``xquad``: SQuAD JSON; every paragraph becomes an article (titled by its Wikipedia page)
  in a fresh index, and every question is asked of the whole index;
* ``scifact``: BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv); the corpus is
  indexed (title + text) and retrieval is scored by nDCG@10 and Recall@100.

Every citation of every answer is checked against the stored original
(``quote == raw_text[start:end]``) and the rate is reported.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsdesk.index.ingest import ingest
from newsdesk.index.store import ReadStore

from .config import Settings
from .domain import Answer
from .query import QueryPipeline, retrieve
from .query.verify import quote_matches

__all__ = ["QuoteCheck", "build_index", "eval_scifact", "eval_seed", "eval_xquad", "normalize", "run", "squad_em", "squad_f1",
           "xquad_articles"]

SCIFACT_CANDIDATES = 100


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass
class QuoteCheck:
    """Counts citations and how many quote their article exactly."""

    store: ReadStore
    checked: int = 0
    exact: int = 0
    failures: list[str] = field(default_factory=list)

    def __call__(self, answer: Answer) -> None:
        for c in answer.citations:
            self.checked += 1
            if quote_matches(self.store, c.article_id, c.start, c.end, c.quote):
                self.exact += 1
            else:
                self.failures.append(f"{c.article_id}[{c.start}:{c.end}]")

    @property
    def rate(self) -> float:
        return self.exact / self.checked if self.checked else 1.0


def _latency(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50_ms": 0.0, "p95_ms": 0.0}
    return {"p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1)}


def eval_seed(path: Path, store: ReadStore, settings: Settings) -> dict[str, Any]:
    """Answer accuracy, citation precision/recall, abstention accuracy on a seed question set."""
    pipeline = QueryPipeline.from_settings(store, settings.embedder(store), settings, llm=None)
    quotes = QuoteCheck(store)
    rows, latencies = [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        q = json.loads(line)
        result = pipeline.ask(q["question"], top_k=settings.top_k)
        answer = result.answer
        latencies.append(result.timings["total_ms"])
        quotes(answer)
        cited = {c.article_id for c in answer.citations}
        answerable = not q["kind"].startswith("unanswerable")
        rows.append({
            "id": q["id"], "kind": q["kind"], "abstained": answer.abstained,
            "correct": (not answer.abstained and any(normalize(a) in normalize(answer.answer) for a in q["answers"])) if answerable
            else (answer.abstained and not cited),
            "precision": (len(cited & set(q["articles"])) / len(cited)) if cited else None,
            "recall": bool(cited & set(q["articles"])) if answerable else None,
            "evidence": round(answer.evidence_score, 3),
        })
    answerable = [r for r in rows if not r["kind"].startswith("unanswerable")]
    unanswerable = [r for r in rows if r["kind"].startswith("unanswerable")]
    precisions = [r["precision"] for r in answerable if r["precision"] is not None]
    return {
        "questions": len(rows),
        "answer_accuracy": sum(r["correct"] for r in answerable) / max(1, len(answerable)),
        "citation_precision": sum(precisions) / max(1, len(precisions)),
        "citation_recall": sum(bool(r["recall"]) for r in answerable) / max(1, len(answerable)),
        "abstention_accuracy": sum(r["correct"] for r in unanswerable) / max(1, len(unanswerable)),
        "quote_verification": quotes.rate, "citations_checked": quotes.checked,
        "latency": _latency(latencies), "rows": rows,
    }


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\b(a|an|the)\b", " ", re.sub(r"[^\w\s]", " ", text.lower()))
    return text.split()


def squad_em(prediction: str, gold: str) -> float:
    """SQuAD exact match: equal after lower-casing and removing punctuation, articles and extra white space."""
    return float(_tokens(prediction) == _tokens(gold))


def squad_f1(prediction: str, gold: str) -> float:
    p, g = _tokens(prediction), _tokens(gold)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def build_index(articles: Iterable[dict[str, Any]], data_dir: Path, settings: Settings) -> ReadStore:
    """A fresh index of ``articles`` (JSON Lines records) under ``data_dir``, or in the PostgreSQL database of
    ``settings.database_url``, which must be empty (an evaluation never mixes its articles with others)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir / "articles.jsonl"
    with source.open("w", encoding="utf-8") as handle:
        for article in articles:
            handle.write(json.dumps(article, ensure_ascii=False) + "\n")
    with settings.open_store(data_dir / "index", writer=True) as store:
        if store.counts().articles:
            raise RuntimeError(f"the evaluation needs an empty index; {store.counts().articles} articles are already in it")
        report = ingest([source], store, settings.ingest_options(), progress=False)
        if report.skipped:
            raise RuntimeError(f"{len(report.skipped)} articles were skipped, e.g. {report.skipped[0]}")
    return settings.open_store(data_dir / "index")


def xquad_articles(path: Path) -> tuple[list[dict[str, Any]], list[tuple[str, str, list[str]]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    articles, questions = [], []
    for page in data["data"]:
        for i, paragraph in enumerate(page["paragraphs"]):
            article_id = f"{page['title']}#{i}"
            articles.append({"id": article_id, "title": page["title"].replace("_", " "), "text": paragraph["context"]})
            questions += [(q["question"], article_id, [a["text"] for a in q["answers"]]) for q in paragraph["qas"]]
    return articles, questions


def eval_xquad(path: Path, work: Path, settings: Settings, limit: int | None = None) -> dict[str, Any]:
    """Open-book XQuAD: passage recall@1/@5, gold answer inside the answer, SQuAD F1 of the answer sentence, and
    SQuAD exact match and F1 of the short answer (0 for a question without one) with the share that has one."""
    articles, questions = xquad_articles(path)
    store = build_index(articles, work, settings)
    pipeline = QueryPipeline.from_settings(store, settings.embedder(store), settings, llm=None)
    quotes = QuoteCheck(store)
    r1 = r5 = contained = abstained = short = 0
    f1s, short_ems, short_f1s, latencies = [], [], [], []
    for question, gold, answers in questions[:limit]:
        started = time.perf_counter()
        result = pipeline.ask(question, top_k=settings.top_k)
        latencies.append(1000 * (time.perf_counter() - started))
        answer = result.answer
        quotes(answer)
        ranked = list(dict.fromkeys(p.article_id for p in retrieve(pipeline.retrieval, question, top_k=5).passages))
        r1 += ranked[:1] == [gold]
        r5 += gold in ranked[:5]
        abstained += answer.abstained
        contained += any(normalize(a) in normalize(answer.answer) for a in answers) and not answer.abstained
        f1s.append(max(squad_f1(s.text, a) for s in answer.sentences for a in answers) if answer.sentences else 0.0)
        given = answer.short_answer.text if answer.short_answer else None
        short += given is not None
        short_ems.append(max(squad_em(given, a) for a in answers) if given is not None else 0.0)
        short_f1s.append(max(squad_f1(given, a) for a in answers) if given is not None else 0.0)
    n = len(questions[:limit])
    return {"questions": n, "passage_recall@1": r1 / n, "passage_recall@5": r5 / n, "answer_recall": contained / n,
            "answer_sentence_f1": sum(f1s) / n, "short_answer_em": sum(short_ems) / n, "short_answer_f1": sum(short_f1s) / n,
            "short_answer_share": short / n, "abstained": abstained / n, "quote_verification": quotes.rate,
            "citations_checked": quotes.checked, "latency": _latency(latencies)}


def eval_scifact(folder: Path, work: Path, settings: Settings, answer: bool = True) -> dict[str, Any]:
    """BEIR SciFact retrieval (nDCG@10, Recall@100) and, with ``answer``, quote checks of every answer."""
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines()) if q}
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        qid, doc, score = line.split("\t")
        qrels.setdefault(qid, {})[doc] = int(score)
    store = build_index(({"id": d["_id"], "title": d.get("title") or None, "text": d["text"]} for d in corpus if d["text"].strip()),
                        work, settings)
    # Recall@100 needs at least 100 passages from each retriever before fusion.
    pipeline = QueryPipeline.from_settings(store, settings.embedder(store), settings, llm=None,
                                           candidates=max(SCIFACT_CANDIDATES, settings.retrieval_candidates))
    quotes = QuoteCheck(store)
    ndcgs, recalls, latencies = [], [], []
    for qid, relevant in qrels.items():
        started = time.perf_counter()
        passages = retrieve(pipeline.retrieval, queries[qid], top_k=300).passages
        latencies.append(1000 * (time.perf_counter() - started))
        ranked = list(dict.fromkeys(p.article_id for p in passages))
        dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
        ideal = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
        ndcgs.append(dcg / ideal)
        recalls.append(len(set(ranked[:100]) & set(relevant)) / len(relevant))
        if answer:
            quotes(pipeline.ask(queries[qid], top_k=settings.top_k).answer)
    return {"queries": len(qrels), "ndcg@10": sum(ndcgs) / len(ndcgs), "recall@100": sum(recalls) / len(recalls),
            "quote_verification": quotes.rate, "citations_checked": quotes.checked, "retrieval_latency": _latency(latencies)}


def run(kind: str, path: Path, settings: Settings, limit: int | None = None) -> dict[str, Any]:
    if kind == "seed":
        with settings.open_store() as store:
            return eval_seed(path, store, settings)
    with tempfile.TemporaryDirectory(prefix=f"newsdesk-eval-{kind}-") as work:
        if kind == "xquad":
            return eval_xquad(path, Path(work), settings, limit)
        return eval_scifact(path, Path(work), settings)

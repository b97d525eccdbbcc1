"""Fit the answer scorer (``service/query/scorer.json``) on development data, out of fold.

    .venv/bin/python bench/fit_scorer.py --xquad-index DIR [--rtqa-repo PATH --rtqa-work DIR] [--write]

Every question is run through the real retrieval (top ``NEWSDESK_TOP_K`` passages, as the
service reads them); every candidate unit of the extractive answerer (a sentence or two
adjacent ones) becomes one row of :data:`newsdesk.service.query.scoring.FEATURES`,
labelled 1 when it contains the gold answer:

* XQuAD (``../shared/eval/xquad``): the gold answer span; group: the Wikipedia article;
* RealTime QA development weeks (2022 and 2023-07..2024-12 only; the repository is read
  through ``bench/realtimeqa.py``, which refuses held-out weeks), over the block archives
  that script built: the correct choice's text; ``as_of`` = the question's date; group: the week.

A logistic regression is fitted in folds grouped by source (no article or week is both
trained and tested on), and scored on each held-out fold by how often the top candidate
holds the answer, beside the model shipped today (``default_model()``). Abstention: each question is also asked without
its own source (XQuAD: its paragraph excluded; RealTime QA: its articles excluded), and the
held-out probability of the best candidate is tabulated against thresholds. ``--write``
refits on everything and writes the weights; the threshold to ship is printed (it is
``NEWSDESK_ABSTAIN_BELOW``'s default, kept in step by a test). Results: bench/results/scorer.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, machine  # noqa: E402

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from newsdesk.index.embed import Embedder  # noqa: E402
from newsdesk.index.store import ReadStore  # noqa: E402
from newsdesk.service.config import Settings  # noqa: E402
from newsdesk.service.domain import Passage  # noqa: E402
from newsdesk.service.evaluation import normalize, xquad_articles  # noqa: E402
from newsdesk.service.query import QueryPipeline  # noqa: E402
from newsdesk.service.query.extractive import ExtractiveAnswerer, Unit  # noqa: E402
from newsdesk.service.query.scoring import FEATURES, ScoringModel, default_model  # noqa: E402
from newsdesk.service.query.timeframe import parse_as_of  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
RESULTS = ROOT / "bench" / "results" / "scorer.json"
MODEL_FILE = ROOT / "service" / "query" / "scorer.json"
THRESHOLDS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6)


@dataclass
class Asked:
    """One question asked once: its candidates' features and labels."""

    source: str  # xquad | rtqa
    group: str
    answerable: bool
    features: np.ndarray
    labels: np.ndarray


def candidates(pipeline: QueryPipeline, store: ReadStore, question: str, top_k: int, as_of: dt.datetime | None,
               exclude: set[str]) -> list[Unit]:
    """The extractive answerer's candidates for ``question``, with the articles in ``exclude`` out of reach."""
    retrieval = pipeline.retrieval
    filters = retrieval.get_component("filters").run(question, question, as_of=as_of)
    allowed = filters["allowed"]
    if exclude:
        allowed = (allowed if allowed is not None else store.rowids_where()) - store.rowids_where(stories=sorted(exclude))
    dense = retrieval.get_component("dense").run(filters["query"], allowed)
    bm25 = retrieval.get_component("bm25").run(filters["query"], allowed)
    fused = retrieval.get_component("fusion").run(bm25["passages"], dense["passages"])["passages"]
    passages: list[Passage] = retrieval.get_component("collapse").run(fused, top_k)["passages"]
    answerer: ExtractiveAnswerer = pipeline.pipeline.get_component("extractive")
    frame = filters["timeframe"]
    return answerer.candidates(filters["question"], passages, np.asarray(dense["query_embedding"], dtype=np.float32), "",
                               as_of.date() if as_of else None, bool(frame and frame.present))


def asked(source: str, group: str, answerable: bool, units: list[Unit], answers: list[str]) -> Asked:
    texts = [normalize(" ".join(c.sentence.text for c in u.sentences)) for u in units]
    labels = np.array([any(normalize(a) in t for a in answers) for t in texts], dtype=np.int8)
    features = np.stack([u.features for u in units]) if units else np.empty((0, len(FEATURES)))
    return Asked(source, group, answerable, features, labels)


def xquad(settings: Settings, embedder: Embedder, index: Path, limit: int | None) -> list[Asked]:
    _, questions = xquad_articles(EVAL / "xquad" / "xquad.en.json")
    store = settings.open_store(index)
    pipeline = QueryPipeline.from_settings(store, embedder, settings, llm=None)
    rows = []
    for i, (question, gold, answers) in enumerate(questions[:limit]):
        if i % 100 == 0:
            print(f"xquad: {i} questions", flush=True)
        group = gold.split("#")[0]
        rows.append(asked("xquad", group, True, candidates(pipeline, store, question, settings.top_k, None, set()), answers))
        rows.append(asked("xquad", group, False, candidates(pipeline, store, question, settings.top_k, None, {gold}), answers))
    return rows


def rtqa(settings: Settings, embedder: Embedder, repo_path: Path, work: Path, limit: int | None,
         only: list[str] | None) -> list[Asked]:
    import realtimeqa  # bench/realtimeqa.py: reads development weeks only

    repo = realtimeqa.RtqaRepo(repo_path)
    rows = []
    for folder in sorted((work / "blocks").glob("b*-*")):
        data = folder / "data"
        if not (data / "newsdesk.sqlite3").exists() or (only and folder.name not in only):
            continue
        first, last = folder.name[1:].split("-")
        weeks = [w for w in realtimeqa.development_weeks(repo) if first <= w.strftime("%Y%m%d") <= last]
        block = realtimeqa.load_block(repo, weeks, work)
        try:
            store = settings.open_store(data)
        except Exception as exc:  # an index still being built: skip it
            print(f"skipping {folder.name}: {exc}", flush=True)
            continue
        pipeline = QueryPipeline.from_settings(store, embedder, settings, llm=None)
        for q in block.questions[:limit]:
            as_of = parse_as_of(q.date) if q.date else None
            rows.append(asked("rtqa", q.week, True, candidates(pipeline, store, q.sentence, settings.top_k, as_of, set()), [q.correct]))
            rows.append(asked("rtqa", q.week, False,
                              candidates(pipeline, store, q.sentence, settings.top_k, as_of, set(q.article_ids)), [q.correct]))
        print(f"{folder.name}: {len(block.questions[:limit])} questions", flush=True)
    return rows


def fit(rows: list[Asked]) -> ScoringModel:
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([r.features for r in rows if r.answerable])
    y = np.concatenate([r.labels for r in rows if r.answerable])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / std, y)
    weights = model.coef_[0] / std
    bias = float(model.intercept_[0] - (model.coef_[0] * mean / std).sum())
    return ScoringModel(tuple(float(w) for w in weights), bias, "logistic")


def evaluate(rows: list[Asked], folds: int) -> dict:
    """Held-out top-1 accuracy (answerable) beside the shipped model's, and the abstention table, per source."""
    groups = sorted({(r.source, r.group) for r in rows})
    fold_of = {g: i % folds for i, g in enumerate(sorted(groups, key=lambda g: zlib.crc32("/".join(g).encode())))}
    models = {k: fit([r for r in rows if fold_of[(r.source, r.group)] != k and len(r.labels)]) for k in range(folds)}
    held_out = [models[fold_of[(r.source, r.group)]] for r in rows]  # each row scored by the model that never saw its group
    best = {i: float(held_out[i].score(r.features).max()) if len(r.labels) else 0.0 for i, r in enumerate(rows)}
    shipped = default_model()
    report: dict = {}
    for source in sorted({r.source for r in rows}):
        idx = [i for i, r in enumerate(rows) if r.source == source]
        answerable = [i for i in idx if rows[i].answerable]
        fitted_top = [bool(len(rows[i].labels)) and bool(rows[i].labels[int(np.argmax(held_out[i].score(rows[i].features)))])
                      for i in answerable]
        hand_top = [bool(len(rows[i].labels)) and bool(rows[i].labels[int(np.argmax(shipped.score(rows[i].features)))])
                    for i in answerable]
        table = []
        for t in THRESHOLDS:
            kept = [fitted_top[j] and best[i] >= t for j, i in enumerate(answerable)]
            answered = [best[i] >= t for i in answerable]
            abstained = [best[i] < t for i in idx if not rows[i].answerable]
            table.append({"threshold": t, "answered": round(float(np.mean(answered)), 3),
                          "top1_correct_and_answered": round(float(np.mean(kept)), 3),
                          "unanswerable_abstained": round(float(np.mean(abstained)), 3) if abstained else None})
        report[source] = {"questions": len(answerable), "groups": len({rows[i].group for i in idx}),
                          "top1_fitted": round(float(np.mean(fitted_top)), 3), "top1_shipped": round(float(np.mean(hand_top)), 3),
                          "thresholds": table}
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--xquad-index", type=Path, required=True, help="a data dir holding the XQuAD paragraphs (newsdesk ingest)")
    parser.add_argument("--rtqa-repo", type=Path, help="the fetched realtimeqa_public repository")
    parser.add_argument("--rtqa-work", type=Path, default=Path("/work/rtqa/work"), help="bench/realtimeqa.py's --work folder")
    parser.add_argument("--rtqa-blocks", nargs="*", help="only these block folders (complete ones)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions per set (a quick look)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help=f"refit on everything and write {MODEL_FILE.relative_to(ROOT)}")
    args = parser.parse_args()
    settings = Settings.from_env()
    embedder = Embedder(settings.embed_batch_size)
    started = time.perf_counter()
    rows = xquad(settings, embedder, args.xquad_index, args.limit)
    if args.rtqa_repo:
        rows += rtqa(settings, embedder, args.rtqa_repo, args.rtqa_work, args.limit, args.rtqa_blocks)
    report = evaluate(rows, args.folds)
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "command": " ".join(["bench/fit_scorer.py", *sys.argv[1:]]), "folds": args.folds, "features": list(FEATURES),
              "seconds": round(time.perf_counter() - started, 1), "held_out": report}
    print(json.dumps(result["held_out"], indent=1))
    if args.write:
        model = fit([r for r in rows if len(r.labels)])
        sources = ", ".join(f"{s}: {v['questions']} questions in {v['groups']} groups" for s, v in report.items())
        model = ScoringModel(model.weights, model.bias, "logistic", fitted_on=f"{result['date']}: {sources} (bench/fit_scorer.py)")
        MODEL_FILE.write_text(model.to_json(), encoding="utf-8")
        result["weights"] = dict(zip(FEATURES, model.weights)) | {"bias": model.bias}
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}")
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

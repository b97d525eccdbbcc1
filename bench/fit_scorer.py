"""Fit the answer scorer (``service/query/scorer.json``) on development data, out of fold.

    .venv/bin/python bench/fit_scorer.py --xquad-index DIR [--rtqa-repo PATH --rtqa-work DIR] \
        [--cache FILE] [--write]

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
holds the answer, beside the hand-set weights shipped before (:func:`hand_model`). Abstention: each question is also asked without
its own source (XQuAD: its paragraph excluded; RealTime QA: its articles excluded), and the
held-out probability of the best candidate is tabulated against thresholds. ``--write``
refits on everything and writes the weights; the threshold to ship is printed (it is
``NEWSDESK_ABSTAIN_BELOW``'s default, kept in step by a test). Results: bench/results/scorer.json.

Collecting the candidates is the slow part (every question through retrieval, twice);
``--cache FILE`` keeps them (features, labels, unit keys; no article text) and reuses them
while the code's :data:`FEATURES` are among those collected, so fitting, thresholds and ablations
(``--ablate``: the held-out top-1 with each feature left out) take seconds. The cache holds
RealTime QA-derived labels: keep it outside the project (never commit it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pickle
import sys
import time
import zlib
from collections.abc import Callable
import dataclasses
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
from newsdesk.service.query.extractive import ExtractiveAnswerer, Unit, relative_features  # noqa: E402
from newsdesk.service.query.scoring import FEATURES, ScoringModel  # noqa: E402
from newsdesk.service.query.timeframe import parse_as_of  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
RESULTS = ROOT / "bench" / "results" / "scorer.json"
MODEL_FILE = ROOT / "service" / "query" / "scorer.json"
THRESHOLDS = tuple(np.round(np.arange(0.02, 0.81, 0.01), 3))
RATIOS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # a second unit when it scores at least this share of the first
# The abstention threshold: the highest at which the held-out questions of CALIBRATE_ON are still answered
# ANSWER_AT_LEAST: abstain as often as possible without answering fewer questions than the release before (its
# hand-set score answered 95.9% of XQuAD), so that XQuAD's answer recall is kept. XQuAD, because its questions
# are answerable by construction; a RealTime QA question is "answerable" only in name when no retrieved
# sentence holds its answer (the candidates' ceiling is printed beside it).
CALIBRATE_ON, ANSWER_AT_LEAST = "xquad", 0.95


@dataclass
class Asked:
    """One question asked once: its candidates' features and labels."""

    source: str  # xquad | rtqa
    group: str
    answerable: bool
    features: np.ndarray
    labels: np.ndarray
    keys: list[frozenset[tuple[str, int]]]  # each unit's sentences, to keep a second unit from repeating the first


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


def asked(source: str, group: str, answerable: bool, units: list[Unit], holds: Callable[[str], bool]) -> Asked:
    """One question's candidates as rows; ``holds(text)``: whether a unit's text contains the gold answer."""
    labels = np.array([holds(" ".join(c.sentence.text for c in u.sentences)) for u in units], dtype=np.int8)
    features = np.stack([u.features for u in units]) if units else np.empty((0, len(FEATURES)))
    return Asked(source, group, answerable, features, labels, [frozenset(c.key for c in u.sentences) for u in units])


def xquad_holds(answers: list[str]) -> Callable[[str], bool]:
    wanted = [normalize(a) for a in answers]
    return lambda text: any(a in normalize(text) for a in wanted)


def xquad(settings: Settings, embedder: Embedder, index: Path, limit: int | None) -> list[Asked]:
    _, questions = xquad_articles(EVAL / "xquad" / "xquad.en.json")
    store = settings.open_store(index)
    pipeline = QueryPipeline.from_settings(store, embedder, settings, llm=None)
    rows = []
    for i, (question, gold, answers) in enumerate(questions[:limit]):
        if i % 100 == 0:
            print(f"xquad: {i} questions", flush=True)
        group = gold.split("#")[0]
        holds = xquad_holds(answers)
        rows.append(asked("xquad", group, True, candidates(pipeline, store, question, settings.top_k, None, set()), holds))
        rows.append(asked("xquad", group, False, candidates(pipeline, store, question, settings.top_k, None, {gold}), holds))
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
            holds = lambda text, q=q: realtimeqa.Haystack(text).contains(q.correct)  # the benchmark's own test
            rows.append(asked("rtqa", q.week, True, candidates(pipeline, store, q.sentence, settings.top_k, as_of, set()), holds))
            rows.append(asked("rtqa", q.week, False,
                              candidates(pipeline, store, q.sentence, settings.top_k, as_of, set(q.article_ids)), holds))
        print(f"{folder.name}: {len(block.questions[:limit])} questions", flush=True)
    return rows


def fit(rows: list[Asked], keep: np.ndarray | None = None) -> ScoringModel:
    """A logistic regression over every asked question's candidates, with and without its own source
    (standardised, weights mapped back to raw features): the questions asked without their source
    teach it what a close-looking candidate that does not answer is like, so that its probability
    also says whether the archive answers at all. ``keep``: a mask of the features used (the others
    get weight 0)."""
    from sklearn.linear_model import LogisticRegression

    keep = np.ones(len(FEATURES), dtype=bool) if keep is None else keep
    x = np.concatenate([r.features for r in rows])[:, keep]
    y = np.concatenate([r.labels for r in rows])
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=3000).fit((x - mean) / std, y)
    weights = np.zeros(len(FEATURES))
    weights[keep] = model.coef_[0] / std
    bias = float(model.intercept_[0] - (model.coef_[0] * mean / std).sum())
    return ScoringModel(tuple(float(w) for w in weights), bias, "logistic", threshold=0.0, second_unit_ratio=1.0)


def choose(scores: np.ndarray, keys: list[frozenset[tuple[str, int]]], ratio: float, max_sentences: int = 3) -> list[int]:
    """The units the answerer cites (as :meth:`ExtractiveAnswerer.run` picks them, without its near-duplicate
    test): the best, then the next ones scoring at least ``ratio`` x the best, sharing no sentence."""
    order = np.argsort(-scores, kind="stable")
    chosen, used, count = [int(order[0])], set(keys[order[0]]), len(keys[order[0]])
    for i in order[1:]:
        if scores[i] < ratio * scores[order[0]] or count >= max_sentences:
            break
        if keys[i] & used or count + len(keys[i]) > max_sentences:
            continue
        chosen.append(int(i))
        used |= keys[i]
        count += len(keys[i])
    return chosen


def held_out_models(rows: list[Asked], folds: int, keep: np.ndarray | None = None) -> list[ScoringModel]:
    """For each row, the model fitted on the folds that do not hold its group (source + article or week)."""
    groups = sorted({(r.source, r.group) for r in rows})
    fold_of = {g: i % folds for i, g in enumerate(sorted(groups, key=lambda g: zlib.crc32("/".join(g).encode())))}
    models = {k: fit([r for r in rows if fold_of[(r.source, r.group)] != k and len(r.labels)], keep) for k in range(folds)}
    return [models[fold_of[(r.source, r.group)]] for r in rows]


def hand_model() -> ScoringModel:
    """The weights shipped before any fit (sessions 2-4): 0.5 dense + 0.5 coverage - 0.05 for a pair, the baseline."""
    weights = {"dense": 0.5, "coverage": 0.5, "pair": -0.05}
    return ScoringModel(tuple(weights.get(f, 0.0) for f in FEATURES), 0.0, "identity", threshold=0.35, second_unit_ratio=0.92)


def top1(rows: list[Asked], models: list[ScoringModel], source: str) -> float:
    hits = [bool(len(r.labels)) and bool(r.labels[int(np.argmax(m.score(r.features)))])
            for r, m in zip(rows, models) if r.source == source and r.answerable]
    return round(float(np.mean(hits)), 3)


def evaluate(rows: list[Asked], folds: int, ratios: tuple[float, ...], ablate: bool) -> dict:
    """Held-out top-1 and answer accuracy (answerable) beside the shipped model's, the abstention table,
    and the threshold to ship (:data:`ANSWER_AT_LEAST` on :data:`CALIBRATE_ON`)."""
    held_out = held_out_models(rows, folds)
    scores = [m.score(r.features) if len(r.labels) else np.empty(0) for r, m in zip(rows, held_out)]
    best = [float(s.max()) if len(s) else 0.0 for s in scores]
    hand = hand_model()
    sources = sorted({r.source for r in rows})
    report: dict = {"sources": {}}
    for source in sources:
        idx = [i for i, r in enumerate(rows) if r.source == source]
        answerable = [i for i in idx if rows[i].answerable]
        unanswerable = [i for i in idx if not rows[i].answerable]
        chosen = {ratio: [choose(scores[i], rows[i].keys, ratio) if len(scores[i]) else [] for i in answerable] for ratio in ratios}
        answer_holds = {ratio: [bool(rows[i].labels[c].any()) if c else False for i, c in zip(answerable, picks)]
                        for ratio, picks in chosen.items()}
        length = {ratio: [sum(len(rows[i].keys[j]) for j in c) for i, c in zip(answerable, picks) if c]
                  for ratio, picks in chosen.items()}
        table = []
        for t in THRESHOLDS:
            table.append({"threshold": round(t, 3), "answered": round(float(np.mean([best[i] >= t for i in answerable])), 3),
                          "top1_correct_and_answered": round(float(np.mean(
                              [bool(len(scores[i])) and bool(rows[i].labels[int(np.argmax(scores[i]))]) and best[i] >= t
                               for i in answerable])), 3),
                          "unanswerable_abstained": round(float(np.mean([best[i] < t for i in unanswerable])), 3)
                          if unanswerable else None})
        report["sources"][source] = {
            "questions": len(answerable), "groups": len({rows[i].group for i in idx}),
            "top1_fitted": top1(rows, held_out, source), "top1_hand": top1(rows, [hand] * len(rows), source),
            "ceiling": round(float(np.mean([bool(rows[i].labels.any()) for i in answerable])), 3),
            "answer_holds_by_ratio": {str(r): {"holds": round(float(np.mean(v)), 3), "sentences": round(float(np.mean(length[r])), 2)}
                                      for r, v in answer_holds.items()},
            "thresholds": table}
    answered = {t["threshold"]: t["answered"] for t in report["sources"].get(CALIBRATE_ON, {}).get("thresholds", [])}
    report["threshold"] = max((t for t, share in answered.items() if share >= ANSWER_AT_LEAST), default=None)
    report["threshold_rule"] = f"the highest at which held-out {CALIBRATE_ON} questions are answered at least {ANSWER_AT_LEAST:.0%}"
    if ablate:
        report["ablation_top1"] = {}
        for j, name in enumerate(FEATURES):
            keep = np.ones(len(FEATURES), dtype=bool)
            keep[j] = False
            models = held_out_models(rows, folds, keep)
            report["ablation_top1"][f"without {name}"] = {s: top1(rows, models, s) for s in sources}
    return report


def collect(args: argparse.Namespace, settings: Settings) -> list[Asked]:
    """Every question's candidates, from ``--cache`` when it was collected with the same features."""
    if args.cache and args.cache.exists():
        cached = pickle.loads(args.cache.read_bytes())
        if set(FEATURES) <= set(cached["features"]) and cached["args"] == _collect_args(args):
            print(f"candidates from {args.cache}", flush=True)
            columns = [cached["features"].index(f) for f in FEATURES]  # a feature since dropped is left out
            return [dataclasses.replace(r, features=relative_features(r.features[:, columns].copy())) for r in cached["rows"]]
        print(f"{args.cache} was collected with other features or sets: collecting again", flush=True)
    embedder = settings.embedder()
    rows = xquad(settings, embedder, args.xquad_index, args.limit)
    if args.rtqa_repo:
        rows += rtqa(settings, embedder, args.rtqa_repo, args.rtqa_work, args.limit, args.rtqa_blocks)
    if args.cache:
        args.cache.write_bytes(pickle.dumps({"features": list(FEATURES), "args": _collect_args(args), "rows": rows}))
    return rows


def _collect_args(args: argparse.Namespace) -> dict:
    return {"xquad": str(args.xquad_index), "rtqa": str(args.rtqa_repo), "blocks": args.rtqa_blocks, "limit": args.limit,
            "top_k": args.top_k}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--xquad-index", type=Path, required=True, help="a data dir holding the XQuAD paragraphs (newsdesk ingest)")
    parser.add_argument("--rtqa-repo", type=Path, help="the fetched realtimeqa_public repository")
    parser.add_argument("--rtqa-work", type=Path, default=Path("/work/rtqa/work"), help="bench/realtimeqa.py's --work folder")
    parser.add_argument("--rtqa-blocks", nargs="*", help="only these block folders (complete ones)")
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions per set (a quick look)")
    parser.add_argument("--top-k", type=int, default=None, help="passages an answer is drawn from (default: NEWSDESK_TOP_K)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--cache", type=Path, help="keep (and reuse) the collected candidates in this file, outside the project")
    parser.add_argument("--ablate", action="store_true", help="also the held-out top-1 without each feature")
    parser.add_argument("--ratio", type=float, default=0.7, help="the second-unit ratio to ship (from the held-out table: "
                        "the most answers held while every source's answers stay near two sentences)")
    parser.add_argument("--write", action="store_true", help=f"refit on everything and write {MODEL_FILE.relative_to(ROOT)}")
    args = parser.parse_args()
    settings = Settings.from_env()
    if args.top_k:
        settings = dataclasses.replace(settings, top_k=args.top_k)
    started = time.perf_counter()
    rows = collect(args, settings)
    report = evaluate(rows, args.folds, RATIOS, args.ablate)
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "command": " ".join(["bench/fit_scorer.py", *sys.argv[1:]]), "folds": args.folds, "features": list(FEATURES),
              "seconds": round(time.perf_counter() - started, 1), "held_out": report}
    print(json.dumps(result["held_out"], indent=1))
    if args.write:
        model = fit([r for r in rows if len(r.labels)])
        sources = ", ".join(f"{s}: {v['questions']} questions in {v['groups']} groups" for s, v in report["sources"].items())
        model = ScoringModel(model.weights, model.bias, "logistic", threshold=report["threshold"], second_unit_ratio=args.ratio,
                             fitted_on=f"{result['date']}: {sources} (bench/fit_scorer.py)")
        MODEL_FILE.write_text(model.to_json(), encoding="utf-8")
        result["weights"] = dict(zip(FEATURES, model.weights)) | {"bias": model.bias}
        print(f"wrote {MODEL_FILE.relative_to(ROOT)}; the threshold to ship (NEWSDESK_ABSTAIN_BELOW): {report['threshold']}")
    RESULTS.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

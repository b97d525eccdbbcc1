"""Page text: how close what Newsdesk keeps from a web page comes to the article a person marked.

    .venv/bin/python bench/extraction.py --previous fad5b18 --choose

Data: the development half of scrapinghub's article-extraction benchmark in
``../shared/eval/aeb/`` (88 real news and blog pages as served, and the article body a
person marked on each). Metric: the benchmark's own shingle F1 (``../shared/eval/README.md``):
tokens are runs of ``\\w+``; each text becomes the counts of its 4-token shingles; per page
tp/fp/fn (shingles shared, only predicted, only true) are normalised to sum to 1; precision is
the mean over pages where something was predicted, recall over pages where something was
expected; F1 = 2PR/(P+R).

Side by side, in one run:
* ``newsdesk``: the real ingest path. The pages are written to a folder as ``<key>.html``,
  ``newsdesk ingest`` runs on it in a subprocess (a fresh index), and the text is read back as
  the store holds it: the article text minus the boilerplate spans ingest removed (what is
  chunked, searched and quoted).
* ``previous`` (``--previous REV``): the same, with the code committed at ``REV``.
* ``trafilatura``: ``trafilatura.extract`` with its defaults, alone (the published baseline).

A page an ingest skipped counts as predicting nothing. Results: printed, appended to
bench/results/extraction.json, written into the extraction section of docs/benchmarks.md.

``--choose`` shows how index/pages.py's trafilatura settings were chosen: four settings on
every page, and for each half of the pages (split by key, alternately) the setting that scores
best on the other half, with its F1 on the held-out half.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT, append_result, machine, previous_release, write_section  # noqa: E402

AEB = ROOT.parent / "shared" / "eval" / "aeb"
RESULTS = ROOT / "bench" / "results" / "extraction.json"
TARGET_F1 = 0.96
_TOKEN = re.compile(r"\w+")


def shingles(text: str, n: int = 4) -> Counter:
    """Counts of the text's n-token shingles (a text shorter than n tokens is one shingle)."""
    tokens = _TOKEN.findall(text or "")
    return Counter(tuple(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)) if tokens[i:i + n])


def page_counts(true: str, predicted: str) -> tuple[float, float, float]:
    """A page's (tp, fp, fn), normalised to sum to 1 so that long pages do not weigh more."""
    t, p = shingles(true), shingles(predicted)
    tp, fp, fn = sum((t & p).values()), sum((p - t).values()), sum((t - p).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def _ratio(num: float, other: float, fp_fn: tuple[float, float]) -> float:
    if fp_fn == (0.0, 0.0):
        return 1.0
    return num / (num + other) if num + other else 0.0


def shingle_f1(truth: dict[str, str], predicted: dict[str, str]) -> dict[str, float]:
    """Precision, recall and F1 over pages, as the benchmark computes them."""
    counts = [page_counts(truth[key], predicted.get(key, "")) for key in truth]
    precision = [_ratio(tp, fp, (fp, fn)) for tp, fp, fn in counts if tp + fp > 0]
    recall = [_ratio(tp, fn, (fp, fn)) for tp, fp, fn in counts if tp + fn > 0]
    p, r = sum(precision) / len(precision), sum(recall) / len(recall)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "pages": len(truth), "pages_predicted": sum(1 for key in truth if predicted.get(key, "").strip())}


def stored_text(data_dir: Path) -> dict[str, str]:
    """Each stored article's text minus the boilerplate spans ingest removed, read from the SQLite file
    directly (so that any release's index can be read the same way)."""
    with sqlite3.connect(f"file:{data_dir / 'newsdesk.sqlite3'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT id, raw_text, removed FROM articles").fetchall()
    texts = {}
    for article_id, raw, removed in rows:
        kept, cursor = [], 0
        for start, end, _ in sorted(json.loads(removed)):
            kept.append(raw[cursor:start])
            cursor = max(cursor, end)
        kept.append(raw[cursor:])
        texts[article_id] = "".join(kept)
    return texts


def ingest_pages(pages: Path, data_dir: Path, pythonpath: str | None = None) -> tuple[dict[str, str], float, str]:
    """``newsdesk ingest`` on the folder of pages into a fresh index; the stored texts, the seconds it took, its stderr."""
    env = {**os.environ, "NEWSDESK_DATA_DIR": str(data_dir), "HAYSTACK_TELEMETRY_ENABLED": "False"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "newsdesk.service.cli", "ingest", "-q", str(pages)],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"ingest failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return stored_text(data_dir), seconds, proc.stderr


def trafilatura_alone(html: dict[str, bytes]) -> tuple[dict[str, str], float]:
    import trafilatura

    started = time.perf_counter()
    texts = {key: trafilatura.extract(page) or "" for key, page in html.items()}
    return texts, time.perf_counter() - started


CANDIDATES = {"defaults": {}, "favor_recall": {"favor_recall": True}, "favor_precision": {"favor_precision": True},
              "no_tables": {"include_tables": False}}


def choose_settings(truth: dict[str, str], html: dict[str, bytes]) -> dict:
    """Each candidate setting's F1 on all pages, and a two-fold check that the choice holds on pages it was not chosen on."""
    import trafilatura

    predicted = {name: {key: trafilatura.extract(page, **kwargs) or "" for key, page in html.items()} for name, kwargs in CANDIDATES.items()}
    keys = sorted(truth)
    halves = [keys[0::2], keys[1::2]]
    folds = []
    for held_out, chosen_on in (halves, halves[::-1]):
        best = max(CANDIDATES, key=lambda name: shingle_f1({k: truth[k] for k in chosen_on}, predicted[name])["f1"])
        folds.append({"chosen": best, "held_out_f1": shingle_f1({k: truth[k] for k in held_out}, predicted[best])["f1"]})
    return {"all_pages": {name: shingle_f1(truth, texts) for name, texts in predicted.items()}, "folds": folds}


def write_doc(result: dict, command: str) -> None:
    rows = result["systems"]
    lines = ["## Page text: article-extraction benchmark (development half)", "",
             f"`{command}` ({result['date']}, {result['machine']['cpu']}). {rows['newsdesk']['pages']} pages of "
             "`../shared/eval/aeb/`; shingle F1 as the benchmark computes it (`../shared/eval/README.md`). "
             "Newsdesk and the previous release through the real `newsdesk ingest`, text read back as the store "
             "holds it (minus removed boilerplate); trafilatura alone with its defaults. Target F1 ≥ "
             f"{TARGET_F1}.", "",
             "| extractor | precision | recall | F1 | pages with text | seconds |", "|---|---|---|---|---|---|"]
    labels = {"newsdesk": "Newsdesk (trafilatura `favor_precision` + furniture rules)",
              "previous": f"previous release ({result.get('previous_rev', '')})", "trafilatura": "trafilatura 2.3.1 alone, defaults"}
    for name, row in rows.items():
        lines.append(f"| {labels[name]} | {row['precision']:.3f} | {row['recall']:.3f} | **{row['f1']:.3f}** | "
                     f"{row['pages_predicted']}/{row['pages']} | {row['seconds']:.1f} |")
    if "choice" in result:
        choice = result["choice"]
        lines += ["", "How the trafilatura setting was chosen (`--choose`): F1 on all pages "
                  + ", ".join(f"{name} {row['f1']:.3f}" for name, row in choice["all_pages"].items())
                  + "; chosen on one half of the pages, scored on the other: "
                  + "; ".join(f"{fold['chosen']} {fold['held_out_f1']:.3f}" for fold in choice["folds"]) + "."]
    write_section("extraction", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--aeb", type=Path, default=AEB, help="folder with ground-truth.json and html/<key>.html.gz")
    parser.add_argument("--previous", metavar="REV", help="also the code at this git revision, side by side")
    parser.add_argument("--choose", action="store_true", help="also compare trafilatura settings, with a two-fold check")
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    truth = {key: row["articleBody"] for key, row in json.loads((args.aeb / "ground-truth.json").read_text(encoding="utf-8")).items()}
    html = {key: gzip.decompress((args.aeb / "html" / f"{key}.html.gz").read_bytes()) for key in truth}
    systems: dict[str, dict] = {}
    result: dict = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="newsdesk-extraction-") as work:
        pages = Path(work) / "pages"
        pages.mkdir()
        for key, page in html.items():
            (pages / f"{key}.html").write_bytes(page)
        runs = [("newsdesk", None)]
        if args.previous:
            runs.append(("previous", str(previous_release(args.previous, Path(work)))))
            result["previous_rev"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.previous],
                                                    capture_output=True, text=True, check=True).stdout.strip()
        for name, pythonpath in runs:
            texts, seconds, stderr = ingest_pages(pages, Path(work) / f"data-{name}", pythonpath)
            systems[name] = {**shingle_f1(truth, texts), "seconds": round(seconds, 1),
                             "skipped": [line for line in stderr.splitlines() if line.startswith("skipped ")]}
        texts, seconds = trafilatura_alone(html)
        systems["trafilatura"] = {**shingle_f1(truth, texts), "seconds": round(seconds, 1)}
    result["systems"] = systems
    if args.choose:
        result["choice"] = choose_settings(truth, html)
        for name, row in result["choice"]["all_pages"].items():
            print(f"setting {name:<16} F1 {row['f1']:.3f}")
        for fold in result["choice"]["folds"]:
            print(f"chosen on one half: {fold['chosen']}, held-out half F1 {fold['held_out_f1']:.3f}")
    for name, row in systems.items():
        print(f"{name:<12} precision {row['precision']:.3f} recall {row['recall']:.3f} F1 {row['f1']:.3f} "
              f"pages with text {row['pages_predicted']}/{row['pages']} ({row['seconds']:.1f} s)")
        for line in row.get("skipped", []):
            print(f"    {line}")
    append_result(RESULTS, result)
    if not args.no_doc:
        write_doc(result, "bench/extraction.py" + (f" --previous {args.previous}" if args.previous else "")
                  + (" --choose" if args.choose else ""))


if __name__ == "__main__":
    main()

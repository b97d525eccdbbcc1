"""Where ``/ask``'s time goes: pyinstrument over ``QueryPipeline.ask`` on an existing index.

    .venv/bin/python bench/profile_ask.py --data DIR --questions FILE.jsonl [--questions-n 100] [--no-as-of]

The pipeline is the one ``newsdesk serve`` builds from the settings (``NEWSDESK_*``), in
this process, without HTTP; every question is asked once to warm up, then profiled. With
``--no-as-of``, questions are asked as of now (a live service's case); otherwise at their
``as_of``. Prints the per-question timing and pyinstrument's call tree (functions under 2%
of the time folded), and writes the tree to ``--out`` (default
``bench/results/profile_ask.txt``) for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

from pyinstrument import Profiler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import ROOT  # noqa: E402

from newsdesk.service.config import Settings  # noqa: E402
from newsdesk.service.query.pipeline import QueryPipeline  # noqa: E402


def _as_of(record: dict) -> datetime | None:
    stamp = record.get("as_of") or record.get("question_date")
    if not stamp:
        return None
    day = date.fromisoformat(str(stamp)[:10].replace("/", "-"))
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="an index's data directory (opened read-only)")
    parser.add_argument("--questions", type=Path, required=True, help="JSON Lines: question, and as_of or question_date")
    parser.add_argument("--questions-n", type=int, default=100, help="how many questions to ask (default 100)")
    parser.add_argument("--no-as-of", action="store_true", help="ask as of now, ignoring the questions' dates")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profile_ask.txt")
    args = parser.parse_args()

    records = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    records = records[: args.questions_n]
    settings = Settings.from_env()
    started = time.perf_counter()
    store = settings.open_store(args.data)
    pipeline = QueryPipeline.from_settings(store, settings.embedder(store), settings)
    asked = [(r["question"], None if args.no_as_of else _as_of(r)) for r in records]
    for question, as_of in asked:
        pipeline.ask(question, as_of=as_of)
    print(f"{store.counts().chunks:,} passages; opened and warmed up with {len(asked)} questions in "
          f"{time.perf_counter() - started:.1f} s")

    profiler = Profiler(interval=0.0005)
    times = []
    with profiler:
        for question, as_of in asked:
            t = time.perf_counter()
            pipeline.ask(question, as_of=as_of)
            times.append(1000 * (time.perf_counter() - t))
    times.sort()
    print(f"{len(times)} questions: p50 {statistics.median(times):.1f} ms, p95 {times[int(0.95 * (len(times) - 1))]:.1f} ms, "
          f"mean {statistics.fmean(times):.1f} ms (in process, profiled)")
    tree = profiler.output_text(unicode=True, color=False, show_all=False, time="percent_of_total",
                                processor_options={"filter_threshold": 0.02})
    print(tree)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(tree, encoding="utf-8")


if __name__ == "__main__":
    main()

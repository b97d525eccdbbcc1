"""Ingest throughput: how close the whole pipeline comes to the speed of the model alone.

    .venv/bin/python bench/ingest.py            # or: make bench
    .venv/bin/python bench/ingest.py --previous REV   # also the code at REV, interleaved: a throughput ratio

Corpus: the five seeds plus XQuAD English (/work/shared/eval/xquad/xquad.en.json, one
article per paragraph, titled by its Wikipedia article) written to a temporary JSON Lines
file, with ``--rounds - 1`` extra copies of every paragraph whose sentences are rotated
(different chunk text, so every chunk is embedded once; the copies also exercise the
near-duplicate clustering, as syndicated wire copies do).

Every measurement runs in a fresh subprocess and excludes model loading (imports happen
before the clock starts; loading the weights into a SentenceTransformer is timed and
subtracted), so both sides pay the same first-forward-pass cost and nothing else. (a) and
(b) run ``--repeat`` times, interleaved, and the fastest run of each counts (on a shared
machine noise only adds time); CPU time (user + sys) is recorded alongside wall time.

(a) ingest: ``newsdesk.index.ingest.ingest`` into a fresh store (read, clean, metadata,
    near-duplicates, chunk, embed, SQLite commit per batch, FAISS save);
(b) encode: ``Embedder.embed`` (ONNX Runtime at the configured precision, same batch size)
    over exactly the inputs the pipeline embedded, ``passage_input(title, chunk_text)`` of every
    stored chunk, in one call; plus, for attribution, the same inputs in the pipeline's groups
    (one call per ingest batch) with ``embed`` and with ``embed_passages``;
(b0) the raw fp32 model: sentence-transformers' ``SentenceTransformer.encode`` in torch float32
    over the same inputs in one call, the reference issue 14 measures ingest against;
(c) re-ingest of the same corpus into the same store (must embed nothing).

Peak memory is each subprocess's ``ru_maxrss``. If (a)/(b) < 0.9 (or with ``--profile``)
an ingest runs under cProfile (every thread: the stages run in Haystack's worker threads) and the time is
attributed to pipeline stages.
Results: printed, appended to bench/results/ingest.json, and written into the ingest
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import datetime as dt
import io
import json
import os
import pstats
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import DOC, append_result, machine, previous_release, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
XQUAD = Path("/work/shared/eval/xquad/xquad.en.json")
RESULTS = ROOT / "bench" / "results" / "ingest.json"
TARGET_RATIO = 0.9
RAW_BATCH = 32  # sentence-transformers' default batch for the raw fp32 reference
FORWARD = "model forward (ONNX Runtime InferenceSession.run; summed over the threads that ran it)"
CLEAN_CORES = 0.8  # a run that kept fewer than 80 % of torch's threads busy shared the machine: not counted

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")


# ---- corpus -----------------------------------------------------------------------------

def build_corpus(path: Path, rounds: int) -> dict:
    data = json.loads(XQUAD.read_text(encoding="utf-8"))["data"]
    seen: set[str] = set()
    n = 0
    with path.open("w", encoding="utf-8") as out:
        for r in range(rounds):
            for a, article in enumerate(data):
                title = article["title"].replace("_", " ")
                for p, paragraph in enumerate(article["paragraphs"]):
                    text = paragraph["context"].strip()
                    if r:
                        sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"“(])", text)
                        k = r % len(sentences)
                        if k == 0:
                            continue
                        text = " ".join(sentences[k:] + sentences[:k])
                    if text in seen:
                        continue
                    seen.add(text)
                    out.write(json.dumps({"id": f"xquad-r{r}-{a:02d}-{p:02d}", "title": title, "url": None,
                                          "publisher": "Wikipedia (XQuAD)", "published_at": None, "text": text}) + "\n")
                    n += 1
    return {"xquad_articles": n, "rounds": rounds, "seed_articles": len(list(SEEDS.glob("*.txt")))}


# ---- subprocess measurements ------------------------------------------------------------

def _prepare_child() -> list[float]:
    """Import the heavy modules up front and time model loads, so both can be excluded."""
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    from newsdesk.index.embed import Embedder

    loads: list[float] = []
    original = Embedder.warm_up

    def timed_warm_up(self: Embedder) -> None:
        if self._session is not None:
            return original(self)
        started = time.perf_counter()
        original(self)
        loads.append(time.perf_counter() - started)

    Embedder.warm_up = timed_warm_up
    return loads


def _settings():
    from newsdesk.service.config import Settings

    return Settings.from_env()


def _run_ingest(data_dir: str, paths: list[str], profile_to: str | None = None) -> dict:
    loads = _prepare_child()
    from newsdesk.index.ingest import ingest

    s = _settings()
    store = s.open_store(Path(data_dir), writer=True)
    profiler = cProfile.Profile() if profile_to else None
    in_threads: list[cProfile.Profile] = []  # the pipeline's stages run in worker threads (Pipeline.run_async)

    def profile_thread(*_: object) -> None:
        sys.setprofile(None)
        in_threads.append(cProfile.Profile())
        in_threads[-1].enable()

    cpu = _cpu()
    started = time.perf_counter()
    if profiler:
        threading.setprofile(profile_thread)
        profiler.enable()
    commits: list[list[str]] = []
    # on_commit gets a BatchCommitted (releases before fad5b18's successor: ids and generation).
    report = ingest(paths, store, s.ingest_options(), progress=False,
                    on_commit=lambda batch, *_: commits.append(list(getattr(batch, "ids", batch))))
    if profiler:
        profiler.disable()
        threading.setprofile(None)
        merged = pstats.Stats(profiler)
        for thread_profiler in in_threads:
            thread_profiler.create_stats()
            merged.add(thread_profiler)
        merged.dump_stats(profile_to)
    total = time.perf_counter() - started
    cpu = _cpu() - cpu
    counts = dataclasses.asdict(store.counts())
    store.close()
    return {"seconds_with_load": total, "model_load": sum(loads), "seconds": total - sum(loads), "cpu_seconds": cpu - sum(loads),
            "added": len(report.added), "unchanged": len(report.unchanged), "skipped": len(report.skipped),
            "embedded": report.chunks_embedded, "reused": report.chunks_reused, "counts": counts,
            "batch_articles": s.ingest_batch_articles,
            "batch_chars": s.ingest_batch_chars, "commits": commits}


def _run_encode(inputs_file: str, mode: str) -> dict:
    loads = _prepare_child()
    from newsdesk.index.embed import Embedder

    s = _settings()
    payload = json.loads(Path(inputs_file).read_text(encoding="utf-8"))
    groups = payload["groups"]
    texts = [text for group in groups for text, _ in group]
    if mode == "raw-fp32":
        return _run_raw_fp32(texts, RAW_BATCH, loads)
    with s.open_store(Path(payload["data_dir"])) as store:
        embedder = s.embedder(store)
    if mode == "ingest-runs":  # the model as ingest runs it (index.pipeline.ChunkEmbedder), not as a server does
        embedder = Embedder(precision=embedder.precision, cache_dir=embedder.cache_dir, threads=1,
                            runs=s.ingest_options().embed_runs, background=True)
    embedder.warm_up()
    cpu = _cpu()
    started = time.perf_counter()
    if mode in ("all", "ingest-runs"):
        n = len(embedder.embed(texts))
    elif mode == "grouped":
        n = sum(len(embedder.embed([text for text, _ in group])) for group in groups)
    elif mode == "passages":
        n = sum(len(embedder.embed_passages([t for t, _ in g], [[tuple(x) for x in spans] for _, spans in g])[0]) for g in groups)
    else:
        raise ValueError(mode)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    calls = [texts] if mode in ("all", "ingest-runs") else [[text for text, _ in g] for g in groups]
    return {"seconds": seconds, "cpu_seconds": cpu, "model_load": sum(loads), "chunks": n, "precision": embedder.precision,
            "encode_calls": len(calls), "forward_passes": n, "tokens": sum(len(e.ids) for c in calls for e in embedder._tokenizer.encode_batch(c))}


def _run_raw_fp32(texts: list[str], batch_size: int, loads: list[float]) -> dict:
    """The raw model: sentence-transformers in torch float32, the bundled weights, one ``encode`` call."""
    from sentence_transformers import SentenceTransformer

    from newsdesk.index.onnx_model import weights_dir

    started = time.perf_counter()
    model = SentenceTransformer(str(weights_dir()), device="cpu", local_files_only=True)
    model.encode(texts[:batch_size], batch_size=batch_size)  # first forward pass, as the Embedder's warm-up pays it
    loads.append(time.perf_counter() - started)
    cpu = _cpu()
    started = time.perf_counter()
    n = len(model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False))
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu() - cpu, "model_load": sum(loads), "chunks": n,
            "embed_batch_size": batch_size, "precision": "fp32 (torch)"}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_main(kind: str, args: list[str]) -> None:
    if kind == "ingest":
        result = _run_ingest(args[0], args[1:])
    elif kind == "profile":
        result = _run_ingest(args[0], args[2:], profile_to=args[1])
    elif kind == "encode":
        result = _run_encode(args[0], args[1])
    else:
        raise SystemExit(f"unknown measurement {kind}")
    result["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result), flush=True)


def measure(kind: str, *args: str, pythonpath: str | None = None) -> dict:
    """One measurement in a fresh subprocess; ``pythonpath`` puts another release's code first."""
    env = {**os.environ, **({"PYTHONPATH": pythonpath} if pythonpath else {})}
    proc = subprocess.run([sys.executable, __file__, "--child", kind, *map(str, args)], capture_output=True, text=True, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"measurement {kind} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


# ---- what the pipeline embedded, read back from the store ---------------------------------

def dump_inputs(data_dir: Path, out: Path, commits: list[list[str]]) -> int:
    """``passage_input(title, chunk_text)`` of every stored chunk, grouped as the pipeline embedded them."""
    from newsdesk.index.embed import embed_key, passage_input

    groups: dict[int, dict[str, tuple[str, list[tuple[int, int]]]]] = {}
    seen: set[str] = set()  # an input stored by an earlier batch is reused, not embedded again
    with _settings().open_store(data_dir) as store:
        batch_of = {article_id: b for b, ids in enumerate(commits) for article_id in ids}
        for article_id in store.article_ids():
            title = store.article(article_id).title
            sentences = store.sentences(article_id)
            group = groups.setdefault(batch_of[article_id], {})
            for chunk in store.passages_of(article_id):
                text = passage_input(title, chunk.text)
                base = len(text) - len(chunk.text)
                spans = [(base + max(s.start, chunk.start) - chunk.start, base + min(s.end, chunk.end) - chunk.start)
                         for s in sentences[chunk.first_sentence:chunk.last_sentence + 1]]
                key = embed_key(store.model_name, text)
                if key not in seen:
                    seen.add(key)
                    group[key] = (text, spans)
    payload = {"data_dir": str(data_dir), "groups": [list(g.values()) for _, g in sorted(groups.items())]}
    out.write_text(json.dumps(payload), encoding="utf-8")
    return sum(len(g) for g in payload["groups"])


# ---- profile attribution ------------------------------------------------------------------

def attribute(profile_file: Path, total: float) -> dict:
    """Cumulative seconds per pipeline stage and for the model's parts, from a cProfile dump."""
    import inspect

    from newsdesk.index import pipeline as pipeline_module

    stats = pstats.Stats(str(profile_file))
    table = stats.stats  # (file, line, func) -> (cc, nc, tt, ct, callers)
    stages = {}
    for name, cls in inspect.getmembers(pipeline_module, inspect.isclass):
        run = getattr(cls, "run", None)
        if cls.__module__ == pipeline_module.__name__ and run is not None and hasattr(run, "__code__"):
            stages[(run.__code__.co_filename, run.__code__.co_firstlineno, "run")] = name

    out: dict[str, float] = {}
    for key, name in stages.items():
        if key in table:
            out[f"stage {name}.run"] = table[key][3]
    probes = {
        "Pipeline.run (Haystack, all stages)":
            lambda k: k[0].endswith("haystack/core/pipeline/pipeline.py") and k[2] in ("run", "run_async"),
        "Embedder._token_states (tokenize, pad, run)": lambda k: k[0].endswith("index/embed.py") and k[2] == "_token_states",
        FORWARD: lambda k: k[0].endswith("onnxruntime_inference_collection.py") and k[2] == "run",
        "Embedder.embed_passages": lambda k: k[0].endswith("index/embed.py") and k[2] == "embed_passages",
        "Embedder.embed": lambda k: k[0].endswith("index/embed.py") and k[2] == "embed",
        "tokenizer encode_batch (all calls)": lambda k: k[2] == "<method 'encode_batch' of 'tokenizers.Tokenizer' objects>",
        "ArticleStore.write (SQLite)": lambda k: "index/store/" in k[0] and k[2] == "write",
        "ArticleStore.cached_vectors": lambda k: "index/store/" in k[0] and k[2] == "cached_vectors",
        "ArticleStore.lsh_candidates": lambda k: "index/store/" in k[0] and k[2] == "lsh_candidates",
        "ArticleStore.save_vectors (FAISS)": lambda k: "index/store/" in k[0] and k[2] == "save_vectors",
        "read_sources": lambda k: k[0].endswith("index/sources.py") and k[2] == "read_sources",
        "count_tokens (tiktoken)": lambda k: k[0].endswith("index/chunk.py") and k[2] == "count_tokens",
        "copy.deepcopy (Haystack passing inputs)": lambda k: k[0].endswith("/copy.py") and k[2] == "deepcopy",
    }
    for label, match in probes.items():
        out[label] = max((v[3] for k, v in table.items() if match(k)), default=0.0)  # outermost frame
    model = out[FORWARD]
    if out["Embedder.embed_passages"] >= model:  # the forward ran on the pipeline's thread: its time is a part of the wall time
        out["everything but the model forward (derived)"] = total - model
        out["embed_passages beyond the forward (derived: tokenize, pad, pool, sentence spans, norms)"] = out["Embedder.embed_passages"] - model
    buffer = io.StringIO()
    pstats.Stats(str(profile_file), stream=buffer).sort_stats("tottime").print_stats(15)
    return {"total_profiled": total, "cumulative_seconds": {k: round(v, 3) for k, v in out.items()},
            "top_tottime": _compact_top(buffer.getvalue())}


def _compact_top(text: str) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
    return [re.sub(r"\s+", " ", line.strip()).replace(str(ROOT) + "/", "").replace(sys.prefix + "/", "")
            for line in lines[start:] if line.strip()]


# ---- reporting ----------------------------------------------------------------------------

def _cores(run: dict) -> float:
    """How many cores the run kept busy (CPU time / wall time)."""
    return run["cpu_seconds"] / run["seconds"] if run["seconds"] else 0.0


def _clean(run: dict, threads: int) -> bool:
    """Whether the run had the machine to itself: torch keeps every thread busy when nothing competes."""
    return _cores(run) >= CLEAN_CORES * threads


def _best(runs: list[dict], threads: int) -> dict:
    """The fastest run that had the machine to itself (noise only ever adds time); the fastest of all if none did."""
    clean = [r for r in runs if _clean(r, threads)]
    return min(clean or runs, key=lambda r: r["seconds"])


def write_doc(result: dict) -> None:
    m, a, b, c = result["machine"], result["ingest"], result["encode_all"], result["reingest"]
    g, p = result.get("encode_grouped"), result.get("encode_passages")
    n = a["embedded"]
    walls = lambda runs: ", ".join(f"{r['seconds']:.1f}" + ("" if _clean(r, m["torch_threads"]) else "*") for r in runs)  # noqa: E731
    cores = lambda r: f"CPU {r['cpu_seconds']:.1f} s = {_cores(r):.2f} cores busy"  # noqa: E731
    rows = [
        ("corpus", f"{result['corpus']['seed_articles']} seeds + {result['corpus']['xquad_articles']} XQuAD paragraph articles "
                   f"({result['corpus']['rounds']} rounds) = {a['counts']['articles']} articles, {a['counts']['chunks']} chunks "
                   f"({n} embedded, {a['reused']} reused: identical inputs), "
                   f"{a['counts'].get('vectors', a['counts']['chunks'])} FAISS vectors"),
        ("(a) whole ingest, model load excluded", f"**{result['ingest_chunks_per_s']:.1f} chunks/s** ({a['seconds']:.1f} s best "
                                                  f"of {walls(result['ingest_runs'])} s; {cores(a)})"),
        ("(a) whole ingest, model load included", f"{a['seconds_with_load']:.1f} s (load {a['model_load']:.2f} s after imports)"),
        ("(b) model alone: `Embedder.embed`, the same inputs in one call",
         f"**{result['encode_chunks_per_s']:.1f} chunks/s** ({b['seconds']:.1f} s best of {walls(result['encode_runs'])} s; "
         f"{cores(b)})"),
        ("(b0) the raw fp32 model: sentence-transformers in torch float32, the same inputs in one call",
         f"**{result['raw_fp32_chunks_per_s']:.1f} chunks/s** ({result['raw_fp32']['seconds']:.1f} s best of "
         f"{walls(result['raw_fp32_runs'])} s; {cores(result['raw_fp32'])})"),
        ("**whole ingest / raw fp32 model**, wall time (issue 14's target ≥ 2)", f"**{result['ratio_to_raw_fp32']:.2f}**"),
        (f"model alone ({b['precision']}, ONNX Runtime) / raw fp32 model", f"{result['model_ratio_to_raw_fp32']:.2f}"),
        ("**ratio (a)/(b)**, wall time (target ≥ 0.9)", f"**{result['ratio']:.2f}**"),
        ("ratio (a)/(b), CPU time", f"{result['ratio_cpu']:.2f}"),
    ]
    if result.get("previous"):
        prev = result["previous"]
        rows.append((f"(a) the previous release ({result['previous_rev']}), same corpus, interleaved",
                     f"{result['previous_chunks_per_s']:.1f} chunks/s ({prev['seconds']:.1f} s best of "
                     f"{walls(result['previous_runs'])} s); **this release / previous = {result['ratio_to_previous']:.2f}**"))
    rows.append(("(b) forward passes", f"{b['forward_passes']}, one text each (no padding); {b['tokens']:,} word pieces; "
                                       f"(b0) batches of {RAW_BATCH}, sorted by length, as sentence-transformers runs them"))
    if g:
        rows.append(("(b') `Embedder.embed`, one call per ingest batch (the pipeline's grouping)",
                     f"{n / g['seconds']:.1f} chunks/s ({g['seconds']:.1f} s, {cores(g)}); "
                     f"{g['encode_calls']} calls"))
    if result.get("encode_as_ingest"):
        r = result["encode_as_ingest"]
        rows.append(("(b-ingest) model alone as ingest runs it: one text per core at once, one thread each, lower priority, no spinning",
                     f"{r['chunks'] / r['seconds']:.1f} chunks/s ({r['seconds']:.1f} s, {cores(r)})"))
    if p:
        rows.append(("(b'') `Embedder.embed_passages` (passage + late-chunked sentence vectors), per ingest batch",
                     f"{n / p['seconds']:.1f} chunks/s ({p['seconds']:.1f} s, {cores(p)})"))
    rows += [
        ("(c) re-ingest of the same corpus", f"{c['seconds']:.2f} s, {c['embedded']} chunks embedded, "
                                             f"{c['unchanged']} articles unchanged (model load {c['model_load']:.2f} s excluded)"),
        ("peak RSS (ru_maxrss): ingest / encode / re-ingest", f"{a['maxrss_mib']:.0f} / {b['maxrss_mib']:.0f} / {c['maxrss_mib']:.0f} MiB"),
    ]
    lines = ["## Ingest throughput", "",
             f"Machine: {m['cpu']}, {m['nproc']} cores (`nproc`), {m['memory_gib']} GiB RAM, shared with other work "
             f"(load average {m['load_average_at_start']:.2f} at start); Python {m['python']}, torch {m['torch']} "
             f"({m['torch_threads']} threads). Run {result['date']}.", "",
             "Command: `.venv/bin/python bench/ingest.py` (or `make bench`). Each figure comes from a fresh "
             "subprocess; model loading is excluded from (a), (b) and (c) alike (imports before the clock, "
             "weight loading timed and subtracted), so both sides pay the first forward pass. (a) and (b) are "
             f"repeated {len(result['ingest_runs'])} times, interleaved; the fastest run that kept ≥ {CLEAN_CORES:.0%} of torch's "
             "threads busy counts (* marks runs that shared the machine with other work). Settings: defaults "
             f"(a commit every {a['batch_articles']} articles or {a['batch_chars']:,} characters).", "",
             "| measurement | result |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    if result.get("profile"):
        prof = result["profile"]
        lines += ["", f"Where ingest time goes (cProfile, cumulative seconds of one {prof['total_profiled']:.1f} s profiled "
                      "ingest, every thread; profiling inflates Python-heavy parts; the entities and embedder stages run side by "
                      "side, so their seconds overlap):", "", "| part | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in sorted(prof["cumulative_seconds"].items(), key=lambda kv: -kv[1]) if v > 0]
    if g and p:
        gap = a["seconds"] - b["seconds"]
        lines += ["", f"Reading: ingest takes {gap:.1f} s more than the model alone. Encoding per ingest batch instead of in "
                      f"one call costs {g['seconds'] - b['seconds']:.1f} s of it; "
                      f"sentence vectors (`embed_passages` over `embed`) cost {p['seconds'] - g['seconds']:+.1f} s; everything "
                      f"outside the model (reading, cleaning, dedupe, chunking, the entity tagging the model's run does not hide, Haystack, "
                      f"SQLite, FAISS) costs "
                      f"{a['seconds'] - p['seconds']:.1f} s. These are single runs, so differences under about a second are noise."]
    if result.get("notes"):
        lines += [""] + [f"- {note}" for note in result["notes"]]
    write_section("ingest", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="copies of XQuAD (the first original, the rest sentence-rotated)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of (a) and (b), interleaved; the fastest counts")
    parser.add_argument("--profile", action="store_true", help="profile the ingest even if the ratio meets the target")
    parser.add_argument("--no-attribution", action="store_true", help="skip the per-batch (b') and (b'') encodes")
    parser.add_argument("--no-write", action="store_true", help="print only; do not touch bench/results or docs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--previous", metavar="REV", help="also ingest with the code at this git revision, interleaved")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsdesk-bench-"))
    try:
        info = machine()
        corpus_file = work / "xquad.jsonl"
        corpus = build_corpus(corpus_file, args.rounds)
        paths = [str(SEEDS), str(corpus_file)]
        print(f"corpus: {corpus}; machine: {info}", flush=True)

        inputs = work / "inputs.json"
        ingest_runs: list[dict] = []
        encode_runs: list[dict] = []
        raw_runs: list[dict] = []
        previous_runs: list[dict] = []
        previous_path = str(previous_release(args.previous, work)) if args.previous else None
        for i in range(args.repeat):
            if previous_path:
                previous_runs.append(measure("ingest", work / f"data-previous-{i}", *paths, pythonpath=previous_path))
                previous_runs[-1].pop("commits")
                print(f"(a, previous release) ingest #{i + 1}: {previous_runs[-1]}", flush=True)
            run = measure("ingest", work / f"data-{i}", *paths)
            commits = run.pop("commits")  # article ids per commit: for grouping (b'), too long to keep
            run["n_commits"] = len(commits)
            ingest_runs.append(run)
            print(f"(a) ingest #{i + 1}: {ingest_runs[-1]}", flush=True)
            if i == 0:
                n_inputs = dump_inputs(work / "data-0", inputs, commits)
                if n_inputs != ingest_runs[0]["embedded"]:
                    raise SystemExit(f"{n_inputs} inputs read back from the store, but {ingest_runs[0]['embedded']} were embedded")
            encode_runs.append(measure("encode", inputs, "all"))
            print(f"(b) encode #{i + 1}: {encode_runs[-1]}", flush=True)
            raw_runs.append(measure("encode", inputs, "raw-fp32"))
            print(f"(b0) raw fp32 model #{i + 1}: {raw_runs[-1]}", flush=True)
        threads = info["torch_threads"]
        ingest, encode_all, raw = _best(ingest_runs, threads), _best(encode_runs, threads), _best(raw_runs, threads)
        encode_grouped = encode_passages = encode_as_ingest = None
        if not args.no_attribution:
            encode_grouped = measure("encode", inputs, "grouped")
            print(f"(b') encode, per ingest batch: {encode_grouped}", flush=True)
            encode_as_ingest = measure("encode", inputs, "ingest-runs")
            print(f"(b-ingest) encode as ingest runs the model: {encode_as_ingest}", flush=True)
            from newsdesk.index.embed import Embedder

            if hasattr(Embedder, "embed_passages"):
                encode_passages = measure("encode", inputs, "passages")
                print(f"(b'') embed_passages, per ingest batch: {encode_passages}", flush=True)
        reingest = measure("ingest", work / "data-0", *paths)
        print(f"(c) re-ingest: {reingest}", flush=True)

        ingest_rate = ingest["embedded"] / ingest["seconds"]
        encode_rate = encode_all["chunks"] / encode_all["seconds"]
        raw_rate = raw["chunks"] / raw["seconds"]
        result = {
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": info, "corpus": corpus,
            "ingest": ingest, "encode_all": encode_all, "ingest_runs": ingest_runs, "encode_runs": encode_runs,
            "encode_grouped": encode_grouped, "encode_passages": encode_passages, "encode_as_ingest": encode_as_ingest,
            "reingest": reingest,
            "ingest_chunks_per_s": ingest_rate, "encode_chunks_per_s": encode_rate, "ratio": ingest_rate / encode_rate,
            "ratio_cpu": min(r["cpu_seconds"] for r in encode_runs) / min(r["cpu_seconds"] for r in ingest_runs),
            "raw_fp32": raw, "raw_fp32_runs": raw_runs, "raw_fp32_chunks_per_s": raw_rate,
            "ratio_to_raw_fp32": ingest_rate / raw_rate, "model_ratio_to_raw_fp32": encode_rate / raw_rate,
            "notes": [],
        }
        if previous_runs:
            previous = _best(previous_runs, threads)
            result.update(previous=previous, previous_runs=previous_runs, previous_rev=args.previous,
                          previous_chunks_per_s=previous["embedded"] / previous["seconds"],
                          ratio_to_previous=ingest_rate / (previous["embedded"] / previous["seconds"]))
            print(f"previous release {args.previous}: {result['previous_chunks_per_s']:.1f} chunks/s; "
                  f"this release / previous = {result['ratio_to_previous']:.2f}", flush=True)
        for name, runs in (("ingest", ingest_runs), ("encode", encode_runs), ("raw fp32", raw_runs)):
            if not any(_clean(r, threads) for r in runs):
                result["notes"].append(f"no {name} run had the machine to itself: its figure is inflated by other work")
        for name, run in (("(b')", encode_grouped), ("(b'')", encode_passages)):
            if run and not _clean(run, threads):
                result["notes"].append(f"{name} ran while the machine was shared ({_cores(run):.2f} cores busy): slower than it should be")
        if reingest["embedded"] != 0:
            result["notes"].append(f"re-ingest embedded {reingest['embedded']} chunks; expected 0")
        if result["ratio"] < TARGET_RATIO or args.profile:
            profile_file = work / "ingest.prof"
            profiled = measure("profile", work / "profile-data", profile_file, *paths)
            result["profile"] = attribute(profile_file, profiled["seconds_with_load"])
            print("profile (cumulative s):", json.dumps(result["profile"]["cumulative_seconds"], indent=1))
            print("\n".join(result["profile"]["top_tottime"]))

        print(f"\nraw fp32 model {raw_rate:.1f} chunks/s; whole ingest / raw fp32 model = {result['ratio_to_raw_fp32']:.2f} "
              f"(target 2); {encode_all['precision']} model alone / raw fp32 = {result['model_ratio_to_raw_fp32']:.2f}")
        print(f"ingest {ingest_rate:.1f} chunks/s, model alone {encode_rate:.1f} chunks/s: ratio {result['ratio']:.2f} "
              f"(CPU time: {result['ratio_cpu']:.2f}); re-ingest {reingest['seconds']:.2f} s, {reingest['embedded']} embedded; "
              f"peak RSS ingest {ingest['maxrss_mib']:.0f} MiB")
        if not args.no_write:
            append_result(RESULTS, result)
            write_doc(result)
            print(f"wrote {RESULTS.relative_to(ROOT)} and {DOC.relative_to(ROOT)}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_main(sys.argv[2], sys.argv[3:])
    else:
        main()

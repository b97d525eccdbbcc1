"""``/ask`` latency against archive size and FAISS index type, through gunicorn, one server at a time.

    .venv/bin/python bench/ask_scale.py --archive 10k:flat:/tmp/synth/h10k --archive 100k:flat:/tmp/synth/h100k \\
        --archive 100k:hnsw:/tmp/synth/h100k-hnsw --questions /tmp/synth/q100k.jsonl [--previous REV] [--requests 200]

Each ``--archive LABEL:INDEX_TYPE:DIR[:PREVIOUS_DIR]`` is an index built beforehand (``bench/synth_archive.py``;
its vectors folder saved with that index type), served in place by ``newsdesk serve``
(``NEWSDESK_INDEX_TYPE`` set to match) with the same gunicorn set-up as ``bench/ask.py``
(``NEWSDESK_WORKERS`` x ``NEWSDESK_THREADS``), rate limits off (one client address asks
thousands of questions a minute). Servers run one after another, never side by
side, so no archive's measurement pays for another's CPU. Each is warmed up (every question
once per worker; a cold start's first touch of the vectors is not measured), then asked
``--requests`` questions by one client and by 8 concurrent clients, cycling through
``--questions`` with their ``as_of`` (each question asked at its own moment: the date filter is
part of every request). With ``--previous REV``, the code at git revision ``REV`` serves each
archive given a ``PREVIOUS_DIR`` (a copy of ``DIR`` as that code left it: a writer of this code
migrates an index's schema in place, and older code refuses a newer schema), right after the
current code, for a ratio measured in the same run.

Results: printed, appended to ``bench/results/ask_scale.json``, a plot of p50/p95 against
archive size (``docs/ask_scale.png``), and the ``ask-scale`` section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ask import _chunks, _free_port, _request, _wait_ready, warm_and_measure  # noqa: E402
from report import ROOT, append_result, machine, previous_release, stop_server, write_section  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "ask_scale.json"
PLOT = ROOT / "docs" / "ask_scale.png"
TARGETS = {100_000: (30, 100), 1_000_000: (50, None)}  # issue 14: passages -> (p50 ms, p95 ms) for one client


def serve_and_measure(data: Path, index_type: str, questions: list[dict], requests: int, pythonpath: Path | None,
                      work: Path) -> dict:
    """One server over ``data``: warmed up, then one client and 8 clients."""
    env = {**os.environ, "HAYSTACK_TELEMETRY_ENABLED": "False", "NEWSDESK_DATA_DIR": str(data),
           "NEWSDESK_INDEX_TYPE": index_type, "NEWSDESK_HOST": "127.0.0.1",
           "NEWSDESK_RATE_LIMIT_PER_ADDRESS": "", "NEWSDESK_RATE_LIMIT_PER_KEY": "", "NEWSDESK_RATE_LIMIT_WRITES": ""}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    workers = int(env.get("NEWSDESK_WORKERS", "2"))
    port = _free_port()
    with open(work / "servers.log", "a") as log:
        proc = subprocess.Popen([sys.executable, "-m", "newsdesk.service.cli", "serve"], cwd=work,
                                env={**env, "NEWSDESK_PORT": str(port)}, stdout=subprocess.DEVNULL, stderr=log)
    try:
        _wait_ready(port, proc, "/readyz", timeout=600)
        return warm_and_measure(port, questions, workers, requests)
    finally:
        stop_server(proc)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=False)
    for ax, clients in zip(axes, ("1", "8")):
        for kind in sorted({r["index_type"] for r in result["runs"]}):
            for code in ("current", "previous"):
                runs = sorted((r for r in result["runs"] if r["index_type"] == kind and r["code"] == code), key=lambda r: r["passages"])
                if not runs:
                    continue
                xs = [r["passages"] for r in runs]
                style = "-" if code == "current" else ":"
                ax.plot(xs, [r[clients]["p50_ms"] for r in runs], style + "o", label=f"{kind} p50 ({code})")
                ax.plot(xs, [r[clients]["p95_ms"] for r in runs], style + "x", label=f"{kind} p95 ({code})")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("passages in the archive")
        ax.set_ylabel("/ask latency, ms")
        ax.set_title(f"{clients} client{'s' if clients != '1' else ''}, gunicorn {result['workers']}x{result['threads']}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def write_doc(result: dict, command: str) -> None:
    m = result["machine"]
    lines = ["## `/ask` against archive size (`bench/ask_scale.py`, issue 14)", "",
             f"Command: `{command}` (measured {result['date']}). Machine: {m['cpu']}, {m['nproc']} cores, {m['memory_gib']} GiB; "
             f"load average {m['load_average_at_start']:.2f} at start. Servers one at a time, gunicorn {result['workers']} workers x "
             f"{result['threads']} threads, extractive answerer; {result['questions']} questions from `{Path(result['questions_file']).name}`, "
             "each with its own `as_of`, cycled; rate limits off; archives from `bench/synth_archive.py` (synthetic text; hashed vectors, so the "
             "dense side ranks nonsense and most answers abstain: these are latency figures, not quality).", "",
             "| archive | passages | index | code | clients | p50 ms | p95 ms | mean ms | req/s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        for clients in ("1", "8"):
            s = r[clients]
            lines.append(f"| {r['label']} | {r['passages']:,} | {r['index_type']} | {r['code']} | {clients} | {s['p50_ms']} | "
                         f"{s['p95_ms']} | {s['mean_ms']} | {s['req_per_s']} |")
    lines.append("")
    for r in result["runs"]:
        target = TARGETS.get(round(r["passages"], -4) if r["passages"] < 500_000 else 1_000_000)
        if target and r["code"] == "current":
            p50, p95 = target
            one = r["1"]
            ok = one["p50_ms"] <= p50 and (p95 is None or one["p95_ms"] <= p95)
            lines.append(f"- {r['label']} {r['index_type']}: target p50 ≤ {p50} ms{'' if p95 is None else f', p95 ≤ {p95} ms'} "
                         f"(one client): {'met' if ok else 'NOT met'}; ≥ 100 req/s with 8 clients: "
                         f"{'met' if r['8']['req_per_s'] >= 100 else 'NOT met'} ({r['8']['req_per_s']}).")
    for r in result["runs"]:
        if r["code"] != "previous":
            continue
        now = next(c for c in result["runs"] if c["code"] == "current" and c["label"] == r["label"] and c["index_type"] == r["index_type"])
        lines.append(f"- {r['label']} {r['index_type']}, this code against {result['previous_rev']} in the same run: p50 ratio "
                     f"{now['1']['p50_ms'] / r['1']['p50_ms']:.2f}, p95 ratio {now['1']['p95_ms'] / r['1']['p95_ms']:.2f} (one client), "
                     f"req/s ratio {now['8']['req_per_s'] / r['8']['req_per_s']:.2f} (8 clients).")
    lines += ["", f"![/ask latency against archive size]({PLOT.name})"]
    write_section("ask-scale", lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--archive", action="append", required=True, metavar="LABEL:INDEX_TYPE:DIR[:PREVIOUS_DIR]")
    parser.add_argument("--questions", type=Path, required=True, help="JSON Lines: question, and as_of")
    parser.add_argument("--requests", type=int, default=200, help="requests per measurement (default 200)")
    parser.add_argument("--previous", metavar="REV", help="also serve each archive given a PREVIOUS_DIR with the code at this revision")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results, plot and docs alone")
    args = parser.parse_args()
    questions = [_request(json.loads(line)) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    result = {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
              "workers": int(os.environ.get("NEWSDESK_WORKERS", "2")), "threads": int(os.environ.get("NEWSDESK_THREADS", "4")),
              "questions": len(questions), "questions_file": str(args.questions), "runs": []}
    with tempfile.TemporaryDirectory(prefix="newsdesk-bench-scale-") as tmp:
        work = Path(tmp)
        previous = previous_release(args.previous, work) if args.previous else None
        if args.previous:
            result["previous_rev"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.previous],
                                                    capture_output=True, text=True, check=True).stdout.strip()
        for spec in args.archive:
            label, index_type, folder, *before = spec.split(":", 3)
            codes = [("current", None, Path(folder))]
            if previous and before:
                codes.append(("previous", previous, Path(before[0] if before else folder)))
            for code, pythonpath, data in codes:
                print(f"{label} ({_chunks(data):,} passages), {index_type}, {code} code", flush=True)
                run = {"label": label, "index_type": index_type, "code": code, "data": str(data), "passages": _chunks(data),
                       **serve_and_measure(data, index_type, questions, args.requests, pythonpath, work)}
                result["runs"].append(run)
    if not args.no_write:
        append_result(RESULTS, result)
        plot(result)
        write_doc(result, " ".join([".venv/bin/python bench/ask_scale.py", *sys.argv[1:]]))
        print(f"wrote {RESULTS.relative_to(ROOT)}, {PLOT.relative_to(ROOT)} and docs/benchmarks.md")


if __name__ == "__main__":
    main()

"""The ``newsdesk`` command: ingest, delete, search, ask, eval, serve.

Each command imports what it runs: the query side brings in Haystack (and, through it, torch when
installed), which ``newsdesk keys`` never needs and ``newsdesk serve`` must not load before it has
decided to leave torch out (:func:`newsdesk.index.onnx_model.defer_torch`)."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# Haystack reports usage to a server unless told not to; this service runs offline.
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from newsdesk.index.errors import IndexError_  # noqa: E402

from .config import Settings  # noqa: E402
from .errors import ConfigError, IndexUnavailable  # noqa: E402
from .runtime.keys import SCOPES, KeyStore  # noqa: E402

if TYPE_CHECKING:
    from newsdesk.index.ingest import BatchCommitted

SHARED_EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"
DEFAULT_EVAL = {"seed": SHARED_EVAL / "seed_dev_qa.jsonl", "xquad": SHARED_EVAL / "xquad" / "xquad.en.json",
                "scifact": SHARED_EVAL / "scifact"}
EXIT_SKIPPED = 1
EXIT_ERROR = 2


def _print_commit(batch: BatchCommitted) -> None:
    print(f"committed generation {batch.generation}: {' '.join(batch.ids)}", flush=True)


def _print_progress(batch: BatchCommitted) -> None:
    """One line per committed batch where there is no terminal for a bar (logs, CI)."""
    done = f"{batch.inputs_done:,} of {batch.inputs_total:,} inputs" if batch.inputs_total else f"{batch.inputs_done:,} inputs"
    eta = f", ETA {batch.eta_seconds:.0f}s" if batch.eta_seconds is not None else ""
    print(f"batch committed (generation {batch.generation}): {len(batch.ids)} article(s); {done}, "
          f"{batch.chunks_embedded:,} chunks embedded, {batch.chunks_per_second:.1f} chunks/s{eta}", flush=True)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk.index.ingest import ingest

    if args.ray:
        settings = dataclasses.replace(settings, ray_address=args.ray)
    with settings.open_store(writer=True) as store:
        if args.if_empty and (held := store.counts().articles):
            print(f"the index already holds {held} articles: nothing indexed (--if-empty)")
            return 0
        terminal = sys.stderr.isatty()
        report = ingest(args.paths, store, settings.ingest_options(), progress=not args.quiet and terminal,
                        on_commit=_print_commit if args.verbose else None if args.quiet or terminal else _print_progress,
                        fetch=settings.fetch_options())
        counts = store.counts()
    print(f"added {len(report.added)}, replaced {len(report.replaced)}, unchanged {len(report.unchanged)}, "
          f"skipped {len(report.skipped)}; embedded {report.chunks_embedded} chunk(s), reused {report.chunks_reused}; "
          f"index: {counts.articles} articles, {counts.chunks} chunks, {counts.clusters} clusters "
          f"(generation {counts.generation}) in {report.seconds:.1f}s")
    if report.entities_backfilled:
        print(f"tagged the entities of {report.entities_backfilled} article(s) indexed before entities were stored")
    for warning in report.warnings:
        print(f"warning {warning.source}: {warning.message}")
    for skipped in report.skipped:
        print(f"skipped {skipped.source}: {skipped.reason}", file=sys.stderr)
    return EXIT_SKIPPED if report.skipped else 0


def cmd_copy_index(args: argparse.Namespace, settings: Settings) -> int:
    """The embedded index of NEWSDESK_DATA_DIR copied into an empty PostgreSQL database, vectors and all."""
    from newsdesk.index.store.postgres.copy import copy_index

    with dataclasses.replace(settings, database_url="").open_store() as source, \
            dataclasses.replace(settings, database_url=args.url, database_replica_urls="").open_store(writer=True) as target:
        seconds = copy_index(source, target, progress=lambda step: print(step, flush=True))
        counts = target.counts()
        where = target.url
    print(f"copied {counts.articles} articles, {counts.chunks} chunks, {counts.vectors} vectors into {where} "
          f"(generation {counts.generation}) in {seconds:.1f}s")
    return 0


def cmd_delete(args: argparse.Namespace, settings: Settings) -> int:
    with settings.open_store(writer=True) as store:
        missing = [article_id for article_id in args.ids if not store.delete(article_id)]
        store.save_vectors()
    for article_id in missing:
        print(f"no article with id {article_id!r}", file=sys.stderr)
    print(f"deleted {len(args.ids) - len(missing)} article(s)")
    return EXIT_SKIPPED if missing else 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .query import retrieve
    from .runtime.engine import Engine

    engine = Engine(settings)
    store, pipeline = engine.store, engine.pipeline.retrieval
    queries = [" ".join(args.query)] if args.query else None
    if queries is None:
        print(f"newsdesk search: {store.counts().articles} articles indexed. Type a query (empty line or Ctrl-D to quit).")
    while True:
        if queries is None:
            try:
                query = input("search> ").strip()
            except EOFError:
                print()
                return 0
            if not query:
                return 0
        else:
            query = queries[0]
        for rank, passage in enumerate(retrieve(pipeline, query, top_k=args.top_k or settings.top_k).passages, start=1):
            s = passage.stored
            dense = f"{passage.dense_score:.3f}" if passage.dense_score is not None else "-"
            bm25 = f"{passage.bm25_score:.2f}" if passage.bm25_score is not None else "-"
            print(f"{rank}. [{s.article_id}] {s.title or '(no title)'} | {s.publisher or '-'} | "
                  f"{s.published_at or '-'} | chars {s.start}-{s.end} | fused {passage.score:.4f} dense {dense} bm25 {bm25}")
            print("   " + " ".join(s.text.split())[:300])
        if queries is not None:
            return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .query.timeframe import parse_as_of
    from .runtime.engine import Engine

    engine = Engine(settings)
    as_of = None
    if args.as_of:
        try:
            as_of = parse_as_of(args.as_of)
        except ValueError as exc:
            print(f"newsdesk: --as-of: {exc}", file=sys.stderr)
            return EXIT_ERROR
    result = engine.pipeline.ask(" ".join(args.question), top_k=args.top_k or settings.top_k, as_of=as_of)
    answer = result.answer
    if args.json:
        print(json.dumps({**answer.to_dict(), **result.context_dict()}, ensure_ascii=False, indent=2))
        return 0
    print(answer.answer)
    if answer.short_answer:
        print(f"Short answer: {answer.short_answer.text} [{answer.short_answer.n}] ({answer.short_answer.label})")
    for citation in answer.citations:
        print(f"  [{citation.n}] {citation.article_id} chars {citation.start}-{citation.end} | {citation.title or '(no title)'} | "
              f"{citation.publisher or '-'} | {citation.published_at or '-'}")
    if answer.abstained and answer.closest:
        print("Closest articles: " + "; ".join(f"{c.article_id} ({c.title or 'no title'})" for c in answer.closest))
    for warning in answer.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluation import run

    path = Path(args.path) if args.path else DEFAULT_EVAL[args.kind]
    result = run(args.kind, path, settings, limit=args.limit)
    rows = result.pop("rows", None)
    print(json.dumps(result, indent=2))
    if args.verbose and rows:
        for row in rows:
            print(json.dumps(row), file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from newsdesk.index.onnx_model import defer_torch

    defer_torch()  # before Haystack is imported: the server runs the model with ONNX Runtime
    from .serve import serve

    flags = {name: getattr(args, name) for name in ("host", "port", "workers") if getattr(args, name) is not None}
    if flags:  # --host/--port/--workers override NEWSDESK_HOST/PORT/WORKERS
        settings = dataclasses.replace(settings, **flags)
        settings.validate()
    serve(settings)
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    """API keys for the HTTP API (see service/runtime/keys.py): the key itself is printed once, by create."""
    keys = KeyStore(settings.data_dir, settings.database_url)
    if args.keys_command == "create":
        key, token = keys.create(args.scope, args.name)
        print(token)  # alone on stdout, for KEY=$(newsdesk keys create ...)
        print(f"created {key.id} (scope {key.scope}{', ' + repr(key.name) if key.name else ''}); "
              "the key is shown only now: store it, it cannot be recovered", file=sys.stderr)
        return 0
    if args.keys_command == "list":
        for key in keys.keys():
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            print(f"{key.id}  {key.scope:<5}  {key.key_start}…  created {key.created_at}  {state}  {key.name or ''}".rstrip())
        return 0
    revoked = keys.revoke(args.id)
    if revoked is None:
        print(f"no key with id {args.id!r}", file=sys.stderr)
        return EXIT_SKIPPED
    print(f"revoked {revoked.id} ({revoked.scope}) at {revoked.revoked_at}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="newsdesk", description="Question answering over a news archive, with verifiable citations.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {importlib.metadata.version('newsdesk')}")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("ingest", help="index .txt/.md/.html files, folders of them, and JSON Lines exports")
    p.add_argument("paths", nargs="+")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="print each committed batch")
    p.add_argument("--if-empty", action="store_true", help="index only into an index that holds no article yet (a first start's seeding)")
    p.add_argument("--ray", metavar="ADDRESS", help="embed on the Ray cluster whose head is at ADDRESS (host:port; default: NEWSDESK_RAY_ADDRESS)")
    p.set_defaults(func=cmd_ingest)
    p = sub.add_parser("copy-index", help="copy the embedded index (NEWSDESK_DATA_DIR) into an empty PostgreSQL database")
    p.add_argument("url", help="postgresql://user:password@host:port/database (pgvector installed or installable)")
    p.set_defaults(func=cmd_copy_index)
    p = sub.add_parser("delete", help="remove articles by id")
    p.add_argument("ids", nargs="+")
    p.set_defaults(func=cmd_delete)
    p = sub.add_parser("search", help="print the top passages for a query (interactive without one)")
    p.add_argument("query", nargs="*")
    p.add_argument("-k", "--top-k", type=int, default=None, help="how many (default: NEWSDESK_TOP_K)")
    p.set_defaults(func=cmd_search)
    p = sub.add_parser("ask", help="answer a question with citations")
    p.add_argument("question", nargs="+")
    p.add_argument("-k", "--top-k", type=int, default=None)
    p.add_argument("--json", action="store_true", help="print the /ask response as JSON")
    p.add_argument("--as-of", metavar="WHEN", help="when the question is asked (ISO 8601 date or date-time; default: now)")
    p.set_defaults(func=cmd_ask)
    p = sub.add_parser("eval", help="run a question set through the real pipeline and print its scores")
    p.add_argument("kind", choices=["seed", "xquad", "scifact"])
    p.add_argument("path", nargs="?", help="question set (default: ../shared/eval/...)")
    p.add_argument("--limit", type=int, default=None, help="only the first N questions (xquad)")
    p.add_argument("-v", "--verbose", action="store_true", help="print one line per question (seed)")
    p.set_defaults(func=cmd_eval)
    p = sub.add_parser("keys", help="create, list and revoke API keys for the HTTP API")
    keys = p.add_subparsers(dest="keys_command", required=True)
    k = keys.add_parser("create", help="print a new key (once: only its hash is stored)")
    k.add_argument("--scope", required=True, choices=SCOPES, help="read < write < admin")
    k.add_argument("--name", default=None, help="who or what the key is for")
    keys.add_parser("list", help="every key: id, scope, first characters, created, revoked (never the key)")
    k = keys.add_parser("revoke", help="revoke a key by its id (from the next request on)")
    k.add_argument("id")
    p.set_defaults(func=cmd_keys)
    p = sub.add_parser("serve", help="serve the chat and the HTTP API on NEWSDESK_HOST:NEWSDESK_PORT")
    p.add_argument("--host", default=None, help="address to listen on (default: NEWSDESK_HOST)")
    p.add_argument("--port", type=int, default=None, help="port to listen on (default: NEWSDESK_PORT)")
    p.add_argument("--workers", type=int, default=None, help="worker processes, each with its own model (default: NEWSDESK_WORKERS)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.func(args, settings)
    except (ConfigError, IndexError_, IndexUnavailable) as exc:
        print(f"newsdesk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

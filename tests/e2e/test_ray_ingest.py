"""Ingest on Ray (issue 15): the seeds embedded on a real two-node Ray cluster (127.0.0.2 and 127.0.0.3)
and committed through the PostgreSQL primary hold exactly the index a single-process ingest builds."""

from __future__ import annotations

import dataclasses
import uuid

import numpy as np
import pytest

from newsdesk.index.ingest import ingest_items
from newsdesk.index.pipeline import ChunkEmbedder, build_ingest_pipeline
from newsdesk.index.ray_embed import RayEmbedder
from newsdesk.index.sources import read_sources

from tests.conftest import SEEDS, ingest_options, open_pg_store
from tests.pg_servers import PostgresServer, create_database
from tests.ray_cluster import ray_cluster

pytestmark = pytest.mark.slow


def test_an_ingest_embedded_on_two_ray_nodes_stores_what_one_process_stores(pg_server: PostgresServer, pg_seed_url: str) -> None:
    url = create_database(pg_server, f"ray{uuid.uuid4().hex[:8]}")
    with ray_cluster() as address:
        import ray

        try:
            with open_pg_store(url, writer=True) as store:
                options = dataclasses.replace(ingest_options(), ray_address=address)
                pipeline = build_ingest_pipeline(store, options)
                report = ingest_items(read_sources([SEEDS], options.max_article_bytes, None), store, options, pipeline=pipeline)
                embedder = pipeline.get_component("embedder")
                assert isinstance(embedder, ChunkEmbedder) and isinstance(embedder._embedder, RayEmbedder)
                assert report.chunks_embedded == 30 and len(embedder._embedder.nodes) == 2  # both nodes embedded
        finally:
            ray.shutdown()

    with open_pg_store(pg_seed_url) as alone, open_pg_store(url) as spread:
        assert [dataclasses.replace(a, ingested_at="") for a in alone.list_articles(100)] == \
            [dataclasses.replace(a, ingested_at="") for a in spread.list_articles(100)]
        for summary in alone.list_articles(100):
            assert alone.sentences(summary.id) == spread.sentences(summary.id)
            assert alone.entities(summary.id) == spread.entities(summary.id)
            mine, theirs = alone.passages_of(summary.id), spread.passages_of(summary.id)
            assert [p.text for p in mine] == [p.text for p in theirs]
            for p, q in zip(mine, theirs):
                assert np.array_equal(alone.sentence_vectors(p.rowid), spread.sentence_vectors(q.rowid))

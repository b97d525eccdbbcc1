"""ClusterCollapser and FilterResolver over a real index holding a wire copy of one seed story."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from newsdesk.index.ingest import ingest
from newsdesk.index.store import ArticleStore
from newsdesk.service.domain import Filters, Passage
from newsdesk.service.query.collapse import ClusterCollapser
from newsdesk.service.query.filters import FilterResolver

from tests.conftest import SEEDS, ingest_options, open_store

WIRE = "002_45b39b5889d0e37c"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArticleStore]:
    folder = tmp_path_factory.mktemp("archive")
    for seed in SEEDS.glob("*.txt"):
        (folder / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "zz_copy.txt").write_text("Home › World\n\n" + (SEEDS / f"{WIRE}.txt").read_text(encoding="utf-8"), encoding="utf-8")
    data = tmp_path_factory.mktemp("data")
    with open_store(data, writer=True) as writer:
        assert not ingest([folder], writer, ingest_options(), progress=False).skipped
    with open_store(data) as reader:
        yield reader


def _passages(store: ArticleStore, *article_ids: str) -> list[Passage]:
    return [Passage(store.passages_of(a)[0], score=1.0 / (i + 1)) for i, a in enumerate(article_ids)]


def test_copies_of_one_story_collapse_to_the_best_ranked(store: ArticleStore) -> None:
    assert store.article("zz_copy").cluster_id == WIRE
    ranked = _passages(store, "zz_copy", "001_cbb8ff9536446ca1", WIRE)
    kept = ClusterCollapser(store).run(ranked)["passages"]
    assert [p.article_id for p in kept] == ["zz_copy", "001_cbb8ff9536446ca1"]
    assert kept[0].copies == (WIRE,) and kept[1].copies == ()
    assert ranked[0].copies == ()  # inputs are not mutated


def test_collapse_stops_at_top_k(store: ArticleStore) -> None:
    ranked = _passages(store, *store.article_ids())
    assert len(ClusterCollapser(store).run(ranked, top_k=2)["passages"]) == 2


def _allowed(store: ArticleStore, filters: Filters | None = None, **kwargs: object) -> set[int] | None:
    return FilterResolver(store).run("q", "q", filters, **kwargs)["allowed"]


def test_no_filters_allow_everything(store: ArticleStore) -> None:
    assert _allowed(store) is None
    assert _allowed(store, Filters()) is None


def test_filters_become_the_passages_they_allow(store: ArticleStore) -> None:
    every = {p.rowid for a in store.article_ids() for p in store.passages_of(a)}
    by_publisher = _allowed(store, Filters(publishers=("press tv",)))
    assert by_publisher and by_publisher < every
    assert all(store.passages([r])[r].publisher == "Press TV" for r in by_publisher)
    assert _allowed(store, Filters(published_from="2030-01-01")) == set()
    story = _allowed(store, stories=[WIRE])
    assert {store.passages([r])[r].article_id for r in story} == {WIRE, "zz_copy"}  # the story and its copies


def test_as_of_keeps_undated_articles_and_drops_later_ones(store: ArticleStore) -> None:
    dated = {a for a in store.article_ids() if store.article(a).published_at}
    assert dated  # the seeds date one article (October 2022)
    early = _allowed(store, as_of=datetime(2022, 1, 1, tzinfo=timezone.utc))
    assert {store.passages([r])[r].article_id for r in early} == set(store.article_ids()) - dated
    assert _allowed(store, as_of=datetime(2030, 1, 1, tzinfo=timezone.utc)) is None  # nothing later: no filter at all


def test_a_period_narrows_and_its_words_leave_the_query(store: ArticleStore) -> None:
    out = FilterResolver(store).run("What did Lavrov say last month?", "What did Lavrov say last month?",
                                    as_of=datetime(2022, 11, 15, tzinfo=timezone.utc))
    assert {store.passages([r])[r].article_id for r in out["allowed"]} == {"003_f9095a6aa4cb8e46"}
    assert out["query"] == out["question"] == "What did Lavrov say?"
    empty = FilterResolver(store).run("What did Lavrov say last month?", "What did Lavrov say last month?",
                                      as_of=datetime(2024, 6, 15, tzinfo=timezone.utc))
    assert empty["allowed"] is None and empty["query"] == "What did Lavrov say last month?"  # nothing then: no period
    assert empty["timeframe"].expression == "last month"

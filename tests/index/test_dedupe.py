"""Near-duplicate clusters: wire copies join the first copy's cluster; exact copies are caught by hash."""

from __future__ import annotations

import re
from pathlib import Path

from newsdesk.index.dedupe import minhash_of, similarity
from newsdesk.index.ingest import ingest
from newsdesk.index.store import ArticleStore

from tests.conftest import SEEDS, ingest_options

WIRE = SEEDS / "002_45b39b5889d0e37c.txt"


def _rewrap(text: str) -> str:
    """Another outlet's copy of the same agency story: other furniture, a light edit."""
    body = text.split("(This story has not been edited")[0]
    body = body.replace("Russia Says US Failing On Ukraine But More Talks Possible\n\nRussia Says", "Russia Says")
    body = body.replace("said on Wednesday", "said Wednesday")
    return "Home › World › Europe\n\n" + body + "\n\nFollow us on Twitter\n\nShare this article\n"


def test_wire_copy_joins_cluster_and_other_stories_do_not(writer: ArticleStore, tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    for seed in SEEDS.glob("*.txt"):
        (folder / seed.name).write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "zz_wire_copy.txt").write_text(_rewrap(WIRE.read_text(encoding="utf-8")), encoding="utf-8")
    report = ingest([folder], writer, ingest_options(), progress=False)
    assert not report.skipped
    copy = writer.article("zz_wire_copy")
    assert copy.cluster_id == "002_45b39b5889d0e37c"
    assert writer.cluster_members("002_45b39b5889d0e37c") == ["002_45b39b5889d0e37c", "zz_wire_copy"]
    # The other seeds tell related but different stories: each is its own cluster.
    for seed in SEEDS.glob("*.txt"):
        if seed.stem != "002_45b39b5889d0e37c":
            assert writer.article(seed.stem).cluster_id == seed.stem
    assert writer.counts().clusters == 5

    # Deleting the canonical copy hands the cluster to the earliest remaining copy.
    assert writer.delete("002_45b39b5889d0e37c")
    assert writer.article("zz_wire_copy").cluster_id == "zz_wire_copy"


def test_exact_copy_under_another_id_is_clustered_and_not_reembedded(writer: ArticleStore, tmp_path: Path) -> None:
    original = tmp_path / "a.txt"
    original.write_text(WIRE.read_text(encoding="utf-8"), encoding="utf-8")
    ingest([original], writer, ingest_options(), progress=False)
    duplicate = tmp_path / "b.txt"
    duplicate.write_text(WIRE.read_text(encoding="utf-8"), encoding="utf-8")
    report = ingest([duplicate], writer, ingest_options(), progress=False)
    assert report.added == ["b"]
    assert report.chunks_embedded == 0  # identical text: every vector comes from the cache
    assert writer.article("b").cluster_id == "a"
    assert writer.article("a").content_hash == writer.article("b").content_hash


def test_minhash_separates_related_stories() -> None:
    texts = {p.stem: re.sub(r"\s+", " ", p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}
    signatures = {k: minhash_of(v) for k, v in texts.items()}
    ids = sorted(signatures)
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            assert similarity(signatures[a], signatures[b]) < 0.5, (a, b)
    assert similarity(minhash_of(texts[ids[0]]), minhash_of(texts[ids[0]] + " Updated.")) > 0.9

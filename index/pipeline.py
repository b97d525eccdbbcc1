"""Ingestion as a Haystack ``Pipeline``: read → detect changes → clean → metadata →
near-duplicates → chunk → (entities ‖ embed) → write. Each stage is a small component with a typed
``run()``; the pipeline can be drawn, inspected and serialized (``pipeline.dumps()``). Entities and
vectors are two branches from the chunks, run side by side by ``Pipeline.run_async`` (spaCy's tagger is
single-threaded; it takes about as long as the model), and joined by the writer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Pipeline, component, default_from_dict, default_to_dict
from haystack.core.serialization import DeserializationCallbacks

from .chunk import chunk_sentences, sentences_of
from .clean import OffsetMap, clean
from .dedupe import band_keys, minhash_of, similarity
from .embed import Embedder, embed_key, passage_input, precision_of
from .entities import Entity, EntityTagger
from .metadata import extract_metadata
from .options import IngestOptions
from .ray_embed import RayEmbedder
from .records import Draft, RawArticle, Sentence, Skipped
from .store import WriteStore


class StoreComponent:
    """A component that reads or writes the store: serialized by the store's folder, as
    Haystack's writers are; :func:`load_ingest_pipeline` hands the open store back in."""

    store: WriteStore

    def to_dict(self) -> dict[str, Any]:
        params = {k: v for k, v in vars(self).items() if not k.startswith("_") and k != "store"}
        return default_to_dict(self, store={"data_dir": str(self.store.data_dir), "index_type": self.store.index_type}, **params)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Any:
        return default_from_dict(cls, data)


def _require_store(store: Any) -> WriteStore:
    if not isinstance(store, WriteStore):
        raise TypeError("a store component needs an open store (WriteStore); load a saved pipeline with load_ingest_pipeline(text, store)")
    return store


@component
class ChangeDetector(StoreComponent):
    """Passes on new and changed articles; an exact re-ingest (same id, same content hash) stops here."""

    def __init__(self, store: WriteStore) -> None:
        self.store = _require_store(store)

    @component.output_types(articles=list[RawArticle], replaced=list[str], unchanged=list[str])
    def run(self, articles: list[RawArticle]) -> dict[str, Any]:
        """:returns: ``articles`` to index, ids of those that replace an older version, ``unchanged`` ids."""
        fresh, replaced, unchanged = [], [], []
        for article in articles:
            stored = self.store.article_hash(article.id)
            if stored == article.content_hash:
                unchanged.append(article.id)
                continue
            if stored is not None:
                replaced.append(article.id)
            fresh.append(article)
        return {"articles": fresh, "replaced": replaced, "unchanged": unchanged}


@component
class BoilerplateCleaner:
    """Marks which line spans are news and which are site furniture (see :mod:`.clean`)."""

    @component.output_types(drafts=list[Draft], skipped=list[Skipped])
    def run(self, articles: list[RawArticle]) -> dict[str, Any]:
        drafts, skipped = [], []
        for article in articles:
            kept, removed = clean(article.raw_text)
            if not kept:
                skipped.append(Skipped(article.source, "no article text left after removing site boilerplate"))
                continue
            drafts.append(Draft(article=article, kept=kept, removed=removed))
        return {"drafts": drafts, "skipped": skipped}


@component
class MetadataExtractor:
    """Title, publisher, date and URL where the article states them (see :mod:`.metadata`)."""

    @component.output_types(drafts=list[Draft])
    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        return {"drafts": [dataclasses.replace(d, metadata=extract_metadata(d.article, d.kept, d.removed)) for d in drafts]}


@component
class NearDuplicateClusterer(StoreComponent):
    """Puts each article into the cluster of its closest earlier copy (MinHash >= ``threshold``)."""

    def __init__(self, store: WriteStore, threshold: float) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.store = _require_store(store)
        self.threshold = threshold

    @component.output_types(drafts=list[Draft])
    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        out: list[Draft] = []
        for draft in drafts:
            signature = minhash_of(OffsetMap(draft.article.raw_text, draft.kept).text)
            bands = band_keys(signature)
            candidates = [(cid, np.frombuffer(sig, dtype=np.uint32), cluster) for cid, sig, cluster in self.store.lsh_candidates(bands)]
            band_set = set(bands)
            candidates += [(d.article.id, np.asarray(d.minhash, dtype=np.uint32), d.duplicate_of or d.article.id)
                           for d in out if band_set.intersection(d.bands)]
            best, best_score = None, self.threshold
            for cid, other, cluster in candidates:
                if cid == draft.article.id:
                    continue  # its own older version
                score = similarity(signature, other)
                if score >= best_score:
                    best, best_score = cluster, score
            out.append(dataclasses.replace(draft, minhash=tuple(int(v) for v in signature), bands=tuple(bands), duplicate_of=best))
        return {"drafts": out}


@component
class SentenceChunker:
    """Sentences and token windows with offsets into the raw article (see :mod:`.chunk`)."""

    def __init__(self, max_tokens: int, overlap_tokens: int) -> None:
        if max_tokens < 16:
            raise ValueError(f"max_tokens must be at least 16, got {max_tokens}")
        if not 0 <= overlap_tokens < max_tokens:
            raise ValueError(f"overlap_tokens must be in [0, max_tokens), got {overlap_tokens}")
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens

    @component.output_types(drafts=list[Draft])
    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        out = []
        for draft in drafts:
            raw = draft.article.raw_text
            sentences = sentences_of(raw, draft.kept)
            chunks = chunk_sentences(draft.article.id, raw, sentences, self.max_tokens, self.overlap_tokens)
            out.append(dataclasses.replace(draft, sentences=tuple(s for s, _ in sentences), chunks=tuple(chunks)))
        return {"drafts": out}


@component
class EntityRecognizer:
    """Named entities, numbers and dates of every sentence (see :mod:`.entities`), tagged once here so
    that a question pays a lookup, not a model run; one batched spaCy run per ingest batch."""

    def __init__(self, batch_size: int) -> None:
        self.batch_size = batch_size
        self._tagger = EntityTagger(batch_size=batch_size)

    def warm_up(self) -> None:
        self._tagger.warm_up()

    def entities_of(self, articles: Sequence[tuple[str, Sequence[Sentence]]]) -> list[tuple[Entity, ...]]:
        """The entities inside the given sentences of each ``(raw_text, sentences)``; also used to tag stored articles."""
        found = self._tagger.tag_many([(raw, [(s.start, s.end) for s in sentences]) for raw, sentences in articles])
        return [tuple(entities) for entities in found]

    @component.output_types(drafts=list[Draft])
    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        found = self.entities_of([(d.article.raw_text, d.sentences) for d in drafts])
        return {"drafts": [dataclasses.replace(d, entities=entities) for d, entities in zip(drafts, found)]}


@component
class ChunkEmbedder(StoreComponent):
    """Embeds every chunk whose input was never embedded before (here, or on the Ray cluster at ``ray_address``);
    reuses stored vectors otherwise."""

    def __init__(self, store: WriteStore, cache_dir: str, ray_address: str, runs: int = 1) -> None:
        """``runs``: texts embedded at once, one thread each, behind the entity tagger (see ``Embedder``)."""
        self.store = _require_store(store)
        self.cache_dir = str(cache_dir)
        self.ray_address = ray_address
        self.runs = runs
        precision = precision_of(store.model_name)
        self._embedder: Embedder | RayEmbedder = (RayEmbedder(ray_address, precision, Path(cache_dir)) if ray_address else
                                                  Embedder(precision=precision, cache_dir=Path(cache_dir), threads=1, runs=runs, background=True))

    def warm_up(self) -> None:
        self._embedder.warm_up()

    @component.output_types(drafts=list[Draft], embedded=int, reused=int)
    def run(self, drafts: list[Draft]) -> dict[str, Any]:
        """:returns: drafts with chunk and sentence ``vectors``; how many chunks were ``embedded`` and ``reused``."""
        inputs: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        per_draft = []
        for draft in drafts:
            keys = []
            for chunk in draft.chunks:
                text = passage_input(draft.metadata.title, chunk.text)
                key = embed_key(self._embedder.model_name, text)
                inputs.setdefault(key, (text, _sentence_spans(draft, chunk, len(text) - len(chunk.text))))
                keys.append(key)
            per_draft.append(keys)
        known = self.store.cached_vectors(inputs)
        missing = [k for k in inputs if k not in known]
        passages, sentences = self._embedder.embed_passages([inputs[k][0] for k in missing], [inputs[k][1] for k in missing])
        known.update(zip(missing, zip(passages, sentences)))
        out = []
        for draft, keys in zip(drafts, per_draft):
            vectors = np.stack([known[k][0] for k in keys]) if keys else np.empty((0, self._embedder.dim), np.float32)
            out.append(dataclasses.replace(draft, embed_keys=tuple(keys), vectors=vectors,
                                           sentence_vectors=tuple(known[k][1] for k in keys)))
        return {"drafts": out, "embedded": len(missing), "reused": sum(map(len, per_draft)) - len(missing)}


def _sentence_spans(draft: Draft, chunk: Any, base: int) -> list[tuple[int, int]]:
    """Each of the chunk's sentences as a range of the embedding input (headline + chunk text)."""
    spans = []
    for sentence in draft.sentences[chunk.first_sentence:chunk.last_sentence + 1]:
        start, end = max(sentence.start, chunk.start), min(sentence.end, chunk.end)
        spans.append((base + start - chunk.start, base + end - chunk.start))
    return spans


@component
class ArticleWriter(StoreComponent):
    """Commits a batch of articles in one transaction: all of them, or none."""

    def __init__(self, store: WriteStore) -> None:
        self.store = _require_store(store)

    @component.output_types(written=list[str], generation=int)
    def run(self, drafts: list[Draft], tagged: list[Draft]) -> dict[str, Any]:
        """``drafts`` embedded, ``tagged`` the same drafts with their entities (the two branches run side by side)."""
        entities = {d.article.id: d.entities for d in tagged}
        drafts = [dataclasses.replace(d, entities=entities[d.article.id]) for d in drafts]
        result = self.store.write(drafts) if drafts else None
        return {"written": [d.article.id for d in drafts], "generation": result.generation if result else self.store.generation}


def build_ingest_pipeline(store: WriteStore, options: IngestOptions) -> Pipeline:
    """The ingestion pipeline over ``store``; feed it ``{"changes": {"articles": [...]}}``."""
    pipeline = Pipeline()
    pipeline.add_component("changes", ChangeDetector(store))
    pipeline.add_component("cleaner", BoilerplateCleaner())
    pipeline.add_component("metadata", MetadataExtractor())
    pipeline.add_component("dedupe", NearDuplicateClusterer(store, threshold=options.near_duplicate_threshold))
    pipeline.add_component("chunker", SentenceChunker(max_tokens=options.max_tokens, overlap_tokens=options.overlap_tokens))
    pipeline.add_component("entities", EntityRecognizer(batch_size=options.ner_batch_size))
    pipeline.add_component("embedder", ChunkEmbedder(store, cache_dir=options.model_cache_dir, ray_address=options.ray_address,
                                                             runs=options.embed_runs))
    pipeline.add_component("writer", ArticleWriter(store))
    pipeline.connect("changes.articles", "cleaner.articles")
    pipeline.connect("cleaner.drafts", "metadata.drafts")
    pipeline.connect("metadata.drafts", "dedupe.drafts")
    pipeline.connect("dedupe.drafts", "chunker.drafts")
    pipeline.connect("chunker.drafts", "entities.drafts")  # entities and vectors are found side by side (run_async):
    pipeline.connect("chunker.drafts", "embedder.drafts")  # the tagger (one thread) and the model share the cores
    pipeline.connect("entities.drafts", "writer.tagged")
    pipeline.connect("embedder.drafts", "writer.drafts")
    return pipeline


def bind_store(pipeline: Pipeline, store: WriteStore) -> Pipeline:
    """Hand ``store`` (a newly opened writer) to the store components of a pipeline built earlier, so that a
    long-lived process (the HTTP write API) keeps its models loaded but holds the writer lock only while writing."""
    for _, instance in pipeline.walk():
        if isinstance(instance, StoreComponent):
            instance.store = _require_store(store)
    return pipeline


def load_ingest_pipeline(text: str, store: WriteStore) -> Pipeline:
    """A pipeline saved with ``dumps()``, its store components given ``store`` (the one open writer)."""

    def give_store(name: str, cls: type, init_params: dict[str, Any]) -> None:
        if issubclass(cls, StoreComponent):
            init_params["store"] = store

    return Pipeline.loads(text, callbacks=DeserializationCallbacks(component_pre_init=give_store),
                          allowed_modules=[__name__])

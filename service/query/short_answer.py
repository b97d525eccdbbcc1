"""The short answer to a factoid question: the entity of the expected type in the cited sentences.

"When were the talks held?" is answered by a sentence; the reader also wants its date. The
entities of every stored sentence were tagged at ingest (:mod:`newsdesk.index.entities`),
so this is a lookup and three general rules, never tuned to a particular question:

1. **Expected types**, from the form of the question: its first wh-word and what follows it
   (:data:`FORMS`, checked in order at that word; a "what"/"which" phrase is typed by its
   head noun, :data:`HEAD_NOUNS`; "how many/much" by a unit, :data:`UNITS`), most typical
   first. A question with no wh-word, or a form that asks for no entity ("why", "how did",
   "what did X say"), gets no short answer.
2. **Candidates**: the entities of an expected type inside the cited sentences, except those
   whose every content word is in the question (the question's own subject is not its answer).
3. **Rank**: the cited sentence with a candidate that shares the most content words with the
   question (an answer cited as two sentences often states the fact in one and the setting in
   the other), the earlier one on a tie (the answerer cites its best evidence first); in it,
   the more typical type (a *who* question wants a PERSON before an
   ORG or NORP), then the fewest words between the entity and a content word of the question,
   then the earlier entity. Features a fitted ranker could add: a learned prior of each type
   per form, the words between entity and question words (a preposition such as "in" for
   *when*/*where*, an apposition), the share of question words in a window, the sentence's
   evidence score.

A possessive ending ("Biden’s") is left out of the answer. The answer is always a span of
the stored original: ``text == raw_text[start:end]``; :mod:`.verify` re-reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from newsdesk.index.entities import Entity
from newsdesk.index.text import content_terms, split_sentences

from ..domain import Citation, ShortAnswer

__all__ = ["FORMS", "HEAD_NOUNS", "UNITS", "adds_to", "expected_labels", "short_answer"]

PERSONS = ("PERSON", "ORG", "NORP")  # "who" is a person, or an organisation or group acting as one
PLACES = ("GPE", "LOC", "FAC")
TIMES = ("DATE", "TIME")

# The head noun of a "what/which ..." phrase: the kind of thing asked for, most typical type first
# (plurals are derived).
HEAD_NOUNS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys("person man woman leader president minister chancellor king queen emperor ruler pope general governor "
                    "mayor senator ambassador official spokesman spokeswoman spokesperson founder author writer poet composer "
                    "artist painter scientist inventor player actor singer coach son daughter father mother wife husband "
                    "musician rapper star celebrity athlete billionaire executive ceo candidate lawmaker judge justice "
                    "journalist astronaut comedian director politician".split(),
                    ("PERSON",)),
    **dict.fromkeys("company firm corporation organization organisation agency group party team club university college "
                    "school institution institute newspaper network band league union bank ministry department committee "
                    "council airline automaker carmaker retailer brand manufacturer startup broadcaster publisher "
                    "restaurant chain studio".split(), ("ORG",)),
    **dict.fromkeys("country nation state city town village capital province county territory republic kingdom".split(), ("GPE",)),
    **dict.fromkeys("continent river mountain ocean sea lake island region valley desert peninsula".split(), ("LOC", "GPE")),
    **dict.fromkeys("building airport bridge stadium street road station palace church cathedral".split(), ("FAC",)),
    **dict.fromkeys(["place", "location"], PLACES),
    **dict.fromkeys("nationality religion ethnicity".split(), ("NORP",)),
    "language": ("LANGUAGE", "NORP"),
    **dict.fromkeys("year month day date century decade era season age period".split(), ("DATE",)),
    **dict.fromkeys(["time", "hour"], ("TIME", "DATE")),
    **dict.fromkeys(["percentage", "percent", "proportion", "share"], ("PERCENT",)),
    **dict.fromkeys("price cost sum salary fee budget revenue".split(), ("MONEY",)),
    "amount": ("MONEY", "QUANTITY", "CARDINAL"),
    **dict.fromkeys(["number", "population"], ("CARDINAL",)),
    **dict.fromkeys("distance length height weight size depth width temperature speed altitude elevation".split(), ("QUANTITY",)),
    **dict.fromkeys(["war", "battle", "event"], ("EVENT",)),
    **dict.fromkeys("book film movie song album novel opera show series documentary".split(), ("WORK_OF_ART",)),
    **dict.fromkeys(["law", "treaty"], ("LAW",)),
    **dict.fromkeys(["product", "car", "aircraft", "vehicle"], ("PRODUCT",)),
}
_IRREGULAR_PLURALS = {"man": "men", "woman": "women", "person": "people", "spokesman": "spokesmen", "spokeswoman": "spokeswomen"}

# Units after "how many/much": the entity type that states such an amount.
UNITS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys("year month week day decade century".split(), ("DATE", "CARDINAL")),
    **dict.fromkeys("hour minute second".split(), ("TIME", "CARDINAL")),
    **dict.fromkeys("dollar euro pound yen franc mark rouble ruble".split(), ("MONEY",)),
    "percent": ("PERCENT",),
    **dict.fromkeys("mile kilometre kilometer km metre meter foot feet inch acre hectare ton tonne kilogram kg gram "
                    "litre liter gallon degree".split(), ("QUANTITY", "CARDINAL")),
}


def _plurals(word: str) -> set[str]:
    if word in _IRREGULAR_PLURALS:
        return {word, _IRREGULAR_PLURALS[word]}
    if word.endswith("y") and word[-2] not in "aeiou":
        return {word, word[:-1] + "ies"}
    return {word, word + ("es" if word.endswith(("s", "x", "ch", "sh")) else "s")}


def _alternation(words: dict[str, tuple[str, ...]]) -> str:
    return "|".join(sorted({form for word in words for form in _plurals(word)}, key=lambda w: (-len(w), w)))


def _lookup(table: dict[str, tuple[str, ...]], word: str) -> tuple[str, ...]:
    return next(labels for base, labels in table.items() if word in _plurals(base))


_AUX = r"(?:is|was|are|were|did|does|do|has|have|had|will|would|can|could|should|may|might|must)"
_NOT_A_MODIFIER = rf"(?!(?:{_AUX}|the|a|an|of|in|on|at|to|for|by|with|from|about|that|who|which)\b)"
# "what [is|was] [the] [name|kind|type of [the]] [up to two modifiers] NOUN": "what year", "which German
# company", "what is the capital", "what was the name of the river", "in what Polish city".
_WHAT_NOUN = re.compile(rf"(?:what|which)\s+(?:(?:is|was|are|were)\s+)?(?:(?:the|a|an)\s+)?"
                        rf"(?:(?:name|kind|type|sort)s?\s+of\s+(?:(?:the|a|an)\s+)?)?"
                        rf"(?:{_NOT_A_MODIFIER}[\w’'-]+\s+){{0,2}}?({_alternation(HEAD_NOUNS)})\b(?![’']s\b)")
_HOW_UNIT = re.compile(rf"how\s+(?:many|much)\s+(?:[\w-]+\s+)?({_alternation(UNITS)})\b")

# The forms of a factoid question, tried in this order at its first wh-word: the first that
# matches gives the expected entity types, most typical first (for the two noun forms, the
# noun's row of its table).
FORMS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (_HOW_UNIT, ()),  # "how many years", "how many square miles": the unit's types (UNITS)
    (re.compile(r"how\s+many\b"), ("CARDINAL", "QUANTITY")),
    (re.compile(r"how\s+much\b"), ("MONEY", "PERCENT", "QUANTITY", "CARDINAL")),
    (re.compile(r"how\s+long\b"), ("DATE", "TIME", "QUANTITY")),
    (re.compile(r"how\s+old\b"), ("DATE", "CARDINAL")),  # "84 years old" is a DATE to the tagger
    (re.compile(r"how\s+(?:far|tall|high|big|large|deep|wide|heavy|fast|hot|cold)\b"), ("QUANTITY", "CARDINAL")),
    (_WHAT_NOUN, ()),  # "what/which NOUN": the noun's types (HEAD_NOUNS)
    (re.compile(r"who(?:m|se)?\b"), PERSONS),
    (re.compile(r"where\b"), PLACES),
    (re.compile(r"when\b"), TIMES),
]
_WH = re.compile(r"\b(?:who|whom|whose|where|when|what|which|how)\b")
_WORD = re.compile(r"[\w’']+")
_POSSESSIVE = re.compile(r"[’']s$")


def expected_labels(question: str) -> tuple[str, ...]:
    """The entity types that answer ``question``, most typical first (see :data:`FORMS`); empty when it asks for none.

    A question that sets a scene first ("Police arrested 31 men who planned a riot. Where was the event?") is
    typed by its last sentence that has a wh-word: the one that asks."""
    text = " ".join(question.split())  # cut before lower-casing: a sentence starts with a capital
    asking = [sentence for sentence in (text[s:e].lower() for s, e in split_sentences(text)) if _WH.search(sentence)]
    text = asking[-1] if asking else text.lower()
    first = _WH.search(text)
    if first is None:
        return ()
    for pattern, labels in FORMS:
        match = pattern.match(text, first.start())
        if match:
            if pattern is _HOW_UNIT:
                return _lookup(UNITS, match.group(1))
            if pattern is _WHAT_NOUN:
                return _lookup(HEAD_NOUNS, match.group(1))
            return labels
    return ()


def short_answer(question: str, citations: Sequence[Citation],
                 entities_of: Callable[[str], Sequence[Entity]]) -> ShortAnswer | None:
    """The best entity of the expected type in the cited sentences (``citations`` in citation order;
    ``entities_of(article_id)``: the article's stored entities), or ``None``: no factoid question, or
    no entity of its type."""
    labels = expected_labels(question)
    if not labels or not citations:
        return None
    asked = set(content_terms(question))
    stored: dict[str, Sequence[Entity]] = {}
    found: list[tuple[tuple[int, int], Entity, Citation]] = []
    for citation in citations:
        if citation.article_id not in stored:
            stored[citation.article_id] = entities_of(citation.article_id)
        candidates = [e for e in stored[citation.article_id] if e.label in labels
                      and citation.start <= e.start < e.end <= citation.end and adds_to(e.text, asked)]
        if candidates:
            words = [(m.start() + citation.start, m.end() + citation.start, set(content_terms(m.group())))
                     for m in _WORD.finditer(citation.quote)]
            best = min(candidates, key=lambda e: (labels.index(e.label), _distance(words, e, asked), e.start))
            shared = len(asked & set(content_terms(citation.quote)))
            found.append(((-shared, citation.n), best, citation))  # the sentence sharing most with the question, then the first
    if not found:
        return None
    _, best, citation = min(found, key=lambda item: item[0])
    return _answer(best, citation)


def adds_to(entity_text: str, asked: set[str]) -> bool:
    """Whether an entity says something the question (its content words ``asked``) does not already name."""
    return not set(content_terms(entity_text)) <= asked


def _distance(words: list[tuple[int, int, set[str]]], entity: Entity, asked: set[str]) -> int:
    """Words between ``entity`` and the nearest word of the question in its sentence (the sentence's length if none)."""
    inside = [i for i, (start, end, _) in enumerate(words) if start < entity.end and entity.start < end]
    if not inside:
        return len(words)
    gaps = [inside[0] - i if i < inside[0] else i - inside[-1]
            for i, (_, _, terms) in enumerate(words) if terms & asked and i not in inside]
    return min(gaps, default=len(words))


def _answer(entity: Entity, citation: Citation) -> ShortAnswer:
    """The entity as the short answer of citation ``[n]``, without a possessive ending."""
    possessive = _POSSESSIVE.search(entity.text)
    end = entity.end - (len(possessive.group()) if possessive and len(entity.text) > 2 else 0)
    return ShortAnswer(text=entity.text[:end - entity.start], start=entity.start, end=end, article_id=citation.article_id,
                       n=citation.n, label=entity.label)

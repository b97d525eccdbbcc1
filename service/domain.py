"""The query side's records: what flows from a question to a reply.

Imported by every layer of ``service`` and importing nothing of it: a retrieved
:class:`Passage` (a stored passage plus how it was found) and a ranking of them (:class:`Passages`), :class:`Filters`, the
:class:`Answer` every answerer returns with its :class:`Citation` objects (and, for a factoid
question, its :class:`ShortAnswer`; beside it, the :class:`Source` stories), a conversation
:class:`Turn`, and :class:`AskResult`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from newsdesk.index.records import Sentence, SharedRecord, StoredPassage

__all__ = ["ABSTENTION", "Answer", "AnswerPart", "AnswerSentence", "AskResult", "Citation", "ClosestArticle", "Filters", "Passage",
           "Passages", "ShortAnswer", "Source", "Turn", "answer_text", "dateline"]

ABSTENTION = "The archive does not answer this question."
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def dateline(publisher: str | None, published_at: str | None) -> str:
    """Who published a story and on which day, as the article states them ("CNN, 10 Jan 2023"), so a reader
    can weigh the words by their date; the day is the stated one (no time-zone shift), month names are English."""
    day = published_at or "date not stated"
    if published_at:
        try:
            stated = date.fromisoformat(published_at[:10])
            day = f"{stated.day} {_MONTHS[stated.month - 1]} {stated.year}"
        except ValueError:
            pass  # not an ISO date: shown exactly as stated
    return f"{publisher or 'publisher not stated'}, {day}"


@dataclass(frozen=True)
class Passage(SharedRecord):
    """A stored passage as retrieval found it: its fused ``score`` and each retriever's score and rank."""

    stored: StoredPassage
    score: float = 0.0
    bm25_score: float | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None
    dense_rank: int | None = None
    copies: tuple[str, ...] = ()  # near-duplicate copies of its article, once collapsed

    @property
    def article_id(self) -> str:
        return self.stored.article_id

    @property
    def chunk_id(self) -> str:
        return self.stored.chunk_id

    @property
    def text(self) -> str:
        return self.stored.text

    def merged(self, other: Passage) -> Passage:
        """The same passage with the retriever scores ``other`` knows and this one does not."""
        return dataclasses.replace(self, **{k: getattr(other, k) for k in ("bm25_score", "bm25_rank", "dense_score", "dense_rank")
                                            if getattr(other, k) is not None})



class Passages(SharedRecord, Sequence[Passage]):
    """Passages in rank order, handed from one query component to the next as one immutable value.

    Haystack copies every component input and checks each element of a list against its
    ``Component`` protocol (about 40 microseconds an element on Python 3.11: the 400 passages
    a question passes between components cost 20 ms); a shared record is passed whole.
    """

    def __init__(self, passages: Iterable[Passage] = ()) -> None:
        self._passages = tuple(passages)

    def __getitem__(self, index: Any) -> Any:
        found = self._passages[index]
        return Passages(found) if isinstance(index, slice) else found

    def __len__(self) -> int:
        return len(self._passages)

    def __iter__(self) -> Iterator[Passage]:
        return iter(self._passages)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (Passages, list, tuple)) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which are unhashable

    def __repr__(self) -> str:
        return f"Passages({list(self._passages)!r})"

@dataclass(frozen=True)
class Filters:
    """Optional restrictions of a search; every given one must hold."""

    publishers: tuple[str, ...] = ()
    published_from: str | None = None  # ISO date, inclusive
    published_to: str | None = None

    def __bool__(self) -> bool:
        return bool(self.publishers or self.published_from or self.published_to)


@dataclass(frozen=True)
class Citation:
    """One cited span. ``quote`` is exactly ``raw_text[start:end]`` of the stored article (code points)."""

    n: int
    article_id: str
    chunk_id: str
    start: int
    end: int
    quote: str
    title: str | None = None
    publisher: str | None = None
    published_at: str | None = None
    url: str | None = None
    copies: tuple[str, ...] = ()  # near-duplicate copies of the cited article

    @classmethod
    def of(cls, n: int, passage: Passage, sentence: Sentence) -> Citation:
        """Citation ``[n]`` of one stored sentence of ``passage``: the only way citations are made."""
        stored = passage.stored
        return cls(n=n, article_id=stored.article_id, chunk_id=stored.chunk_id, start=sentence.start, end=sentence.end,
                   quote=sentence.text, title=stored.title, publisher=stored.publisher, published_at=stored.published_at,
                   url=stored.url, copies=passage.copies)

    @property
    def label(self) -> str:
        """Publisher and date of the cited article ("CNN, 10 Jan 2023"): the answer says when its source was published."""
        return dateline(self.publisher, self.published_at)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "copies": list(self.copies), "label": self.label}


@dataclass(frozen=True)
class ClosestArticle:
    article_id: str
    title: str | None
    publisher: str | None
    published_at: str | None
    url: str | None
    score: float


@dataclass(frozen=True)
class AnswerSentence:
    """A sentence of the answer, the citations it rests on, and whether that support was verified."""

    text: str
    citations: tuple[int, ...]
    supported: bool = True
    reason: str | None = None

    def parts(self, first: bool = True) -> list[AnswerPart]:
        """The sentence as the answer shows it: its text, then its first citation's marker (a space before, unless ``first``)."""
        n = self.citations[0]
        return [AnswerPart(f"{'' if first else ' '}{self.text} "), AnswerPart(f"[{n}]", n)]


def answer_text(sentences: list[AnswerSentence]) -> str:
    """The text of an answer made of ``sentences`` (each cited), as :meth:`Answer.parts` cuts it."""
    return "".join(p.text for i, s in enumerate(sentences) for p in s.parts(first=i == 0))


@dataclass(frozen=True)
class AnswerPart:
    """A run of the answer's text: plain text, or (``n`` set) the answerer's own citation marker ``[n]``. A client makes
    citation chips from these alone, never by reading markers out of the text: a quoted sentence may say "[2]" itself."""

    text: str
    n: int | None = None


@dataclass(frozen=True)
class ShortAnswer:
    """The few words that answer a factoid question, inside cited sentence ``[n]``: ``text`` is exactly
    ``raw_text[start:end]`` of article ``article_id`` (code points); ``label`` is the entity type."""

    text: str
    start: int
    end: int
    article_id: str
    n: int
    label: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Source:
    """One distinct story beside the answer, shown by its best sentence: the sentence the answer cites, or else the one
    closest to the question. ``quote`` is exactly ``raw_text[start:end]`` of the stored article (code points); ``score``
    is the story's fused retrieval score."""

    article_id: str
    title: str | None
    publisher: str | None
    published_at: str | None
    url: str | None
    quote: str
    start: int
    end: int
    score: float

    @classmethod
    def of(cls, passage: Passage, sentence: Sentence) -> Source:
        """Story ``passage`` shown by one of its stored sentences: the only way sources are made."""
        stored = passage.stored
        return cls(article_id=stored.article_id, title=stored.title, publisher=stored.publisher, published_at=stored.published_at,
                   url=stored.url, quote=sentence.text, start=sentence.start, end=sentence.end, score=float(passage.score))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    answer: str
    citations: list[Citation]
    abstained: bool
    mode: str
    sentences: list[AnswerSentence] = field(default_factory=list)
    closest: list[ClosestArticle] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evidence_score: float = 0.0
    short_answer: ShortAnswer | None = None
    sources: list[Source] = field(default_factory=list)  # the best distinct stories; the closest ones when abstaining

    def parts(self) -> list[AnswerPart]:
        """``answer`` as text runs and its own markers (they concatenate to it), from the sentences it shows; all
        text when it shows none (an abstention)."""
        shown = [s for s in self.sentences if s.supported and s.citations]
        parts = [p for i, s in enumerate(shown) for p in s.parts(first=i == 0)]
        return parts if not self.abstained and "".join(p.text for p in parts) == self.answer else [AnswerPart(self.answer)]

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "citations": [c.to_dict() for c in self.citations],
                "short_answer": self.short_answer.to_dict() if self.short_answer else None,
                "sources": [s.to_dict() for s in self.sources], "answer_parts": [asdict(p) for p in self.parts()]}


@dataclass(frozen=True)
class TimeFrame:
    """The dates a question is about (inclusive, ``None`` = open) and the words that said so."""

    start: date | None
    end: date | None
    expression: str | None  # the words of the question that said it, e.g. "last month"
    span: tuple[int, int] | None  # code-point offsets of ``expression`` in the question
    present: bool  # about the current state of affairs or recent news


@dataclass(frozen=True)
class Turn:
    """One earlier exchange: what was asked, what was answered (perhaps only its beginning) from which articles."""

    question: str
    answer: str
    cited: tuple[str, ...] = ()


@dataclass
class AskResult:
    answer: Answer
    timings: dict[str, float] = field(default_factory=dict)
    query: str = ""  # what was searched: the question, or a follow-up resolved against the conversation
    as_of: datetime | None = None  # when the question was asked: nothing published later was used
    timeframe: TimeFrame | None = None  # the period a time expression in the question named, if any

    def context_dict(self) -> dict[str, Any]:
        """What the reply says about how the answer was looked for: the query, the moment and the period."""
        frame = self.timeframe
        period = None
        if frame and (frame.start or frame.end):
            period = {"start": frame.start.isoformat() if frame.start else None, "end": frame.end.isoformat() if frame.end else None,
                      "expression": frame.expression}
        return {"query": self.query, "as_of": self.as_of.isoformat() if self.as_of else None, "timeframe": period,
                "timings": self.timings}

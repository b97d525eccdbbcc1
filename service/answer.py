"""What every answerer returns: text with ``[n]`` markers and the citations behind them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Citation:
    """One cited span. ``quote`` is exactly ``raw_text[start:end]`` of the stored article."""

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

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "copies": list(self.copies)}


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

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "citations": [c.to_dict() for c in self.citations]}


ABSTENTION = "The archive does not answer this question."

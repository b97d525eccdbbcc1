"""What a search may look at: the request's filters, a follow-up's stories, and time.

A question is asked at a moment (``as_of``, default now): articles published after it did
not exist yet and are never used. A time expression in the question ("last week", "in
2022", see :mod:`.timeframe`) narrows the search to articles published in that period,
plus :data:`REPORTING_LAG` after it (the news about a period keeps coming for days after
it); when nothing was published then, the question is searched without the period, so a
time word never empties an answer that the archive holds. Where the period applies, its
words ("last month") are taken out of what is searched and scored: the filter has said
them, and no article sentence states "last month" about the fact asked for.
"""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta, timezone
from typing import Any

from haystack import component

from newsdesk.index.records import RowIds
from newsdesk.index.store import ReadStore

from ..domain import Filters
from .timeframe import TimeFrame, timeframe

__all__ = ["REPORTING_LAG", "FilterResolver"]

REPORTING_LAG = timedelta(days=7)
ROWID_CACHE = 64  # distinct filter sets remembered (each at most one archive's row ids)


def _later(a: str | None, b: date | None) -> str | None:
    candidates = [d for d in (a, b.isoformat() if b else None) if d]
    return max(candidates) if candidates else None


def _earlier(a: str | None, b: date | None) -> str | None:
    candidates = [d for d in (a, b.isoformat() if b else None) if d]
    return min(candidates) if candidates else None


@component
class FilterResolver:
    """Turns filters, stories and time into the set of passage row ids a query may use, once per query."""

    def __init__(self, store: ReadStore) -> None:
        self.store = store
        self._newest: tuple[int, str | None] = (-1, None)  # (generation, newest publication date)
        self._rowids: dict[tuple, RowIds] = {}  # (generation, conditions) -> row ids, the latest ROWID_CACHE
        self._lock = threading.Lock()  # one pipeline serves a worker's threads

    def _rowids_where(self, **conditions: Any) -> RowIds:
        """``store.rowids_where``, remembered per committed generation: questions asked on the same day
        share their ``known_by`` set (ten thousand ids of an archive cost 30 ms to read)."""
        key = (self.store.generation, *((k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(conditions.items())))
        with self._lock:
            found = self._rowids.get(key)
        if found is None:
            found = self.store.rowids_where(**conditions)
            with self._lock:
                while len(self._rowids) >= ROWID_CACHE:
                    del self._rowids[next(iter(self._rowids))]
                self._rowids[key] = found
        return found

    def _newest_published(self) -> str | None:
        generation = self.store.generation
        if self._newest[0] != generation:
            self._newest = (generation, self.store.newest_published())
        return self._newest[1]

    @component.output_types(allowed=RowIds | None, timeframe=TimeFrame | None, query=str, question=str)
    def run(self, query: str, question: str, filters: Filters | None = None, stories: list[str] | None = None,
            as_of: datetime | None = None) -> dict[str, Any]:
        """``query`` is searched, ``question`` answered (they differ for a follow-up); ``stories``: keep
        to these articles and their copies (a follow-up's focus); ``as_of``: when it is asked (default: now).

        :returns: ``allowed`` row ids (``None``: everything), the question's ``timeframe``, and the
        ``query`` and ``question`` without the words of a period that was applied.
        """
        moment = as_of or datetime.now(timezone.utc)
        frame = timeframe(question, moment)
        filters = filters or Filters()
        today = moment.astimezone(timezone.utc).date().isoformat()
        newest = self._newest_published()
        known_by = today if newest and newest > today else None  # nothing later in the archive: no need to filter
        conditions: dict[str, Any] = {"publishers": list(filters.publishers) or None, "published_from": filters.published_from,
                                      "published_to": filters.published_to, "stories": stories or None, "known_by": known_by}
        if frame and (frame.start or frame.end):
            window = {**conditions, "published_from": _later(filters.published_from, frame.start),
                      "published_to": _earlier(filters.published_to, frame.end + REPORTING_LAG if frame.end else None)}
            allowed = self._rowids_where(**window)
            if allowed:
                said = frame.expression or ""
                return {"allowed": allowed, "timeframe": frame, "query": _without(query, said), "question": _without(question, said)}
        allowed = self._rowids_where(**conditions) if any(conditions.values()) else None
        return {"allowed": allowed, "timeframe": frame, "query": query, "question": question}


def _without(text: str, words: str) -> str:
    """``text`` with the first occurrence of ``words`` taken out (white space closed up)."""
    if not words or words not in text:
        return text
    return re.sub(r"\s+([?.!,;:])", r"\1", " ".join(text.replace(words, " ", 1).split()))

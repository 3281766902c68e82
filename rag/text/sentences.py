"""Sentence spans in Chinese and English text, and which one best matches a question."""

from __future__ import annotations

import re
from collections.abc import Mapping

from rag.text.normalize import CLOSING_CHARS, SENTENCE_END_CHARS, normalize_for_matching

# A sentence ends at Chinese end punctuation (with any closing quotes), a Latin end mark
# followed by a space, or a line break.
_SENTENCE_END = re.compile(
    f"[{re.escape(SENTENCE_END_CHARS)}]+[{re.escape(CLOSING_CHARS)}]*" + r"|(?<=[.])\s+|\n+"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of ``text``, end punctuation included."""
    spans = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        spans.append((start, end))
        start = end
    if start < len(text):
        spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def _grams(text: str) -> set[str]:
    norm = re.sub(r"\s+", "", normalize_for_matching(text))
    words = set(re.findall(r"[0-9a-z]+", norm))
    cjk = re.sub(r"[0-9a-z\W_]+", "|", norm)
    bigrams = {cjk[i : i + 2] for i in range(len(cjk) - 1) if "|" not in cjk[i : i + 2]}
    return words | bigrams


def lexical_overlap(question: str, sentence: str) -> float:
    """Share of the question's words/character bigrams that occur in ``sentence``."""
    q = _grams(question)
    if not q:
        return 0.0
    return len(q & _grams(sentence)) / len(q)


def best_sentence(question: str, text: str) -> tuple[int, int] | None:
    """Span of the sentence of ``text`` sharing the most with ``question``; None if none does."""
    q = _grams(question)
    if not q:
        return None
    best, best_score = None, 0.0
    for start, end in sentence_spans(text):
        score = len(q & _grams(text[start:end])) / len(q)
        if score > best_score:
            best, best_score = (start, end), score
    return best


_LATIN_WORDS = re.compile(r"[0-9a-z]+(?:[.'\-][0-9a-z]+)*")


def best_sentence_coverage(weights: Mapping[str, float], text: str, context: str = "") -> float:
    """The largest weighted share of the question terms ``weights`` (normalised text ->
    weight) that one sentence of ``text`` contains, ``context`` (the title) counted as
    part of every sentence. 0..1; Latin terms match whole words, Chinese ones substrings.
    """
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    around = normalize_for_matching(context)
    norm = normalize_for_matching(text)
    best = 0.0
    for start, end in sentence_spans(norm) or [(0, len(norm))]:
        sentence = f"{around}\n{norm[start:end]}"
        words = set(_LATIN_WORDS.findall(sentence))
        found = sum(
            weight
            for term, weight in weights.items()
            if (term in words if term.isascii() else term in sentence)
        )
        best = max(best, found / total)
    return best

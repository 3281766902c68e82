"""Citation markers ``[n]`` in answer text: attach them to sentences and check them."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.records import AnswerSentence, Citation, Hit
from rag.text.sentences import sentence_spans

# [1], [1][2], [1, 2], [1，2], full-width ［1］ and 【1】 as some models write them.
_OPEN, _CLOSE, _SEPARATORS = r"[\[［【]", r"[\]］】]", ",，、"
# A well-formed marker: numbers of one to three digits, separated by commas.
CITATION_MARKER = re.compile(
    rf"{_OPEN}\s*(\d{{1,3}}(?:\s*[{_SEPARATORS}]\s*\d{{1,3}})*)\s*{_CLOSE}"
)
# Anything in marker brackets that starts with a digit, malformed ones too ("[1 2]",
# "[1,]", "[2024]"): a looping model repeats those as well, so the repetition guard
# ignores them all when it compares sentences; only well-formed markers cite.
MARKER_LIKE = re.compile(rf"{_OPEN}\s*\d[\d\s{_SEPARATORS}]*{_CLOSE}")


def leading(marker: re.Pattern[str]) -> re.Pattern[str]:
    """A pattern that ``match``es the run of ``marker``s (and spaces) starting a text."""
    return re.compile(rf"(?:\s*{marker.pattern})+")


_LEADING_MARKERS = leading(CITATION_MARKER)
_STRAY = " \t\"'“”‘’「」()（）.,，。"


def marker_numbers(text: str) -> tuple[int, ...]:
    """Every citation number in ``text``, in order of first appearance."""
    seen: dict[int, None] = {}
    for match in CITATION_MARKER.finditer(text):
        for part in re.split(f"[{_SEPARATORS}]", match.group(1)):
            seen[int(part)] = None
    return tuple(seen)


def split_cited_sentences(text: str) -> list[str]:
    """Sentences of ``text``, each keeping the markers written right after its end mark.

    ``...决定。[1] 另外...`` splits after ``[1]``, not before it, so the marker stays
    with the sentence it supports.
    """
    out: list[str] = []
    for start, end in sentence_spans(text):
        piece = text[start:end]
        leading = _LEADING_MARKERS.match(piece)
        if leading and out:
            out[-1] += leading.group(0).strip()
            piece = piece[leading.end() :].strip()
        if not piece:
            continue
        if CITATION_MARKER.sub("", piece).strip(_STRAY) or not out:
            out.append(piece)
        else:  # only markers and punctuation left: they belong to the previous sentence
            out[-1] += piece
    return out


def check_citations(text: str, passages: int) -> tuple[AnswerSentence, ...]:
    """The sentences of a generated answer with their citations checked against
    ``passages`` numbered passages: numbers outside 1..passages are invalid, and a
    sentence with no valid citation is unsupported."""
    sentences = []
    for sentence in split_cited_sentences(text):
        numbers = marker_numbers(sentence)
        valid = tuple(n for n in numbers if 1 <= n <= passages)
        invalid = tuple(n for n in numbers if not 1 <= n <= passages)
        sentences.append(
            AnswerSentence(
                text=sentence,
                citations=valid,
                unsupported=not valid,
                invalid_citations=invalid,
            )
        )
    return tuple(sentences)


def cited(sentences: Sequence[AnswerSentence], hits: Sequence[Hit]) -> tuple[Citation, ...]:
    """One ``Citation`` per passage the sentences cite, in passage order."""
    numbers = sorted({n for s in sentences for n in s.citations})
    by_rank = {hit.rank: hit for hit in hits}
    return tuple(Citation(n, by_rank[n]) for n in numbers if n in by_rank)


def citation_problems(sentences: Sequence[AnswerSentence]) -> str | None:
    """One line describing unsupported sentences and invalid markers, or None."""
    problems = []
    unsupported = [i for i, s in enumerate(sentences, 1) if s.unsupported]
    if unsupported:
        problems.append(
            f"{len(unsupported)} sentence(s) cite no passage "
            f"(sentence {', '.join(map(str, unsupported))}): unsupported"
        )
    invalid = sorted({n for s in sentences for n in s.invalid_citations})
    if invalid:
        marks = " ".join(f"[{n}]" for n in invalid)
        problems.append(f"{marks} point(s) at no passage shown")
    return "; ".join(problems) or None

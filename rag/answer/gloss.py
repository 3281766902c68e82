"""English glosses of the names and numbers in an answer's Chinese sentences, for a
question asked in another language: 蓬佩奥 Pompeo, 3万 30,000, 2019年11月 November 2019.

Names are, in this order: the characters that spell a name the question wrote in pinyin
(严长寿 for "Yan Changshou", as the question wrote it), the longest names of the
project's name table, and the words jieba cuts (``rag.index.tokenize``, without loading
its whole dictionary) that the glossary knows as proper nouns. Numbers are read by
``rag.text.numbers``. A Chinese question gets none, and loads nothing of this.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from rag.index.tokenize import jieba_cut
from rag.records import Answer, Gloss, SearchResult
from rag.text.glossary import Glossary, open_glossary
from rag.text.normalize import CJK_IDEOGRAPHS, NAME_DOTS, to_simplified
from rag.text.numbers import numbers_in

# More than a line or two of glosses is read by no one.
MAX_GLOSSES = 12

# The dots between a foreign name's parts: 约翰·克里, 乔治·华盛顿.
_DOT = re.compile(f"[{NAME_DOTS}]")
_CJK_RUN = re.compile(f"[{CJK_IDEOGRAPHS}{NAME_DOTS}]+")


def with_glosses(answer: Answer, result: SearchResult, cache_dir: Path) -> Answer:
    """``answer`` with the glosses of its quoted sentences when the question is not in
    Chinese; an LLM answer (written in the question's language) is left as it is. The
    names the search read in the passages gloss their characters first (严长寿 -> "Yan
    Changshou", as the question wrote it)."""
    query = result.understood
    if query is None or query.language == "zh" or answer.mode != "extractive":
        return answer
    if not answer.sentences:
        return answer
    sentences = [s.text for s in answer.sentences]
    known = {chinese: latin for latin, chinese in result.names_read}
    found = glosses(sentences, cache_dir, known)
    return replace(answer, glosses=found) if found else answer


def glosses(
    sentences: Sequence[str],
    cache_dir: Path,
    known: Mapping[str, str] | None = None,
    limit: int = MAX_GLOSSES,
) -> tuple[Gloss, ...]:
    """The names and numbers of ``sentences`` with their English, in order of first
    appearance, each once, at most ``limit``, unless the sentence writes that English
    itself; ``known`` (Chinese as written -> English) is read before the glossary."""
    glossary = open_glossary(Path(cache_dir))
    out: dict[str, Gloss] = {}
    for sentence in sentences:
        found = sorted([*names_in(sentence, glossary, known or {}), *numbers_in(sentence)])
        for start, end, english in found:
            text = sentence[start:end]
            # "佩洛西（Nancy Pelosi）": the sentence already says it in English
            if english not in sentence and text not in out:
                out[text] = Gloss(text, english)
            if len(out) == limit:
                return tuple(out.values())
    return tuple(out.values())


def names_in(
    sentence: str, glossary: Glossary, known: Mapping[str, str]
) -> list[tuple[int, int, str]]:
    """(start, end, English) of the names in ``sentence``: ``known`` ones, the name
    table's (longest first), then the words of two characters or more the glossary knows."""
    found = [
        (match.start(), match.end(), english)
        for text, english in known.items()
        for match in re.finditer(re.escape(text), sentence)
    ]
    taken = {at for start, end, _ in found for at in range(start, end)}
    simplified = to_simplified(sentence)
    if len(simplified) != len(sentence):  # a phrase converted unevenly: read it as written
        simplified = sentence
    for start, end, name in glossary.table_names(simplified):
        if not taken.intersection(range(start, end)):
            found.append((start, end, name))
            taken.update(range(start, end))
    for run in _CJK_RUN.finditer(simplified):
        for offset, word in _words(run.group()):
            start, end = run.start() + offset, run.start() + offset + len(word)
            if len(word) < 2 or taken.intersection(range(start, end)):
                continue
            english = _english(word, glossary)
            if english is not None:
                found.append((start, end, english))
    return found


def _english(word: str, glossary: Glossary) -> str | None:
    """A word's English; a foreign name's parts joined by dots (乔治·华盛顿) are one name:
    its own English, its parts' if the glossary knows every one, else none (not half)."""
    if not _DOT.search(word):
        return glossary.english(word)
    parts = [glossary.english(part) for part in _DOT.split(word) if part]
    whole = " ".join(p for p in parts if p) if parts and all(parts) else None
    return glossary.english(word) or whole


def _words(run: str) -> Iterator[tuple[int, str]]:
    """jieba's words of a run of Chinese characters, with their offsets; a foreign
    name's parts and the dots between them (约翰·克里) are one word."""
    words: list[tuple[int, str]] = []
    at = 0
    for word in jieba_cut(run):
        if words and (_DOT.fullmatch(word) or _DOT.fullmatch(words[-1][1][-1])):
            words[-1] = (words[-1][0], words[-1][1] + word)
        else:
            words.append((at, word))
        at += len(word)
    yield from words

"""Keyword tokens for BM25: Chinese by jieba (search mode) or character bigrams, Latin by word.

Text is normalised first (Traditional -> Simplified, NFKC, lower case), so a question in
either script matches passages in the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from rag.textnorm import normalize_for_matching

TOKENIZERS = ("jieba", "bigram", "jieba+bigram")
DEFAULT_TOKENIZER = "jieba+bigram"

# A run of CJK ideographs, or a Latin/number word (keeps "cop28", "2.5", "u.s").
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[0-9a-z]+(?:[.'\-][0-9a-z]+)*")

_EN_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "and",
        "or",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "by",
        "with",
        "as",
        "that",
        "this",
        "it",
        "its",
        "from",
        "what",
        "which",
        "who",
        "how",
        "did",
        "do",
        "does",
    ]
)
_ZH_STOP = frozenset(
    [
        "的",
        "了",
        "和",
        "是",
        "在",
        "与",
        "及",
        "也",
        "都",
        "而",
        "并",
        "对",
        "将",
        "就",
        "上",
        "中",
        "之",
        "其",
        "为",
        "这",
        "那",
        "有",
        "于",
        "吗",
        "呢",
        "么",
        "什么",
    ]
)


@lru_cache(maxsize=1)
def _jieba() -> object:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _jieba_words(run: str) -> list[str]:
    return list(_jieba().lcut_for_search(run))  # type: ignore[attr-defined]


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _cjk_splitter(name: str) -> Callable[[str], list[str]]:
    if name == "jieba":
        return _jieba_words
    if name == "bigram":
        return _bigrams
    if name == "jieba+bigram":
        return lambda run: _jieba_words(run) + ["\u2016" + b for b in _bigrams(run) if len(run) > 1]
    raise ValueError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")


def tokenize(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """BM25 tokens of ``text``; stop words and punctuation dropped."""
    split_cjk = _cjk_splitter(tokenizer)
    tokens: list[str] = []
    for match in _RUNS.finditer(normalize_for_matching(text)):
        run = match.group()
        if run[0].isascii():
            if run not in _EN_STOP:
                tokens.append(run)
        else:
            tokens.extend(t for t in split_cjk(run) if t not in _ZH_STOP)
    return tokens

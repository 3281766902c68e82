"""Keyword tokens for BM25: Chinese by jieba (search mode) or character bigrams, Latin by word.

Text is normalised first (Traditional -> Simplified, NFKC, lower case), so a question in
either script matches passages in the other.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from rag.config import TOKENIZERS
from rag.text.normalize import CJK_IDEOGRAPHS, normalize_for_matching

DEFAULT_TOKENIZER = "jieba+bigram"
# Marks a character bigram beside jieba's words, so the two kinds of token stay apart.
BIGRAM_MARK = "\u2016"

# A run of CJK ideographs, or a Latin/number word (keeps "cop28", "2.5", "u.s").
_RUNS = re.compile(f"[{CJK_IDEOGRAPHS}]+" + r"|[0-9a-z]+(?:[.'\-][0-9a-z]+)*")

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


def _dict_cache_path() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    import jieba

    return base / "rag" / f"jieba-{jieba.__version__}-dict.sqlite"


@lru_cache(maxsize=1)
def _jieba_dict() -> tuple[sqlite3.Connection, int, int] | None:
    """jieba's dictionary as SQLite: (connection, total frequency, longest word).

    Loading jieba's full dictionary takes ~0.6 s, most of a cold ``rag ask``. A question
    only needs the entries for its own substrings, and jieba consults no others, so
    looking those up here segments it exactly as the full dictionary does.
    """
    path = _dict_cache_path()
    if not path.exists():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            jieba = _jieba()
            conn = sqlite3.connect(tmp)
            conn.execute("CREATE TABLE freq (word TEXT PRIMARY KEY, n INTEGER) WITHOUT ROWID")
            conn.executemany("INSERT INTO freq VALUES (?, ?)", jieba.dt.FREQ.items())  # type: ignore[attr-defined]
            conn.execute(
                "CREATE TABLE meta AS SELECT ? AS total, ? AS longest",
                (jieba.dt.total, max(map(len, jieba.dt.FREQ))),  # type: ignore[attr-defined]
            )
            conn.commit()
            conn.close()
            os.replace(tmp, path)
        except (OSError, sqlite3.Error):
            return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        total, longest = conn.execute("SELECT total, longest FROM meta").fetchone()
    except sqlite3.Error:
        return None
    return conn, int(total), int(longest)


def _jieba_query_words(run: str) -> list[str]:
    """``_jieba_words(run)`` without loading jieba's whole dictionary (see ``_jieba_dict``)."""
    segmenter = _query_segmenter(run)
    if segmenter is None:
        return _jieba_words(run)
    return list(segmenter.lcut_for_search(run))  # type: ignore[attr-defined]


def jieba_cut(run: str) -> list[str]:
    """jieba's words of ``run`` in order (concatenated they give ``run`` back), without
    loading jieba's whole dictionary when it is not loaded already."""
    segmenter = _query_segmenter(run) or _jieba()
    return list(segmenter.lcut(run))  # type: ignore[attr-defined]


def _query_segmenter(run: str) -> object | None:
    """A jieba segmenter that knows the dictionary's entries for ``run``'s substrings
    only; None when jieba is loaded already or its dictionary cache cannot be read."""
    found = _jieba_dict()
    if found is None or _jieba.cache_info().currsize:
        return None
    conn, total, longest = found
    substrings = list(
        {run[i:j] for i in range(len(run)) for j in range(i + 1, min(len(run), i + longest) + 1)}
    )
    freq: dict[str, int] = {}
    for start in range(0, len(substrings), 500):
        part = substrings[start : start + 500]
        marks = ",".join("?" * len(part))
        freq.update(conn.execute(f"SELECT word, n FROM freq WHERE word IN ({marks})", part))
    import jieba

    segmenter = jieba.Tokenizer()
    segmenter.FREQ, segmenter.total, segmenter.initialized = freq, total, True
    return segmenter


def _bigrams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i : i + 2] for i in range(len(run) - 1)]


def _cjk_splitter(name: str, query: bool = False) -> Callable[[str], list[str]]:
    words = _jieba_query_words if query else _jieba_words
    if name == "jieba":
        return words
    if name == "bigram":
        return _bigrams
    if name == "jieba+bigram":
        return lambda run: words(run) + [BIGRAM_MARK + b for b in _bigrams(run) if len(run) > 1]
    raise ValueError(f"unknown tokenizer {name!r}; choose one of {', '.join(TOKENIZERS)}")


def tokenize_query(text: str, tokenizer: str = DEFAULT_TOKENIZER) -> list[str]:
    """``tokenize(text)``, for one short text in a process that may not have loaded jieba."""
    return tokenize(text, tokenizer, query=True)


def token_text(token: str) -> str:
    """The normalised text a token stands for (a bigram without its mark)."""
    return token.removeprefix(BIGRAM_MARK)


def tokenize(text: str, tokenizer: str = DEFAULT_TOKENIZER, query: bool = False) -> list[str]:
    """BM25 tokens of ``text``; stop words and punctuation dropped."""
    split_cjk = _cjk_splitter(tokenizer, query)
    tokens: list[str] = []
    for match in _RUNS.finditer(normalize_for_matching(text)):
        run = match.group()
        if run[0].isascii():
            if run not in _EN_STOP:
                tokens.append(run)
        else:
            tokens.extend(t for t in split_cjk(run) if t not in _ZH_STOP)
    return tokens

"""The keyword side: BM25 (bm25s) over normalised Chinese/Latin tokens, saved beside FAISS.

bm25s builds and saves the index; queries read its saved arrays directly (numpy only), so
answering a question never imports bm25s or scipy, and ``mmap`` leaves the score matrix
in the page cache.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag.index.tokenize import token_text, tokenize, tokenize_query

SPARSE_DIR = "bm25"
# bm25s file names (its ``save`` layout)
_ARRAYS = ("data", "indices", "indptr")
_VOCAB = "vocab.index.json"
_NONOCCURRENCE = "nonoccurrence_array.index.npy"
# What a passage's BM25 document holds, recorded in the manifest ("text": indexes built
# before the title was added). The title is the passage's context, as for the embedder:
# without it a question naming the story matches the lead passage, not the one that
# answers (README, "Search modes": keyword passage R@1 0.839 -> 0.865 on CMRC).
KEYWORD_FIELDS = "title+text"


def keyword_text(title: str, passage: str) -> str:
    """What BM25 indexes for a passage: its article's title and its own text."""
    return f"{title}\n{passage}" if title else passage


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class KeywordIndex:
    """BM25 scores for every passage row; rows line up with the dense index.

    The precomputed scores are a CSC matrix (one column per token): a query's score
    for a row is the sum of its tokens' columns.
    """

    def __init__(
        self,
        tokenizer: str,
        size: int,
        vocab: dict[str, int],
        matrix: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        retriever: Any = None,
    ) -> None:
        self.tokenizer = tokenizer
        self.size = size
        self.vocab = vocab
        self.matrix = matrix
        self._retriever = retriever  # only for an index built in this process

    @classmethod
    def build(cls, texts: Sequence[str], tokenizer: str) -> KeywordIndex:
        bm25s = _bm25s()
        retriever = bm25s.BM25()
        # repeated passages (boilerplate, wire copies) are tokenised once
        seen: dict[str, list[str]] = {}
        corpus_tokens = [
            seen[t] if t in seen else seen.setdefault(t, tokenize(t, tokenizer) or [""])
            for t in texts
        ]
        if not corpus_tokens:
            return cls(tokenizer, 0, {}, None)
        retriever.index(corpus_tokens, show_progress=False)
        scores = retriever.scores
        matrix = (scores["data"], scores["indices"], scores["indptr"])
        return cls(tokenizer, len(texts), dict(retriever.vocab_dict), matrix, retriever)

    def save(self, directory: Path) -> None:
        if self.size:
            self._retriever.save(str(directory / SPARSE_DIR), show_progress=False)

    @classmethod
    def load(cls, directory: Path, tokenizer: str, size: int, mmap: bool = False) -> KeywordIndex:
        if size == 0:
            return cls(tokenizer, 0, {}, None)
        folder = directory / SPARSE_DIR
        if (folder / _NONOCCURRENCE).exists():
            raise ValueError(
                f"{folder}: BM25 variants with non-occurrence scores are not supported"
            )
        mode: Literal["r"] | None = "r" if mmap else None
        data, indices, indptr = (
            np.load(folder / f"{name}.csc.index.npy", mmap_mode=mode) for name in _ARRAYS
        )
        vocab = json.loads((folder / _VOCAB).read_text(encoding="utf-8"))
        if not len(indptr) or len(indptr) > len(vocab) + 1:
            raise ValueError(f"{folder}: vocabulary and score matrix disagree")
        return cls(tokenizer, size, vocab, (data, indices, indptr))

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros when no query token is known)."""
        scores = np.zeros(self.size, dtype=np.float32)
        if self.matrix is None:
            return scores
        data, indices, indptr = self.matrix
        # a repeated query token counts once per occurrence, as in bm25s
        for token in tokenize_query(query, self.tokenizer):
            column = self.vocab.get(token)
            # bm25s gives its empty-document placeholder a vocabulary id but no column
            if column is None or column + 1 >= len(indptr):
                continue
            start, end = int(indptr[column]), int(indptr[column + 1])
            scores[indices[start:end]] += data[start:end]
        return scores

    def term_weights(self, query: str) -> dict[str, float]:
        """BM25's idf of each distinct query token the index knows, keyed by the normalised
        text it stands for (a word and the same bigram keep the larger weight)."""
        weights: dict[str, float] = {}
        if self.matrix is None:
            return weights
        indptr = self.matrix[2]
        for token in tokenize_query(query, self.tokenizer):
            column = self.vocab.get(token)
            if column is None or column + 1 >= len(indptr):
                continue
            df = int(indptr[column + 1] - indptr[column])
            idf = math.log(1 + (self.size - df + 0.5) / (df + 0.5))
            text = token_text(token)
            weights[text] = max(weights.get(text, 0.0), idf)
        return weights

    def search(
        self, query: str, k: int, allowed_rows: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, rows) of the top ``k`` rows with a positive score, inside ``allowed_rows``."""
        scores = self.scores(query)
        if allowed_rows is not None:
            masked = np.zeros_like(scores)
            idx = np.asarray(allowed_rows, dtype=np.int64)
            masked[idx] = scores[idx]
            scores = masked
        candidates = np.flatnonzero(scores > 0)
        k = min(k, len(candidates))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        found = scores[candidates]
        top = np.argpartition(-found, k - 1)[:k]
        top = top[np.lexsort((candidates[top], -found[top]))]
        return found[top], candidates[top].astype(np.int64)

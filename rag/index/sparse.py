"""The keyword side: BM25 (bm25s) over normalised Chinese/Latin tokens, saved beside FAISS."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.tokenize import tokenize

SPARSE_DIR = "bm25"


def _bm25s() -> Any:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class KeywordIndex:
    """BM25 scores for every passage row; rows line up with the dense index."""

    def __init__(self, retriever: Any, tokenizer: str, size: int) -> None:
        self.retriever = retriever
        self.tokenizer = tokenizer
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str], tokenizer: str) -> KeywordIndex:
        bm25s = _bm25s()
        retriever = bm25s.BM25()
        corpus_tokens = [tokenize(t, tokenizer) or [""] for t in texts]
        if corpus_tokens:
            retriever.index(corpus_tokens, show_progress=False)
        return cls(retriever, tokenizer, len(texts))

    def save(self, directory: Path) -> None:
        if self.size:
            self.retriever.save(str(directory / SPARSE_DIR), show_progress=False)

    @classmethod
    def load(cls, directory: Path, tokenizer: str, size: int, mmap: bool = False) -> KeywordIndex:
        bm25s = _bm25s()
        if size == 0:
            return cls(bm25s.BM25(), tokenizer, 0)
        retriever = bm25s.BM25.load(str(directory / SPARSE_DIR), mmap=mmap, show_progress=False)
        return cls(retriever, tokenizer, size)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros when no query token is known)."""
        if self.size == 0:
            return np.zeros(0, dtype=np.float32)
        ids = self.retriever.get_tokens_ids(tokenize(query, self.tokenizer))
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.retriever.get_scores_from_ids(ids), dtype=np.float32)

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
        positive = int(np.count_nonzero(scores > 0))
        k = min(k, positive)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return scores[top], top.astype(np.int64)

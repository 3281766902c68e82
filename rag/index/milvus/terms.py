"""BM25 as sparse vectors: the passage side stores the term-frequency part, the question
side sends ``idf × count``, so Milvus' inner product is exactly bm25s's score.

The split comes from the matrix bm25s builds (``KeywordIndex.build``): each entry is
``idf(term) × tf/(tf + k1(1 - b + b·dl/avgdl))`` with Lucene's idf
``ln(1 + (N - df + 0.5)/(df + 0.5))``, ``df`` being the entries of the term's column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rag.index.milvus.client import EMPTY_TERM
from rag.index.sparse import KeywordIndex
from rag.index.tokenize import token_text, tokenize_query

VOCAB_FILE = "bm25-vocab.json"
IDF_FILE = "bm25-idf.npy"


def lucene_idf(indptr: np.ndarray, passages: int) -> np.ndarray:
    """The idf of every column of a bm25s score matrix (float32, as bm25s keeps it)."""
    df = np.diff(np.asarray(indptr, dtype=np.int64)).astype(np.float64)
    return np.log(1.0 + (passages - df + 0.5) / (df + 0.5)).astype(np.float32)


def passage_vectors(keyword: KeywordIndex) -> tuple[list[dict[int, float]], np.ndarray]:
    """Each row's sparse vector {term id: tf part} and the idf per term id."""
    if keyword.matrix is None:
        return [{EMPTY_TERM: 1.0} for _ in range(keyword.size)], np.zeros(0, np.float32)
    data, indices, indptr = (np.asarray(a) for a in keyword.matrix)
    idf = lucene_idf(indptr, keyword.size)
    columns = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    tf_part = (data.astype(np.float64) / idf[columns]).astype(np.float32)
    order = np.argsort(indices, kind="stable")
    rows, columns, tf_part = indices[order], columns[order], tf_part[order]
    bounds = np.searchsorted(rows, np.arange(keyword.size + 1))
    vectors = []
    for row in range(keyword.size):
        start, end = int(bounds[row]), int(bounds[row + 1])
        terms = dict(zip(columns[start:end].tolist(), tf_part[start:end].tolist(), strict=True))
        vectors.append(terms or {EMPTY_TERM: 1.0})
    return vectors, idf


def query_vector(query: str, tokenizer: str, vocab: dict[str, int], idf: np.ndarray) -> dict:
    """{term id: idf × count} for ``query`` (a repeated token counts each time, as in
    bm25s); empty when no token is in the vocabulary."""
    weights: dict[int, float] = {}
    for token in tokenize_query(query, tokenizer):
        term = vocab.get(token)
        # bm25s gives its empty-document placeholder a vocabulary id but no column
        if term is None or term >= len(idf):
            continue
        weights[term] = weights.get(term, 0.0) + float(idf[term])
    return weights


def save_terms(directory: Path, vocab: Mapping[str, int], idf: np.ndarray) -> None:
    text = json.dumps(dict(vocab), ensure_ascii=False)
    (directory / VOCAB_FILE).write_text(text, encoding="utf-8")
    np.save(directory / IDF_FILE, idf)


def load_terms(directory: Path) -> tuple[dict[str, int], np.ndarray]:
    vocab = json.loads((directory / VOCAB_FILE).read_text(encoding="utf-8"))
    return vocab, np.load(directory / IDF_FILE)


def idf_weights(query: str, tokenizer: str, vocab: dict[str, int], idf: np.ndarray) -> dict:
    """The idf of each distinct query token the index knows, keyed by the normalised text
    it stands for, as ``KeywordIndex.term_weights`` gives it for the local backend."""
    weights: dict[str, float] = {}
    for token in tokenize_query(query, tokenizer):
        term = vocab.get(token)
        if term is None or term >= len(idf):
            continue
        text = token_text(token)
        weights[text] = max(weights.get(text, 0.0), float(idf[term]))
    return weights

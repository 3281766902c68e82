"""The dense side: FAISS inner-product search over L2-normalised vectors (= cosine)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DENSE_FILE = "dense.faiss"


def _faiss() -> Any:
    import faiss

    return faiss


def build_dense(vectors: np.ndarray, kind: str = "flat") -> Any:
    """An index over ``vectors`` (rows already normalised); row i keeps id i.

    ``flat`` is exact. ``hnsw`` is approximate and meant for large archives.
    """
    faiss = _faiss()
    dim = vectors.shape[1]
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
        index.hnsw.efSearch = 128
    else:
        raise ValueError(f"unknown index kind {kind!r} (flat, hnsw)")
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def save_dense(index: Any, directory: Path) -> None:
    _faiss().write_index(index, str(directory / DENSE_FILE))


def load_dense(directory: Path, mmap: bool = False) -> Any:
    faiss = _faiss()
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(directory / DENSE_FILE), flags)


def search_dense(
    index: Any, query: np.ndarray, k: int, allowed_rows: Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``k`` nearest rows, restricted to ``allowed_rows`` when given.

    The restriction is applied inside FAISS (an ID selector), so a filter never trims a
    top-k computed over everything.
    """
    faiss = _faiss()
    k = min(k, index.ntotal)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    if allowed_rows is None:
        scores, rows = index.search(q, k)
    else:
        if len(allowed_rows) == 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        selector = faiss.IDSelectorBatch(np.asarray(allowed_rows, dtype=np.int64))
        params = (
            faiss.SearchParametersHNSW(sel=selector, efSearch=max(128, k))
            if isinstance(index, faiss.IndexHNSW)
            else faiss.SearchParameters(sel=selector)
        )
        scores, rows = index.search(q, min(k, len(allowed_rows)), params=params)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def cosine_for_rows(index: Any, query: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """Exact cosine between ``query`` and the stored vectors of ``rows``."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float32)
    vectors = np.vstack([index.reconstruct(int(r)) for r in rows])
    return vectors @ query.astype(np.float32)

"""The dense side: FAISS inner-product search over L2-normalised vectors (= cosine).

The kind is chosen at build time (``Settings.index_kind``, ``rag index build --kind``):

``flat``
    Exact. Every query scans every vector: ~20 ms at 100k passages on one core.
``ivf``
    Inverted file over float32 vectors (``IVF<nlist>,Flat``), for large archives. A
    query scans the ``nprobe`` closest lists (``ivf_probes``); recall@10 against flat
    was >= 0.98 from 10k to 1M passages. It is the one kind FAISS memory-maps
    (``load_dense(mmap=True)``): the lists stay in the page cache, shared between
    processes, instead of being copied into each one.
``hnsw``
    HNSW graph over float32 vectors: the fastest queries, but always read whole into
    memory, and less predictable: recall@10 0.99 at 100k passages made from 6.5k real
    ones, but 0.89 (0.93 at efSearch 512) when the 100k were copies of only 632.
``auto`` (the default)
    flat below ``AUTO_IVF_PASSAGES`` passages, ivf from there on.

Figures from ``scripts/bench_scale.py``. Row i of the index is passage row i.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import INDEX_KINDS

DENSE_FILE = "dense.faiss"
KINDS = tuple(kind for kind in INDEX_KINDS if kind != "auto")
# "auto" (the default) picks flat below this many passages, ivf from it on
AUTO_IVF_PASSAGES = 50_000

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 256
# A filter that leaves at most this many rows is searched exactly: graph and list
# traversal lose recall when most of what they visit is filtered out.
EXACT_FILTER_ROWS = 20_000


def _faiss() -> Any:
    import faiss

    return faiss


def ivf_lists(n: int) -> int:
    """Number of IVF lists for ``n`` vectors: ~4*sqrt(n), at least 39 training points each."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39))


def ivf_probes(nlist: int) -> int:
    """Lists scanned per query: at least 96, ~4% of them from 2,400 lists (~400k vectors).

    Measured recall@10 against flat with 96 probes: 0.998 at 10k and 0.988 at 100k
    passages (64 probes: 0.986 and 0.972; 32: 0.93 and 0.94).
    """
    return min(nlist, max(96, nlist // 25))


def resolve_kind(kind: str, passages: int) -> str:
    """The kind to build: ``auto`` is flat for small archives and ivf for large ones."""
    if kind == "auto":
        return "ivf" if passages >= AUTO_IVF_PASSAGES else "flat"
    if kind not in KINDS:
        raise ValueError(f"unknown index kind {kind!r} (auto, {', '.join(KINDS)})")
    return kind


def build_dense(vectors: np.ndarray, kind: str = "flat", trained: Any | None = None) -> Any:
    """An index of ``kind`` over ``vectors`` (rows already normalised); row i keeps id i.

    ``trained``: the live version's index, when an update writes this one. An ivf index
    keeps its list centroids while the archive has between half and twice the lists'
    worth of passages: k-means over 100k passages took 7 of an add-one update's 16 s,
    and a few new passages do not move the centroids.
    """
    faiss = _faiss()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = resolve_kind(kind, n)
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        centroids = _reusable_centroids(trained, n, dim)
        nlist = ivf_lists(n) if centroids is None else len(centroids)
        index = faiss.index_factory(dim, f"IVF{nlist},Flat", faiss.METRIC_INNER_PRODUCT)
        if centroids is not None:
            index.quantizer.add(centroids)
            index.is_trained = True
        elif n:
            # k-means on a sample: 64 points a list is plenty and keeps a 1M build short
            sample = vectors
            if n > 64 * nlist:
                picks = np.random.default_rng(0).choice(n, 64 * nlist, replace=False)
                sample = vectors[np.sort(picks)]
            index.cp.min_points_per_centroid = 1  # small archives: no k-means warning
            index.train(sample)
        index.nprobe = ivf_probes(nlist)
    if n:
        index.add(vectors)
    if kind == "ivf":
        index.make_direct_map()  # reconstruct(row) for cosine_for_rows
    return index


def _reusable_centroids(trained: Any | None, n: int, dim: int) -> np.ndarray | None:
    """The list centroids of ``trained`` when it is an ivf index fit for ``n`` vectors."""
    faiss = _faiss()
    if trained is None or not n or not isinstance(trained, faiss.IndexIVF) or trained.d != dim:
        return None
    nlist, wanted = trained.nlist, ivf_lists(n)
    if not wanted / 2 < nlist < wanted * 2:
        return None  # the archive doubled or halved since: train again
    return np.asarray(trained.quantizer.reconstruct_n(0, nlist), dtype=np.float32)


def save_dense(index: Any, directory: Path) -> None:
    _faiss().write_index(index, str(directory / DENSE_FILE))


def load_dense(directory: Path, mmap: bool = False) -> Any:
    """Read the dense index; ``mmap`` maps an ``ivf`` index's lists instead of reading them.

    (FAISS reads ``flat`` and ``hnsw`` whole whatever the flag says.)
    """
    faiss = _faiss()
    flags = faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY if mmap else 0
    return faiss.read_index(str(directory / DENSE_FILE), flags)


def index_kind(index: Any) -> str:
    faiss = _faiss()
    if isinstance(index, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "flat"


def _empty() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)


def search_dense(
    index: Any, query: np.ndarray, k: int, allowed_rows: Sequence[int] | np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, rows) of the ``k`` nearest rows, restricted to ``allowed_rows`` when given.

    The restriction is applied inside FAISS (an ID selector) or, for a small allowed set
    on an approximate index, by exact scoring of those rows, so a filter never trims a
    top-k computed over everything.
    """
    faiss = _faiss()
    # One question gains little from OpenMP and loses much when the cores are busy:
    # flat over 100k passages took 37 ms on one thread, 90 ms on two, on a loaded
    # 2-core machine. The setting is per calling thread; restore it for later builds.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        return _search_dense(index, query, k, allowed_rows)
    finally:
        faiss.omp_set_num_threads(threads)


def _search_dense(
    index: Any, query: np.ndarray, k: int, allowed_rows: Sequence[int] | np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    faiss = _faiss()
    k = min(k, index.ntotal)
    if k <= 0:
        return _empty()
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    kind = index_kind(index)
    if allowed_rows is None:
        params = None
        if kind == "hnsw":
            params = faiss.SearchParametersHNSW(efSearch=max(index.hnsw.efSearch, k))
        scores, rows = index.search(q, k, params=params)
    else:
        if len(allowed_rows) == 0:
            return _empty()
        allowed = np.asarray(allowed_rows, dtype=np.int64)
        k = min(k, len(allowed))
        if kind != "flat" and len(allowed) <= EXACT_FILTER_ROWS:
            return _exact_over(index, q[0], k, allowed)
        mask = np.zeros(index.ntotal, dtype=bool)
        mask[allowed] = True
        bitmap = np.packbits(mask, bitorder="little")
        selector = faiss.IDSelectorBitmap(index.ntotal, faiss.swig_ptr(bitmap))
        # fewer allowed rows means fewer hits per visited node/list: visit more (by the
        # ratio itself: a delta's few tombstones must not double every query's work)
        widen = index.ntotal / len(allowed)
        if kind == "hnsw":
            ef = min(math.ceil(max(index.hnsw.efSearch, k) * widen), 4096)
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
        elif kind == "ivf":
            nprobe = min(index.nlist, math.ceil(index.nprobe * widen))
            params = faiss.SearchParametersIVF(sel=selector, nprobe=nprobe)
        else:
            params = faiss.SearchParameters(sel=selector)
        scores, rows = index.search(q, k, params=params)
    keep = rows[0] >= 0
    return scores[0][keep], rows[0][keep]


def _exact_over(
    index: Any, query: np.ndarray, k: int, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    scores = _vectors(index, rows) @ query
    top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.lexsort((rows[top], -scores[top]))]
    return scores[top].astype(np.float32), rows[top]


def _vectors(index: Any, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    ids = np.ascontiguousarray(rows, dtype=np.int64)
    return np.asarray(index.reconstruct_batch(ids), dtype=np.float32).reshape(len(ids), index.d)


def stored_vectors(index: Any, rows: Sequence[int] | np.ndarray) -> np.ndarray:
    """The vectors stored for ``rows`` (every kind keeps them exactly, as float32)."""
    if len(rows) == 0:
        return np.zeros((0, index.d), dtype=np.float32)
    if index_kind(index) == "flat":
        # the flat index's own array: one gather instead of a reconstruct per row
        everything = _faiss().rev_swig_ptr(index.get_xb(), index.ntotal * index.d)
        return everything.reshape(index.ntotal, index.d)[np.asarray(rows, dtype=np.int64)]
    return _vectors(index, rows)


def cosine_for_rows(index: Any, query: np.ndarray, rows: Sequence[int]) -> np.ndarray:
    """Exact cosine between ``query`` and the stored vectors of ``rows``.

    All kinds store float32 vectors, so this is exact for ``ivf`` and ``hnsw`` too.
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float32)
    return _vectors(index, rows) @ query.astype(np.float32)

"""Approximate dense kinds (ivf, hnsw) against exact search, on perturbed real e5 vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.sample import QUESTION, SAMPLE, STOCKTAKE

from rag.archive import Archive
from rag.config import Settings
from rag.index.dense import (
    KINDS,
    build_dense,
    cosine_for_rows,
    load_dense,
    save_dense,
    search_dense,
)
from rag.index.local.reader import IndexReader
from rag.index.store import current_version_dir
from rag.records import BuildReport, SearchFilters, SearchOptions

APPROXIMATE = [kind for kind in KINDS if kind != "flat"]


@pytest.fixture(scope="module")
def perturbed(sample_index: tuple[Settings, BuildReport]) -> tuple[np.ndarray, np.ndarray]:
    """(3000 database vectors, 40 query vectors): real sample vectors plus shaped noise.

    The noise follows the real vectors' covariance and is scaled so a copy keeps a cosine
    of ~0.94 to its source, about the cosine of a real passage to its nearest neighbour.
    """
    dense = load_dense(current_version_dir(sample_index[0].index_dir))
    real = dense.reconstruct_n(0, dense.ntotal)
    rng = np.random.default_rng(7)
    chol = np.linalg.cholesky(np.cov(real.T) + 1e-4 * np.eye(real.shape[1])).astype(np.float32)

    def copies(n: int) -> np.ndarray:
        noise = rng.standard_normal((n, real.shape[1])).astype(np.float32) @ chol.T
        v = real[rng.integers(0, len(real), n)] + 0.85 * noise
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    return copies(3000), copies(40)


def recall_at_10(index: object, vectors: np.ndarray, queries: np.ndarray) -> float:
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [set(search_dense(index, q, 10)[1].tolist()) for q in queries]
    return float(
        np.mean([len(f & set(t.tolist())) / 10 for f, t in zip(found, exact, strict=True)])
    )


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_recall_against_exact_search(kind: str, perturbed: tuple[np.ndarray, np.ndarray]) -> None:
    vectors, queries = perturbed
    assert recall_at_10(build_dense(vectors, kind), vectors, queries) >= 0.95


@pytest.mark.parametrize("kind", KINDS)
def test_filters_and_mmap_loading(
    kind: str, perturbed: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    vectors, queries = perturbed
    save_dense(build_dense(vectors, kind), tmp_path)
    index = load_dense(tmp_path, mmap=True)
    q = queries[0]
    for allowed in (np.arange(0, 3000, 2), np.arange(5, 3000, 97)):  # wide and narrow filters
        scores, rows = search_dense(index, q, 10, allowed.tolist())
        truth = allowed[np.argsort(-(vectors[allowed] @ q))[:10]]
        assert set(rows.tolist()) <= set(allowed.tolist())
        assert len(set(rows.tolist()) & set(truth.tolist())) >= 9
        # stored vectors are float32 for every kind: cosines are exact
        np.testing.assert_allclose(cosine_for_rows(index, q, rows), scores, atol=1e-5)


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_index_built_with_kind_answers_sample_question(kind: str, fresh_settings: Settings) -> None:
    settings = fresh_settings.with_overrides("flag", index_kind=kind)
    archive = Archive(settings)
    archive.build([str(SAMPLE)])
    reader = IndexReader(settings.index_dir, mmap=True)
    assert reader.manifest.index_kind == kind
    reader.close()
    assert archive.stats().index_kind == kind
    result = archive.search(QUESTION, SearchOptions(k=3))
    assert any(STOCKTAKE in hit.chunk.text for hit in result.hits)
    filtered = archive.search(QUESTION, SearchOptions(k=3, filters=SearchFilters(source="rfi")))
    assert filtered.hits and all("rfi" in (h.article.source or "") for h in filtered.hits)
    archive.close()


def test_an_update_keeps_the_ivf_centroids_until_the_archive_doubles(
    perturbed: tuple[np.ndarray, np.ndarray],
) -> None:
    """k-means is the costly part of an ivf index: an update that adds a few passages
    reuses the live version's list centroids (same recall), one that doubles the archive
    trains again."""
    vectors, queries = perturbed
    live = build_dense(vectors[:2000], "ivf")
    grown = build_dense(vectors[:2200], "ivf", trained=live)
    centroids = live.quantizer.reconstruct_n(0, live.nlist)
    assert grown.nlist == live.nlist and grown.ntotal == 2200
    assert np.array_equal(grown.quantizer.reconstruct_n(0, grown.nlist), centroids)
    assert recall_at_10(grown, vectors[:2200], queries) >= 0.95
    assert search_dense(grown, vectors[2100], 1)[1][0] == 2100  # a new row is found by id
    doubled = build_dense(np.vstack([vectors, vectors[:1000]]), "ivf", trained=live)
    assert doubled.nlist != live.nlist  # trained again for the new size

"""End to end on the real sample articles with the test-hash embedder: what a build
reports and stores, passages, offsets and per-article limits, the embedder check (the
real engine's answers are in integration/test_pipeline.py)."""

from __future__ import annotations

import pytest
from support.pipeline import (
    EMBEDDER_ORIGINS,
    check_another_embedder_is_refused,
    check_manifest,
    check_the_index_embedder_is_accepted,
)
from support.sample import QUESTION

from rag.archive import Archive
from rag.build.chunking import chunk_article
from rag.config import Settings
from rag.embed.hashing import DIM
from rag.errors import IndexMissingError, RagError
from rag.index.local.reader import IndexReader
from rag.records import SearchOptions


def test_build_report_counts(hash_index):
    _, report = hash_index
    assert report.articles == 5
    assert report.failed == 0
    assert report.passages >= 10
    assert report.embedded == report.passages
    assert report.previous_articles == 0  # nothing was live before


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_every_mode_ranks_and_reports_cosine(hash_archive, mode):
    hits = hash_archive.search(QUESTION, SearchOptions(k=5, mode=mode)).hits
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    if mode == "dense":
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_at_most_two_passages_per_article(hash_archive):
    hits = hash_archive.search(QUESTION, SearchOptions(k=8, per_article=2)).hits
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.article.id] = counts.get(hit.article.id, 0) + 1
    assert max(counts.values()) <= 2
    assert len(hits) == 8  # 5 articles x 2 is enough to fill the list


def test_passage_offsets_point_into_the_cleaned_article(hash_archive):
    for hit in hash_archive.search(QUESTION, SearchOptions(k=5)).hits:
        assert hit.article.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        if hit.highlight:
            s, e = hit.highlight
            assert 0 <= s < e <= len(hit.chunk.text)


def test_chunk_ids_are_stable(hash_archive):
    hit = hash_archive.search(QUESTION, SearchOptions(k=1)).hits[0]
    again = {c.id for c in chunk_article(hit.article)}
    assert hit.chunk.id in again


def test_no_boilerplate_in_any_stored_passage(hash_archive):
    texts = [c.text for c in hash_archive.passages()]
    assert len(texts) == hash_archive.stats().passages
    for text in texts:
        for junk in ("获取更多RSS", "同一主题", "Facebook", "Twitter", "分享", "RSS"):
            assert junk not in text, (junk, text[:80])


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="rag index build"):
        IndexReader(tmp_path / "nothing")
    with pytest.raises(IndexMissingError, match="rag index build"):
        Archive(Settings(index_dir=tmp_path / "nothing")).search(QUESTION)


def test_empty_question_is_refused(hash_archive):
    with pytest.raises(RagError, match="empty"):
        hash_archive.search("   ")


def test_manifest_records_how_the_index_was_built_plumbing(hash_index):
    check_manifest(hash_index, "test-hash", DIM)


@pytest.mark.parametrize("origin", EMBEDDER_ORIGINS)
def test_asking_with_another_embedder_is_refused_plumbing(hash_index, origin):
    settings, _ = hash_index
    check_another_embedder_is_refused(settings, origin, "e5-small", "test-hash")


def test_the_index_embedder_set_explicitly_is_accepted_plumbing(hash_index):
    settings, _ = hash_index
    check_the_index_embedder_is_accepted(settings, "test-hash")

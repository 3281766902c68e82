"""End to end on the real sample articles: bundled e5, FAISS, trafilatura."""

from __future__ import annotations

import json

import pytest
from support.sample import QUESTION, STOCKTAKE

from rag.archive import Archive
from rag.build.chunking import chunk_article
from rag.config import Settings
from rag.errors import EmbedderMismatchError, IndexMissingError, RagError
from rag.index.local.reader import IndexReader
from rag.index.store import MANIFEST, IndexManifest, current_version_dir
from rag.records import SearchOptions


def test_build_report_counts(sample_index):
    _, report = sample_index
    assert report.articles == 5
    assert report.failed == 0
    assert report.passages >= 10
    assert report.embedded == report.passages
    assert report.previous_articles == 0  # nothing was live before


def test_manifest_records_how_the_index_was_built(sample_index):
    settings, report = sample_index
    manifest = IndexManifest.from_file(current_version_dir(settings.index_dir) / MANIFEST)
    assert manifest.embedder == "intfloat/multilingual-e5-small"
    assert manifest.dim == 384
    assert (manifest.articles, manifest.passages) == (5, report.passages)
    assert (manifest.chunk_size, manifest.chunk_overlap) == (
        settings.chunk_size,
        settings.chunk_overlap,
    )
    assert manifest.built_at


def test_chinese_question_finds_the_stocktake_passage_in_top_3(sample_archive):
    result = sample_archive.search(QUESTION, SearchOptions(k=5))
    top3 = result.hits[:3]
    assert any(STOCKTAKE in h.chunk.text and "20231115" in (h.article.url or "") for h in top3)
    for hit in result.hits:
        assert hit.article.title and hit.article.url and hit.article.source
        assert hit.article.published is not None and hit.article.published.tzinfo is not None


def test_english_question_finds_it_in_top_5(sample_archive):
    result = sample_archive.search(
        "What did China and the US promise at COP28?", SearchOptions(k=5)
    )
    assert any(STOCKTAKE in h.chunk.text for h in result.hits)


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_every_mode_ranks_and_reports_cosine(sample_archive, mode):
    hits = sample_archive.search(QUESTION, SearchOptions(k=5, mode=mode)).hits
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert all(-1.0 <= h.score <= 1.0 for h in hits)
    if mode == "dense":
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_at_most_two_passages_per_article(sample_archive):
    hits = sample_archive.search(QUESTION, SearchOptions(k=8, per_article=2)).hits
    counts: dict[str, int] = {}
    for hit in hits:
        counts[hit.article.id] = counts.get(hit.article.id, 0) + 1
    assert max(counts.values()) <= 2
    assert len(hits) == 8  # 5 articles x 2 is enough to fill the list


def test_passage_offsets_point_into_the_cleaned_article(sample_archive):
    for hit in sample_archive.search(QUESTION, SearchOptions(k=5)).hits:
        assert hit.article.text[hit.chunk.start : hit.chunk.end] == hit.chunk.text
        if hit.highlight:
            s, e = hit.highlight
            assert 0 <= s < e <= len(hit.chunk.text)


def test_highlight_is_the_sentence_matching_the_question(sample_archive):
    hit = next(
        h
        for h in sample_archive.search(QUESTION, SearchOptions(k=5)).hits
        if STOCKTAKE in h.chunk.text
    )
    assert hit.highlight is not None
    s, e = hit.highlight
    assert (
        "COP28" in hit.chunk.text[s:e]
        or STOCKTAKE in hit.chunk.text[s:e]
        or "承诺" in hit.chunk.text[s:e]
    )


def test_chunk_ids_are_stable(sample_archive):
    hit = sample_archive.search(QUESTION, SearchOptions(k=1)).hits[0]
    again = {c.id for c in chunk_article(hit.article)}
    assert hit.chunk.id in again


def test_no_boilerplate_in_any_stored_passage(sample_archive):
    texts = [c.text for c in sample_archive.passages()]
    assert len(texts) == sample_archive.stats().passages
    for text in texts:
        for junk in ("获取更多RSS", "同一主题", "Facebook", "Twitter", "分享", "RSS"):
            assert junk not in text, (junk, text[:80])


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(IndexMissingError, match="rag index build"):
        IndexReader(tmp_path / "nothing")
    with pytest.raises(IndexMissingError, match="rag index build"):
        Archive(Settings(index_dir=tmp_path / "nothing")).search(QUESTION)


def test_empty_question_is_refused(sample_archive):
    with pytest.raises(RagError, match="empty"):
        sample_archive.search("   ")


@pytest.mark.parametrize("origin", ["flag", "environment", "settings file ./rag.toml"])
def test_asking_with_another_embedder_is_refused(sample_index, origin):
    settings, _ = sample_index
    other = settings.with_overrides(origin, embedder="st:sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(EmbedderMismatchError, match="multilingual-e5-small") as caught:
        Archive(other).search(QUESTION)
    assert other.origin("embedder") in str(caught.value)


def test_the_index_embedder_set_explicitly_is_accepted(sample_index):
    settings, _ = sample_index
    same = settings.with_overrides("flag", embedder="e5-small")
    assert Archive(same).search(QUESTION, SearchOptions(k=1)).hits


def test_archive_uses_the_settings(sample_index):
    settings, _ = sample_index
    default = Archive(settings).search(QUESTION)
    assert len(default.hits) == settings.top_k == 5 and not default.no_answer
    assert default.mode == "hybrid"

    narrow = settings.with_overrides("test", top_k=3, per_article=1, mode="keyword")
    result = Archive(narrow).search(QUESTION)
    assert len(result.hits) == 3
    assert len({h.article.id for h in result.hits}) == 3  # one passage per article
    assert result.mode == "keyword"
    # options given explicitly still win over the settings
    assert len(Archive(narrow).search(QUESTION, SearchOptions(k=2)).hits) == 2

    strict = Archive(settings.with_overrides("test", min_score_zh=0.99))
    refused = strict.search(QUESTION)
    assert refused.no_answer and not refused.found
    assert refused.hits and "relevant" in (refused.notice or "")
    # the Chinese threshold does not apply to a question in another language...
    assert not strict.search("What did China and the US promise at COP28?").no_answer
    # ...and an explicit min_score overrides the settings' thresholds
    assert not strict.search(QUESTION, SearchOptions(min_score=0)).no_answer

    reader = IndexReader(settings.index_dir)
    try:
        assert reader.manifest.articles == 5
        json.dumps(reader.manifest.to_json())
    finally:
        reader.close()

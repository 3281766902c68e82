"""End to end on the real sample articles: bundled e5, FAISS, trafilatura (the plumbing
runs with the test-hash embedder in unit/test_pipeline.py)."""

from __future__ import annotations

import json

import pytest
from support.pipeline import (
    EMBEDDER_ORIGINS,
    check_another_embedder_is_refused,
    check_manifest,
    check_the_index_embedder_is_accepted,
)
from support.sample import QUESTION, STOCKTAKE

from rag.archive import Archive
from rag.index.local.reader import IndexReader
from rag.records import SearchOptions


def test_manifest_records_how_the_index_was_built(sample_index):
    check_manifest(sample_index, "intfloat/multilingual-e5-small", 384)


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


@pytest.mark.parametrize("origin", EMBEDDER_ORIGINS)
def test_asking_with_another_embedder_is_refused(sample_index, origin):
    settings, _ = sample_index
    check_another_embedder_is_refused(
        settings, origin, "st:sentence-transformers/all-MiniLM-L6-v2", "multilingual-e5-small"
    )


def test_the_index_embedder_set_explicitly_is_accepted(sample_index):
    settings, _ = sample_index
    check_the_index_embedder_is_accepted(settings, "e5-small")


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

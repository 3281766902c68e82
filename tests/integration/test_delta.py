"""An update over a base writes a delta that answers what a rebuild answers: every date and
source filter over the dated news articles, on the real engine (the layout itself is
checked with test-hash in unit/test_delta.py)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from support.news import FILTERS, NEWS
from support.news import QUESTIONS as NEWS_QUESTIONS
from support.updates import live_dir, rebuilt

from rag.archive import Archive
from rag.config import Settings
from rag.records import SearchFilters, SearchOptions


def test_filters_and_modes_over_a_delta_answer_as_a_rebuild(
    tmp_path: Path, embedding_cache: Path, deltas
) -> None:
    """Half the dated news articles in the base, the other half and an edit in the delta:
    every date and source filter finds the rows a rebuild finds, in the same order."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    news = sorted(NEWS.iterdir())
    for path in news[::2]:
        shutil.copy(path, corpus / path.name)
    config = Settings(index_dir=tmp_path / "index", cache_dir=embedding_cache)
    archive = Archive(config)
    archive.build([str(corpus)])
    for path in news[1::2]:
        shutil.copy(path, corpus / path.name)
    report = archive.update()
    assert report.added == len(news[1::2]) and (live_dir(config) / "delta").is_dir()
    again = rebuilt(config, corpus, tmp_path)
    for question in NEWS_QUESTIONS:
        for filters in [SearchFilters(), *FILTERS]:
            options = SearchOptions(k=10, mode="dense", filters=filters, resolve_time=False)
            ours = [(h.chunk.id, h.score) for h in archive.search(question, options).hits]
            theirs = [(h.chunk.id, h.score) for h in again.search(question, options).hits]
            assert [i for i, _ in ours] == [i for i, _ in theirs], (question, filters)
            assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], abs=1e-6)
            hybrid = replace(options, mode="hybrid")
            ours_h = {h.chunk.article_id for h in archive.search(question, hybrid).hits[:3]}
            theirs_h = {h.chunk.article_id for h in again.search(question, hybrid).hits[:3]}
            assert ours_h == theirs_h, (question, filters)

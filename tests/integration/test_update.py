"""Duplicate merging on the real engine: the merged story is the one the sample question
finds (the update and cache checks run with test-hash in unit/test_update.py)."""

from __future__ import annotations

import shutil

from support.sample import QUESTION, STOCKTAKE
from support.updates import RFI_STOCKTAKE, near_copy

from rag.archive import Archive
from rag.records import SearchOptions


def test_duplicates_are_merged_and_distinct_articles_are_not(settings, corpus_copy):
    original = corpus_copy / RFI_STOCKTAKE
    shutil.copy(original, corpus_copy / "exact-copy.txt")
    near_copy(original, corpus_copy / "near-copy.txt")
    archive = Archive(settings)
    report = archive.build([str(corpus_copy)])
    assert report.articles == 5
    assert report.duplicates_merged == 2
    hits = archive.search(QUESTION, SearchOptions(k=5)).hits
    hit = next(h for h in hits if STOCKTAKE in h.chunk.text)
    assert "https://rfi.my/mirror/ABC" in hit.article.urls
    assert len(hit.article.urls) == 2
    assert len({d.date() for d in hit.article.dates}) == 2

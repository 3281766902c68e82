"""Duplicate merging on the real engine: the merged story is the one the sample question
finds (the update and cache checks run with test-hash in unit/test_update.py)."""

from __future__ import annotations

from support.sample import QUESTION, STOCKTAKE
from support.updates import build_with_two_copies_of_the_stocktake, check_merged_article

from rag.records import SearchOptions


def test_duplicates_are_merged_and_distinct_articles_are_not(settings, corpus_copy):
    archive = build_with_two_copies_of_the_stocktake(settings, corpus_copy)
    hits = archive.search(QUESTION, SearchOptions(k=5)).hits
    hit = next(h for h in hits if STOCKTAKE in h.chunk.text)
    check_merged_article(hit.article)

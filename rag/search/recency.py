"""Questions that ask for the newest news (最新 / 最近 / latest) without naming a window.

``recency_word`` finds the word; ``newest_first`` reorders the hits of such a question.
The reordering only moves passages inside the band of near-best relevance: e5's cosine
says little about small differences between related passages, so among those the
newest comes first, while a newer passage that is clearly less relevant stays where
relevance put it. Measured on ``tests/data/news_recency_questions.jsonl`` (README):
R@1 0.267 -> 0.333.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from rag.records import Hit

# 最近 followed by a count (最近三天) names a window and is resolved by rag.search.timeexpr first.
_COUNT = r"[0-9０-９一二两兩三四五六七八九十百几幾数數]"
RECENCY = re.compile(
    rf"最新|近期|近来|近來|最近(?!\s*{_COUNT})"
    r"|\b(?:latest|newest|most\s+recent|recent|recently|lately)\b",
    re.IGNORECASE,
)
# How far below the best cosine a passage may be and still count as equally relevant:
# e5-small cosines between a question and passages about its topic spread over ~0.05.
RELEVANCE_BAND = 0.03
_UNDATED = datetime(1, 1, 1, tzinfo=UTC)


def recency_word(question: str) -> str | None:
    """The word asking for the newest news (最新, latest, ...), or None."""
    found = RECENCY.search(question)
    return found.group(0) if found else None


def newest_first(hits: Sequence[Hit], min_score: float, band: float = RELEVANCE_BAND) -> list[Hit]:
    """``hits`` with those within ``band`` of the best cosine (and at least ``min_score``)
    moved to the front, newest first; the rest keep their order. Ranks are renumbered."""
    if not hits:
        return []
    floor = max(min_score, max(h.score for h in hits) - band)
    near_best = [h for h in hits if h.score >= floor]
    rest = [h for h in hits if h.score < floor]
    # sorted() is stable: passages of one date (one article) keep their relevance order
    near_best = sorted(near_best, key=lambda h: h.article.published or _UNDATED, reverse=True)
    return [replace(h, rank=i) for i, h in enumerate([*near_best, *rest], 1)]

"""A story's timeline: the relevant articles of an article-level search in date order,
copies of one story from several outlets folded into one entry."""

from __future__ import annotations

from rag.records import Hit, SearchResult, Timeline, TimelineEntry
from rag.text.urls import site_of


def build_timeline(result: SearchResult, threshold: float, limit: int | None = None) -> Timeline:
    """The relevant articles of an article-level ``result`` in date order, copies folded.

    ``limit`` keeps the most relevant entries (then sorts them by date).
    """
    relevant = [h for h in result.hits if h.score >= threshold] if not result.outside_window else []
    folded: dict[str, list[Hit]] = {}
    for hit in relevant:  # most relevant first, so each entry keeps its best copy
        key = _story_key(hit)
        folded.setdefault(key, []).append(hit)
    entries = [_entry(copies) for copies in folded.values()]
    if limit:
        entries = entries[:limit]
    entries.sort(key=lambda e: (e.published is None, e.published or 0, e.hit.article.title))
    notice = None
    if not entries:
        notice = result.notice or "no article is relevant enough to this story"
    return Timeline(
        query=result.query,
        entries=tuple(entries),
        filters=result.filters,
        time_window=result.time_window,
        notice=notice,
        version=result.version,
    )


def _story_key(hit: Hit) -> str:
    title = "".join(ch for ch in hit.article.title.lower() if ch.isalnum())
    return title or hit.article.id


def _entry(copies: list[Hit]) -> TimelineEntry:
    best = copies[0]
    published = min((c.article.published for c in copies if c.article.published), default=None)
    outlets = {site_of(url) for c in copies for url in (c.article.urls or (c.article.url,))}
    own = site_of(best.article.url) or (best.article.source or "")
    also = tuple(sorted(o for o in outlets if o and o != own))
    return TimelineEntry(published=published, hit=best, also_reported_by=also)

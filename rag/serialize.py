"""Plain-dict views of records for ``--json`` output and the HTTP API (one shape for both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from rag.records import (
    Answer,
    Article,
    ArticleDetail,
    FollowUp,
    Hit,
    Query,
    SearchFilters,
    SearchResult,
    Timeline,
    TimeWindow,
    Watch,
    WatchDigest,
    WatchItem,
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def hit_to_dict(hit: Hit) -> dict[str, Any]:
    article, chunk = hit.article, hit.chunk
    return {
        "rank": hit.rank,
        "score": round(hit.score, 4),
        "rank_score": round(hit.rank_score, 6),
        "title": article.title,
        "published": _iso(article.published),
        "source": article.source,
        "url": article.url,
        "urls": list(article.urls),
        "dates": [_iso(d) for d in article.dates],
        "author": article.author,
        "article_id": article.id,
        "chunk_id": chunk.id,
        "start": chunk.start,
        "end": chunk.end,
        "text": chunk.text,
        "highlight": list(hit.highlight) if hit.highlight else None,
    }


def article_to_dict(article: Article) -> dict[str, Any]:
    return {
        "id": article.id,
        "title": article.title,
        "published": _iso(article.published),
        "source": article.source,
        "url": article.url,
        "urls": list(article.urls),
        "dates": [_iso(d) for d in article.dates],
        "author": article.author,
        "tags": list(article.tags),
        "text": article.text,
    }


def article_detail_to_dict(detail: ArticleDetail) -> dict[str, Any]:
    """An article with its passages' offsets into ``text``, as ``GET /api/articles/{id}``."""
    data = article_to_dict(detail.article)
    data["passages"] = [
        {"chunk_id": c.id, "ordinal": c.ordinal, "start": c.start, "end": c.end}
        for c in detail.passages
    ]
    return data


def search_to_dict(result: SearchResult) -> dict[str, Any]:
    """A ``SearchResult`` as the JSON object ``rag ask --json`` prints."""
    window = _window_to_dict(result.time_window)
    if window is not None:
        window["outside"] = result.outside_window
    return {
        "query": result.query,
        "index": result.index,
        "mode": result.mode,
        "filters": _filters_to_dict(result.filters),
        "found": result.found,
        "confidence": _confidence(result.confidence),
        "notice": result.notice,
        "time_window": window,
        "recency": result.recency,
        "understood": query_to_dict(result.understood),
        "names_read": dict(result.names_read),
        "hits": [hit_to_dict(h) for h in result.hits],
    }


def query_to_dict(query: Query | None) -> dict[str, Any] | None:
    """What the question was understood to ask: its language, the text searched, the
    date window and recency word it named, and the thresholds that applied."""
    if query is None:
        return None
    return {
        "question": query.question,
        "language": query.language,
        "text": query.text,
        "translation": query.wording.translation,
        "time_window": _window_to_dict(query.time_window),
        "recency": query.recency,
        "min_score": query.min_score,
        "relevance": query.relevance,
    }


def _confidence(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _filters_to_dict(filters: SearchFilters) -> dict[str, Any]:
    return {"since": _iso(filters.since), "until": _iso(filters.until), "source": filters.source}


def _window_to_dict(window: TimeWindow | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "expression": window.expression,
    }


def followup_to_dict(followup: FollowUp) -> dict[str, Any]:
    """A question read against the conversation before it: what was searched for it."""
    return {
        "question": followup.question,
        "searched": followup.text,
        "completed": followup.completed,
        "new_topic": followup.new_topic,
        "carried": list(followup.carried),
        "method": followup.method,
        "as_of": _iso(followup.as_of),
        "notice": followup.notice,
    }


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "mode": answer.mode,
        "text": answer.text,
        "found": answer.found,
        "confidence": _confidence(answer.confidence),
        "notice": answer.notice,
        "sentences": [asdict(s) for s in answer.sentences],
        "citations": [{"number": c.number, "chunk_id": c.hit.chunk.id} for c in answer.citations],
        "glosses": [{"text": g.text, "english": g.english} for g in answer.glosses],
        "llm_error": answer.llm_error,
        "extra": {
            k: v
            for k, v in (
                ("model", answer.model),
                ("endpoint", answer.endpoint),
                ("finish_reason", answer.finish_reason),
            )
            if v
        },
    }


def timeline_to_dict(timeline: Timeline) -> dict[str, Any]:
    """A ``Timeline`` as the JSON object ``rag timeline --json`` prints."""
    entries = []
    for entry in timeline.entries:
        hit = entry.hit
        start, end = hit.highlight or (0, len(hit.chunk.text))
        entries.append(
            {
                "published": _iso(entry.published),
                "title": hit.article.title,
                "source": hit.article.source,
                "url": hit.article.url,
                "article_id": hit.article.id,
                "score": round(hit.score, 4),
                "sentence": hit.chunk.text[start:end],
                "chunk_id": hit.chunk.id,
                # where the sentence sits in the article's text (code points), for a reader
                "start": hit.chunk.start + start,
                "end": hit.chunk.start + end,
                "also_reported_by": list(entry.also_reported_by),
            }
        )
    return {
        "query": timeline.query,
        "filters": _filters_to_dict(timeline.filters),
        "time_window": _window_to_dict(timeline.time_window),
        "notice": timeline.notice,
        "entries": entries,
    }


def watch_to_dict(watch: Watch) -> dict[str, Any]:
    return {
        "name": watch.name,
        "question": watch.question,
        "source": watch.source,
        "since": _iso(watch.since),
        "created_at": _iso(watch.created_at),
        "last_checked": _iso(watch.last_checked),
        "reported": watch.reported,
    }


def watch_item_to_dict(item: WatchItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "published": _iso(item.published),
        "outlet": item.outlet,
        "url": item.url,
        "article_id": item.article_id,
        "content_hash": item.content_hash,
        "sentence": item.sentence,
        "passage": item.passage,
        "score": item.score,
        "found_at": _iso(item.found_at),
        "also_reported_by": list(item.also_reported_by),
    }


def watch_digest_to_dict(digest: WatchDigest) -> dict[str, Any]:
    """One watch's check (or latest items) as ``rag watch check --json`` prints it."""
    return {
        "watch": watch_to_dict(digest.watch),
        "checked_at": _iso(digest.checked_at),
        "version": digest.version,
        "notice": digest.notice,
        "items": [watch_item_to_dict(i) for i in digest.items],
    }


def watch_latest_to_dict(digest: WatchDigest, feed: str) -> dict[str, Any]:
    """A watch, the path of its Atom feed and what it reported last (``GET /api/watches``)."""
    return {
        "watch": watch_to_dict(digest.watch),
        "feed": feed,
        "items": [watch_item_to_dict(i) for i in digest.items],
    }


def watch_check_to_dict(digests: Sequence[WatchDigest]) -> dict[str, Any]:
    """A check of one or every watch as ``rag watch check --json`` prints it."""
    return {
        "new": sum(len(d.items) for d in digests),
        "watches": [watch_digest_to_dict(d) for d in digests],
    }

"""Plain-dict views of records for ``--json`` output and the HTTP API (one shape for both)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rag.records import Answer, Article, Hit, SearchResult


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


def search_to_dict(result: SearchResult) -> dict[str, Any]:
    """A ``SearchResult`` as the JSON object ``rag ask --json`` prints."""
    filters = result.filters
    return {
        "query": result.query,
        "index": result.index,
        "mode": result.mode,
        "filters": {
            "since": _iso(filters.since),
            "until": _iso(filters.until),
            "source": filters.source,
        },
        "found": result.found,
        "notice": result.notice,
        "hits": [hit_to_dict(h) for h in result.hits],
    }


def answer_to_dict(answer: Answer) -> dict[str, Any]:
    return {
        "mode": answer.mode,
        "text": answer.text,
        "found": answer.found,
        "notice": answer.notice,
        "sentences": [asdict(s) for s in answer.sentences],
        "citations": [{"number": c.number, "chunk_id": c.hit.chunk.id} for c in answer.citations],
        "llm_error": answer.llm_error,
        "extra": {k: v for k, v in (("model", answer.model), ("endpoint", answer.endpoint)) if v},
    }

"""Stages 3 and 4 of a build: passages, their vectors and their token counts.

An update passes the live version: an article it holds unchanged (same id, title and
text) keeps its passages, vectors and token counts from there, so only new and changed
articles are chunked, looked up in the embedding cache (or embedded) and tokenised.
Rows come out in article order either way, so an update lays out the same index as a
rebuild of the same articles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.build.chunking import chunk_article, embedding_text
from rag.build.embedding import PartEncoder, embed_with_cache
from rag.config import Settings
from rag.embed import Embedder, embedder_for
from rag.index.local.live_parts import LiveVersionParts
from rag.index.sparse import TermCounts, keyword_texts
from rag.progress import Progress
from rag.records import Article, Chunk


@dataclass(frozen=True)
class Passages:
    """Row i of the new version: ``chunks[i]``, ``vectors[i]`` and row i of ``terms``."""

    chunks: list[Chunk]
    vectors: np.ndarray
    terms: TermCounts
    embedder: str
    embedded: int  # texts the embedder saw (not in the live version, not in the cache)


def make_passages(
    articles: Sequence[Article],
    settings: Settings,
    live_parts: LiveVersionParts | None,
    embedder: Embedder | None,
    progress: Progress,
    part_encoder: Callable[[Embedder], PartEncoder | None] | None = None,
) -> Passages:
    """Passages of ``articles`` with vectors and token counts, reusing ``live_parts``'."""
    chunks: list[Chunk] = []
    origin: list[int] = []  # the passage's row in the live version, -1 when new
    texts: list[str] = []  # what the embedder sees, for the new passages
    for article in articles:
        kept = live_parts.passages_of(article) if live_parts is not None else None
        if kept is not None:
            for row, chunk in kept:
                chunks.append(chunk)
                origin.append(row)
            continue
        for chunk in chunk_article(article, settings.chunk_size, settings.chunk_overlap):
            chunks.append(chunk)
            origin.append(-1)
            texts.append(embedding_text(article.title, chunk.text))
    rows = np.asarray(origin, dtype=np.int64)
    new = np.flatnonzero(rows < 0)
    old = np.flatnonzero(rows >= 0)

    embedded, fresh = 0, None
    if live_parts is None or len(new):
        # the model is loaded only when there is something new to look up or embed
        embedder = embedder or embedder_for(settings)
        encode_parts = part_encoder(embedder) if part_encoder is not None else None
        fresh, embedded = embed_with_cache(
            settings.embedding_cache_dir, embedder, texts, progress, encode_parts
        )
        name, dim = embedder.name, embedder.dim
    else:
        assert live_parts is not None
        name, dim = live_parts.embedder, live_parts.dim
    vectors = np.zeros((len(chunks), dim), dtype=np.float32)
    if fresh is not None:
        vectors[new] = fresh
    if live_parts is not None and len(old):
        vectors[old] = live_parts.vectors(rows[old])

    new_texts = keyword_texts(articles, [chunks[i] for i in new])
    if live_parts is None:
        terms = TermCounts.from_texts(new_texts, settings.tokenizer)
    else:
        # the new passages' counts go below the live version's rows, then every row is taken
        # in the new order
        stacked = TermCounts.from_texts(new_texts, settings.tokenizer, base=live_parts.terms)
        order = rows.copy()
        order[new] = live_parts.terms.rows + np.arange(len(new))
        terms = stacked.take(order)
    return Passages(chunks, vectors, terms, name, embedded)

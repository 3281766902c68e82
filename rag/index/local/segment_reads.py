"""Reading a base + delta version as one index (layout: ``rag.index.local.segments``).

Rows are global: the base's rows first (its removed rows are never returned), then the
delta's, offset by the base's row count. Each class answers the same calls as its
single-segment counterpart, so the reader and everything above it stay unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.dense import cosine_for_rows, search_dense
from rag.index.local.segments import Tombstones, delta_dir
from rag.index.metadata import MetadataReader, MetadataStore
from rag.index.sparse import KeywordIndex, idf, top_scores
from rag.index.tokenize import token_text, tokenize_query
from rag.records import Article, Chunk, SourceCount, SourceFile


class Split:
    """Global rows cut into base rows and delta rows (local to the delta)."""

    def __init__(self, removed: Tombstones, delta_rows: int) -> None:
        self.base_rows = removed.base_passages
        self.delta_rows = delta_rows
        self.removed = removed.rows
        self._live_base: np.ndarray | None = None

    @property
    def total_rows(self) -> int:
        return self.base_rows + self.delta_rows

    @property
    def live(self) -> int:
        return self.base_rows - len(self.removed) + self.delta_rows

    def live_base(self) -> np.ndarray:
        """The base rows still live, ascending."""
        if self._live_base is None:
            self._live_base = np.setdiff1d(
                np.arange(self.base_rows, dtype=np.int64), self.removed, assume_unique=True
            )
        return self._live_base

    def cut(self, rows: Iterable[int] | None) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(base rows, delta rows) of ``rows``, removed base rows left out; None for None
        (every live row of that segment: the base's live rows when some are removed)."""
        if rows is None:
            return (self.live_base() if len(self.removed) else None), None
        array = np.fromiter(rows, dtype=np.int64)
        base = array[array < self.base_rows]
        if len(self.removed):
            base = base[~np.isin(base, self.removed)]
        return base, array[array >= self.base_rows] - self.base_rows


def merge_rankings(
    base: tuple[np.ndarray, np.ndarray], delta: tuple[np.ndarray, np.ndarray], offset: int, k: int
) -> list[tuple[int, float]]:
    """The best ``k`` of two (scores, rows) rankings, the delta's rows moved past the base's."""
    scores = np.concatenate([base[0], delta[0]])
    rows = np.concatenate([base[1], delta[1] + offset])
    order = np.lexsort((rows, -scores))[:k]
    return list(zip(rows[order].tolist(), scores[order].tolist(), strict=True))


class SegmentedDense:
    """Nearest-neighbour search over the base's FAISS index and the delta's."""

    def __init__(self, base: Any, delta: Any, split: Split) -> None:
        self.base = base
        self.delta = delta
        self.split = split

    def rank(
        self, qvec: np.ndarray, depth: int, allowed: list[int] | None
    ) -> list[tuple[int, float]]:
        base_rows, delta_rows = self.split.cut(allowed)
        found = search_dense(self.base, qvec, depth, base_rows)
        fresh = search_dense(self.delta, qvec, depth, delta_rows)
        return merge_rankings(found, fresh, self.split.base_rows, depth)

    def cosines(self, qvec: np.ndarray, rows: Sequence[int]) -> np.ndarray:
        array = np.asarray(rows, dtype=np.int64)
        out = np.zeros(len(array), dtype=np.float32)
        in_base = array < self.split.base_rows
        out[in_base] = cosine_for_rows(self.base, qvec, array[in_base].tolist())
        delta = (array[~in_base] - self.split.base_rows).tolist()
        out[~in_base] = cosine_for_rows(self.delta, qvec, delta)
        return out


class SegmentedKeyword:
    """BM25 over both segments, each rescaled to the live passages' idf per query token."""

    def __init__(self, base: KeywordIndex, delta: KeywordIndex, removed: Tombstones) -> None:
        self.base = base
        self.delta = delta
        self.tokenizer = base.tokenizer
        self.split = Split(removed, delta.size)
        self._removed_df = dict(
            zip(removed.df_ids.tolist(), removed.df_counts.tolist(), strict=True)
        )

    def _live_idf(self, token: str) -> tuple[float, list[tuple[int, np.ndarray, np.ndarray]]]:
        """The token's idf among the live passages, and each segment's (offset, rows,
        scores) rescaled to it."""
        base, delta = self.base.column(token), self.delta.column(token)
        df = 0
        if base is not None:
            df += base.df - self._removed_df.get(base.id, 0)
        if delta is not None:
            df += delta.df
        if df <= 0:
            return 0.0, []
        weight = idf(self.split.live, df)
        parts = []
        segments = ((0, self.base.size, base), (self.split.base_rows, self.delta.size, delta))
        for offset, size, found in segments:
            if found is not None:
                scale = np.float32(weight / idf(size, found.df))
                parts.append((offset, found.rows, found.scores * scale))
        return weight, parts

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(self.split.total_rows, dtype=np.float32)
        for token in tokenize_query(query, self.tokenizer):
            for offset, rows, values in self._live_idf(token)[1]:
                scores[offset + np.asarray(rows, dtype=np.int64)] += values
        scores[self.split.removed] = 0.0
        return scores

    def term_weights(self, query: str) -> dict[str, float]:
        weights: dict[str, float] = {}
        for token in tokenize_query(query, self.tokenizer):
            weight = self._live_idf(token)[0]
            if weight > 0:
                text = token_text(token)
                weights[text] = max(weights.get(text, 0.0), weight)
        return weights

    def search(
        self, query: str, k: int, allowed_rows: Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return top_scores(self.scores(query), k, allowed_rows)


class SegmentedMetadata:
    """``MetadataStore``'s reads over the base's database and the delta's."""

    def __init__(self, base: MetadataStore, delta: MetadataStore, removed: Tombstones) -> None:
        self.base = base
        self.delta = delta
        self.removed = removed
        self.path = base.path
        self.split = Split(removed, delta.passage_count())
        self._delta_articles = delta.article_ids()

    def article(self, article_id: str) -> Article | None:
        if article_id in self._delta_articles:
            return self.delta.article(article_id)
        if article_id in self.removed.articles:
            return None
        return self.base.article(article_id)

    def chunks(self, rows: Sequence[int]) -> dict[int, Chunk]:
        base, delta = self.split.cut(rows)
        assert base is not None and delta is not None
        found = self.base.chunks(base.tolist())
        offset = self.split.base_rows
        found.update({offset + r: c for r, c in self.delta.chunks(delta.tolist()).items()})
        return found

    def article_chunks(self, article_id: str) -> list[Chunk]:
        if article_id in self._delta_articles:
            return self.delta.article_chunks(article_id)
        if article_id in self.removed.articles:
            return []
        return self.base.article_chunks(article_id)

    def rows_matching(
        self, since: str | None = None, until: str | None = None, source: str | None = None
    ) -> list[int]:
        base, _ = self.split.cut(self.base.rows_matching(since, until, source))
        assert base is not None
        offset = self.split.base_rows
        return base.tolist() + [offset + r for r in self.delta.rows_matching(since, until, source)]

    def row_count(self) -> int:
        return self.split.total_rows

    def sources(self) -> list[SourceFile]:
        gone = self.removed.sources
        kept = [s for s in self.base.sources() if s.path not in gone]
        return kept + self.delta.sources()

    def signatures(self) -> dict[str, bytes]:
        return {**self.base.signatures(), **self.delta.signatures()}

    def article_keys(self) -> dict[str, tuple[object, ...]]:
        gone = self.removed.articles
        values = {k: v for k, v in self.base.article_keys().items() if k not in gone}
        values.update(self.delta.article_keys())
        return values

    def passage_layout(
        self,
    ) -> tuple[dict[str, tuple[str, str]], dict[str, list[tuple[int, Chunk]]]]:
        texts, passages = self.base.passage_layout()
        for article_id in self.removed.articles:
            texts.pop(article_id, None)
            passages.pop(article_id, None)
        delta_texts, delta_passages = self.delta.passage_layout()
        texts.update(delta_texts)
        offset = self.split.base_rows
        for article_id, rows in delta_passages.items():
            passages[article_id] = [(offset + r, c) for r, c in rows]
        return texts, passages

    def source_counts(self) -> tuple[SourceCount, ...]:
        counts: dict[str, int] = {}
        for item in (*self.base.source_counts(), *self.delta.source_counts()):
            counts[item.name] = counts.get(item.name, 0) + item.articles
        for item in self.base.source_counts(self.removed.articles):
            counts[item.name] -= item.articles
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return tuple(SourceCount(name, n) for name, n in ranked if n > 0)

    def passage_count(self) -> int:
        return self.split.live

    def close(self) -> None:
        self.base.close()
        self.delta.close()


def open_metadata(version_dir: Path) -> MetadataReader:
    """The metadata of a version, either layout."""
    base = MetadataStore(version_dir / "meta.sqlite")
    delta = delta_dir(version_dir)
    if delta is None:
        return base
    fresh: MetadataStore | None = None
    try:
        fresh = MetadataStore(delta / "meta.sqlite")
        return SegmentedMetadata(base, fresh, Tombstones.load(delta))
    except BaseException:
        base.close()
        if fresh is not None:
            fresh.close()
        raise

"""What every storage backend promises: the reading interface search uses, and the
manifest every backend writes. ``rag.index.backend`` picks the implementation by name."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from rag.config import LOCAL, MILVUS, Settings
from rag.index.metadata import MetadataReader
from rag.index.sparse import KEYWORD_FIELDS
from rag.index.store import FORMAT_VERSION, IndexManifest, now_iso
from rag.records import Article, Chunk, SearchFilters, SourceFile

Ranking = list[tuple[int, float]]
# Every Milvus URI and collection prefix this index ever wrote to, so that the garbage
# collector finds collections of versions that are gone (or of a killed build).
MILVUS_STORES = "milvus-stores.json"


class SearchIndex(Protocol):
    """One published index version opened for reading (rows are passage rows 0..n-1).

    ``allowed`` is the list of rows that pass the search's filters, computed from the
    metadata (``rows_matching``); ``filters`` are those filters themselves, so a backend
    whose engine stores the filter fields can apply them there instead.
    """

    index_dir: Path
    version_dir: Path
    manifest: IndexManifest
    meta: MetadataReader

    @property
    def version(self) -> str: ...

    @property
    def passages(self) -> int: ...

    def rows_matching(self, filters: SearchFilters) -> list[int]: ...

    def rank_dense(
        self,
        qvec: np.ndarray,
        depth: int,
        allowed: list[int] | None,
        filters: SearchFilters | None = None,
    ) -> Ranking: ...

    def rank_keyword(
        self,
        query: str,
        depth: int,
        allowed: list[int] | None,
        filters: SearchFilters | None = None,
    ) -> Ranking: ...

    def term_weights(self, query: str) -> dict[str, float]: ...

    def cosines(self, qvec: np.ndarray, rows: Sequence[int]) -> np.ndarray: ...

    def chunks(self, rows: Sequence[int]) -> dict[int, Chunk]: ...

    def article(self, article_id: str) -> Article | None: ...

    def article_chunks(self, article_id: str) -> list[Chunk]: ...

    def iter_chunks(self, batch: int = 1000) -> Iterator[Chunk]: ...

    def close(self) -> None: ...


def version_manifest(
    settings: Settings,
    kind: str,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    embedder: str,
    sources: Sequence[SourceFile],
    source_roots: Sequence[str],
    **extra: object,
) -> IndexManifest:
    """The manifest of a version holding these passages, for any backend (``extra``: what
    a backend records beside the common keys)."""
    return IndexManifest(
        format_version=FORMAT_VERSION,
        embedder=embedder,
        dim=int(vectors.shape[1]),
        chunk_size=settings.chunk_size,
        chunk_overlap=settings.chunk_overlap,
        tokenizer=settings.tokenizer,
        index_kind=kind,
        articles=len(articles),
        passages=len(chunks),
        sources=len(sources),
        built_at=now_iso(),
        source_roots=tuple(source_roots),
        build_cwd=os.getcwd(),
        extra={
            "index_kind_setting": settings.index_kind,
            "keyword_fields": KEYWORD_FIELDS,
            **extra,
        },
    )


def backend_of(manifest: IndexManifest) -> str:
    """The backend a version was written with (indexes from before backends: local)."""
    return str(manifest.extra.get("backend", LOCAL))


__all__ = [
    "LOCAL",
    "MILVUS",
    "MILVUS_STORES",
    "Ranking",
    "SearchIndex",
    "backend_of",
    "version_manifest",
]
